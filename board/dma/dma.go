// Package dma hands out the memory a board shares with its devices: queue
// rings and frame buffers that a device reads and writes by physical
// address, outside the Go heap (which the garbage collector may move or
// reuse, and which a device must never reach).
//
// An Allocator covers the board's DMA region (board.Layout's DMAStart and
// DMAEnd). Drivers take their memory once, at setup; nothing is ever freed,
// so a bump allocator is all there is to it.
package dma

import (
	"fmt"
	"unsafe"
)

// MaxAlign is the largest alignment Alloc grants: a page. New checks that
// the region's view and its physical addresses agree modulo MaxAlign, so a
// block whose physical address is aligned is aligned in the view as well
// (the CPU's atomic accesses to ring indices need that as much as the
// device needs the physical alignment).
const MaxAlign = 4096

// Allocator hands out consecutive blocks of one DMA region.
type Allocator struct {
	view  []byte // the region as the CPU reaches it
	start uint64 // physical address of view[0]
	next  int    // offset of the first byte not handed out
}

// New returns an allocator over the physical region [start, end), which
// the CPU reaches through view: view[i] is the byte at physical address
// start+i. In Machine mode the board builds view over the very addresses
// (translation is off); host tests pass ordinary memory.
func New(start, end uint64, view []byte) (*Allocator, error) {
	if end <= start {
		return nil, fmt.Errorf("dma: region [%#x, %#x) is empty", start, end)
	}
	if uint64(len(view)) != end-start {
		return nil, fmt.Errorf("dma: region [%#x, %#x) is %d bytes, its view %d", start, end, end-start, len(view))
	}
	if va := uint64(uintptr(unsafe.Pointer(&view[0]))); va%MaxAlign != start%MaxAlign {
		return nil, fmt.Errorf("dma: region at %#x is seen at %#x, not at the same offset in a %d-byte page", start, va, MaxAlign)
	}
	return &Allocator{view: view, start: start}, nil
}

// Alloc returns n zeroed bytes whose physical address pa is a multiple of
// align (a power of two, at most MaxAlign). The slice's capacity ends with
// it, so appending to it cannot reach a neighbouring block. It fails,
// handing out nothing, when the request does not fit in what is left.
func (a *Allocator) Alloc(n, align int) (mem []byte, pa uint64, err error) {
	if n <= 0 {
		return nil, 0, fmt.Errorf("dma: allocation of %d bytes", n)
	}
	if align <= 0 || align > MaxAlign || align&(align-1) != 0 {
		return nil, 0, fmt.Errorf("dma: alignment %d is not a power of two up to %d", align, MaxAlign)
	}
	// Align the physical address; the view follows (see New).
	off := int((a.start+uint64(a.next)+uint64(align-1))&^uint64(align-1) - a.start)
	if off > len(a.view) || n > len(a.view)-off {
		return nil, 0, fmt.Errorf("dma: %d bytes aligned to %d do not fit in region [%#x, %#x): %d of %d bytes left",
			n, align, a.start, a.start+uint64(len(a.view)), len(a.view)-a.next, len(a.view))
	}
	mem = a.view[off : off+n : off+n]
	clear(mem) // a device must not see what was there before boot
	a.next = off + n
	return mem, a.start + uint64(off), nil
}

// Remaining returns how many bytes are not yet handed out (alignment
// padding may make fewer usable).
func (a *Allocator) Remaining() int { return len(a.view) - a.next }
