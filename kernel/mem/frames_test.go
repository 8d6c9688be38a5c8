package mem

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestFrames(t *testing.T) {
	f, err := NewFrames(0x84000000, 4*PageSize)
	require.NoError(t, err)
	require.Equal(t, 4, f.FreeCount())

	a, err := f.Alloc(7)
	require.NoError(t, err)
	require.Equal(t, uint64(0x84000000), a, "lowest frame first")
	b, _ := f.Alloc(7)
	c, _ := f.Alloc(Kernel)
	d, _ := f.Alloc(9)
	require.Equal(t, []uint64{0x84001000, 0x84002000, 0x84003000}, []uint64{b, c, d})
	_, err = f.Alloc(9)
	require.ErrorIs(t, err, ErrNoMemory)

	o, err := f.Owner(c)
	require.NoError(t, err)
	require.Equal(t, Kernel, o)
	require.Equal(t, 2, f.Count(7))

	require.NoError(t, f.Free(b))
	require.ErrorContains(t, f.Free(b), "freed twice")
	require.Equal(t, 1, f.FreeCount(), "a double free must not grow the free stack")
	again, err := f.Alloc(3)
	require.NoError(t, err)
	require.Equal(t, b, again)

	require.ErrorContains(t, f.Free(0x84000800), "is not a frame")
	require.ErrorContains(t, f.Free(0x84004000), "is not a frame")
	require.ErrorContains(t, f.Free(0x1000), "is not a frame")
	_, err = f.Alloc(Free)
	require.Error(t, err)
}

func TestNewFramesRejects(t *testing.T) {
	_, err := NewFrames(0x84000010, PageSize)
	require.ErrorContains(t, err, "not page aligned")
	_, err = NewFrames(0x84000000, 0)
	require.ErrorContains(t, err, "out of range")
}

func TestArena(t *testing.T) {
	a := NewArena(0x80000000, 2*PageSize)
	a.Table(0x80001000)[1] = 0x0807060504030201
	require.Equal(t, byte(0x01), a.Page(0x80001000)[8], "byte and word views share the frame, little-endian")
	require.Equal(t, byte(0x08), a.Page(0x80001000)[15])
	require.Panics(t, func() { a.Page(0x80002000) })
	require.Panics(t, func() { a.Page(0x80000008) })
}

func TestAllocRuns(t *testing.T) {
	const base = 0x84000000
	f, err := NewFrames(base, 16*PageSize)
	require.NoError(t, err)
	// A fresh pool gives one run, lowest frames first.
	runs, err := f.AllocRuns(5, 4, 1)
	require.NoError(t, err)
	require.Equal(t, []Run{{base, 4}}, runs)
	require.Equal(t, 12, f.FreeCount())

	// Fragment the rest: hold frames 6, 9 and 13, so the free runs are
	// 4-5 (2), 7-8 (2), 10-12 (3), 14-15 (2).
	held := map[uint64]bool{}
	for len(held) < 12 {
		a, err := f.Alloc(8)
		require.NoError(t, err)
		held[a] = true
	}
	for a := range held {
		i := (a - base) / PageSize
		if i != 6 && i != 9 && i != 13 {
			require.NoError(t, f.Free(a))
		}
	}
	require.Equal(t, 9, f.FreeCount())

	_, err = f.AllocRuns(5, 4, 1)
	require.ErrorIs(t, err, ErrFragmented, "no run of 4")
	require.Equal(t, 9, f.FreeCount(), "a refused allocation takes nothing")

	runs, err = f.AllocRuns(5, 5, 2)
	require.NoError(t, err)
	require.Equal(t, []Run{{base + 10*PageSize, 3}, {base + 4*PageSize, 2}}, runs, "longest first, then lowest")
	require.Equal(t, 4, f.FreeCount())
	for _, r := range runs {
		for i := 0; i < r.N; i++ {
			o, err := f.Owner(r.PA + uint64(i)*PageSize)
			require.NoError(t, err)
			require.Equal(t, Owner(5), o)
		}
	}
	// The free stack still holds exactly the free frames.
	seen := map[uint64]bool{}
	for f.FreeCount() > 0 {
		a, err := f.Alloc(9)
		require.NoError(t, err)
		require.False(t, seen[a])
		seen[a] = true
	}
	require.Equal(t, map[uint64]bool{base + 7*PageSize: true, base + 8*PageSize: true, base + 14*PageSize: true, base + 15*PageSize: true}, seen)

	_, err = f.AllocRuns(5, 1, 1)
	require.ErrorIs(t, err, ErrNoMemory)
	_, err = f.AllocRuns(Free, 1, 1)
	require.Error(t, err)
}
