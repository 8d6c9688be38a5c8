package kernel

import (
	"github.com/exo-os/exo/caps"
	"github.com/exo-os/exo/kernel/abi"
)

// Slots change hands by binding, release, spawn (given to a child),
// revocation (taken from a holder) and an environment's end. Every change
// bumps the slot's epoch (slotChanged), as a frame's changes do: a slot
// capability minted before it stops verifying, so no old capability can
// revoke or rebind a slot from whoever holds it now. The new holder gets a
// fresh root capability in its list.

// slotChanged notes that slot s changed hands (by's revocation, if by is
// not nil, took it).
func (k *Kernel) slotChanged(s int, by *Env) {
	if _, err := k.auth.Epochs().Revoke(caps.KindSlot, uint64(s)); err != nil {
		k.printf("BUG: slot %d: %v\n", s, err)
	}
	k.handOff(caps.KindSlot, uint64(s), uint64(s), by)
}

// sysSlotBind makes e the owner of slot s, which must be free or e's, on
// showing the capability at capVA: a slot capability for s with the use
// right, or, for a free slot, e's own env capability with the spawn right
// (the authority to take free slots).
func sysSlotBind(k *Kernel, e *Env) (uint64, uint64, outcome) {
	s, capVA := e.ctx.X[regA0], e.ctx.X[regA1]
	if s >= uint64(k.slots.Len()) {
		return 0, abi.ErrInval, resume
	}
	var c caps.Cap
	if !k.copyIn(e, c[:], capVA) {
		return 0, abi.ErrFault, resume
	}
	need := caps.Need{Kind: caps.KindSlot, Lo: s, Hi: s, Rights: caps.SlotUse}
	if c.Kind() == caps.KindEnv {
		need = caps.Need{Kind: caps.KindEnv, Lo: uint64(e.ID), Hi: uint64(e.ID), Rights: caps.EnvSpawn}
	}
	if val, errno := k.verifyBytes(c[:], need); errno != abi.OK {
		return val, errno, resume
	}
	switch o := k.slots.Owner(int(s)); o {
	case e.ID:
	case abi.FreeSlot:
		k.slots.AllocateAt(e.ID, int(s))
		k.slotChanged(int(s), nil)
		k.refreshRoots(e)
	default:
		return uint64(o), abi.ErrExist, resume
	}
	return 0, abi.OK, resume
}

// sysSlotRelease gives up e's slot s, unless it is e's last.
func sysSlotRelease(k *Kernel, e *Env) (uint64, uint64, outcome) {
	s := e.ctx.X[regA0]
	if s >= uint64(k.slots.Len()) {
		return 0, abi.ErrInval, resume
	}
	if k.slots.Owner(int(s)) != e.ID {
		return 0, abi.ErrNotFound, resume
	}
	if k.slots.Count(e.ID) == 1 {
		return 0, abi.ErrInval, resume
	}
	k.slots.ReleaseOne(e.ID, int(s))
	k.slotChanged(int(s), nil)
	k.refreshRoots(e)
	return 0, abi.OK, resume
}
