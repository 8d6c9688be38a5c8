package vm

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/exo-os/exo/kernel/mem"
)

const base = 0x84000000

func setup(t *testing.T, frames int) (*mem.Arena, *mem.Frames, *AddressSpace) {
	arena := mem.NewArena(base, uint64(frames)*mem.PageSize)
	f, err := mem.NewFrames(base, uint64(frames)*mem.PageSize)
	require.NoError(t, err)
	as, err := New(arena, PoolTables{f}, 64)
	require.NoError(t, err)
	return arena, f, as
}

// hwWalk translates va the way the hardware does (priv §4.3.2), reading
// only the table memory, so the test checks the encoding and not just this
// package's own Lookup.
func hwWalk(arena *mem.Arena, satp, va uint64) (pa uint64, pte uint64, ok bool) {
	if satp>>60 != 8 {
		return 0, 0, false
	}
	a := (satp & (1<<44 - 1)) << 12
	for level := 2; level >= 0; level-- {
		pte = arena.Table(a)[va>>(12+9*level)&511]
		if pte&1 == 0 || (pte&2 == 0 && pte&4 != 0) {
			return 0, 0, false
		}
		if pte&0xa != 0 { // leaf
			if level != 0 {
				return 0, 0, false // this package never makes superpages
			}
			return (pte>>10)<<12 | va&0xfff, pte, true
		}
		a = (pte >> 10) << 12
	}
	return 0, 0, false
}

func TestMapTranslates(t *testing.T) {
	arena, f, as := setup(t, 32)
	for _, tc := range []struct {
		va, pa uint64
		perm   Perm
	}{
		{0x1000, base + 20*mem.PageSize, R | U},
		{0x1010000, base + 21*mem.PageSize, R | X | U},
		{0x1011000, base + 22*mem.PageSize, R | W | U},
		{UserTop - mem.PageSize, base + 23*mem.PageSize, R | W | U},
	} {
		require.NoError(t, as.Map(tc.va, tc.pa, tc.perm))
		pa, pte, ok := hwWalk(arena, as.Satp(0), tc.va+0x123)
		require.True(t, ok, "%#x", tc.va)
		require.Equal(t, tc.pa+0x123, pa)
		require.Equal(t, uint64(tc.perm), pte&0x1e, "permission bits")
		require.NotZero(t, pte&pteA, "accessed bit preset")
		require.Equal(t, tc.perm&W != 0, pte&pteD != 0, "dirty bit preset only for writable pages")

		lpa, perm, ok := as.Lookup(tc.va + 0x123)
		require.True(t, ok)
		require.Equal(t, tc.pa+0x123, lpa)
		require.Equal(t, tc.perm, perm)
	}
	_, _, ok := as.Lookup(0x2000)
	require.False(t, ok)
	_, _, ok = hwWalk(arena, as.Satp(0), 0x2000)
	require.False(t, ok)
	// root; one level-1 table for the first GiB with level-0 tables for
	// 0x0-0x1fffff and 0x1000000-0x11fffff; a level-1 and a level-0 table
	// for the last page.
	require.Equal(t, 6, as.TableFrames())
	require.Equal(t, 6, f.Count(mem.Kernel))
}

func TestMapRejects(t *testing.T) {
	_, f, as := setup(t, 8)
	free := f.FreeCount()
	for _, tc := range []struct {
		va, pa uint64
		perm   Perm
		want   string
	}{
		{0x1001, base, R | U, "not page aligned"},
		{UserTop, base, R | U, "outside the user half"},
		{1 << 63, base, R | U, "outside the user half"},
		{0x1000, base + 1, R | U, "not a page frame"},
		{0x1000, base, W | U, "invalid permissions"},
		{0x1000, base, U, "invalid permissions"},
		{0x1000, base, R | 1<<5, "invalid permissions"},
	} {
		require.ErrorContains(t, as.Map(tc.va, tc.pa, tc.perm), tc.want)
	}
	require.Equal(t, free, f.FreeCount(), "rejected maps allocate no tables")

	require.NoError(t, as.Map(0x5000, base, R|U))
	require.ErrorIs(t, as.Map(0x5000, base+mem.PageSize, R|W|U), ErrMapped)
	pa, _, _ := as.Lookup(0x5000)
	require.Equal(t, uint64(base), pa, "a refused remap leaves the old mapping")
}

func TestUnmapAndRelease(t *testing.T) {
	arena, f, as := setup(t, 16)
	require.NoError(t, as.Map(0x7000, base+10*mem.PageSize, R|W|U))
	pa, err := as.Unmap(0x7000)
	require.NoError(t, err)
	require.Equal(t, uint64(base+10*mem.PageSize), pa)
	_, _, ok := hwWalk(arena, as.Satp(0), 0x7000)
	require.False(t, ok)
	_, err = as.Unmap(0x7000)
	require.ErrorIs(t, err, ErrUnmapped)
	_, err = as.Unmap(0x40000000)
	require.ErrorIs(t, err, ErrUnmapped)

	n := as.TableFrames()
	tables := as.Release()
	require.Len(t, tables, n)
	require.Equal(t, as.Root(), uint64(0))
	require.Equal(t, n, f.Count(mem.Kernel), "the tables are the caller's to give back")
}

// The limit is the address space's charge: a mapping that needs a table
// beyond it is refused with ErrNoTables and changes nothing.
func TestTableLimit(t *testing.T) {
	arena := mem.NewArena(base, 64*mem.PageSize)
	f, err := mem.NewFrames(base, 64*mem.PageSize)
	require.NoError(t, err)
	as, err := New(arena, PoolTables{f}, 4) // root, one second-level, two leaves
	require.NoError(t, err)
	require.NoError(t, as.Map(0x1000, base+40*mem.PageSize, R|U))
	require.NoError(t, as.Map(0x200000, base+41*mem.PageSize, R|U)) // a second 2 MiB region
	require.Equal(t, 4, as.TableFrames())
	free := f.FreeCount()
	err = as.Map(0x400000, base+42*mem.PageSize, R|U)
	require.ErrorIs(t, err, ErrNoTables)
	require.ErrorIs(t, err, mem.ErrNoMemory)
	require.Equal(t, free, f.FreeCount(), "nothing taken")
	require.NoError(t, as.Map(0x3000, base+43*mem.PageSize, R|U), "within existing tables still maps")
	_, _, ok := as.Lookup(0x400000)
	require.False(t, ok)
}

func TestOutOfFrames(t *testing.T) {
	_, _, as := setup(t, 2) // root + one table: not enough for a mapping
	err := as.Map(0x1000, base, R|U)
	require.ErrorIs(t, err, mem.ErrNoMemory)
}

func TestPermString(t *testing.T) {
	require.Equal(t, "r-xu", (R | X | U).String())
	require.Equal(t, "rw--", (R | W).String())
}
