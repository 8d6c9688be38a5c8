package mem

import (
	"errors"
	"fmt"
	"sort"
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

// ErrFragmented is returned when enough frames are free but not in few
// enough contiguous runs.
var ErrFragmented = errors.New("free physical memory too fragmented")

// Frames tracks ownership of the frames in [Base, Base+N·PageSize). The
// owner table is the kernel's only record of who holds what memory; Alloc
// and Free are O(1) through a free stack, and AllocRuns takes contiguous
// runs out of the middle of that stack in O(1) per frame through pos.
type Frames struct {
	Base  uint64
	owner []Owner
	free  []uint32 // frame indexes, lowest on top at first
	pos   []uint32 // pos[i]: where frame i is in free, if it is free
	maps  []mapCount
}

// mapCount is how many User mappings of a frame, in any address space, are
// writable and how many executable: the kernel keeps every frame writable
// or executable, never both at once (W^X across mappings).
type mapCount struct{ w, x uint16 }

// Run is a physically contiguous run of frames.
type Run struct {
	PA uint64 // first frame
	N  int    // number of frames
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
	f := &Frames{Base: base, owner: make([]Owner, n), free: make([]uint32, n), pos: make([]uint32, n), maps: make([]mapCount, n)}
	for i := range f.free {
		f.free[i] = uint32(n) - 1 - uint32(i)
		f.pos[f.free[i]] = uint32(i)
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
	f.take(i, o)
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
	f.maps[i] = mapCount{}
	f.pos[i] = uint32(len(f.free))
	f.free = append(f.free, uint32(i))
	return nil
}

// take removes free frame i from the free stack and gives it to o.
func (f *Frames) take(i uint32, o Owner) {
	top := f.free[len(f.free)-1]
	f.free[f.pos[i]] = top
	f.pos[top] = f.pos[i]
	f.free = f.free[:len(f.free)-1]
	f.owner[i] = o
}

// AllocRuns gives n frames to o in at most maxRuns physically contiguous
// runs, longest free runs first, so that an environment's memory can be
// named by a few page ranges (and a few capabilities) rather than one name
// per page. It allocates all or nothing; the frames are not cleared. It
// scans the owner table, so it belongs on slow paths (creating an
// environment), not on a system call's fast path.
func (f *Frames) AllocRuns(o Owner, n, maxRuns int) ([]Run, error) {
	if o == Free {
		return nil, errors.New("mem: cannot allocate frames to nobody")
	}
	if n < 1 || maxRuns < 1 {
		return nil, fmt.Errorf("mem: cannot allocate %d frames in %d runs", n, maxRuns)
	}
	if n > len(f.free) {
		return nil, fmt.Errorf("mem: %d frames wanted, %d free: %w", n, len(f.free), ErrNoMemory)
	}
	var free []Run // as frame indexes
	for i := 0; i < len(f.owner); {
		if f.owner[i] != Free {
			i++
			continue
		}
		j := i
		for j < len(f.owner) && f.owner[j] == Free {
			j++
		}
		free = append(free, Run{PA: uint64(i), N: j - i})
		i = j
	}
	// Longest first; among equals, lowest address first.
	sort.SliceStable(free, func(a, b int) bool { return free[a].N > free[b].N })
	var got []Run
	left := n
	for _, r := range free {
		if left == 0 || len(got) == maxRuns {
			break
		}
		take := min(r.N, left)
		got = append(got, Run{PA: r.PA, N: take})
		left -= take
	}
	if left > 0 {
		return nil, fmt.Errorf("mem: %d frames wanted in at most %d runs: %w", n, maxRuns, ErrFragmented)
	}
	for k, r := range got {
		for i := r.PA; i < r.PA+uint64(r.N); i++ {
			f.take(uint32(i), o)
		}
		got[k].PA = f.Base + r.PA*PageSize
	}
	return got, nil
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

// Give moves the frame at pa from owner from to owner to: a transfer
// between environments, or between an environment and the kernel's own use
// of frames charged to it. It fails if from does not hold the frame.
func (f *Frames) Give(pa uint64, from, to Owner) error {
	i, err := f.index(pa)
	if err != nil {
		return err
	}
	if to == Free || from == Free {
		return fmt.Errorf("mem: give frame %#x from %#x to %#x: use Alloc and Free for the pool", pa, uint32(from), uint32(to))
	}
	if f.owner[i] != from {
		return fmt.Errorf("mem: give frame %#x from %#x: held by %#x", pa, uint32(from), uint32(f.owner[i]))
	}
	f.owner[i] = to
	return nil
}

// ErrWX refuses a mapping that would make a frame writable in one mapping
// and executable in another.
var ErrWX = errors.New("frame would be writable and executable at once")

// ErrTooManyMaps refuses a mapping beyond the 65535 writable or
// executable mappings one frame can have.
var ErrTooManyMaps = errors.New("too many mappings of one frame")

// AddMapping records a new User mapping of the frame at pa, writable if w
// and executable if x, unless another mapping makes that break W^X: a
// frame is never writable in one mapping and executable in any (the one
// mapping W|X is refused too).
func (f *Frames) AddMapping(pa uint64, w, x bool) error {
	i, err := f.index(pa)
	if err != nil {
		return err
	}
	m := &f.maps[i]
	switch {
	case w && x, w && m.x > 0, x && m.w > 0:
		return ErrWX
	case w && m.w == ^uint16(0), x && m.x == ^uint16(0):
		return ErrTooManyMaps
	}
	if w {
		m.w++
	}
	if x {
		m.x++
	}
	return nil
}

// DropMapping undoes AddMapping for a mapping that was removed.
func (f *Frames) DropMapping(pa uint64, w, x bool) {
	i, err := f.index(pa)
	if err != nil {
		return
	}
	m := &f.maps[i]
	if w && m.w > 0 {
		m.w--
	}
	if x && m.x > 0 {
		m.x--
	}
}

// Mappings returns how many writable and executable mappings the frame at
// pa has.
func (f *Frames) Mappings(pa uint64) (w, x int) {
	i, err := f.index(pa)
	if err != nil {
		return 0, 0
	}
	return int(f.maps[i].w), int(f.maps[i].x)
}

// ResetMappings forgets the frame's mappings: the kernel removed every one
// (the address spaces that had them are gone).
func (f *Frames) ResetMappings(pa uint64) {
	if i, err := f.index(pa); err == nil {
		f.maps[i] = mapCount{}
	}
}
