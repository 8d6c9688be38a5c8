package kernel

import (
	"github.com/exo-os/exo/caps"
	"github.com/exo-os/exo/kernel/abi"
	"github.com/exo-os/exo/kernel/hart"
	"github.com/exo-os/exo/kernel/vm"
)

// Protected control transfers (docs/ABI.md, "Protected control
// transfers"; Engler et al., SOSP'95 §5.3): an environment enters another
// at the entry point that one registered, with arguments in registers, and
// gives it CPU time. The kernel's whole state for it is the entry point, the
// frame, whether the callee is in its entry, and the caller-callee link of a
// synchronous transfer, which the scheduler follows: a caller's slots run
// the end of its chain of calls (pick). Transfers to an environment in a
// call are refused, so the chains never form a cycle.

// transferred: the call handed the CPU to k.xfer for the rest of the
// interval, without a trip round the slot vector (pick). Its value is far
// from the outcomes of syscall.go so that new ones there cannot collide.
const transferred outcome = 64

// pctState is an environment's side of protected control transfers.
type pctState struct {
	// entry and frame are its entry point and transfer frame; entry 0:
	// none registered.
	entry, frame uint64
	// in is set from a transfer into it until SysPCTReturn.
	in bool
	// caller is the environment whose synchronous transfer it serves;
	// callee is the one this environment waits on in its own
	// synchronous call. caller.pct.callee == this, and the reverse.
	caller, callee *Env
}

// sysPCTEntry registers (a0 != 0) or unregisters (a0 = 0) e's entry point
// a0 and transfer frame a1 (abi.SysPCTEntry).
func sysPCTEntry(k *Kernel, e *Env) (uint64, uint64, outcome) {
	entry, frame := e.ctx.X[regA0], e.ctx.X[regA1]
	if entry == 0 {
		e.pct.entry, e.pct.frame = 0, 0
		return 0, abi.OK, resume
	}
	if entry%2 != 0 || frame%8 != 0 {
		return 0, abi.ErrInval, resume
	}
	if !userRange(e.as, entry, 2, vm.X) {
		return entry, abi.ErrFault, resume
	}
	if !userRange(e.as, frame, abi.PCTFrameSize, vm.R|vm.W) {
		return frame, abi.ErrFault, resume
	}
	e.pct.entry, e.pct.frame = entry, frame
	return 0, abi.OK, resume
}

// sysPCTCall is the synchronous transfer (abi.SysPCTCall).
func sysPCTCall(k *Kernel, e *Env) (uint64, uint64, outcome) { return k.transfer(e, true) }

// sysPCTAsync is the asynchronous transfer (abi.SysPCTAsync).
func sysPCTAsync(k *Kernel, e *Env) (uint64, uint64, outcome) { return k.transfer(e, false) }

// transfer checks e's transfer to the environment its capability at a6
// names and, if it is allowed, enters that environment at its entry point.
func (k *Kernel) transfer(e *Env, sync bool) (uint64, uint64, outcome) {
	c := &e.ctx
	var cp caps.Cap
	if !k.copyIn(e, cp[:], c.X[hart.RegA0+6]) {
		return 0, abi.ErrFault, resume
	}
	// The id comes from the bytes; Verify checks the MAC first, so a
	// forger learns only "forged".
	_, id, _, _ := cp.Effective()
	if val, errno := k.verifyBytes(cp[:], caps.Need{Kind: caps.KindEnv, Lo: id, Hi: id, Rights: caps.EnvSend}); errno != abi.OK {
		return val, errno, resume
	}
	t := k.envs.get(uint32(id))
	switch {
	case t == nil || t.state == Dead:
		// A current capability names only environments that exist.
		return id, abi.ErrNotFound, resume
	case t == e:
		return 0, abi.ErrInval, resume
	case t.finished():
		return id, abi.ErrFinished, resume
	case t.stopped || t.state == Building || t.job.kind != jobNone || t.pct.in || t.pct.callee != nil:
		return id, abi.ErrBusy, resume
	case t.pct.entry == 0:
		return id, abi.ErrNotFound, resume
	}
	// Save what the entry overwrites into the callee's own frame; a frame
	// it has unmapped since it registered refuses the transfer.
	tc := &t.ctx
	f := abi.PCTFrame{PC: tc.PC}
	copy(f.A[:], tc.X[hart.RegA0:hart.RegA0+8])
	if !k.copyOut(t, t.pct.frame, bytesOf(&f)) {
		return 0, abi.ErrFault, resume
	}
	copy(tc.X[hart.RegA0:hart.RegA0+6], c.X[hart.RegA0:hart.RegA0+6])
	tc.X[hart.RegA0+6] = uint64(e.ID)
	tc.X[hart.RegA0+7] = 0
	tc.PC = t.pct.entry
	t.pct.in = true
	// A callee that was sleeping or waiting runs its entry now; the call
	// it was in is in the frame, and runs again when it returns there.
	t.state, t.wait = Runnable, waitNone
	if sync {
		tc.X[hart.RegA0+7] = abi.PCTSync
		e.pct.callee, t.pct.caller = t, e
	} else {
		c.X[regA0], c.X[regA1] = 0, abi.OK
	}
	k.xfer = t
	return 0, abi.OK, transferred
}

// sysPCTReturn leaves e's entry: pc and a0..a7 come back from its frame,
// and a synchronous caller gets its results and the CPU
// (abi.SysPCTReturn).
func sysPCTReturn(k *Kernel, e *Env) (uint64, uint64, outcome) {
	if !e.pct.in {
		return 0, abi.ErrInval, resume
	}
	var f abi.PCTFrame
	if !k.copyIn(e, bytesOf(&f), e.pct.frame) {
		return 0, abi.ErrFault, resume
	}
	if f.PC >= vm.UserTop || f.PC%2 != 0 {
		return 0, abi.ErrInval, resume
	}
	c := &e.ctx
	results := [6]uint64(c.X[hart.RegA0 : hart.RegA0+6])
	c.PC = f.PC
	copy(c.X[hart.RegA0:hart.RegA0+8], f.A[:])
	e.pct.in = false
	a := e.pct.caller
	if a == nil {
		return 0, abi.OK, restored
	}
	e.pct.caller, a.pct.callee = nil, nil
	ac := &a.ctx
	copy(ac.X[hart.RegA0:hart.RegA0+6], results[:])
	ac.X[regA1] = abi.OK
	if a.stopped {
		// Its slots no longer run anyone until it is resumed; the rest
		// of this one passes on.
		return 0, abi.OK, yielded
	}
	k.xfer = a
	return 0, abi.OK, transferred
}

// pctEnd undoes e's links as it ends: a caller waiting on it gets
// (e's id, ErrFinished); a callee serving it keeps running its entry,
// whose return then has no caller to go back to.
func (k *Kernel) pctEnd(e *Env) {
	if a := e.pct.caller; a != nil {
		e.pct.caller, a.pct.callee = nil, nil
		a.ctx.X[regA0], a.ctx.X[regA1] = uint64(e.ID), abi.ErrFinished
	}
	if t := e.pct.callee; t != nil {
		e.pct.callee, t.pct.caller = nil, nil
	}
	e.pct.in = false
}

// donee returns who runs in e's slots: e, or, while e waits in a
// synchronous transfer, the end of its chain of calls.
func donee(e *Env) *Env {
	for e.pct.callee != nil && e.state == Runnable && !e.stopped {
		e = e.pct.callee
	}
	return e
}
