package kernel

import (
	"github.com/exo-os/exo/caps"
	"github.com/exo-os/exo/kernel/abi"
)

// sysEnvControl applies op to the environment named by the env capability
// at capVA, which must carry the control right (docs/ABI.md,
// "Environments"), or, if a2 is not 0, to the caller's child with id a2,
// on the caller's own env capability. Stopping, resuming and destroying
// work on any environment the capability names; reaping only on the
// caller's own finished child, whose record and id it holds.
func sysEnvControl(k *Kernel, e *Env) (uint64, uint64, outcome) {
	op, capVA := e.ctx.X[regA0], e.ctx.X[regA1]
	var c caps.Cap
	if !k.copyIn(e, c[:], capVA) {
		return 0, abi.ErrFault, resume
	}
	if op < abi.EnvStop || op > abi.EnvReap {
		return 0, abi.ErrInval, resume
	}
	// The id is read from the bytes, and Verify checks the MAC before
	// anything the bytes claim: a forger learns only "forged".
	_, id, _, _ := c.Effective()
	if val, errno := k.verifyBytes(c[:], caps.Need{Kind: caps.KindEnv, Lo: id, Hi: id, Rights: caps.EnvControl}); errno != abi.OK {
		return val, errno, resume
	}
	t := k.envs.get(uint32(id))
	if child := e.ctx.X[regA2]; child != 0 {
		// The caller's own env capability, and a2 names one of its
		// children: a parent keeps authority over its children even
		// when the capability spawn gave it has been revoked.
		if t != e {
			return 0, abi.ErrCapRange, resume
		}
		if t = k.envs.get(uint32(child)); child > MaxEnvs || t == nil || t.parent != e {
			return 0, abi.ErrNotFound, resume
		}
	}
	if t == nil || t.state == Dead {
		// A current capability names only environments that exist:
		// freeing an id bumps its epoch.
		return 0, abi.ErrNotFound, resume
	}
	switch op {
	case abi.EnvStop:
		if t.finished() {
			return 0, abi.ErrInval, resume
		}
		t.stopped = true
		if t == e {
			return 0, abi.OK, yielded
		}
	case abi.EnvResume:
		if !t.stopped {
			return 0, abi.ErrInval, resume
		}
		t.stopped = false
	case abi.EnvDestroy:
		if t.finished() {
			return 0, abi.ErrInval, resume
		}
		k.printf("env %d (%s) destroyed by env %d\n", t.ID, t.Name, e.ID)
		k.end(t, 0, true)
		if t == e {
			return 0, 0, working
		}
	case abi.EnvStatus:
		return uint64(envState(t)), abi.OK, resume
	case abi.EnvReap:
		if t.parent != e || t.state != Zombie {
			return 0, abi.ErrInval, resume
		}
		status := uint64(t.status)
		if t.killed {
			status |= 1 << 32
		}
		k.freeID(t)
		return status, abi.OK, resume
	}
	return 0, abi.OK, resume
}

// envState is e's state as EnvStatus reports it.
func envState(e *Env) int {
	switch {
	case e.state == Zombie:
		return abi.EnvStateZombie
	case e.finished():
		return abi.EnvStateDying
	case e.stopped:
		return abi.EnvStateStopped
	}
	return [...]int{Building: abi.EnvStateBuilding, Runnable: abi.EnvStateRunnable, Sleeping: abi.EnvStateSleeping, Waiting: abi.EnvStateWaiting}[e.state]
}
