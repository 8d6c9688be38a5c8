package abi

import (
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"
)

// The kernel and libos share these layouts by casting page memory, so they
// must fit their pages and keep 8-byte alignment of 64-bit fields.
func TestLayouts(t *testing.T) {
	require.LessOrEqual(t, int(unsafe.Sizeof(Startup{})), PageSize)
	require.LessOrEqual(t, int(unsafe.Sizeof(Slots{})), PageSize)
	require.LessOrEqual(t, int(unsafe.Sizeof(CapList{})), PageSize)
	require.LessOrEqual(t, int(unsafe.Sizeof(SpawnRequest{})), PageSize, "the kernel copies it through one bounce buffer")
	require.Equal(t, uintptr(0), unsafe.Offsetof(Startup{}.Runs)%8)
	require.Equal(t, uintptr(0), unsafe.Offsetof(SpawnRequest{}.Mem)%8)
	require.GreaterOrEqual(t, MaxCaps, 1+MaxRuns+MaxSpare+MaxSlotCaps+MaxPass, "room for every capability the kernel puts in the list")
	require.Equal(t, uintptr(0), unsafe.Offsetof(Startup{}.Spare)%8)
	require.Equal(t, uintptr(0), unsafe.Offsetof(CapList{}.Caps)%8)
	require.Equal(t, uintptr(0), unsafe.Offsetof(SpawnRequest{}.FirstPage)%8)
	require.Equal(t, uintptr(0), unsafe.Offsetof(Startup{}.TimebaseHz)%8)
	require.Equal(t, uintptr(0), unsafe.Offsetof(Slots{}.Switches)%8)
	require.Equal(t, "EXO1", string([]byte{StartupMagic & 0xff, StartupMagic >> 8 & 0xff, StartupMagic >> 16 & 0xff, StartupMagic >> 24}))
}

func TestAddressSpace(t *testing.T) {
	for _, va := range []uint64{StartupVA, SlotsVA, CapsVA, RAMStart, TextStart} {
		require.Zero(t, va%PageSize, "%#x must be page aligned", va)
	}
	require.Less(t, uint64(CapsVA+PageSize), uint64(RAMStart), "fixed pages below RAM")
	require.LessOrEqual(t, uint64(RAMStart+MaxRAM), uint64(1<<32), "TamaGo heap must stay below 4 GiB")
}

func TestErrorNames(t *testing.T) {
	names := map[string]bool{}
	for c := uint64(0); c <= maxErrno; c++ {
		n := ErrorName(c)
		require.NotEqual(t, "E?", n, "code %d has no name", c)
		require.False(t, names[n], "duplicate name %s", n)
		names[n] = true
	}
	require.Equal(t, "E?", ErrorName(999))
}

func TestTableFrames(t *testing.T) {
	// 16 MiB: 8 leaf tables for RAM, root, two second-level, one leaf for
	// the fixed pages, and the spare.
	require.Equal(t, uint64(1+2+1+8+PageTableSpare), TableFrames(16<<20))
	require.Equal(t, uint64(1+2+1+1+PageTableSpare), TableFrames(4096))
	require.Equal(t, uint64(1+2+1+512+PageTableSpare), TableFrames(MaxRAM))
	require.Equal(t, uint64(256+3+TableFrames(1<<20)+10), SpawnFrames(1<<20, 10))
}
