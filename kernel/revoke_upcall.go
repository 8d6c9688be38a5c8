package kernel

import (
	"github.com/exo-os/exo/caps"
	"github.com/exo-os/exo/kernel/abi"
	"github.com/exo-os/exo/kernel/mem"
	"github.com/exo-os/exo/kernel/vm"
)

// Visible revocation (docs/ABI.md, "Visible revocation"), the abort
// protocol of the Aegis exokernel: an authority over an environment asks
// it to give back some of what it holds, the environment chooses which
// instances and gives them back, and what is still owed at the deadline
// the kernel takes by force, recording each in the environment's loss log.
//
// The request is delivered as an upcall, like an exception: when the
// target next runs, the kernel saves its context into the save area it
// registered, with the request in Cause, Tval and Reserved[0], and enters
// its handler with a0 = the save area. A target without a handler is not
// told; it loses the instances at the deadline.

// revokeState is an environment's side of visible revocation.
type revokeState struct {
	// entry and save are the handler's entry point and save area; entry
	// 0: none registered.
	entry, save uint64
	// kind (caps.KindPage or caps.KindSlot; 0: no request pending),
	// owed (instances still asked for) and deadline (in ticks) are the
	// pending request.
	kind     caps.Kind
	owed     uint64
	deadline uint64
	// told is set once the pending request was delivered to the handler
	// (a handler registered after the request still gets it); in from a
	// delivery until RevokeDone with a frame.
	told, in bool
}

// sysRevokeRequest asks the environment named by the env capability at a0
// (control right) for a2 instances of kind a1 by tick a3.
func sysRevokeRequest(k *Kernel, e *Env) (uint64, uint64, outcome) {
	capVA, kind, count, deadline := e.ctx.X[regA0], e.ctx.X[regA1], e.ctx.X[regA2], e.ctx.X[regA3]
	var c caps.Cap
	if !k.copyIn(e, c[:], capVA) {
		return 0, abi.ErrFault, resume
	}
	// The MAC first: a forger learns nothing but that.
	_, id, _, _ := c.Effective()
	if val, errno := k.verifyBytes(c[:], caps.Need{Kind: caps.KindEnv, Lo: id, Hi: id, Rights: caps.EnvControl}); errno != abi.OK {
		return val, errno, resume
	}
	t := k.envs.get(uint32(id))
	if t == nil || id > MaxEnvs {
		return 0, abi.ErrNotFound, resume
	}
	return k.RequestRevoke(t, caps.Kind(kind), count, deadline)
}

// RequestRevoke records a request that t give back count instances of kind
// (caps.KindPage: spare frames; caps.KindSlot: slots) by deadline, as
// SysRevokeRequest does once its capability verified; the kernel (a test)
// may call it directly. It returns SysRevokeRequest's results.
func (k *Kernel) RequestRevoke(t *Env, kind caps.Kind, count, deadline uint64) (uint64, uint64, outcome) {
	switch {
	case t.finished():
		return 0, abi.ErrFinished, resume
	case kind != caps.KindPage && kind != caps.KindSlot:
		return 0, abi.ErrInval, resume
	case count == 0:
		return 0, abi.ErrInval, resume
	case count > abi.MaxRevokeCount:
		return 0, abi.ErrTooBig, resume
	case t.rv.kind != 0:
		return 0, abi.ErrExist, resume
	case kind == caps.KindPage && t.heir() == nil:
		return 0, abi.ErrInval, resume // no one to give its frames to
	case count > k.givable(t, kind):
		return k.givable(t, kind), abi.ErrInval, resume
	}
	t.rv.kind, t.rv.owed, t.rv.deadline = kind, count, deadline
	t.rv.told = false
	k.revRequests = append(k.revRequests, t)
	if t.rv.entry != 0 && !t.stopped && (t.state == Sleeping || t.state == Waiting) {
		// Wake it to be told: a sleep returns early (it returned
		// already), a wait inside a call makes the call again.
		t.state, t.wait = Runnable, waitNone
	}
	return 0, abi.OK, resume
}

// givable is how many instances of kind t could give back now: its spare
// frames, or its slots but one.
func (k *Kernel) givable(t *Env, kind caps.Kind) uint64 {
	if kind == caps.KindSlot {
		return uint64(max(k.slots.Count(t.ID)-1, 0))
	}
	n := uint64(0)
	for _, r := range t.spare {
		n += uint64(r.N)
	}
	return n
}

// sysRevokeAnswer is the target's side of a request: a0 is the operation.
func sysRevokeAnswer(k *Kernel, e *Env) (uint64, uint64, outcome) {
	a1, a2 := e.ctx.X[regA1], e.ctx.X[regA2]
	switch e.ctx.X[regA0] {
	case abi.RevokeHandler:
		if a1 == 0 {
			e.rv.entry, e.rv.save = 0, 0
			return 0, abi.OK, resume
		}
		if a1%2 != 0 || a2%8 != 0 {
			return 0, abi.ErrInval, resume
		}
		if !userRange(e.as, a1, 2, vm.X) {
			return a1, abi.ErrFault, resume
		}
		if !userRange(e.as, a2, abi.ExceptionFrameSize, vm.R|vm.W) {
			return a2, abi.ErrFault, resume
		}
		e.rv.entry, e.rv.save = a1, a2
		return 0, abi.OK, resume
	case abi.RevokeGive:
		return k.revokeGive(e, a1, a2)
	case abi.RevokeDone:
		var f abi.ExceptionFrame
		if a1 != 0 {
			if a1%8 != 0 {
				return 0, abi.ErrInval, resume
			}
			if !k.copyIn(e, bytesOf(&f), a1) {
				return 0, abi.ErrFault, resume
			}
			if f.PC >= vm.UserTop || f.PC%2 != 0 {
				return 0, abi.ErrInval, resume
			}
		}
		k.forceRevoke(e)
		if a1 == 0 {
			return 0, abi.OK, resume
		}
		c := &e.ctx
		c.X = f.X
		c.X[0] = 0
		c.PC = f.PC
		e.rv.in = false
		return 0, abi.OK, restored
	}
	return 0, abi.ErrInval, resume
}

// revokeGive gives back n instances of e's pending request's kind from
// name lo, and returns what the request still asks for.
func (k *Kernel) revokeGive(e *Env, lo, n uint64) (uint64, uint64, outcome) {
	if e.rv.kind == 0 {
		return 0, abi.ErrNotFound, resume
	}
	if n == 0 || n > e.rv.owed || lo+n < lo {
		return e.rv.owed, abi.ErrInval, resume
	}
	if e.rv.kind == caps.KindSlot {
		if lo+n > uint64(k.slots.Len()) || uint64(k.slots.Count(e.ID)) <= n {
			return e.rv.owed, abi.ErrInval, resume
		}
		for s := lo; s < lo+n; s++ {
			if k.slots.Owner(int(s)) != e.ID {
				return s, abi.ErrNotFound, resume
			}
		}
		for s := lo; s < lo+n; s++ {
			k.takeSlot(e, int(s), false)
		}
		k.refreshRoots(e)
	} else {
		run := -1
		for i, r := range e.spare {
			rlo := r.PA / mem.PageSize
			if lo >= rlo && lo+n <= rlo+uint64(r.N) {
				run = i
			}
		}
		if run < 0 {
			return e.rv.owed, abi.ErrInval, resume
		}
		if len(e.spare) == maxSpare && lo > e.spare[run].PA/mem.PageSize && lo+n < e.spare[run].PA/mem.PageSize+uint64(e.spare[run].N) {
			return e.rv.owed, abi.ErrNoMem, resume // splitting the run needs a list entry it does not have
		}
		if !k.takePages(e, run, lo, n, false) {
			return e.rv.owed, abi.ErrNoMem, resume // the heir's spare list is full
		}
	}
	e.rv.owed -= n
	if e.rv.owed == 0 {
		k.endRequest(e)
	}
	return e.rv.owed, abi.OK, resume
}

// takeSlot takes slot s from e and frees it; forced, it is logged as lost.
func (k *Kernel) takeSlot(e *Env, s int, forced bool) {
	k.slots.ReleaseOne(e.ID, s)
	k.slotChanged(s, nil)
	if forced {
		k.lost(e, caps.KindSlot, uint64(s), 0)
	}
}

// takePages moves e's spare frames [lo, lo+n) (page numbers, within
// e.spare[run]) to its heir's spare list: their epochs are bumped, so no
// capability minted for them before names them again, and every binding
// of them is undone (each other holder finds it in its loss log; e, if it
// mapped them itself, only when forced, then with one entry per frame). It
// reports false, changing nothing, if the heir's list has no room.
func (k *Kernel) takePages(e *Env, run int, lo, n uint64, forced bool) bool {
	h := e.heir()
	if h == nil {
		return false
	}
	pa := lo * mem.PageSize
	// mergeRuns builds a fresh list: on a copy, nothing changes if it
	// does not fit.
	list := h.spare
	if left := mergeRuns(&list, []mem.Run{{PA: pa, N: int(n)}}); len(left) > 0 {
		return false
	}
	h.spare = list
	takeRun(&e.spare, run, pa, n)
	k.auth.Epochs().RevokeRange(caps.KindPage, lo, lo+n-1)
	k.handOff(caps.KindPage, lo, lo+n-1, nil)
	var s names
	s.kind = caps.KindPage
	s.add(lo, n)
	// Bounded by the env table and each environment's binding records.
	for cur := uint64(0); !k.revokeRecords(&s, e, &cur, true); {
	}
	if e.nbinds > 0 && e.as != nil {
		r := k.recordsOf(e)
		for i := 0; i < e.nbinds; {
			if s.hits(&r[i]) {
				k.undo(e, i, false)
				continue
			}
			i++
		}
	}
	if forced {
		for p := lo; p < lo+n; p++ {
			k.lost(e, caps.KindPage, p, 0)
		}
	}
	k.markStale(e, caps.KindPage, lo, lo+n-1)
	k.refreshRoots(e)
	k.markStale(h, caps.KindPage, lo, lo+n-1)
	k.refreshRoots(h)
	return true
}

// forceRevoke takes what e's pending request still asks for, logging each
// instance in e's loss log, and ends the request: the highest-numbered
// slots but its last; spare frames from the end of its shortest runs.
func (k *Kernel) forceRevoke(e *Env) {
	if e.rv.kind == 0 {
		return
	}
	if !e.finished() {
		switch e.rv.kind {
		case caps.KindSlot:
			for s := k.slots.Len() - 1; s >= 0 && e.rv.owed > 0 && k.slots.Count(e.ID) > 1; s-- {
				if k.slots.Owner(s) == e.ID {
					k.takeSlot(e, s, true)
					e.rv.owed--
				}
			}
			k.refreshRoots(e)
		case caps.KindPage:
			for e.rv.owed > 0 && len(e.spare) > 0 {
				i := len(e.spare) - 1 // longest first: the last is the shortest
				r := e.spare[i]
				n := min(e.rv.owed, uint64(r.N))
				lo := r.PA/mem.PageSize + uint64(r.N) - n
				if !k.takePages(e, i, lo, n, true) {
					break
				}
				e.rv.owed -= n
			}
		}
	}
	k.endRequest(e)
}

// endRequest forgets e's pending request.
func (k *Kernel) endRequest(e *Env) {
	e.rv.kind, e.rv.owed, e.rv.deadline, e.rv.told = 0, 0, 0, false
	for i, r := range k.revRequests {
		if r == e {
			k.revRequests[i] = k.revRequests[len(k.revRequests)-1]
			k.revRequests = k.revRequests[:len(k.revRequests)-1]
			return
		}
	}
}

// revokeDeadlines takes by force what every request whose deadline passed
// by now still asks for, and forgets the requests of environments that
// ended.
func (k *Kernel) revokeDeadlines(now uint64) {
	for i := 0; i < len(k.revRequests); {
		e := k.revRequests[i]
		if e.finished() || now >= e.rv.deadline {
			k.forceRevoke(e) // takes e off the list
			continue
		}
		i++
	}
}

// revokeWake is the earliest deadline of a pending request.
func (k *Kernel) revokeWake() uint64 {
	w := ^uint64(0)
	for _, e := range k.revRequests {
		w = min(w, e.rv.deadline)
	}
	return w
}

// tellRevoke delivers e's pending request to its handler, if it has one
// and is not in it (nor in its exception handler): its context goes into
// the save area, and it resumes at the entry point with a0 = the save area.
func (k *Kernel) tellRevoke(e *Env) {
	x := &e.rv
	if x.told || x.in || e.exc.in || x.entry == 0 || e.job.kind != jobNone {
		return
	}
	c := &e.ctx
	f := abi.ExceptionFrame{Cause: uint64(x.kind), Tval: x.owed, PC: c.PC, X: c.X}
	f.X[0] = 0
	f.Reserved[0] = x.deadline
	x.told = true
	if !k.copyOut(e, x.save, bytesOf(&f)) {
		return // its save area went away: it learns at the deadline
	}
	c.PC, c.X[regA0] = x.entry, x.save
	x.in = true
}
