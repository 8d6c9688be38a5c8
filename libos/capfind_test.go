package libos

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/exo-os/exo/caps"
	"github.com/exo-os/exo/kernel/abi"
)

func TestPhysPage(t *testing.T) {
	s := &abi.Startup{NumRuns: 2}
	s.Runs[0] = abi.Run{VA: abi.RAMStart, PA: 0x84200000, Pages: 2}
	s.Runs[1] = abi.Run{VA: abi.RAMStart + 0x2000, PA: 0x90000000, Pages: 1}
	for _, tc := range []struct {
		va   uint64
		ppn  uint64
		have bool
	}{
		{abi.RAMStart, 0x84200, true},
		{abi.RAMStart + 0x1fff, 0x84201, true},
		{abi.RAMStart + 0x2000, 0x90000, true},
		{abi.RAMStart + 0x3000, 0, false},
		{abi.RAMStart - 1, 0, false},
	} {
		ppn, ok := physPage(s, tc.va)
		require.Equal(t, tc.have, ok, "%#x", tc.va)
		require.Equal(t, tc.ppn, ppn, "%#x", tc.va)
	}
	s.NumRuns = 200 // a corrupt count reads no further than the array
	_, ok := physPage(s, abi.RAMStart+0x10000)
	require.False(t, ok)
}

func TestFindCap(t *testing.T) {
	e := new(caps.Epochs)
	require.NoError(t, e.Track(caps.KindPage, 0x84000, 0x1000))
	require.NoError(t, e.Track(caps.KindSlot, 0, 8))
	key := make([]byte, 32)
	for i := range key {
		key[i] = byte(i + 1)
	}
	a, err := caps.NewAuthority(key, e)
	require.NoError(t, err)
	slot, err := a.Mint(caps.KindSlot, 0, 7, caps.SlotUse)
	require.NoError(t, err)
	pages, err := a.Mint(caps.KindPage, 0x84100, 0x841ff, caps.PageRead)
	require.NoError(t, err)
	narrow, err := caps.Derive(pages, caps.PageRead, 0x84150, 0x84150)
	require.NoError(t, err)
	list := []caps.Cap{slot, narrow, pages}
	got, ok := findCap(list, caps.KindPage, 0x84150)
	require.True(t, ok)
	require.Equal(t, narrow, got, "the first that covers the name")
	got, ok = findCap(list, caps.KindPage, 0x84151)
	require.True(t, ok)
	require.Equal(t, pages, got, "a derivation's narrowed range counts, not its root's")
	_, ok = findCap(list, caps.KindPage, 0x84200)
	require.False(t, ok)
	_, ok = findCap(list, caps.KindEnv, 1)
	require.False(t, ok)
}
