package kernel

import (
	"bytes"
	"encoding/binary"

	"github.com/exo-os/exo/ash"
	"github.com/exo-os/exo/kernel/abi"
	"github.com/exo-os/exo/kernel/hart"
	"github.com/exo-os/exo/kernel/mem"
	"github.com/exo-os/exo/kernel/vm"
)

// Wakeup predicates (abi/pred.go; Engler et al., SOSP'95 §5.2). An
// environment blocks on a TypePredicate program over a window of its own
// address space and a counter block; the scheduler evaluates it in ready
// (kernel.go), which the slot vector calls when one of the environment's
// slots comes up, so the evaluation is done in, and paid for by, that
// slot. While it does not hold, the slot passes to the next slot's owner
// that can run (sched.Vector.Tick and Pass skip owners that cannot run);
// when nobody can run, the kernel idles and looks again a quantum later.
//
// The instruction budget is enforced at verification, not at run time:
// the program is at most abi.MaxPredProgram instructions and the verifier
// admits only acyclic programs, so an evaluation runs at most that many.
// The window is read in place, where the page table maps it at the time of
// each evaluation (within one page: one lookup), so no frame is pinned and
// a window unmapped meanwhile ends the wait with ErrFault.

// predState is an environment's wakeup predicate: the program it last
// verified, the one being verified, and the current wait. It is made at
// the environment's first SysPredWait.
type predState struct {
	// prog is the last verified program, of the raw[:n] instructions,
	// verified for a window of memLen bytes.
	prog   *ash.Program
	raw    [abi.MaxPredProgram * 8]byte
	n      int
	memLen uint64

	// pend[:pendN] is the program the call copied in; x its
	// verification, while one runs (jobPred).
	pend  [abi.MaxPredProgram * 8]byte
	pendN int
	x     *ash.Verification

	// The wait: the window and the deadline (0: none).
	va, len, deadline uint64

	counters [ash.DefaultCountersSize]byte
	in       ash.Input // reused, so that an evaluation does not allocate
	stats    abi.PredStats
}

// sysPredWait blocks the caller on a wakeup predicate (abi.SysPredWait).
func sysPredWait(k *Kernel, e *Env) (uint64, uint64, outcome) {
	x := &e.ctx.X
	pva, count, va, n, deadline := x[regA0], x[regA1], x[regA2], x[regA3], x[hart.RegA4]
	switch {
	case count == 0 || n == 0:
		return 0, abi.ErrInval, resume
	case count > abi.MaxPredProgram || n > abi.MaxPredWindow:
		return 0, abi.ErrTooBig, resume
	case va%mem.PageSize+n > mem.PageSize:
		return 0, abi.ErrInval, resume
	case !userRange(e.as, va, n, vm.R):
		return 0, abi.ErrFault, resume
	}
	p := e.pred
	if p == nil {
		p = new(predState)
		e.pred = p
	}
	raw := p.pend[:count*8]
	if !k.copyIn(e, raw, pva) {
		return 0, abi.ErrFault, resume
	}
	p.pendN = len(raw)
	if p.prog != nil && p.memLen == n && bytes.Equal(raw, p.raw[:p.n]) {
		p.va, p.len, p.deadline = va, n, deadline
		return k.predStart(e)
	}
	insns, err := ash.Decode(raw)
	if err != nil {
		return 0, abi.ErrProgram, resume
	}
	p.x = ash.NewVerification(insns, ash.Config{Type: ash.TypePredicate, MemSize: int(n), MaxSteps: abi.NetVerifySteps})
	// The wait is recorded only once the program verified (predStep), so
	// that a refusal changes nothing; the job keeps the arguments.
	e.job = job{kind: jobPred, lo: va, hi: n, cursor: deadline}
	return 0, 0, working
}

// predStep does one bounded step of the verification of e's predicate and
// reports whether it is over; then e's a0 and a1 hold the result, or e
// waits.
func (k *Kernel) predStep(e *Env) bool {
	p := e.pred
	if !p.x.Continue(stepVerify) {
		return false
	}
	prog, err := p.x.Result()
	p.x = nil
	if err != nil {
		e.ctx.X[regA0], e.ctx.X[regA1] = 0, abi.ErrProgram
		return true
	}
	p.prog, p.n, p.memLen = prog, p.pendN, e.job.hi
	copy(p.raw[:], p.pend[:p.pendN])
	p.stats.Verified++
	p.va, p.len, p.deadline = e.job.lo, e.job.hi, e.job.cursor
	val, errno, _ := k.predStart(e)
	e.ctx.X[regA0], e.ctx.X[regA1] = val, errno
	return true
}

// predStart evaluates e's predicate once and, unless it holds (or the
// window is gone, or the deadline passed), makes e wait on it. A wait
// leaves (0, ErrAgain) in e's result registers: what the call returns if a
// protected control transfer interrupts the wait (pct.go makes the callee
// runnable; the caller's libos calls again). predOver sets the result
// when the wait ends.
func (k *Kernel) predStart(e *Env) (uint64, uint64, outcome) {
	p := e.pred
	p.stats.Waits++
	now := k.plat.Now()
	if val, errno, over := k.predEval(e, now); over {
		return val, errno, resume
	}
	if p.deadline != 0 && now >= p.deadline {
		p.stats.Deadlines++
		return 0, abi.OK, resume
	}
	e.state, e.wait = Waiting, waitPred
	return 0, abi.ErrAgain, yielded
}

// predOver reports whether e's predicate wait is over, evaluating the
// predicate; if it is, e's a0 and a1 hold the call's result.
func (k *Kernel) predOver(e *Env, now uint64) bool {
	p := e.pred
	val, errno, over := k.predEval(e, now)
	if !over && p.deadline != 0 && now >= p.deadline {
		p.stats.Deadlines++
		val, errno, over = 0, abi.OK, true
	}
	if over {
		e.ctx.X[regA0], e.ctx.X[regA1] = val, errno
	}
	return over
}

// predEval runs e's predicate once over its window as the page table maps
// it now and reports whether the wait is over, and with what result.
func (k *Kernel) predEval(e *Env, now uint64) (val, errno uint64, over bool) {
	p := e.pred
	pa, perm, ok := e.as.Lookup(p.va)
	if !ok || perm&(vm.R|vm.U) != vm.R|vm.U {
		p.stats.Faults++
		return 0, abi.ErrFault, true
	}
	off := pa % mem.PageSize
	win := k.phys.Page(pa - off)[off : off+p.len]
	p.stats.Evals++
	le := binary.LittleEndian
	c := p.counters[:]
	le.PutUint64(c[abi.PredCounterTime:], now)
	le.PutUint64(c[abi.PredCounterSlot:], uint64(k.slots.Current()))
	le.PutUint64(c[abi.PredCounterRxPackets:], uint64(e.ring.head))
	le.PutUint64(c[abi.PredCounterTxPackets:], 0)
	le.PutUint64(c[abi.PredCounterRxDropped:], e.ring.dropped)
	le.PutUint64(c[abi.PredCounterWakeups:], p.stats.Wakes)
	le.PutUint64(c[abi.PredCounterEnvID:], uint64(e.ID))
	le.PutUint64(c[abi.PredCounterEvals:], p.stats.Evals)
	p.in = ash.Input{Mem: win, Counters: c}
	res, err := k.net.machine.Run(p.prog, &p.in)
	p.in = ash.Input{}
	p.stats.Insns += uint64(res.Steps)
	switch {
	case err != nil:
		p.stats.Faults++
		return 0, abi.ErrProgram, true
	case res.R0 != 0:
		p.stats.Wakes++
		return 1, abi.OK, true
	}
	return 0, 0, false
}

// sysPredStats copies the caller's predicate counters out
// (abi.SysPredStats).
func sysPredStats(k *Kernel, e *Env) (uint64, uint64, outcome) {
	var s abi.PredStats
	if e.pred != nil {
		s = e.pred.stats
	}
	if !k.copyOut(e, e.ctx.X[regA0], bytesOf(&s)) {
		return 0, abi.ErrFault, resume
	}
	return 0, abi.OK, resume
}
