//go:build tamago

package virt

import (
	"fmt"
	"runtime/goos"
	"unsafe"

	"github.com/usbarmory/tamago/riscv64"

	"github.com/exo-os/exo/board"
	"github.com/exo-os/exo/board/dma"
	"github.com/exo-os/exo/board/driver/plic"
	"github.com/exo-os/exo/board/driver/virtio"
	"github.com/exo-os/exo/board/fdt"
	"github.com/exo-os/exo/board/mmio"
	"github.com/exo-os/exo/riscv"
)

// The TamaGo runtime hooks (tamago goos package): where the kernel's Go
// runtime lives, and how it prints, tells time, draws random bytes and
// exits on this board.

//go:linkname ramStart runtime/goos.RamStart
var ramStart uint = KernelStart

//go:linkname ramSize runtime/goos.RamSize
var ramSize uint = KernelSize

//go:linkname ramStackOffset runtime/goos.RamStackOffset
var ramStackOffset uint = 0x100

var (
	bus = mmio.Direct{}
	cpu = &riscv64.CPU{}
	rng *virtio.Entropy
	// early is the state of the generator the runtime's start-up uses
	// for its hash seeds before the entropy device is up (see
	// getRandomData). The capability key never comes from it.
	early board.SplitMix64
)

// printk runs before package initialization too, so it reaches the UART
// through constants only.
//
//go:linkname printk runtime/goos.Printk
func printk(c byte) {
	const lsr, thrEmpty = UART0Base + 5, 1 << 5
	if c == '\n' {
		printk('\r')
	}
	for bus.Read8(lsr)&thrEmpty == 0 {
	}
	bus.Write8(UART0Base, c)
}

//go:linkname nanotime runtime/goos.Nanotime
func nanotime() int64 {
	return int64(bus.Read64(CLINTBase+0xbff8) * (1e9 / TimebaseHz))
}

//go:linkname initRNG runtime/goos.InitRNG
func initRNG() {}

// getRandomData serves the Go runtime (hash seeds, at start-up) and
// crypto/rand. Once the virtio entropy device is up, every byte comes from
// it; before that (runtime start-up only) a splitmix64 generator seeded
// from the cycle and time counters fills in.
//
//go:linkname getRandomData runtime/goos.GetRandomData
func getRandomData(b []byte) {
	if rng != nil {
		if err := rng.Read(b); err != nil {
			panic(err)
		}
		return
	}
	if early.State == 0 {
		early.State = riscv.ReadCycle() ^ riscv.ReadTime()<<32 ^ 0x9e3779b97f4a7c15
	}
	early.Read(b)
}

//go:linkname hwinit1 runtime/goos.Hwinit1
func hwinit1() {
	cpu.Init()
	goos.Exit = func(code int32) {
		halt(uint32(code))
	}
	UART(bus).Init()
}

func halt(status uint32) {
	Finisher(bus).Exit(status)
	for {
		riscv.WaitForInterrupt()
	}
}

// Machine brings up the board's devices and returns them for the kernel.
// It fails if the memory map cannot hold the kernel, or if a network
// device is present but cannot be set up; a missing entropy source is
// reported by Machine.Entropy, which the kernel calls at boot, and a
// missing network device leaves Machine.NIC nil.
func Machine() (*board.Machine, error) {
	ram, err := dramSize()
	if err != nil {
		return nil, err
	}
	layout, err := Layout(ram)
	if err != nil {
		return nil, err
	}
	uart := UART(bus)
	m := &board.Machine{
		Name:  Name,
		UART:  uart,
		CLINT: CLINT(bus),
		Hart:  0,
		// QEMU implements the time CSR, which is cheaper to read
		// than the CLINT's register through its MMIO dispatch.
		ReadTime:    riscv.ReadTime,
		ReadInstret: riscv.ReadInstret,
		WFI:         riscv.WaitForInterrupt,
		ReadMip:     riscv.ReadMip,
		Halt:        halt,
		Layout:      layout,
	}
	devices := []board.Device{{Name: "uart0", IRQ: UART0IRQ, Handle: uart.Interrupt}}
	// Device queues and buffers come from the DMA region: outside the
	// Go heap, at known physical addresses.
	alloc, err := dma.New(layout.DMAStart, layout.DMAEnd, physBytes(layout.DMAStart, int(layout.DMAEnd-layout.DMAStart)))
	if err != nil {
		return nil, fmt.Errorf("qemu-virt: %w", err)
	}
	base, err := virtio.Probe(bus, VirtioBases(), virtio.TypeEntropy)
	if err == nil {
		var mem []byte
		var pa uint64
		if mem, pa, err = alloc.Alloc(virtio.EntropyBytes, 16); err == nil {
			rng, err = virtio.NewEntropy(&virtio.Device{Bus: bus, Base: base}, mem, pa)
		}
	}
	if err != nil {
		noRNG := fmt.Errorf("qemu-virt: no entropy source (%w); run QEMU with -device virtio-rng-device", err)
		m.RNG = func([]byte) error { return noRNG }
	} else {
		m.RNG, m.TryRNG = rng.Read, rng.TryRead
		devices = append(devices, board.Device{Name: "virtio-rng", IRQ: VirtioIRQ(base), Handle: rng.Interrupt})
	}
	nic, dev, err := NIC(bus, alloc)
	if err != nil {
		return nil, err
	}
	if nic != nil { // else m.NIC stays a nil interface, not a nil *virtio.Net
		m.NIC = nic
		devices = append(devices, dev)
	}
	// Every device interrupt comes to hart 0's Machine-mode context.
	p := PLIC(bus)
	ctx, err := p.Context(0, plic.Machine)
	if err != nil {
		return nil, err
	}
	for _, d := range devices {
		if err := p.Route(ctx, int(d.IRQ)); err != nil {
			return nil, err
		}
	}
	m.IRQ, m.Devices = plic.Target{PLIC: p, Ctx: ctx}, devices
	return m, nil
}

// physBytes returns n bytes of physical memory at pa (Machine mode runs
// untranslated).
func physBytes(pa uint64, n int) []byte {
	return unsafe.Slice((*byte)(unsafe.Add(nil, uintptr(pa))), n)
}

// dramSize reads the DRAM size from the device tree QEMU left in memory.
func dramSize() (uint64, error) {
	pa := bus.Read64(ResetVecFDT)
	if pa < DRAMBase || pa%8 != 0 {
		return 0, fmt.Errorf("qemu-virt: no device tree address in the reset vector (found %#x)", pa)
	}
	n, err := fdt.Size(physBytes(pa, 8))
	if err != nil {
		return 0, fmt.Errorf("qemu-virt: device tree at %#x: %w", pa, err)
	}
	return RAMFromDeviceTree(physBytes(pa, n))
}
