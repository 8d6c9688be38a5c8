// Package jh7110 is the StarFive JH7110 system-on-chip as Exo uses it: its
// memory map, the generic drivers configured for it (UART, CLINT, PLIC),
// and the driver of its true random number generator (trng.go).
//
// Every address and number here was checked against Linux's device tree
// (arch/riscv/boot/dts/starfive/jh7110.dtsi and
// jh7110-starfive-visionfive-2.dtsi) and drivers; docs/BOARDS.md lists each
// fact with its source. Nothing here has run on a JH7110 yet.
package jh7110

import (
	"github.com/exo-os/exo/board/driver/clint"
	"github.com/exo-os/exo/board/driver/plic"
	"github.com/exo-os/exo/board/driver/uart16550"
	"github.com/exo-os/exo/board/mmio"
)

// Device addresses (jh7110.dtsi).
const (
	// CLINTBase is the core-local interruptor (clint@2000000).
	CLINTBase = 0x02000000
	// PLICBase is the interrupt controller (plic@c000000).
	PLICBase = 0x0c000000
	// UART0Base is the console UART (serial@10000000, snps,dw-apb-uart).
	UART0Base = 0x10000000
	// STGCRGBase is the clock and reset generator of the system-top
	// group (clock-controller@10230000, starfive,jh7110-stgcrg), which
	// gates the TRNG's clocks and holds its reset.
	STGCRGBase = 0x10230000
	// TRNGBase is the true random number generator (rng@1600c000,
	// starfive,jh7110-trng).
	TRNGBase = 0x1600c000
	// DRAMBase is where DRAM starts (memory@40000000).
	DRAMBase = 0x40000000
)

// Interrupt sources and counts.
const (
	// PLICSources counts the PLIC's sources including the reserved
	// source 0: the tree says riscv,ndev = <136>, so sources 1..136.
	PLICSources = 137
	// UART0IRQ is UART0's PLIC source.
	UART0IRQ = 32
	// TRNGIRQ is the TRNG's PLIC source (unused: the driver polls).
	TRNGIRQ = 30
)

// Harts: hart 0 is the S7 monitor core (rv64imac: no FPU, no S-mode);
// harts 1-4 are U74 application cores (rv64imafdc, Sv39).
const (
	Harts       = 5
	MonitorHart = 0
)

// TimebaseHz is the rate of the CLINT's mtime (cpus/timebase-frequency in
// jh7110-starfive-visionfive-2.dtsi; the 24 MHz oscillator divided by 6).
const TimebaseHz = 4_000_000

// UARTClockHz is UART0's core clock: a gate on the 24 MHz oscillator
// (clk-starfive-jh7110-sys.c: uart0_core's parent is osc; the board's osc
// is 24 MHz). The board leaves the divisor U-Boot SPL programmed, so this
// is documentation and a test parameter, not something Init writes.
const UARTClockHz = 24_000_000

// UART returns UART0: a DesignWare APB UART, 8250-compatible, with
// registers four bytes apart (reg-shift = <2>) and 32-bit accesses
// (reg-io-width = <4>). ClockHz is left zero so Init keeps the baud rate
// the boot loader set (115200).
func UART(bus mmio.Bus) *uart16550.UART {
	return &uart16550.UART{Bus: bus, Base: UART0Base, Stride: 4, Width: 4}
}

// CLINT returns the core-local interruptor, with a register slot for each
// of the five harts.
func CLINT(bus mmio.Bus) *clint.CLINT {
	return &clint.CLINT{Bus: bus, Base: CLINTBase, TimebaseHz: TimebaseHz, Harts: Harts}
}

// PLIC returns the interrupt controller with the JH7110's context
// numbering: hart 0 has only an M-mode context (0), hart h ≥ 1 has M
// context 2h−1 and S context 2h (the order of the PLIC node's
// interrupts-extended list).
func PLIC(bus mmio.Bus) *plic.PLIC {
	return &plic.PLIC{Bus: bus, Base: PLICBase, Sources: PLICSources, Harts: Harts, Layout: plic.LayoutMonitorFirst}
}

// TRNG returns the random number generator with its clock and reset
// controller.
func TRNG(bus mmio.Bus) *RNG {
	return &RNG{Bus: bus, Base: TRNGBase, CRG: STGCRGBase}
}
