package libos

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/exo-os/exo/caps"
	"github.com/exo-os/exo/kernel/abi"
)

func TestSpawnRequest(t *testing.T) {
	a, err := caps.NewAuthority(make([]byte, 31+1), nil)
	require.Error(t, err)
	ep := new(caps.Epochs)
	require.NoError(t, ep.Track(caps.KindPage, 0x84000, 0x10000))
	require.NoError(t, ep.Track(caps.KindEnv, 0, 10))
	require.NoError(t, ep.Track(caps.KindSlot, 0, 8))
	key := make([]byte, 32)
	key[0] = 1
	a, err = caps.NewAuthority(key, ep)
	require.NoError(t, err)
	mint := func(k caps.Kind, lo, hi uint64, r caps.Rights) caps.Cap {
		c, err := a.Mint(k, lo, hi, r)
		require.NoError(t, err)
		return c
	}
	s := &abi.Startup{EnvID: 3, NumSpare: 2}
	s.Spare[0] = abi.Run{PA: 0x84100000, Pages: 100}
	s.Spare[1] = abi.Run{PA: 0x85000000, Pages: 2000}
	list := []caps.Cap{
		mint(caps.KindEnv, 3, 3, caps.EnvControl|caps.EnvSpawn),
		mint(caps.KindPage, 0x84100, 0x84100+99, caps.PageRead|caps.PageWrite|caps.PageExec|caps.PageRevoke),
		mint(caps.KindPage, 0x85000, 0x85000+1999, caps.PageRead|caps.PageWrite|caps.PageExec|caps.PageRevoke),
		mint(caps.KindSlot, 2, 2, caps.SlotUse),
	}
	r, err := spawnRequest(s, list, Child{Image: "testenv", Mem: 1 << 20, Spare: 8 << 12, Slot: 2, Arg: "child", MaySpawn: true, Pass: list[:1]})
	require.NoError(t, err)
	need := abi.SpawnFrames(1<<20, 8)
	require.Equal(t, need, r.Pages)
	require.Equal(t, uint64(0x85000+2000)-need, r.FirstPage, "the end of the first run big enough")
	require.Equal(t, [caps.Size]byte(list[2]), r.MemCap)
	require.Equal(t, [caps.Size]byte(list[0]), r.EnvCap)
	require.Equal(t, [caps.Size]byte(list[3]), r.SlotCap, "slot 2 is its own: shown with its root")
	require.Equal(t, uint32(abi.SpawnMaySpawn), r.Flags)
	require.Equal(t, "child", string(r.Arg[:r.ArgLen]))
	require.Equal(t, uint32(1), r.NCaps)

	_, err = spawnRequest(s, list, Child{Image: "testenv", Mem: 16 << 20})
	require.ErrorIs(t, err, ErrNoSpare)
	_, err = spawnRequest(s, list, Child{Image: "testenv", Mem: 1<<20 + 1})
	require.ErrorContains(t, err, "whole pages")
	_, err = spawnRequest(s, list[1:], Child{Image: "testenv", Mem: 1 << 20})
	require.ErrorContains(t, err, "no env capability")
}
