// Package board is what every Exo board provides the kernel: a Machine (the
// console, the machine timer, an entropy source, and the hart's idle and
// halt) and a Layout (where the kernel, device buffers, the boot manifest and
// the frame pool lie in physical memory).
//
// Board packages (board/qemu/virt, board/starfive/visionfive2) fill these in
// from their memory maps; the drivers they use take base addresses and
// register geometry as data, so both boards share them.
package board

import (
	"errors"
	"fmt"

	"github.com/exo-os/exo/board/driver/clint"
	"github.com/exo-os/exo/board/driver/plic"
	"github.com/exo-os/exo/board/driver/uart16550"
	"github.com/exo-os/exo/riscv"
)

// ErrNoEntropy is returned by a machine without an entropy source.
var ErrNoEntropy = errors.New("board: no entropy source")

// Machine is one board's devices as the kernel uses them (firmware/boot
// adapts it to kernel.Platform).
type Machine struct {
	// Name is the board's name, as `make BOARD=` spells it.
	Name string
	// UART is the console.
	UART *uart16550.UART
	// CLINT is the machine timer, and Hart the hart the kernel runs on.
	CLINT *clint.CLINT
	Hart  int
	// ReadTime, if set, reads the timer without a device access (the time
	// CSR, where the hart implements it in hardware); else Now reads the
	// CLINT's mtime register.
	ReadTime func() uint64
	// RNG fills a buffer with entropy, waiting for the source (bounded);
	// nil if the board has none. TryRNG takes what the source has
	// gathered without waiting, and starts it gathering more.
	RNG    func([]byte) error
	TryRNG func([]byte) int
	// NIC is the network interface, its interrupt among Devices; nil
	// when the board has no network device.
	NIC NIC
	// ReadInstret, if set, reads the hart's instructions-retired counter
	// (the kernel's per-binding instruction counts, docs/NETWORK.md).
	ReadInstret func() uint64
	// WFI waits for an interrupt.
	WFI func()
	// ReadMip reads the hart's pending interrupts (the mip CSR).
	ReadMip func() uint64
	// IRQ is the interrupt controller's context for the kernel's hart in
	// Machine mode, and Devices the interrupt sources routed to it, with
	// their drivers' handlers.
	IRQ     plic.Target
	Devices []Device
	// Halt ends the machine with a status (on QEMU, the emulator's exit
	// status); it may return on boards that cannot power off.
	Halt func(status uint32)
	// Layout is the physical memory map.
	Layout Layout
}

// Device is one interrupt source and the handler of the driver behind it.
type Device struct {
	Name   string
	IRQ    uint32
	Handle func()
}

// Now returns the machine timer.
func (m *Machine) Now() uint64 {
	if m.ReadTime != nil {
		return m.ReadTime()
	}
	return m.CLINT.Mtime()
}

// TimebaseHz returns the machine timer's rate.
func (m *Machine) TimebaseHz() uint64 { return m.CLINT.TimebaseHz }

// ArmTimer raises the kernel's hart's timer interrupt at deadline.
func (m *Machine) ArmTimer(deadline uint64) { m.CLINT.SetCompare(m.Hart, deadline) }

// Idle waits for an interrupt.
func (m *Machine) Idle() { m.WFI() }

// Pending reports whether the machine timer's and the interrupt
// controller's interrupts are pending at the hart (mip.MTIP, mip.MEIP).
func (m *Machine) Pending() (timer, device bool) {
	p := m.ReadMip()
	return p&riscv.MipMTIP != 0, p&riscv.MipMEIP != 0
}

// Entropy fills b from the board's entropy source.
func (m *Machine) Entropy(b []byte) error {
	if m.RNG == nil {
		return ErrNoEntropy
	}
	return m.RNG(b)
}

// TryEntropy copies up to len(b) bytes the entropy source has gathered.
func (m *Machine) TryEntropy(b []byte) int {
	if m.TryRNG == nil {
		return 0
	}
	return m.TryRNG(b)
}

// Layout is a board's physical memory map as the kernel divides it. Each
// region is [Start, End).
type Layout struct {
	// Kernel is the Go runtime's memory: image, heap and stacks.
	KernelStart, KernelEnd uint64
	// DMA holds buffers shared with devices.
	DMAStart, DMAEnd uint64
	// Manifest is where a boot manifest may be placed before boot.
	ManifestStart, ManifestEnd uint64
	// Pool is the memory environments and page tables are made of.
	PoolStart, PoolEnd uint64
}

// Sizes of the regions DRAMLayout puts after the kernel.
const (
	DMASize      = 1 << 20
	ManifestSize = 64 << 10
	// manifestRegion is what DRAMLayout sets aside for the manifest.
	manifestRegion = 1 << 20
	// MinPool is the least frame pool a board boots with: room for a few
	// environments.
	MinPool = 64 << 20
)

// DRAMLayout divides the ramSize bytes of DRAM at dramBase the way every
// Exo board does: the kernel's Go runtime in its first kernelSize bytes,
// then DMASize of device buffers, the boot manifest (ManifestSize, in a 1
// MiB region), and the frame pool to the end of DRAM. Less DRAM than leaves
// MinPool for the pool is an error naming the board and hint.
func DRAMLayout(name, hint string, dramBase, kernelSize, ramSize uint64) (Layout, error) {
	l := Layout{KernelStart: dramBase, KernelEnd: dramBase + kernelSize}
	l.DMAStart, l.DMAEnd = l.KernelEnd, l.KernelEnd+DMASize
	l.ManifestStart, l.ManifestEnd = l.DMAEnd, l.DMAEnd+ManifestSize
	l.PoolStart, l.PoolEnd = l.DMAEnd+manifestRegion, dramBase+ramSize
	if min := l.PoolStart - dramBase + MinPool; ramSize < min {
		return Layout{}, fmt.Errorf("%s: %d MiB of RAM, the kernel needs at least %d MiB%s", name, ramSize>>20, min>>20, hint)
	}
	return l, l.Validate()
}

// Protected returns the range User mode must never reach: everything the
// kernel keeps for itself (kernel, DMA buffers, manifest).
func (l Layout) Protected() (lo, hi uint64) { return l.KernelStart, l.PoolStart }

// Validate checks that the regions are page aligned, non-empty, in order,
// and do not overlap.
func (l Layout) Validate() error {
	regions := []struct {
		name       string
		start, end uint64
	}{
		{"kernel", l.KernelStart, l.KernelEnd},
		{"DMA", l.DMAStart, l.DMAEnd},
		{"manifest", l.ManifestStart, l.ManifestEnd},
		{"pool", l.PoolStart, l.PoolEnd},
	}
	var prev uint64
	for i, r := range regions {
		switch {
		case r.start%4096 != 0 || r.end%4096 != 0:
			return fmt.Errorf("board: %s region [%#x, %#x) is not page aligned", r.name, r.start, r.end)
		case r.end <= r.start:
			return fmt.Errorf("board: %s region [%#x, %#x) is empty", r.name, r.start, r.end)
		case i > 0 && r.start < prev:
			return fmt.Errorf("board: %s region starts at %#x, inside the %s region (ends %#x)", r.name, r.start, regions[i-1].name, prev)
		}
		prev = r.end
	}
	return nil
}
