package kernel

import (
	"cmp"
	"slices"

	"github.com/exo-os/exo/caps"
	"github.com/exo-os/exo/kernel/abi"
	"github.com/exo-os/exo/kernel/mem"
	"github.com/exo-os/exo/kernel/vm"
)

// Ending an environment. When it exits, faults, or is destroyed, it stops
// running at once and becomes Dying; the kernel then takes back what it
// held in bounded steps, in its own slots (which it keeps until the end):
// the mappings it made of others' frames; every capability for its frames
// (their epochs); every binding other environments made of them; its
// frames, which go to its heir (its parent, or the nearest ancestor still
// running) as spare frames, or to the free pool; its slots; its children,
// who become its heir's. Then it is a Zombie until its parent reaps it, or,
// with no parent, gone: its id is free, with a new epoch.

// end stops e and starts its teardown.
func (k *Kernel) end(e *Env, status uint32, killed bool) {
	if e.finished() {
		return
	}
	e.status, e.killed = status, killed
	e.state, e.stopped, e.wait = Dying, false, waitNone
	k.pctEnd(e)
	if e.job.kind == jobRevoke {
		// A revocation half done has taken capabilities from others
		// and not yet given the holders fresh ones: it finishes first,
		// in e's slots, then the teardown starts (work).
		return
	}
	e.job = job{kind: jobTeardown, phase: tRecords}
}

// Teardown phases, in order.
const (
	tRecords    uint8 = iota // forget the bindings it made
	tEpochs                  // bump the epochs of its frames
	tUndo                    // undo others' bindings of its frames
	tTables                  // release its address space
	tKernel                  // zero its kernel frames
	tReset                   // its frames' mapping counts
	tHeir                    // frames to its heir, or to be freed
	tFree                    // free what goes to the pool: runs
	tFreeKernel              // and kernel frames
	tSlots                   // its slots, its children, its id
)

// teardownStep does one bounded step of ending e and reports whether it
// is over.
func (k *Kernel) teardownStep(e *Env) bool {
	j := &e.job
	switch j.phase {
	case tRecords:
		// Its address space goes as a whole; only the frames' mapping
		// counts need the records.
		// Its network bindings and ring go now: no frame reaches it
		// again.
		if e.records != 0 {
			r := k.recordsOf(e)
			for i := 0; i < e.nbinds; i++ {
				switch r[i].kind {
				case caps.KindPage:
					k.frames.DropMapping(r[i].name*mem.PageSize, r[i].perm&vm.W != 0, r[i].perm&vm.X != 0)
				case caps.KindPort:
					if id := k.netBindingOf(e, r[i].name, r[i].where); id != 0 {
						k.unbindNet(id)
					}
				}
			}
		}
		e.nbinds, e.ring = 0, netRing{}
		j.phase, j.run, j.cursor = tEpochs, 0, 0
	case tEpochs:
		if e.chunk(stepEpochs, func(lo, n uint64) {
			k.auth.Epochs().RevokeRange(caps.KindPage, lo, lo+n-1)
			k.handOff(caps.KindPage, lo, lo+n-1, nil)
		}) {
			j.phase, j.cursor = tUndo, 0
		}
	case tUndo:
		s := names{kind: caps.KindPage}
		for i := 0; ; i++ {
			run, ok := e.holding(i)
			if !ok {
				break
			}
			s.add(run.PA/mem.PageSize, uint64(run.N))
		}
		if k.revokeRecords(&s, e, &j.cursor, true) {
			j.phase, j.cursor = tTables, 0
		}
	case tTables:
		if e.as != nil {
			// The tables came from e's charge; they go back with it.
			e.reserve = append(e.reserve, e.as.Release()...)
			e.as = nil
		}
		k.cpu.Forget(&e.ctx)
		j.phase, j.cursor = tKernel, 0
	case tKernel:
		n := e.kernelFrames()
		for i := int(j.cursor); i < min(n, int(j.cursor)+stepKernelZ); i++ {
			if pa := e.kernelFrame(i); pa != 0 {
				clear(k.phys.Page(pa)[:])
			}
		}
		if j.cursor += stepKernelZ; j.cursor >= uint64(n) {
			j.phase, j.run, j.cursor = tReset, 0, 0
		}
	case tReset:
		if e.chunk(stepFrames, func(lo, n uint64) {
			for p := lo; p < lo+n; p++ {
				k.frames.ResetMappings(p * mem.PageSize)
			}
		}) {
			j.phase = tHeir
		}
	case tHeir:
		k.passOn(e)
		j.phase, j.run, j.cursor = tFree, 0, 0
	case tFree:
		// What passOn left in e's lists goes to the pool.
		if e.chunk(stepFrames, func(lo, n uint64) {
			for p := lo; p < lo+n; p++ {
				k.frames.Free(p * mem.PageSize)
			}
		}) {
			j.phase, j.cursor = tFreeKernel, 0
		}
	case tFreeKernel:
		n := e.kernelFrames()
		if e.from.n != 0 {
			n = 0 // a spawned environment's are a block tFree freed
		}
		for i := int(j.cursor); i < min(n, int(j.cursor)+stepFrames); i++ {
			if pa := e.kernelFrame(i); pa != 0 {
				k.frames.Free(pa)
			}
		}
		if j.cursor += stepFrames; j.cursor >= uint64(n) {
			e.ram, e.spare = nil, nil
			e.startup, e.capList, e.records, e.reserve = 0, 0, 0, nil
			j.phase, j.cursor = tSlots, 0
		}
	case tSlots:
		return k.finalStep(e)
	}
	return false
}

// chunk walks e's holdings (holding) a piece of at most max pages a call,
// from the position in e.job, giving each piece to do as a first page
// number and a count, and reports whether the walk is over (then the
// position is back at the start).
func (e *Env) chunk(max uint64, do func(lo, n uint64)) bool {
	j := &e.job
	run, ok := e.holding(j.run)
	if !ok {
		j.run, j.cursor = 0, 0
		return true
	}
	c := min(uint64(run.N)-j.cursor, max)
	do(run.PA/mem.PageSize+j.cursor, c)
	if j.cursor += c; j.cursor == uint64(run.N) {
		j.run, j.cursor = j.run+1, 0
	}
	return false
}

// holding returns e's i'th run of frames that capabilities may name: its
// RAM runs, its spare runs, and for a spawned environment the block of its
// kernel frames (they were its parent's spare frames: capabilities for
// them existed until its build bumped their epochs).
func (e *Env) holding(i int) (mem.Run, bool) {
	if i < len(e.ram) {
		return e.ram[i], true
	}
	if i -= len(e.ram); i < len(e.spare) {
		return e.spare[i], true
	}
	if i == len(e.spare) {
		return e.kernelBlock()
	}
	return mem.Run{}, false
}

// heir returns the environment that inherits e's frames and children: the
// nearest ancestor that is still running, or nil for the pool.
func (e *Env) heir() *Env {
	p := e.giver
	for p != nil && p.finished() {
		p = p.giver
	}
	return p
}

// passOn gives e's frames to its heir, in one step: they move from e's
// lists to the heir's spare list, merged where they touch, and the kernel
// frames among them become frames the heir holds. A spawned environment's
// frames are the one run its parent gave (its RAM, then its kernel frames
// as one block, then its spare frames), split only by its own children's,
// so a handful of runs go back; what does not fit the heir's list stays in
// e's, for the pool.
func (k *Kernel) passOn(e *Env) {
	h := e.heir()
	block, ok := e.kernelBlock()
	if h == nil || !ok {
		return
	}
	for i := 0; i < e.kernelFrames(); i++ {
		if pa := e.kernelFrame(i); pa != 0 {
			if o, _ := k.frames.Owner(pa); o == mem.Kernel {
				k.frames.Give(pa, mem.Kernel, envFrame)
			}
		}
	}
	var all [abi.MaxRuns + maxSpare + 1]mem.Run
	n := copy(all[:], e.ram)
	n += copy(all[n:], e.spare)
	all[n] = block
	left := mergeRuns(&h.spare, all[:n+1])
	e.ram, e.spare = nil, left
	e.startup, e.capList, e.records, e.reserve = 0, 0, 0, nil
	k.refreshRoots(h)
}

// mergeRuns adds runs to a spare list in one pass: all sorted by address,
// touching runs coalesced, the longest maxSpare kept (longest first) and
// the rest returned. An environment's spare frames are split by at most
// one run per live descendant, and each holds a slot, so with maxSpare at
// abi.MaxSpare + abi.MaxSlots what comes back always fits.
func mergeRuns(list *[]mem.Run, runs []mem.Run) (left []mem.Run) {
	all := append(append(make([]mem.Run, 0, len(*list)+len(runs)), *list...), runs...)
	slices.SortFunc(all, func(a, b mem.Run) int { return cmp.Compare(a.PA, b.PA) })
	out := all[:0]
	for _, x := range all {
		if n := len(out); n > 0 && out[n-1].PA+uint64(out[n-1].N)*mem.PageSize == x.PA {
			out[n-1].N += x.N
			continue
		}
		out = append(out, x)
	}
	sortRuns(out)
	if len(out) > maxSpare {
		left = append(left, out[maxSpare:]...)
		out = out[:maxSpare]
	}
	*list = out
	return left
}

// sortRuns orders spare runs longest first, so that the ones the start-up
// block and capability list show are the most useful.
func sortRuns(l []mem.Run) {
	slices.SortStableFunc(l, func(a, b mem.Run) int { return b.N - a.N })
}

// finalStep releases e's slots, hands its children to its heir, and ends
// it: a Zombie for its parent to reap, or gone.
func (k *Kernel) finalStep(e *Env) bool {
	j := &e.job
	h := e.heir()
	for n := 0; n < scanIDs; n++ {
		if j.cursor++; j.cursor > uint64(k.envs.high) {
			break
		}
		c := k.envs.byID[j.cursor]
		if c == nil || c == e {
			continue
		}
		if c.parent == e {
			// No one is left to reap it: a finished child is forgotten
			// now, a running one when it ends.
			c.parent = nil
			if c.state == Zombie {
				k.freeID(c)
				continue
			}
			k.updateStartup(c)
		}
		if c.giver == e {
			c.giver = h
		}
	}
	if j.cursor <= uint64(k.envs.high) {
		return false
	}
	// Its slots go last: without one it would never run again.
	for _, s := range k.slots.Release(e.ID) {
		k.slotChanged(s, nil)
	}
	k.live--
	if k.cur == e {
		k.cur = nil
	}
	if e.parent != nil && !e.parent.finished() {
		e.state = Zombie
	} else {
		k.freeID(e)
	}
	return true
}

// freeID forgets e: its id is free again, and its epoch is bumped, so no
// capability for e ever names the environment that gets the id next.
func (k *Kernel) freeID(e *Env) {
	if e.ID == 0 {
		return
	}
	k.auth.Epochs().Revoke(caps.KindEnv, uint64(e.ID))
	e.tree.envsLeft++
	k.envs.put(e.ID)
	k.handOff(caps.KindEnv, uint64(e.ID), uint64(e.ID), nil)
	e.state = Dead
}
