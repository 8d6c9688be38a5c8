package sched

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/exo-os/exo/kernel/abi"
)

func newVector(t *testing.T, n int) (*Vector, *abi.Slots) {
	s := new(abi.Slots)
	v, err := New(s, n)
	require.NoError(t, err)
	return v, s
}

func all(EnvID) bool { return true }

func TestNewBounds(t *testing.T) {
	for _, n := range []int{0, -1, abi.MaxSlots + 1} {
		_, err := New(new(abi.Slots), n)
		require.Error(t, err, "n=%d", n)
	}
	_, err := New(new(abi.Slots), abi.MaxSlots)
	require.NoError(t, err)
}

func TestAllocateSpreads(t *testing.T) {
	v, s := newVector(t, 8)
	got, err := v.Allocate(1, 2)
	require.NoError(t, err)
	require.Equal(t, []int{0, 4}, got, "two slots of eight go opposite each other")
	got, err = v.Allocate(2, 1)
	require.NoError(t, err)
	require.Equal(t, []int{1}, got)
	require.Equal(t, uint32(1), s.Owner[0], "the shared page reflects ownership")
	require.Equal(t, uint32(2), s.Owner[1])
	require.Equal(t, uint64(2), s.Generation)
}

func TestAllocateAllOrNothing(t *testing.T) {
	v, s := newVector(t, 4)
	_, err := v.Allocate(1, 3)
	require.NoError(t, err)
	gen := s.Generation
	_, err = v.Allocate(2, 2)
	require.ErrorIs(t, err, ErrNoSlots)
	require.Empty(t, v.Held(2), "a refused allocation holds nothing")
	require.Equal(t, gen, s.Generation)
	_, err = v.Allocate(0, 1)
	require.Error(t, err)
	_, err = v.Allocate(3, 0)
	require.Error(t, err)
}

func TestAllocateAt(t *testing.T) {
	v, _ := newVector(t, 4)
	require.NoError(t, v.AllocateAt(5, 3))
	require.ErrorIs(t, v.AllocateAt(6, 3), ErrSlotHeld)
	require.ErrorContains(t, v.AllocateAt(6, 4), "out of range")
	require.ErrorContains(t, v.AllocateAt(6, -1), "out of range")
	require.Equal(t, EnvID(5), v.Owner(3))
}

func TestRoundRobin(t *testing.T) {
	v, _ := newVector(t, 6)
	_, _ = v.Allocate(1, 1) // slot 0
	_, _ = v.Allocate(2, 1) // slot 1: with nothing held yet, the lowest free
	var order []EnvID
	for i := 0; i < 6; i++ {
		_, env, ok := v.Tick(all)
		require.True(t, ok)
		order = append(order, env)
	}
	require.Equal(t, []EnvID{1, 2, 1, 2, 1, 2}, order, "slot 0 first, free slots skipped, owners alternate")
}

func TestAdvanceSkipsBlocked(t *testing.T) {
	v, _ := newVector(t, 4)
	require.NoError(t, v.AllocateAt(1, 0))
	require.NoError(t, v.AllocateAt(2, 1))
	require.NoError(t, v.AllocateAt(3, 2))
	blocked := map[EnvID]bool{2: true}
	ready := func(e EnvID) bool { return !blocked[e] }
	var order []int
	for i := 0; i < 4; i++ {
		slot, _, ok := v.Tick(ready)
		require.True(t, ok)
		order = append(order, slot)
	}
	require.Equal(t, []int{0, 2, 0, 2}, order)

	blocked[1], blocked[3] = true, true
	cur := v.Current()
	_, _, ok := v.Tick(ready)
	require.False(t, ok, "nobody can run")
	require.Equal(t, cur, v.Current(), "the current slot stays when nobody can run")
}

func TestRelease(t *testing.T) {
	v, s := newVector(t, 4)
	_, _ = v.Allocate(1, 2)
	_, _ = v.Allocate(2, 2)
	freed := v.Release(1)
	require.Len(t, freed, 2)
	for _, i := range freed {
		require.Equal(t, uint32(abi.FreeSlot), s.Owner[i])
	}
	require.Len(t, v.Held(2), 2)
	for i := 0; i < 8; i++ {
		_, env, ok := v.Tick(all)
		require.True(t, ok)
		require.Equal(t, EnvID(2), env, "a released env never runs again")
	}
	require.Empty(t, v.Release(1))
}

// A property over random operations: each slot has at most one owner, the
// current slot's owner was ready when chosen, and an env with k slots of a
// full vector of always-ready envs runs k times per N advances.
func TestFairShare(t *testing.T) {
	v, _ := newVector(t, 12)
	want := map[EnvID]int{1: 1, 2: 2, 3: 3, 4: 6}
	for env, k := range want {
		_, err := v.Allocate(env, k)
		require.NoError(t, err)
	}
	runs := map[EnvID]int{}
	for i := 0; i < 12*10; i++ {
		_, env, ok := v.Tick(all)
		require.True(t, ok)
		runs[env]++
	}
	for env, k := range want {
		require.Equal(t, 10*k, runs[env], "env %d", env)
	}
}

// A yield passes the rest of the interval along without moving the grid:
// the next tick goes to the slot after Current, whoever ran last.
func TestPass(t *testing.T) {
	v, s := newVector(t, 4)
	for env := EnvID(1); env <= 3; env++ {
		require.NoError(t, v.AllocateAt(env, int(env-1)))
	}
	slot, env, ok := v.Tick(all)
	require.True(t, ok)
	require.Equal(t, 0, slot)
	require.Equal(t, EnvID(1), env)

	_, env, _ = v.Pass(all) // 1 yields: 2 gets the rest of slot 0
	require.Equal(t, EnvID(2), env)
	_, env, _ = v.Pass(all) // 2 yields: 3 gets it
	require.Equal(t, EnvID(3), env)
	require.Equal(t, 0, v.Current(), "passing does not move the grid")
	require.Equal(t, uint32(2), s.Running)

	_, env, _ = v.Tick(all)
	require.Equal(t, EnvID(2), env, "the tick goes to slot 1, not after the last runner")
	require.Equal(t, 1, v.Current())
	require.Equal(t, 1, v.Running())

	only := func(e EnvID) bool { return e == 2 }
	_, env, ok = v.Pass(only)
	require.True(t, ok)
	require.Equal(t, EnvID(2), env, "with nobody else ready, a yielder keeps the CPU")
	_, _, ok = v.Pass(func(EnvID) bool { return false })
	require.False(t, ok)
}

func TestGiveAndReleaseOne(t *testing.T) {
	v, s := newVector(t, 4)
	require.NoError(t, v.AllocateAt(1, 2))
	gen := s.Generation
	require.ErrorIs(t, v.Give(2, 3, 4), ErrSlotHeld, "only the owner's slot moves")
	require.ErrorContains(t, v.Give(7, 1, 4), "out of range")
	require.Error(t, v.Give(2, 1, abi.FreeSlot))
	require.Equal(t, gen, s.Generation, "refusals change nothing")
	require.NoError(t, v.Give(2, 1, 4))
	require.Equal(t, uint32(4), s.Owner[2])
	require.Equal(t, 1, v.Count(4))
	require.Equal(t, 0, v.Count(1))
	require.Greater(t, s.Generation, gen)

	require.ErrorContains(t, v.ReleaseOne(1, 2), "held by env 4, not env 1")
	require.ErrorContains(t, v.ReleaseOne(4, -1), "out of range")
	require.NoError(t, v.ReleaseOne(4, 2))
	require.Equal(t, uint32(abi.FreeSlot), s.Owner[2])
}
