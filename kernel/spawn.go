package kernel

import (
	"errors"
	"strings"

	"github.com/exo-os/exo/caps"
	"github.com/exo-os/exo/kernel/abi"
	"github.com/exo-os/exo/kernel/mem"
)

// sysSpawn creates an environment as the abi.SpawnRequest at reqVA asks:
// the caller shows its env capability with the spawn right and a slot
// capability for the slot the child is to run in. The child's memory comes
// from the free pool; it starts with its own root capabilities and the ones
// the caller passed. Returns the child's id.
func (k *Kernel) sysSpawn(e *Env, reqVA uint64) (uint64, uint64) {
	var req abi.SpawnRequest
	if !k.copyIn(e, bytesOf(&req), reqVA) {
		return 0, abi.ErrFault
	}
	if req.NCaps > abi.MaxPass || req.ArgLen > abi.MaxArg {
		return 0, abi.ErrTooBig
	}
	if req.Flags&^abi.SpawnMaySpawn != 0 || req.Slot >= uint32(k.slots.Len()) {
		return 0, abi.ErrInval
	}
	image := string(req.Image[:])
	if i := strings.IndexByte(image, 0); i >= 0 {
		image = image[:i]
	}
	id := uint64(e.ID)
	if !checkCaps {
		// Measurement builds check nothing; see capcheck.go.
	} else if _, err := k.auth.Verify(req.EnvCap[:], caps.Need{Kind: caps.KindEnv, Lo: id, Hi: id, Rights: caps.EnvSpawn}); err != nil {
		return capErrno(err)
	} else if _, err := k.auth.Verify(req.SlotCap[:], caps.Need{Kind: caps.KindSlot, Lo: uint64(req.Slot), Hi: uint64(req.Slot), Rights: caps.SlotUse}); err != nil {
		return capErrno(err)
	}
	slot := int(req.Slot)
	switch o := k.slots.Owner(slot); {
	case o == e.ID && k.slots.Count(e.ID) == 1:
		return 0, abi.ErrInval // the caller's last slot: it would never run again
	case o != e.ID && o != abi.FreeSlot:
		return uint64(o), abi.ErrExist
	}
	child, err := k.spawn(spawnSpec{
		image: image, mem: req.Mem, arg: string(req.Arg[:req.ArgLen]),
		maySpawn: req.Flags&abi.SpawnMaySpawn != 0,
		slots: func(id uint32) error {
			if k.slots.Owner(slot) == e.ID {
				return k.slots.Give(slot, e.ID, id)
			}
			return k.slots.AllocateAt(id, slot)
		},
		pass: req.Caps[:req.NCaps],
	})
	switch {
	case err == nil:
		return uint64(child.ID), abi.OK
	case errors.Is(err, errNoImage):
		return 0, abi.ErrNotFound
	case errors.Is(err, mem.ErrNoMemory), errors.Is(err, mem.ErrFragmented):
		return 0, abi.ErrNoMem
	}
	return 0, abi.ErrInval
}
