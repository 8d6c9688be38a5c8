package board

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/exo-os/exo/board/driver/clint"
	"github.com/exo-os/exo/board/mmio/mmiotest"
)

func TestLayoutValidate(t *testing.T) {
	good := Layout{0x80000000, 0x84000000, 0x84000000, 0x84100000, 0x84100000, 0x84110000, 0x84200000, 0xc0000000}
	require.NoError(t, good.Validate())
	lo, hi := good.Protected()
	require.Equal(t, uint64(0x80000000), lo)
	require.Equal(t, uint64(0x84200000), hi)

	bad := good
	bad.DMAStart = 0x83fff000
	require.ErrorContains(t, bad.Validate(), "DMA region starts at 0x83fff000, inside the kernel region")
	bad = good
	bad.PoolEnd = bad.PoolStart
	require.ErrorContains(t, bad.Validate(), "pool region [0x84200000, 0x84200000) is empty")
	bad = good
	bad.ManifestEnd = 0x84110010
	require.ErrorContains(t, bad.Validate(), "not page aligned")
}

func TestDRAMLayout(t *testing.T) {
	l, err := DRAMLayout("b", "", 0x40000000, 64<<20, 2<<30)
	require.NoError(t, err)
	require.Equal(t, Layout{
		KernelStart: 0x40000000, KernelEnd: 0x44000000,
		DMAStart: 0x44000000, DMAEnd: 0x44100000,
		ManifestStart: 0x44100000, ManifestEnd: 0x44110000,
		PoolStart: 0x44200000, PoolEnd: 0xc0000000,
	}, l)
	_, err = DRAMLayout("b", " (more!)", 0x40000000, 64<<20, 129<<20)
	require.EqualError(t, err, "b: 129 MiB of RAM, the kernel needs at least 130 MiB (more!)")
	l, err = DRAMLayout("b", "", 0x40000000, 64<<20, 130<<20)
	require.NoError(t, err, "exactly the minimum")
	require.Equal(t, uint64(MinPool), l.PoolEnd-l.PoolStart)
	_, err = DRAMLayout("b", "", 0x40000000, 64<<20+1, 1<<30)
	require.ErrorContains(t, err, "not page aligned")
}

func TestMachine(t *testing.T) {
	m := mmiotest.New(false)
	m.Set(0x200bff8, 1234)
	mc := &Machine{CLINT: &clint.CLINT{Bus: m, Base: 0x2000000, TimebaseHz: 4_000_000, Harts: 5}, Hart: 1}
	require.Equal(t, uint64(1234), mc.Now())
	require.Equal(t, uint64(4_000_000), mc.TimebaseHz())
	mc.ArmTimer(99)
	require.Equal(t, uint64(99), m.Get(0x2004008), "hart 1's compare register")
	require.ErrorIs(t, mc.Entropy(make([]byte, 4)), ErrNoEntropy)
}
