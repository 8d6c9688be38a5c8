// Package sched is Exo's CPU allocator: the Aegis slot vector (Engler et
// al., SOSP'95 §5.2). Time is a vector of N slots, each one quantum long;
// an environment owns slots by index, and the kernel walks the vector round
// robin, running each slot's owner for its quantum.
//
// Slots are intervals on a fixed timer grid: at each tick the vector
// advances to the next slot whose owner can run (Tick). An owner that yields
// or blocks passes the rest of the interval to the owner of the next slot
// that can run (Pass), without moving the grid: the next tick still goes to
// the slot after Current. So a yield never costs anyone else time, and the
// timer is programmed once per tick, never per yield.
//
// The vector lives in a page that every environment maps read-only
// (abi.Slots), so who owns which slot, and which slot runs now, is visible
// to all: allocation is exposed, not hidden.
package sched

import (
	"errors"
	"fmt"

	"github.com/exo-os/exo/kernel/abi"
)

// EnvID names an environment; abi.FreeSlot (0) names nobody.
type EnvID = uint32

// Errors.
var (
	ErrNoSlots  = errors.New("not enough free slots")
	ErrSlotHeld = errors.New("slot already held")
)

// Vector is the slot vector. Its state is the abi.Slots it was given, so
// that what environments read is exactly what the scheduler uses.
type Vector struct {
	s *abi.Slots
}

// New makes a vector of n free slots in s (the shared page). Until the first
// Tick, the current slot is the last one, so that slot 0 runs first.
func New(s *abi.Slots, n int) (*Vector, error) {
	if n < 1 || n > abi.MaxSlots {
		return nil, fmt.Errorf("sched: %d slots, want 1..%d", n, abi.MaxSlots)
	}
	*s = abi.Slots{N: uint32(n), Current: uint32(n - 1), Running: uint32(n - 1)}
	return &Vector{s: s}, nil
}

// Len returns the number of slots.
func (v *Vector) Len() int { return int(v.s.N) }

// Owner returns the owner of slot i.
func (v *Vector) Owner(i int) EnvID { return v.s.Owner[i] }

// Current returns the slot whose interval this is.
func (v *Vector) Current() int { return int(v.s.Current) }

// Running returns the slot whose owner holds the CPU.
func (v *Vector) Running() int { return int(v.s.Running) }

// Switches returns how many times the current slot has changed.
func (v *Vector) Switches() uint64 { return v.s.Switches }

// Allocate gives env count free slots, spread over the vector (the lowest
// free slot, then the free slot furthest from those held, and so on, so an
// environment with several slots is not run in one long burst). It
// allocates all or nothing.
func (v *Vector) Allocate(env EnvID, count int) ([]int, error) {
	if env == abi.FreeSlot {
		return nil, errors.New("sched: cannot allocate slots to env 0")
	}
	if count < 1 || count > v.Len() {
		return nil, fmt.Errorf("sched: cannot allocate %d slots of %d", count, v.Len())
	}
	if free := v.count(abi.FreeSlot); free < count {
		return nil, fmt.Errorf("sched: env %d wants %d slots, %d free: %w", env, count, free, ErrNoSlots)
	}
	n := v.Len()
	var got []int
	for len(got) < count {
		best, bestDist := -1, -1
		for i := 0; i < n; i++ {
			if v.s.Owner[i] != abi.FreeSlot {
				continue
			}
			d := n // distance to the nearest slot already given
			for _, g := range got {
				dd := (i - g + n) % n
				if (g-i+n)%n < dd {
					dd = (g - i + n) % n
				}
				if dd < d {
					d = dd
				}
			}
			if d > bestDist {
				best, bestDist = i, d
			}
		}
		got = append(got, best)
		v.s.Owner[best] = env
	}
	v.s.Generation++
	return got, nil
}

// AllocateAt gives env the specific slot i.
func (v *Vector) AllocateAt(env EnvID, i int) error {
	if env == abi.FreeSlot {
		return errors.New("sched: cannot allocate slots to env 0")
	}
	if i < 0 || i >= v.Len() {
		return fmt.Errorf("sched: slot %d out of range 0..%d", i, v.Len()-1)
	}
	if o := v.s.Owner[i]; o != abi.FreeSlot {
		return fmt.Errorf("sched: slot %d held by env %d: %w", i, o, ErrSlotHeld)
	}
	v.s.Owner[i] = env
	v.s.Generation++
	return nil
}

// Give moves slot i from its owner from to env to.
func (v *Vector) Give(i int, from, to EnvID) error {
	if to == abi.FreeSlot {
		return errors.New("sched: cannot give a slot to env 0")
	}
	if i < 0 || i >= v.Len() {
		return fmt.Errorf("sched: slot %d out of range 0..%d", i, v.Len()-1)
	}
	if o := v.s.Owner[i]; o != from {
		return fmt.Errorf("sched: slot %d held by env %d, not env %d: %w", i, o, from, ErrSlotHeld)
	}
	v.s.Owner[i] = to
	v.s.Generation++
	return nil
}

// ReleaseOne frees slot i, which env must hold.
func (v *Vector) ReleaseOne(env EnvID, i int) error {
	if i < 0 || i >= v.Len() {
		return fmt.Errorf("sched: slot %d out of range 0..%d", i, v.Len()-1)
	}
	if o := v.s.Owner[i]; o != env {
		return fmt.Errorf("sched: slot %d held by env %d, not env %d", i, o, env)
	}
	v.s.Owner[i] = abi.FreeSlot
	v.s.Generation++
	return nil
}

// Count returns how many slots env holds.
func (v *Vector) Count(env EnvID) int { return v.count(env) }

// Release frees every slot env holds and returns their indexes.
func (v *Vector) Release(env EnvID) []int {
	var freed []int
	for i := 0; i < v.Len(); i++ {
		if v.s.Owner[i] == env {
			v.s.Owner[i] = abi.FreeSlot
			freed = append(freed, i)
		}
	}
	if len(freed) > 0 {
		v.s.Generation++
	}
	return freed
}

// Held returns the slots env holds.
func (v *Vector) Held(env EnvID) []int {
	var held []int
	for i := 0; i < v.Len(); i++ {
		if v.s.Owner[i] == env {
			held = append(held, i)
		}
	}
	return held
}

func (v *Vector) count(env EnvID) int {
	n := 0
	for i := 0; i < v.Len(); i++ {
		if v.s.Owner[i] == env {
			n++
		}
	}
	return n
}

// Ready reports whether an environment can run now.
type Ready func(EnvID) bool

// Tick starts the next interval: it moves Current to the next slot, round
// robin, whose owner can run, and gives that owner the CPU. Free slots and
// slots of environments that cannot run are skipped rather than idled
// through. ok is false if no owner can run; nothing changes then.
func (v *Vector) Tick(ready Ready) (slot int, env EnvID, ok bool) {
	i, env, ok := v.next(int(v.s.Current), ready)
	if ok {
		v.s.Current, v.s.Running = uint32(i), uint32(i)
		v.s.Switches++
	}
	return i, env, ok
}

// Pass gives the rest of the interval to the owner of the next slot after
// Running that can run (possibly the same owner, if nobody else can).
// Current does not move. ok is false if no owner can run.
func (v *Vector) Pass(ready Ready) (slot int, env EnvID, ok bool) {
	i, env, ok := v.next(int(v.s.Running), ready)
	if ok {
		v.s.Running = uint32(i)
		v.s.Switches++
	}
	return i, env, ok
}

func (v *Vector) next(from int, ready Ready) (int, EnvID, bool) {
	n := v.Len()
	for step := 1; step <= n; step++ {
		i := (from + step) % n
		if o := v.s.Owner[i]; o != abi.FreeSlot && ready(o) {
			return i, o, true
		}
	}
	return from, abi.FreeSlot, false
}
