package kernel

import (
	"github.com/exo-os/exo/kernel/riscv"
)

// trap handles what made e leave User mode.
func (k *Kernel) trap(e *Env) {
	switch c := e.ctx.Cause; c {
	case riscv.IntMachineTimer:
		// The interval is over: the next pick starts the next one and
		// re-arms the timer, which clears the interrupt.
		e.Preemptions++
		k.tick = true
	case riscv.CauseEcallU:
		e.Syscalls++
		k.syscall(e)
	case riscv.CauseIllegalInsn:
		if !k.emulate(e) {
			k.kill(e)
		}
	default:
		if c&riscv.CauseInterrupt != 0 {
			// No other interrupt is enabled yet; note it and go on.
			k.printf("unexpected %s while env %d ran\n", riscv.CauseName(c), e.ID)
			return
		}
		k.kill(e)
	}
}

// kill ends e for an exception it cannot be allowed to continue from, with
// a one-line report.
func (k *Kernel) kill(e *Env) {
	c := &e.ctx
	if riscv.HasAddress(c.Cause) {
		k.printf("env %d (%s) killed: %s at pc %#x, address %#x\n", e.ID, e.Name, riscv.CauseName(c.Cause), c.PC, c.Tval)
	} else {
		k.printf("env %d (%s) killed: %s at pc %#x\n", e.ID, e.Name, riscv.CauseName(c.Cause), c.PC)
	}
	k.finish(e, 0, true)
}
