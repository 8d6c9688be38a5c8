// Package virt is the Exo board for QEMU's RISC-V "virt" machine (checked
// against QEMU 7.2, hw/riscv/virt.c): its memory map, its devices, and the
// TamaGo runtime hooks (hooks.go) that let the kernel run on it in Machine
// mode.
//
// QEMU must be started with the devices the kernel needs:
//
//	qemu-system-riscv64 -machine virt -m 1G -smp 1 -bios none -nographic \
//	  -global virtio-mmio.force-legacy=false -device virtio-rng-device \
//	  -device loader,file=firmware.elf,cpu-num=0
//
// A network device (-device virtio-net-device,netdev=...) is optional.
package virt

import (
	"errors"
	"fmt"

	"github.com/exo-os/exo/board"
	"github.com/exo-os/exo/board/dma"
	"github.com/exo-os/exo/board/driver/clint"
	"github.com/exo-os/exo/board/driver/finisher"
	"github.com/exo-os/exo/board/driver/plic"
	"github.com/exo-os/exo/board/driver/uart16550"
	"github.com/exo-os/exo/board/driver/virtio"
	"github.com/exo-os/exo/board/fdt"
	"github.com/exo-os/exo/board/mmio"
)

// Name is the board's name for `make BOARD=`.
const Name = "qemu-virt"

// Device addresses (hw/riscv/virt.c, virt_memmap).
const (
	FinisherBase   = 0x00100000
	CLINTBase      = 0x02000000
	PLICBase       = 0x0c000000
	UART0Base      = 0x10000000
	VirtioBase     = 0x10001000 // slot i at VirtioBase + i*VirtioStride
	VirtioStride   = 0x1000
	VirtioSlots    = 8
	TimebaseHz     = 10_000_000
	PLICSources    = 97 // riscv,ndev = <96> in QEMU 7.2's tree, plus source 0
	UART0IRQ       = 10
	VirtioIRQFirst = 1 // slot i raises IRQ 1+i
)

// Memory map. The kernel's Go runtime owns the first 64 MiB of DRAM; after
// it come DMA buffers, the boot manifest, and the frame pool, which runs to
// the end of DRAM (board.DRAMLayout).
const (
	DRAMBase    = 0x80000000
	KernelStart = DRAMBase
	KernelSize  = 64 << 20
	// ManifestStart is where Layout's manifest region begins: where
	// QEMU's loader puts a boot manifest (tools/qemu).
	ManifestStart = KernelStart + KernelSize + board.DMASize
)

// Layout returns the memory map for ramSize bytes of DRAM.
func Layout(ramSize uint64) (board.Layout, error) {
	return board.DRAMLayout("qemu-virt", " (run QEMU with -m 1G)", DRAMBase, KernelSize, ramSize)
}

// UART returns the console UART: a 16550 with byte registers one byte
// apart, whose divisor QEMU ignores.
func UART(bus mmio.Bus) *uart16550.UART {
	return &uart16550.UART{Bus: bus, Base: UART0Base, Stride: 1, Width: 1}
}

// CLINT returns the core-local interruptor (one hart: -smp 1).
func CLINT(bus mmio.Bus) *clint.CLINT {
	return &clint.CLINT{Bus: bus, Base: CLINTBase, TimebaseHz: TimebaseHz, Harts: 1}
}

// PLIC returns the interrupt controller.
func PLIC(bus mmio.Bus) *plic.PLIC {
	return &plic.PLIC{Bus: bus, Base: PLICBase, Sources: PLICSources, Harts: 1, Layout: plic.LayoutMS}
}

// Finisher returns the sifive_test device.
func Finisher(bus mmio.Bus) *finisher.Finisher {
	return &finisher.Finisher{Bus: bus, Base: FinisherBase}
}

// VirtioBases returns the base addresses of the virtio-mmio slots.
func VirtioBases() []uintptr {
	bases := make([]uintptr, VirtioSlots)
	for i := range bases {
		bases[i] = VirtioBase + uintptr(i)*VirtioStride
	}
	return bases
}

// VirtioIRQ returns the interrupt source of the virtio-mmio slot at base.
func VirtioIRQ(base uintptr) uint32 {
	return uint32(VirtioIRQFirst + (base-VirtioBase)/VirtioStride)
}

// NIC sets up the first virtio network device in the virtio-mmio slots,
// with its queues and buffers from alloc, and returns it with its
// interrupt source. Networking is optional: with no network device it
// returns nil and no error. A device that is there but cannot be set up
// (legacy, or refusing what the driver needs) is an error.
func NIC(bus mmio.Bus, alloc *dma.Allocator) (*virtio.Net, board.Device, error) {
	base, err := virtio.Probe(bus, VirtioBases(), virtio.TypeNet)
	if errors.Is(err, virtio.ErrNoDevice) {
		return nil, board.Device{}, nil
	}
	if err != nil {
		return nil, board.Device{}, fmt.Errorf("qemu-virt: network device: %w", err)
	}
	n, err := virtio.NewNet(&virtio.Device{Bus: bus, Base: base}, alloc)
	if err != nil {
		return nil, board.Device{}, fmt.Errorf("qemu-virt: %w", err)
	}
	return n, board.Device{Name: "virtio-net", IRQ: VirtioIRQ(base), Handle: n.Interrupt}, nil
}

// ResetVecFDT is where QEMU's reset vector in MROM keeps the address of the
// device tree it generated (hw/riscv/boot.c, riscv_setup_rom_reset_vec:
// the "fdt_laddr" word after the six instructions and the start address).
// Starting at the ELF entry with -device loader skips that code, so a1 does
// not carry the address, but the word is still there.
const ResetVecFDT = 0x1020

// RAMFromDeviceTree returns the size of the DRAM that starts at DRAMBase,
// as the device tree describes it.
func RAMFromDeviceTree(dtb []byte) (uint64, error) {
	regions, err := fdt.Memory(dtb)
	if err != nil {
		return 0, err
	}
	n := fdt.Contiguous(regions, DRAMBase)
	if n == 0 {
		return 0, fmt.Errorf("qemu-virt: the device tree has no memory at %#x", DRAMBase)
	}
	return n, nil
}
