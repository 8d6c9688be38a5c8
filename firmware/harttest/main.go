//go:build tamago && riscv64

// Command harttest runs the VisionFive 2's hart entry (package harts) on
// QEMU's sifive_u machine with five harts, which like the JH7110 has a
// hart 0 without an FPU (an E51) and four harts with one (U54s), and
// reports what each hart did. tools/qemu's TestHartEntryOnSifiveU boots it
// the way U-Boot SPL boots the VisionFive 2 firmware: the flat payload at
// its load address, every hart entering it in Machine mode with a0 = hart
// id and a1 = the device tree.
//
// It checks, from the one hart that runs Go: that it is not hart 0; that
// every other hart reached the park loop (hart 0 included, which proves
// the path to it has no floating-point instruction: the E51 would trap on
// one); that the device tree was copied; and that parked harts can be
// released (hart 0 and a U54 run an integer-only probe and park again).
// sifive_u has no sifive_test device: the program prints its exit status
// and ends QEMU by pulling the board's gpio-restart line (GPIO 10), which
// QEMU run with -no-reboot turns into an exit.
package main

import (
	"fmt"
	"os"
	"runtime/goos"
	"time"
	_ "unsafe"

	"github.com/usbarmory/tamago/riscv64"

	"github.com/exo-os/exo/board"
	"github.com/exo-os/exo/board/fdt"
	"github.com/exo-os/exo/board/harts"
	"github.com/exo-os/exo/board/mmio"
)

// QEMU 7.2 sifive_u (hw/riscv/sifive_u.c): the memory map this program
// needs. It is linked at LoadAddress+0x1000 and loaded at LoadAddress.
const (
	clintBase   = 0x2000000
	gpioBase    = 0x10060000 // SiFive GPIO: output_en at +8, output_val at +0xc
	restartGPIO = 10         // the tree's gpio-restart line
	uart0Base   = 0x10010000 // SiFive UART: txdata at +0, bit 31 = full
	uart0TxCtrl = uart0Base + 8
	dramBase    = 0x80000000
	loadAddress = 0x80200000
	timebaseHz  = 1_000_000 // cpus/timebase-frequency in QEMU's tree
	harts5      = 5
)

//go:linkname ramStart runtime/goos.RamStart
var ramStart uint = loadAddress

//go:linkname ramSize runtime/goos.RamSize
var ramSize uint = 64 << 20

//go:linkname ramStackOffset runtime/goos.RamStackOffset
var ramStackOffset uint = 0x100

var (
	bus   = mmio.Direct{}
	cpu   = &riscv64.CPU{}
	early = board.SplitMix64{State: 0x9e3779b97f4a7c15}
)

//go:linkname printk runtime/goos.Printk
func printk(c byte) {
	for bus.Read32(uart0Base)&(1<<31) != 0 {
	}
	bus.Write32(uart0Base, uint32(c))
}

//go:linkname nanotime runtime/goos.Nanotime
func nanotime() int64 {
	return int64(bus.Read64(clintBase+0xbff8) * (1e9 / timebaseHz))
}

//go:linkname initRNG runtime/goos.InitRNG
func initRNG() {}

// getRandomData: a test program with no secrets, so a fixed-seed
// generator (the U54's time CSR traps, like the U74's, so only mtime).
//
//go:linkname getRandomData runtime/goos.GetRandomData
func getRandomData(b []byte) {
	early.Read(b)
}

//go:linkname hwinit1 runtime/goos.Hwinit1
func hwinit1() {
	cpu.Init()
	bus.Write32(uart0TxCtrl, 1) // txen
	goos.Exit = func(code int32) { exit(uint32(code)) }
}

func exit(code uint32) {
	fmt.Printf("harttest: exit status %d\n", code)
	// The line is active low (the tree's gpios flags): drive it high,
	// enable the output, then pull it low.
	bus.Write32(gpioBase+0xc, 1<<restartGPIO)
	bus.Write32(gpioBase+0x8, 1<<restartGPIO)
	bus.Write32(gpioBase+0xc, 0)
	for {
	}
}

func fail(format string, args ...any) {
	fmt.Printf("harttest: FAIL: "+format+"\n", args...)
	exit(1)
}

// waitFor polls cond for up to a second of machine time.
func waitFor(cond func() bool) bool {
	for start := time.Now(); time.Since(start) < time.Second; {
		if cond() {
			return true
		}
		time.Sleep(time.Millisecond)
	}
	return cond()
}

func main() {
	me := harts.BootHart()
	fmt.Printf("harttest: Go runtime on hart %d\n", me)
	if me < 1 || me >= harts5 {
		fail("the kernel hart is %d, want a U54 (1-4)", me)
	}

	dtb, err := harts.DeviceTree()
	if err != nil {
		fail("%v", err)
	}
	regions, err := fdt.Memory(dtb)
	if err != nil {
		fail("device tree: %v", err)
	}
	fmt.Printf("harttest: device tree copied (%d bytes), %d MiB of DRAM at %#x\n", len(dtb), fdt.Contiguous(regions, dramBase)>>20, dramBase)

	others := func() bool {
		for h := 0; h < harts5; h++ {
			if h != me && harts.StateOf(h) != harts.Parked {
				return false
			}
		}
		return true
	}
	ok := waitFor(others)
	for h := 0; h < harts5; h++ {
		fmt.Printf("harttest: hart %d %v\n", h, harts.StateOf(h))
	}
	if !ok {
		fail("not every other hart parked")
	}
	if harts.StateOf(me) != harts.Kernel {
		fail("hart %d runs Go but is recorded as %v", me, harts.StateOf(me))
	}
	if err := harts.Release(me, harts.ProbeEntry()); err == nil {
		fail("releasing the running hart was accepted")
	}

	// Wake hart 0 (no FPU) and one U54 with the integer-only probe: each
	// counts the wake-up and parks again.
	u54 := 1
	if me == 1 {
		u54 = 2
	}
	for _, h := range []int{0, u54} {
		if err := harts.Release(h, harts.ProbeEntry()); err != nil {
			fail("release hart %d: %v", h, err)
		}
		if !waitFor(func() bool { return harts.Wakes(h) == 1 && harts.StateOf(h) == harts.Parked }) {
			fail("hart %d: %d wake-ups, %v", h, harts.Wakes(h), harts.StateOf(h))
		}
		fmt.Printf("harttest: hart %d released, ran the probe, parked again\n", h)
	}
	fmt.Println("harttest: PASS")
	os.Exit(0)
}
