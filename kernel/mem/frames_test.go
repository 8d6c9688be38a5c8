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
