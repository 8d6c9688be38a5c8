package libos

import (
	"errors"
	"fmt"

	"github.com/exo-os/exo/caps"
	"github.com/exo-os/exo/kernel/abi"
)

// Child is what a new environment is to be: its image, memory, spare
// frames, slot, argument, and capabilities to pass.
type Child struct {
	Image string
	// Mem is its RAM in bytes; Spare the bytes of spare frames it gets
	// beyond what its RAM costs (what it may give its own children).
	Mem, Spare uint64
	// Slot is its first slot: a free one (taken on this environment's
	// spawn right) or one of this environment's own (given).
	Slot uint32
	Arg  string
	// MaySpawn gives it the spawn right.
	MaySpawn bool
	Pass     []caps.Cap
}

// ErrNoSpare is returned when no spare run is big enough for a child.
var ErrNoSpare = errors.New("libos: no spare run holds the frames the child needs")

// spawnRequest builds the request for c out of an environment's start-up
// block and capability list: the frames are the end of the first spare
// run that holds them all (taking from an end never splits a run), shown
// with that run's root capability; the authority is the environment's own
// env capability; a slot it holds is shown with its root capability.
func spawnRequest(s *abi.Startup, list []caps.Cap, c Child) (abi.SpawnRequest, error) {
	var r abi.SpawnRequest
	if c.Mem == 0 || c.Mem%abi.PageSize != 0 || c.Spare%abi.PageSize != 0 {
		return r, fmt.Errorf("libos: spawn %s: memory %#x and spare %#x must be whole pages", c.Image, c.Mem, c.Spare)
	}
	if len(c.Image) > len(r.Image) || len(c.Arg) > abi.MaxArg || len(c.Pass) > abi.MaxPass {
		return r, fmt.Errorf("libos: spawn %s: image name, argument or capabilities too long", c.Image)
	}
	env, ok := findCap(list, caps.KindEnv, uint64(s.EnvID))
	if !ok {
		return r, errors.New("libos: spawn: no env capability in the list")
	}
	r.Pages = abi.SpawnFrames(c.Mem, c.Spare/abi.PageSize)
	found := false
	for _, run := range s.Spare[:min(s.NumSpare, abi.MaxSpare)] {
		if run.Pages >= r.Pages {
			first := run.PA / abi.PageSize
			mc, ok := findCap(list, caps.KindPage, first)
			if !ok {
				continue
			}
			r.MemCap, r.FirstPage, found = mc, first+run.Pages-r.Pages, true
			break
		}
	}
	if !found {
		return r, fmt.Errorf("%w (%d frames for %d MiB of RAM)", ErrNoSpare, r.Pages, c.Mem>>20)
	}
	if sc, ok := findCap(list, caps.KindSlot, uint64(c.Slot)); ok {
		r.SlotCap = sc
	}
	r.EnvCap, r.Slot, r.Mem = env, c.Slot, c.Mem
	if c.MaySpawn {
		r.Flags |= abi.SpawnMaySpawn
	}
	copy(r.Image[:], c.Image)
	r.ArgLen = uint32(copy(r.Arg[:], c.Arg))
	r.NCaps = uint32(len(c.Pass))
	for i, p := range c.Pass {
		r.Caps[i] = p
	}
	return r, nil
}
