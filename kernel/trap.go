package kernel

import (
	"github.com/exo-os/exo/kernel/vm"
	"github.com/exo-os/exo/riscv"
)

// trap handles what made e leave User mode, other than a system call
// (runEnv takes those itself, the fast path), and says what e does next.
// An exception the kernel does not complete itself goes to e's handler, if
// it registered one (except, exc.go), or ends e.
func (k *Kernel) trap(e *Env) outcome {
	switch c := e.ctx.Cause; c {
	case riscv.IntMachineTimer:
		// The interval is over: the next pick starts the next one and
		// re-arms the timer, which clears the interrupt.
		e.Preemptions++
		return preempted
	case riscv.IntMachineExternal:
		// A device: serve it now, whoever holds the CPU, and resume.
		k.interrupt()
		return resume
	case riscv.CauseIllegalInsn:
		if k.emulate(e) {
			return resume
		}
		return k.except(e)
	case riscv.CauseLoadPageFault, riscv.CauseStorePageFault, riscv.CauseFetchPageFault:
		if k.spuriousFault(e) {
			return resume
		}
		return k.except(e)
	default:
		if c&riscv.CauseInterrupt != 0 {
			// No other interrupt is enabled; note it and go on.
			k.printf("unexpected %s while env %d ran\n", riscv.CauseName(c), e.ID)
			return resume
		}
		return k.except(e)
	}
}

// spuriousFault reports whether a page fault came from a stale
// translation rather than the page table: the privileged specification
// (§4.2.1) lets a hart use an entry cached before the kernel's last change
// until a fence. If the table now allows the access, the kernel fences and
// the access is retried; otherwise it is a real fault.
func (k *Kernel) spuriousFault(e *Env) bool {
	c := &e.ctx
	if e.as == nil {
		return false
	}
	_, perm, ok := e.as.Lookup(c.Tval)
	if !ok {
		return false
	}
	need := vm.R
	switch c.Cause {
	case riscv.CauseStorePageFault:
		need = vm.W
	case riscv.CauseFetchPageFault:
		need = vm.X
	}
	if perm&(need|vm.U) != need|vm.U {
		return false
	}
	// A hart that does not set A and D itself faults on an entry
	// without them (priv §4.3.1); SysPageBits can clear them.
	e.as.Touch(c.Tval, c.Cause == riscv.CauseStorePageFault)
	k.cpu.Invalidate(e.satp, c.Tval&^0xfff)
	return true
}

// kill ends e for an exception it cannot be allowed to continue from, with
// a one-line report: the cause, the pc, and the address that faulted, or
// for an illegal instruction its encoding; where the hart gives no address
// (a breakpoint, on some harts), the pc is the address.
func (k *Kernel) kill(e *Env) outcome { return k.killNote(e, "") }

// killNote is kill with note appended to the report line.
func (k *Kernel) killNote(e *Env, note string) outcome {
	c := &e.ctx
	switch {
	case c.Cause == riscv.CauseIllegalInsn && c.Tval != 0:
		k.printf("env %d (%s) killed: %s at pc %#x (instruction %#x)%s\n", e.ID, e.Name, riscv.CauseName(c.Cause), c.PC, uint32(c.Tval), note)
	case riscv.HasAddress(c.Cause):
		addr := c.Tval
		if addr == 0 && c.Cause == riscv.CauseBreakpoint {
			addr = c.PC
		}
		k.printf("env %d (%s) killed: %s at pc %#x, address %#x%s\n", e.ID, e.Name, riscv.CauseName(c.Cause), c.PC, addr, note)
	default:
		k.printf("env %d (%s) killed: %s at pc %#x%s\n", e.ID, e.Name, riscv.CauseName(c.Cause), c.PC, note)
	}
	k.end(e, 0, true)
	return working
}
