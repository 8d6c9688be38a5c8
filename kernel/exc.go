package kernel

import (
	"github.com/exo-os/exo/kernel/abi"
	"github.com/exo-os/exo/kernel/vm"
)

// Exceptions reflected to the environment (docs/ABI.md, "Exceptions"): an
// environment that registered a handler gets its own exceptions, as the
// Aegis exokernel gave them, instead of being killed for them.

// excState is an environment's exception handler.
type excState struct {
	// entry and save are the handler's entry point and save area; entry
	// 0: none registered.
	entry, save uint64
	// in is set from a delivery until SysExcResume: an exception then
	// kills the environment.
	in bool
}

// sysExcHandler registers (a0 != 0) or unregisters (a0 = 0) e's exception
// handler: entry point a0, save area a1 (abi.SysExcHandler).
func sysExcHandler(k *Kernel, e *Env) (uint64, uint64, outcome) {
	entry, save := e.ctx.X[regA0], e.ctx.X[regA1]
	if entry == 0 {
		e.exc.entry, e.exc.save = 0, 0
		return 0, abi.OK, resume
	}
	if entry%2 != 0 || save%8 != 0 {
		return 0, abi.ErrInval, resume
	}
	// Two bytes: the shortest instruction (C extension).
	if !userRange(e.as, entry, 2, vm.X) {
		return entry, abi.ErrFault, resume
	}
	if !userRange(e.as, save, abi.ExceptionFrameSize, vm.R|vm.W) {
		return save, abi.ErrFault, resume
	}
	e.exc.entry, e.exc.save = entry, save
	return 0, abi.OK, resume
}

// sysExcResume loads x1..x31 and the pc from the frame at a0 and leaves
// the handler (abi.SysExcResume). Nothing else of the hart's state comes
// from user memory.
func sysExcResume(k *Kernel, e *Env) (uint64, uint64, outcome) {
	va := e.ctx.X[regA0]
	if va%8 != 0 {
		return 0, abi.ErrInval, resume
	}
	var f abi.ExceptionFrame
	if !k.copyIn(e, bytesOf(&f), va) {
		return 0, abi.ErrFault, resume
	}
	if f.PC >= vm.UserTop || f.PC%2 != 0 {
		return 0, abi.ErrInval, resume
	}
	c := &e.ctx
	c.X = f.X
	c.X[0] = 0
	c.PC = f.PC
	e.exc.in = false
	return 0, abi.OK, restored
}

// except handles an exception e cannot continue from by itself: delivered
// to its handler if it has one and is not in it, otherwise the end of e,
// with the report kill prints.
func (k *Kernel) except(e *Env) outcome {
	x := &e.exc
	switch {
	case x.entry == 0:
		return k.kill(e)
	case x.in:
		return k.killNote(e, " (in its exception handler)")
	}
	c := &e.ctx
	f := abi.ExceptionFrame{Cause: c.Cause, Tval: c.Tval, PC: c.PC, X: c.X}
	f.X[0] = 0
	if !k.copyOut(e, x.save, bytesOf(&f)) {
		return k.killNote(e, " (its exception save area is not writable)")
	}
	c.PC, c.X[regA0] = x.entry, x.save
	x.in = true
	e.Exceptions++
	return resume
}
