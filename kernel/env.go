package kernel

import (
	"errors"
	"fmt"
	"strconv"
	"unsafe"

	"github.com/exo-os/exo/caps"
	"github.com/exo-os/exo/kernel/abi"
	"github.com/exo-os/exo/kernel/elf"
	"github.com/exo-os/exo/kernel/mem"
	"github.com/exo-os/exo/kernel/riscv"
	"github.com/exo-os/exo/kernel/vm"
)

// errNoImage marks a spawn of an image the firmware does not embed.
var errNoImage = errors.New("no such image")

// State is an environment's scheduling state.
type State int

// Environment states.
const (
	Runnable State = iota
	Sleeping
	Dead
)

// Env is an environment: a program in its own address space with the
// frames and slots it holds.
type Env struct {
	ID      uint32
	Name    string
	ctx     riscv.Context
	as      *vm.AddressSpace
	satp    uint64
	runs    []mem.Run // the frames backing its RAM region, in address order
	pages   []uint64  // other frames held: start-up block, capability list
	startup uint64    // the start-up block's frame
	binds   []binding // mappings of other environments' frames
	state   State
	wake    uint64

	status uint32
	killed bool
	prefix []byte // console line prefix

	// Counters, for reports and tests.
	Syscalls, Preemptions, Slices, Emulated uint64
}

// State returns the environment's scheduling state.
func (e *Env) State() State { return e.state }

// Status returns the exit status, and whether the env was killed instead.
func (e *Env) Status() (status uint32, killed bool) { return e.status, e.killed }

// AddressSpace returns the environment's page table.
func (e *Env) AddressSpace() *vm.AddressSpace { return e.as }

// Context returns the environment's saved registers.
func (e *Env) Context() *riscv.Context { return &e.ctx }

func (e *Env) ready(now uint64) bool {
	if e.state == Sleeping && now >= e.wake {
		e.state = Runnable
	}
	return e.state == Runnable
}

// maxSegments bounds the loadable segments of an image.
const maxSegments = 16

// MaxEnvs bounds the environments one boot creates: ids are never reused
// (a capability naming an env id must never come to name another), and
// each id has an epoch.
const MaxEnvs = 4096

// maxBindings bounds the pages an environment maps from other
// environments' memory: the kernel records each so that it can undo it
// when the owner revokes or frees the page.
const maxBindings = 64

// binding is a mapping at va of the frame pa, which another environment
// owns, made by showing a capability.
type binding struct{ va, pa uint64 }

func slotsPage(p mem.Phys, pa uint64) *abi.Slots {
	return (*abi.Slots)(unsafe.Pointer(p.Page(pa)))
}

func startupPage(p mem.Phys, pa uint64) *abi.Startup {
	return (*abi.Startup)(unsafe.Pointer(p.Page(pa)))
}

func capsPage(p mem.Phys, pa uint64) *abi.CapList {
	return (*abi.CapList)(unsafe.Pointer(p.Page(pa)))
}

// spawnSpec is what an environment is made from.
type spawnSpec struct {
	image    string
	mem      uint64
	arg      string
	maySpawn bool
	// slots gives the new environment (with id) its slots.
	slots func(id uint32) error
	// pass are capabilities copied into its list, unchecked.
	pass [][caps.Size]byte
}

// Spawn creates an environment running image with memSize bytes of memory
// and nslots time slots, as a boot manifest line does (maySpawn is its
// spawn=yes).
func (k *Kernel) Spawn(image string, memSize uint64, nslots int, arg string, maySpawn bool) (*Env, error) {
	return k.spawn(spawnSpec{image: image, mem: memSize, arg: arg, maySpawn: maySpawn,
		slots: func(id uint32) error { _, err := k.slots.Allocate(id, nslots); return err }})
}

// spawn creates an environment. Its memory is [abi.RAMStart, +mem), every
// page backed by a frame it holds (in at most abi.MaxRuns physically
// contiguous runs), zeroed, with the image's segments copied in at their
// permissions; the start-up block, the slot vector and its capability list
// are mapped read-only below. The kernel mints its root capabilities: its
// env id, each run of its memory, its slots. On any error nothing is left
// allocated.
func (k *Kernel) spawn(sp spawnSpec) (_ *Env, err error) {
	image, memSize := sp.image, sp.mem
	bin, ok := k.images[image]
	if !ok {
		return nil, fmt.Errorf("no image named %q in this firmware: %w", image, errNoImage)
	}
	if memSize%mem.PageSize != 0 || memSize == 0 || memSize > abi.MaxRAM {
		return nil, fmt.Errorf("env %s: memory size %#x invalid", image, memSize)
	}
	if len(sp.arg) > abi.MaxArg {
		return nil, fmt.Errorf("env %s: argument of %d bytes, at most %d", image, len(sp.arg), abi.MaxArg)
	}
	if len(sp.pass) > abi.MaxPass {
		return nil, fmt.Errorf("env %s: %d capabilities passed, at most %d", image, len(sp.pass), abi.MaxPass)
	}
	if len(k.envs) >= MaxEnvs {
		return nil, fmt.Errorf("env %s: this boot has made %d environments, the most it can: %w", image, MaxEnvs-1, mem.ErrNoMemory)
	}
	img, err := elf.Parse(bin, elf.Limits{Start: abi.RAMStart, End: abi.RAMStart + memSize, MaxSegments: maxSegments})
	if err != nil {
		return nil, fmt.Errorf("image %s: %w", image, err)
	}
	// Refuse before allocating if memory cannot suffice: pages, start-up
	// block, capability list, and page tables (one level-0 table per 2
	// MiB, plus the upper levels).
	pages := memSize / mem.PageSize
	need := pages + 2 + (pages+511)/512 + 4
	if uint64(k.frames.FreeCount()) < need {
		return nil, fmt.Errorf("env %s: needs %d frames, %d free: %w", image, need, k.frames.FreeCount(), mem.ErrNoMemory)
	}

	id := uint32(len(k.envs))
	e := &Env{ID: id, Name: image, binds: make([]binding, 0, maxBindings)}
	e.prefix = []byte("[" + strconv.Itoa(int(id)) + " " + image + "] ")
	defer func() {
		if err != nil {
			k.release(e)
		}
	}()
	if e.as, err = vm.New(k.phys, k.frames); err != nil {
		return nil, err
	}
	// The env id tags the address space's TLB entries, if the hart has
	// that many ASID bits; ASID 0 means untagged, flushed on every switch.
	asid := uint16(0)
	if id < 1<<k.asidBits {
		asid = uint16(id)
	}
	e.satp = e.as.Satp(asid)

	if e.runs, err = k.frames.AllocRuns(mem.Owner(id), int(pages), abi.MaxRuns); err != nil {
		return nil, fmt.Errorf("env %s: %w", image, err)
	}
	va := uint64(abi.RAMStart)
	for _, r := range e.runs {
		for i := 0; i < r.N; i, va = i+1, va+mem.PageSize {
			pa := r.PA + uint64(i)*mem.PageSize
			clear(k.phys.Page(pa)[:])
			perm := vm.R | vm.W | vm.U
			for _, s := range img.Segments {
				if va+mem.PageSize <= s.VA&^(mem.PageSize-1) || va >= s.VA+s.MemSize {
					continue
				}
				perm = vm.U
				if s.Perm&elf.Read != 0 {
					perm |= vm.R
				}
				if s.Perm&elf.Write != 0 {
					perm |= vm.W
				}
				if s.Perm&elf.Exec != 0 {
					perm |= vm.X
				}
				copySegment(k.phys.Page(pa), va, s)
			}
			if err := e.as.Map(va, pa, perm); err != nil {
				return nil, err
			}
		}
	}

	if e.startup, err = k.allocPage(e); err != nil {
		return nil, err
	}
	capList, err := k.allocPage(e)
	if err != nil {
		return nil, err
	}
	b := startupPage(k.phys, e.startup)
	b.Magic, b.Version, b.EnvID = abi.StartupMagic, abi.StartupVersion, id
	b.NumSlots = uint32(k.slots.Len())
	b.TimebaseHz = k.plat.TimebaseHz()
	b.RAMStart, b.RAMSize = abi.RAMStart, memSize
	b.SlotsVA = abi.SlotsVA
	b.BootTicks = k.boot
	b.QuantumTicks = k.quantum
	b.ArgLen = uint32(copy(b.Arg[:], sp.arg))
	copy(b.Name[:], image)
	b.NumRuns = uint32(len(e.runs))
	va = abi.RAMStart
	for i, r := range e.runs {
		b.Runs[i] = abi.Run{VA: va, PA: r.PA, Pages: uint64(r.N)}
		va += uint64(r.N) * mem.PageSize
	}
	for _, m := range []struct {
		va, pa uint64
	}{{abi.StartupVA, e.startup}, {abi.SlotsVA, k.slotsPA}, {abi.CapsVA, capList}} {
		if err := e.as.Map(m.va, m.pa, vm.R|vm.U); err != nil {
			return nil, err
		}
	}

	if err := sp.slots(id); err != nil {
		return nil, fmt.Errorf("env %s: %w", image, err)
	}
	if err := k.mintRoots(e, capsPage(k.phys, capList), sp); err != nil {
		return nil, fmt.Errorf("env %s: %w", image, err)
	}
	e.ctx.PC = img.Entry
	e.ctx.X[riscv.RegA0] = abi.StartupVA
	k.envs = append(k.envs, e)
	k.live++
	return e, nil
}

// allocPage gives e a zeroed frame.
func (k *Kernel) allocPage(e *Env) (uint64, error) {
	pa, err := k.frames.Alloc(mem.Owner(e.ID))
	if err != nil {
		return 0, fmt.Errorf("env %s: %w", e.Name, err)
	}
	clear(k.phys.Page(pa)[:])
	e.pages = append(e.pages, pa)
	return pa, nil
}

// copySegment copies the part of segment s's file bytes that falls in the
// page at va into page.
func copySegment(page *[mem.PageSize]byte, va uint64, s elf.Segment) {
	lo, hi := max(va, s.VA), min(va+mem.PageSize, s.VA+uint64(len(s.Data)))
	if lo >= hi {
		return // this page of the segment is bss
	}
	copy(page[lo-va:hi-va], s.Data[lo-s.VA:hi-s.VA])
}

// release frees everything e holds: slots, frames, page tables. Before its
// memory goes back to the pool, every capability for it is revoked and every
// mapping other environments made of it is undone, so that no one can reach
// the frames once they belong to someone else.
func (k *Kernel) release(e *Env) {
	k.slots.Release(e.ID)
	for _, r := range e.runs {
		lo := r.PA / mem.PageSize
		k.revokePages(lo, lo+uint64(r.N)-1, e)
		for i := 0; i < r.N; i++ {
			if err := k.frames.Free(r.PA + uint64(i)*mem.PageSize); err != nil {
				k.printf("BUG: env %d: %v\n", e.ID, err)
			}
		}
	}
	e.runs = nil
	for _, pa := range e.pages {
		if err := k.frames.Free(pa); err != nil {
			k.printf("BUG: env %d: %v\n", e.ID, err)
		}
	}
	e.pages = nil
	if e.as != nil {
		if err := e.as.Destroy(); err != nil {
			k.printf("BUG: env %d: %v\n", e.ID, err)
		}
	}
	k.cpu.Forget(&e.ctx)
}

// finish ends e: it exited with status, or was killed.
func (k *Kernel) finish(e *Env, status uint32, killed bool) {
	e.state, e.status, e.killed = Dead, status, killed
	k.release(e)
	k.live--
	if k.cur == e {
		k.cur = nil
	}
}
