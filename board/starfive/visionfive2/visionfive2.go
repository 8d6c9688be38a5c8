// Package visionfive2 is the Exo board for the StarFive VisionFive 2
// (JH7110 SoC, package jh7110): its memory map, its devices, and the
// TamaGo runtime hooks (hooks.go) that let the kernel run on it in Machine
// mode.
//
// The firmware replaces the payload U-Boot SPL loads (a FIT image; see
// tools/vf2image and docs/BOARDS.md). SPL enters it in Machine mode on
// every hart with a0 = hart id and a1 = a device tree whose /memory node
// it has set to the board's DRAM size. Package harts parks every hart but
// one U74 before any Go code runs; the kernel runs on that one.
//
// Nothing in this package has run on a VisionFive 2 yet: it is built and
// checked in CI (host tests against register models, the image's layout,
// the entry code's instructions, and the entry's hart handling on QEMU's
// sifive_u), and docs/BOARDS.md says what remains to be seen on a board.
package visionfive2

import (
	"fmt"

	"github.com/exo-os/exo/board"
	"github.com/exo-os/exo/board/fdt"
	"github.com/exo-os/exo/board/starfive/jh7110"
)

// Name is the board's name for `make BOARD=`.
const Name = "visionfive2"

// Memory map. The kernel's Go runtime owns the first 64 MiB of DRAM
// (its image is loaded at the DRAM base); after it come DMA buffers, the
// boot manifest, and the frame pool, which runs to the end of DRAM
// (board.DRAMLayout).
const (
	DRAMBase    = jh7110.DRAMBase
	KernelStart = DRAMBase
	KernelSize  = 64 << 20
	// LinkAddress is the kernel's text address (the linker's -T): one
	// page above the DRAM base, so that the first loadable segment (ELF
	// header and notes, then text) starts exactly at DRAMBase, the load
	// address StarFive's payload uses.
	LinkAddress = DRAMBase + 0x1000
	// SmallestRAM is the least DRAM a VisionFive 2 ships with (2, 4 or
	// 8 GB): the size assumed, with a warning, when the boot loader
	// passed no usable device tree.
	SmallestRAM = 2 << 30
)

// Layout returns the memory map for ramSize bytes of DRAM.
func Layout(ramSize uint64) (board.Layout, error) {
	return board.DRAMLayout(Name, "", DRAMBase, KernelSize, ramSize)
}

// RAMFromDeviceTree returns the size of the DRAM that starts at DRAMBase,
// as the device tree describes it.
func RAMFromDeviceTree(dtb []byte) (uint64, error) {
	regions, err := fdt.Memory(dtb)
	if err != nil {
		return 0, err
	}
	n := fdt.Contiguous(regions, DRAMBase)
	if n == 0 {
		return 0, fmt.Errorf("visionfive2: the device tree has no memory at %#x", uint64(DRAMBase))
	}
	return n, nil
}

// RAMSize decides how much DRAM to use: what the device tree says, or, if
// the boot loader passed none (dtErr) or the tree has no usable memory
// node, SmallestRAM — never more than the board may have — with a warning
// for the console.
func RAMSize(dtb []byte, dtErr error) (size uint64, warning string) {
	if dtErr == nil {
		n, err := RAMFromDeviceTree(dtb)
		if err == nil {
			return n, ""
		}
		dtErr = err
	}
	return SmallestRAM, fmt.Sprintf("visionfive2: no DRAM size from the boot loader (%v); assuming the smallest board, %d MiB", dtErr, SmallestRAM>>20)
}
