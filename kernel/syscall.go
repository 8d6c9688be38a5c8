package kernel

import (
	"github.com/exo-os/exo/kernel/abi"
	"github.com/exo-os/exo/kernel/hart"
)

// outcome is what a trap, a system call or a step of kernel work leaves
// the environment that caused it to do next. Handlers return it instead of
// changing the scheduler's state, so the loop in runEnv and Run is the
// only place where the CPU changes hands.
type outcome uint8

const (
	// resume returns to the environment at once.
	resume outcome = iota
	// working: the kernel has work to do for the environment (its job)
	// before the call returns; runEnv does it in bounded steps.
	working
	// block: the environment waits (its state says for what) and makes
	// the same call again when woken: the ecall is re-executed.
	block
	// yielded: the environment gave up the rest of the interval (yield,
	// sleep, stop).
	yielded
	// preempted: the interval is over (the timer).
	preempted
	// finished: the environment has ended and been torn down.
	finished
	// restored: the call loaded the environment's registers (SysExcResume);
	// return to it without setting a0 and a1. runEnv turns it into resume.
	restored
)

// The argument and result registers.
const (
	regA0 = hart.RegA0
	regA1 = hart.RegA1
	regA2 = hart.RegA2
	regA3 = hart.RegA3
)

// syscallFn handles one system call for e, whose arguments are in its
// registers (e.ctx.X[regA0...]), and returns the values for a0 and a1 and
// what e does next.
type syscallFn func(k *Kernel, e *Env) (val, errno uint64, out outcome)

// numSyscalls is one past the highest system call number in the table.
const numSyscalls = max(abi.SysPageBits, abi.SysPCTReturn, abi.SysRevokeAnswer, abi.SysPredStats) + 1

// syscalls is the dispatch table, by number (docs/ABI.md).
var syscalls = [numSyscalls]syscallFn{
	abi.SysNull:        sysNull,
	abi.SysWrite:       sysWrite,
	abi.SysYield:       sysYield,
	abi.SysExit:        sysExit,
	abi.SysSleep:       sysSleep,
	abi.SysRandom:      sysRandom,
	abi.SysMap:         sysMap,
	abi.SysUnmap:       sysUnmap,
	abi.SysSpawn:       sysSpawn,
	abi.SysRevoke:      sysRevoke,
	abi.SysSlotBind:    sysSlotBind,
	abi.SysSlotRelease: sysSlotRelease,
	abi.SysEnvControl:  sysEnvControl,
	abi.SysNetBind:     sysNetBind,
	abi.SysNetUnbind:   sysNetUnbind,
	abi.SysNetRing:     sysNetRing,
	abi.SysNetWait:     sysNetWait,
	abi.SysNetSend:     sysNetSend,
	abi.SysNetStats:    sysNetStats,
	abi.SysExcHandler:  sysExcHandler,
	abi.SysExcResume:   sysExcResume,
	abi.SysProtect:     sysProtect,
	abi.SysPageBits:    sysPageBits,
	abi.SysPCTEntry:    sysPCTEntry,
	abi.SysPCTCall:     sysPCTCall,
	abi.SysPCTAsync:    sysPCTAsync,
	abi.SysPCTReturn:   sysPCTReturn,

	// Visible revocation (revoke_upcall.go).
	abi.SysRevokeRequest: sysRevokeRequest,
	abi.SysRevokeAnswer:  sysRevokeAnswer,
	abi.SysPredWait:      sysPredWait,
	abi.SysPredStats:     sysPredStats,
}

// callNames names the system calls, for reports.
var callNames = [numSyscalls]string{
	abi.SysNull: "null", abi.SysWrite: "write", abi.SysYield: "yield", abi.SysExit: "exit",
	abi.SysSleep: "sleep", abi.SysRandom: "random", abi.SysMap: "map", abi.SysUnmap: "unmap",
	abi.SysSpawn: "spawn", abi.SysRevoke: "revoke", abi.SysSlotBind: "slot_bind",
	abi.SysSlotRelease: "slot_release", abi.SysEnvControl: "env_control",
	abi.SysNetBind: "net_bind", abi.SysNetUnbind: "net_unbind", abi.SysNetRing: "net_ring",
	abi.SysNetWait: "net_wait", abi.SysNetSend: "net_send", abi.SysNetStats: "net_stats",
	abi.SysExcHandler: "exc_handler", abi.SysExcResume: "exc_resume",
	abi.SysProtect: "protect", abi.SysPageBits: "page_bits",
	abi.SysPCTEntry: "pct_entry", abi.SysPCTCall: "pct_call", abi.SysPCTAsync: "pct_async",
	abi.SysPCTReturn: "pct_return",

	abi.SysRevokeRequest: "revoke_request", abi.SysRevokeAnswer: "revoke_answer",
	abi.SysPredWait: "pred_wait", abi.SysPredStats: "pred_stats",
}

// sysNoSys answers a number inside the table that has no handler.
func sysNoSys(k *Kernel, e *Env) (uint64, uint64, outcome) {
	return 0, abi.ErrNoSys, resume
}

// init fills the table's empty entries with sysNoSys, so that the
// dispatch needs no nil check.
func init() {
	for n, f := range syscalls {
		if f == nil {
			syscalls[n] = sysNoSys
		}
	}
}

func sysNull(k *Kernel, e *Env) (uint64, uint64, outcome) {
	return 0, abi.OK, resume
}

func sysYield(k *Kernel, e *Env) (uint64, uint64, outcome) {
	return 0, abi.OK, yielded
}

func sysSleep(k *Kernel, e *Env) (uint64, uint64, outcome) {
	until := e.ctx.X[regA0]
	if until <= k.plat.Now() {
		return 0, abi.OK, resume
	}
	e.state, e.wake = Sleeping, until
	return 0, abi.OK, yielded
}

func sysExit(k *Kernel, e *Env) (uint64, uint64, outcome) {
	status := e.ctx.X[regA0]
	k.printf("env %d (%s) exited with status %d (%d slices, %d preempted, %d system calls)\n", e.ID, e.Name, uint32(status), e.Slices, e.Preemptions, e.Syscalls)
	k.end(e, uint32(status), false)
	return 0, 0, working
}
