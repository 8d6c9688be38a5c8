// Package mem manages physical memory for the kernel: which 4 KiB frame
// belongs to whom (Frames), and how the kernel reaches a frame's contents
// (Phys). Frames are named by physical address, as the exokernel exposes
// physical names.
package mem

import (
	"fmt"
	"unsafe"
)

// PageSize is the size of a frame.
const PageSize = 4096

// Phys gives the kernel access to physical memory. On the machine the kernel
// runs in Machine mode with translation off, so a physical address is a
// pointer (Direct); host tests use an Arena.
type Phys interface {
	// Page returns the 4 KiB frame at pa (page aligned) as bytes.
	Page(pa uint64) *[PageSize]byte
	// Table returns the same frame as 512 page-table entries.
	Table(pa uint64) *[512]uint64
	// Bytes returns the n bytes at pa as one slice: frames the caller
	// knows to be physically contiguous (a run), such as a buffer a
	// device or an in-kernel handler reads and writes in place.
	Bytes(pa uint64, n int) []byte
}

// Direct is physical memory seen from Machine mode, where addresses are not
// translated. It is only meaningful on the machine.
type Direct struct{}

// Page implements Phys.
func (Direct) Page(pa uint64) *[PageSize]byte {
	return (*[PageSize]byte)(unsafe.Add(nil, uintptr(pa)))
}

// Table implements Phys.
func (Direct) Table(pa uint64) *[512]uint64 {
	return (*[512]uint64)(unsafe.Add(nil, uintptr(pa)))
}

// Bytes implements Phys.
func (Direct) Bytes(pa uint64, n int) []byte {
	return unsafe.Slice((*byte)(unsafe.Add(nil, uintptr(pa))), n)
}

// Arena is physical memory simulated by Go memory, for host tests and
// simulators: frames at [Base, Base+size). Both Direct and Arena view a
// frame as little-endian words, as RISC-V does.
type Arena struct {
	Base   uint64
	frames [][512]uint64
}

// NewArena returns size bytes of zeroed simulated memory at base.
func NewArena(base, size uint64) *Arena {
	return &Arena{Base: base, frames: make([][512]uint64, size/PageSize)}
}

// Contains reports whether the frame at pa is inside the arena.
func (a *Arena) Contains(pa uint64) bool {
	return pa >= a.Base && (pa-a.Base)/PageSize < uint64(len(a.frames))
}

func (a *Arena) index(pa uint64) int {
	if pa%PageSize != 0 || !a.Contains(pa) {
		panic(fmt.Sprintf("mem.Arena: frame %#x outside [%#x, %#x) or unaligned", pa, a.Base, a.Base+uint64(len(a.frames))*PageSize))
	}
	return int((pa - a.Base) / PageSize)
}

// Page implements Phys.
func (a *Arena) Page(pa uint64) *[PageSize]byte {
	return (*[PageSize]byte)(unsafe.Pointer(&a.frames[a.index(pa)]))
}

// Table implements Phys.
func (a *Arena) Table(pa uint64) *[512]uint64 { return &a.frames[a.index(pa)] }

// Bytes implements Phys; the range must lie inside the arena.
func (a *Arena) Bytes(pa uint64, n int) []byte {
	if n == 0 {
		return nil
	}
	first, last := a.index(pa&^(PageSize-1)), a.index((pa+uint64(n)-1)&^(PageSize-1))
	b := unsafe.Slice((*byte)(unsafe.Pointer(&a.frames[first])), (last-first+1)*PageSize)
	off := pa % PageSize
	return b[off : off+uint64(n)]
}
