package kernel

import (
	"github.com/exo-os/exo/kernel/abi"
	"github.com/exo-os/exo/kernel/riscv"
	"github.com/exo-os/exo/kernel/vm"
)

// syscall dispatches the ecall e made (docs/ABI.md): a7 is the number,
// a0..a5 the arguments; a0 and a1 return the value and the error code.
func (k *Kernel) syscall(e *Env) {
	c := &e.ctx
	c.PC += 4 // resume after the ecall, which is never compressed
	a0, a1, a2, a3 := c.X[riscv.RegA0], c.X[riscv.RegA1], c.X[riscv.RegA2], c.X[riscv.RegA3]
	var val, errno uint64
	switch c.X[riscv.RegA7] {
	case abi.SysNull:
	case abi.SysWrite:
		val, errno = k.sysWrite(e, a0, a1)
	case abi.SysYield:
		k.endSlice()
	case abi.SysExit:
		k.exit(e, uint32(a0))
		return
	case abi.SysSleep:
		if a0 > k.plat.Now() {
			e.state, e.wake = Sleeping, a0
			k.endSlice()
		}
	case abi.SysRandom:
		errno = k.sysRandom(e, a0, a1)
	case abi.SysMap:
		val, errno = k.sysMap(e, a0, a1, a2, a3)
	case abi.SysUnmap:
		val, errno = k.sysUnmap(e, a0)
	case abi.SysSpawn:
		val, errno = k.sysSpawn(e, a0)
	case abi.SysRevoke:
		val, errno = k.sysRevoke(e, a0, a1)
	case abi.SysSlotBind:
		val, errno = k.sysSlotBind(e, a0, a1)
	case abi.SysSlotRelease:
		val, errno = k.sysSlotRelease(e, a0)
	default:
		errno = abi.ErrNoSys
	}
	c.X[riscv.RegA0], c.X[riscv.RegA1] = val, errno
}

func (k *Kernel) exit(e *Env, status uint32) {
	k.printf("env %d (%s) exited with status %d (%d slices, %d preempted, %d system calls)\n", e.ID, e.Name, status, e.Slices, e.Preemptions, e.Syscalls)
	k.finish(e, status, false)
}

// sysWrite writes the user buffer [va, va+n) to the console, each line
// prefixed with the environment's name. The whole buffer is checked before
// any byte is written, so a bad pointer writes nothing.
func (k *Kernel) sysWrite(e *Env, va, n uint64) (uint64, uint64) {
	if n > abi.MaxWrite {
		return 0, abi.ErrTooBig
	}
	if !userRange(e.as, va, n, vm.R) {
		return 0, abi.ErrFault
	}
	for done := uint64(0); done < n; {
		pa, _, _ := e.as.Lookup(va + done)
		off := pa % 4096
		chunk := min(n-done, 4096-off)
		k.consoleWrite(e, k.phys.Page(pa - off)[off:off+chunk])
		done += chunk
	}
	return n, abi.OK
}

// sysRandom fills the user buffer [va, va+n) from the entropy source.
func (k *Kernel) sysRandom(e *Env, va, n uint64) uint64 {
	if n > abi.MaxRandom {
		return abi.ErrTooBig
	}
	if !userRange(e.as, va, n, vm.R|vm.W) {
		return abi.ErrFault
	}
	// The bytes go through a buffer of the kernel's own: one on the stack
	// would escape through the Platform interface and be allocated on
	// every call.
	buf := k.randomBuf[:n]
	if err := k.plat.Entropy(buf); err != nil {
		return abi.ErrInval
	}
	k.copyOut(e, va, buf)
	clear(buf)
	return abi.OK
}

// userRange reports whether every byte of [va, va+n) is mapped in as as a
// user page with at least perm.
func userRange(as *vm.AddressSpace, va, n uint64, perm vm.Perm) bool {
	if va+n < va || va+n > vm.UserTop {
		return false
	}
	for p := va &^ 4095; p < va+n; p += 4096 {
		_, got, ok := as.Lookup(p)
		if !ok || got&(perm|vm.U) != perm|vm.U {
			return false
		}
	}
	return true
}
