package mem

import (
	"errors"
	"fmt"
)

// Owner is who holds a frame: an environment id, or one of the values below.
type Owner uint32

const (
	// Free marks a frame nobody holds.
	Free Owner = 0
	// Kernel marks frames the kernel holds for itself (page tables, the
	// slot vector).
	Kernel Owner = ^Owner(0)
)

// ErrNoMemory is returned when no frame is free.
var ErrNoMemory = errors.New("out of physical memory")

// Frames tracks ownership of the frames in [Base, Base+N·PageSize). The
// owner table is the kernel's only record of who holds what memory; Alloc
// and Free are O(1) through a free stack.
type Frames struct {
	Base  uint64
	owner []Owner
	free  []uint32 // frame indexes, lowest on top
}

// NewFrames manages size bytes of frames at base (both page aligned).
func NewFrames(base, size uint64) (*Frames, error) {
	if base%PageSize != 0 || size%PageSize != 0 {
		return nil, fmt.Errorf("mem: frame pool [%#x, +%#x) is not page aligned", base, size)
	}
	n := size / PageSize
	if n == 0 || n > 1<<31 {
		return nil, fmt.Errorf("mem: frame pool of %d frames out of range", n)
	}
	f := &Frames{Base: base, owner: make([]Owner, n), free: make([]uint32, n)}
	for i := range f.free {
		f.free[i] = uint32(n) - 1 - uint32(i)
	}
	return f, nil
}

// Len returns the number of frames in the pool.
func (f *Frames) Len() int { return len(f.owner) }

// FreeCount returns the number of free frames.
func (f *Frames) FreeCount() int { return len(f.free) }

// Alloc gives a free frame to o and returns its physical address. The frame
// is not cleared: the caller clears it before anyone else can read it.
func (f *Frames) Alloc(o Owner) (uint64, error) {
	if o == Free {
		return 0, errors.New("mem: cannot allocate a frame to nobody")
	}
	if len(f.free) == 0 {
		return 0, ErrNoMemory
	}
	i := f.free[len(f.free)-1]
	f.free = f.free[:len(f.free)-1]
	f.owner[i] = o
	return f.Base + uint64(i)*PageSize, nil
}

func (f *Frames) index(pa uint64) (int, error) {
	if pa%PageSize != 0 || pa < f.Base || (pa-f.Base)/PageSize >= uint64(len(f.owner)) {
		return 0, fmt.Errorf("mem: %#x is not a frame of the pool [%#x, %#x)", pa, f.Base, f.Base+uint64(len(f.owner))*PageSize)
	}
	return int((pa - f.Base) / PageSize), nil
}

// Free returns the frame at pa to the pool. It fails if the frame is not
// held, so a double free cannot put a frame on the stack twice.
func (f *Frames) Free(pa uint64) error {
	i, err := f.index(pa)
	if err != nil {
		return err
	}
	if f.owner[i] == Free {
		return fmt.Errorf("mem: frame %#x freed twice", pa)
	}
	f.owner[i] = Free
	f.free = append(f.free, uint32(i))
	return nil
}

// Owner returns who holds the frame at pa.
func (f *Frames) Owner(pa uint64) (Owner, error) {
	i, err := f.index(pa)
	if err != nil {
		return Free, err
	}
	return f.owner[i], nil
}

// Count returns the number of frames o holds.
func (f *Frames) Count(o Owner) int {
	n := 0
	for _, x := range f.owner {
		if x == o {
			n++
		}
	}
	return n
}
