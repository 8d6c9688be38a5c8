package kernel

import (
	"errors"
	"strings"

	"github.com/exo-os/exo/caps"
	"github.com/exo-os/exo/kernel/abi"
	"github.com/exo-os/exo/kernel/mem"
	"github.com/exo-os/exo/kernel/vm"
)

// sysSpawn creates an environment as the abi.SpawnRequest at reqVA asks,
// out of what the caller holds, each shown by a capability: its env
// capability with the spawn right (the authority, and its tree's env ids),
// a slot (one of its own, shown by a slot capability, or a free one, on
// the spawn right), and a run of its spare frames, shown by a page
// capability with every page right. The child's env capability goes to
// outVA. The call takes the frames off the caller's spare list and
// returns the child's id at once; the child builds itself in its slot
// (build.go), so the call's cost does not grow with the child's size.
func sysSpawn(k *Kernel, e *Env) (uint64, uint64, outcome) {
	reqVA, outVA := e.ctx.X[regA0], e.ctx.X[regA1]
	req := &k.spawnBuf
	if !k.copyIn(e, bytesOf(req), reqVA) || !userRange(e.as, outVA, caps.Size, vm.R|vm.W) {
		return 0, abi.ErrFault, resume
	}
	if req.NCaps > abi.MaxPass || req.ArgLen > abi.MaxArg {
		return 0, abi.ErrTooBig, resume
	}
	if req.Flags&^abi.SpawnMaySpawn != 0 || req.Slot >= uint32(k.slots.Len()) ||
		req.Mem == 0 || req.Mem%mem.PageSize != 0 || req.Mem > abi.MaxRAM ||
		req.Pages < abi.SpawnFrames(req.Mem, 0) || req.Pages > uint64(k.frames.Len()) {
		return 0, abi.ErrInval, resume
	}
	id, slot, lo, n := uint64(e.ID), int(req.Slot), req.FirstPage, req.Pages
	if val, errno := k.verifyBytes(req.EnvCap[:], caps.Need{Kind: caps.KindEnv, Lo: id, Hi: id, Rights: caps.EnvSpawn}); errno != abi.OK {
		return val, errno, resume
	}
	if val, errno := k.verifyBytes(req.MemCap[:], caps.Need{Kind: caps.KindPage, Lo: lo, Hi: lo + n - 1, Rights: rootPage}); errno != abi.OK {
		return val, errno, resume
	}
	switch o := k.slots.Owner(slot); {
	case o == e.ID:
		if val, errno := k.verifyBytes(req.SlotCap[:], caps.Need{Kind: caps.KindSlot, Lo: uint64(slot), Hi: uint64(slot), Rights: caps.SlotUse}); errno != abi.OK {
			return val, errno, resume
		}
		if k.slots.Count(e.ID) == 1 {
			return 0, abi.ErrInval, resume // the caller's last slot: it would never run again
		}
	case o != abi.FreeSlot:
		return uint64(o), abi.ErrExist, resume
	}
	// The frames must be spare frames of the caller, in one of its runs:
	// not its RAM, not another's (a capability may name those too).
	run := -1
	for i, r := range e.spare {
		rlo := r.PA / mem.PageSize
		if lo >= rlo && lo+n <= rlo+uint64(r.N) {
			run = i
		}
	}
	if run < 0 {
		return 0, abi.ErrInval, resume
	}
	if len(e.spare) == maxSpare && lo > e.spare[run].PA/mem.PageSize && lo+n < e.spare[run].PA/mem.PageSize+uint64(e.spare[run].N) {
		return 0, abi.ErrNoMem, resume // splitting the run needs a list entry it does not have
	}
	image := string(req.Image[:])
	if i := strings.IndexByte(image, 0); i >= 0 {
		image = image[:i]
	}
	c, err := k.newEnv(image, req.Mem, string(req.Arg[:req.ArgLen]), e.tree)
	switch {
	case errors.Is(err, errNoImage):
		return 0, abi.ErrNotFound, resume
	case errors.Is(err, mem.ErrNoMemory):
		return 0, abi.ErrNoMem, resume
	case err != nil:
		return 0, abi.ErrInval, resume
	}
	// Nothing can fail from here on.
	takeRun(&e.spare, run, lo*mem.PageSize, n)
	c.parent, c.giver, c.maySpawn = e, e, req.Flags&abi.SpawnMaySpawn != 0
	c.from.lo, c.from.n = lo, n
	pages := req.Mem / mem.PageSize
	c.ram = []mem.Run{{PA: lo * mem.PageSize, N: int(pages)}}
	next := (lo + pages) * mem.PageSize
	c.startup, c.capList, c.records = next, next+mem.PageSize, next+2*mem.PageSize
	next += abi.FixedFrames * mem.PageSize
	tables := abi.TableFrames(req.Mem)
	c.reserve = make([]uint64, tables)
	for i := range c.reserve {
		c.reserve[i] = next
		next += mem.PageSize
	}
	if end := (lo + n) * mem.PageSize; end > next {
		c.spare = []mem.Run{{PA: next, N: int((end - next) / mem.PageSize)}}
	}
	c.pass = make([][caps.Size]byte, req.NCaps)
	copy(c.pass, req.Caps[:req.NCaps])
	if k.slots.Owner(slot) == e.ID {
		k.slots.Give(slot, e.ID, c.ID)
	} else {
		k.slots.AllocateAt(c.ID, slot)
	}
	k.slotChanged(slot, nil)
	c.job = job{kind: jobBuild, phase: bEpochs}
	k.live++
	k.refreshRoots(e)
	envCap := k.mint(rootSpec{caps.KindEnv, uint64(c.ID), uint64(c.ID), rootEnv})
	k.copyOut(e, outVA, envCap[:])
	return uint64(c.ID), abi.OK, resume
}

// takeRun removes frames [pa, pa+n pages) from run i of list, which
// contains them, splitting it if they are in its middle.
func takeRun(list *[]mem.Run, i int, pa, n uint64) {
	l := *list
	r := l[i]
	end := r.PA + uint64(r.N)*mem.PageSize
	before := mem.Run{PA: r.PA, N: int((pa - r.PA) / mem.PageSize)}
	after := mem.Run{PA: pa + n*mem.PageSize, N: int((end - pa - n*mem.PageSize) / mem.PageSize)}
	l = append(l[:i], l[i+1:]...)
	if before.N > 0 {
		l = append(l, before)
	}
	if after.N > 0 {
		l = append(l, after)
	}
	sortRuns(l)
	*list = l
}
