package clint

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/exo-os/exo/board/mmio/mmiotest"
)

func model(base uintptr, harts int) *mmiotest.Model {
	m := mmiotest.New(true)
	for h := 0; h < harts; h++ {
		m.Reg(base+offMSIP+4*uintptr(h), 4, 0)
		m.Reg(base+offMTIMECMP+8*uintptr(h), 8, 0)
	}
	m.Reg(base+offMTIME, 8, 0)
	return m
}

func TestBoards(t *testing.T) {
	for _, tc := range []struct {
		name  string
		hz    uint64
		harts int
		ticks uint64
		ns    int64
	}{
		{"qemu-virt", 10_000_000, 1, 12345, 1234500},
		{"visionfive2", 4_000_000, 5, 12345, 3086250},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := model(0x2000000, tc.harts)
			c := &CLINT{Bus: m, Base: 0x2000000, TimebaseHz: tc.hz, Harts: tc.harts}
			require.NoError(t, c.Validate())
			m.Set(0x2000000+offMTIME, tc.ticks)
			require.Equal(t, tc.ticks, c.Mtime())
			require.Equal(t, tc.ns, c.Nanotime())

			last := tc.harts - 1
			c.SetCompare(last, 777)
			require.Equal(t, uint64(777), m.Get(0x2000000+0x4000+8*uintptr(last)))
			c.Disarm(last)
			require.Equal(t, uint64(math.MaxUint64), m.Get(0x2000000+0x4000+8*uintptr(last)))
			c.SetSoftware(last, true)
			require.Equal(t, uint64(1), m.Get(0x2000000+4*uintptr(last)))
			c.SetSoftware(last, false)
			require.Equal(t, uint64(0), m.Get(0x2000000+4*uintptr(last)))
			require.NoError(t, m.Err())
		})
	}
}

func TestValidate(t *testing.T) {
	m := mmiotest.New(false)
	require.ErrorContains(t, (&CLINT{Base: 1, TimebaseHz: 1, Harts: 1}).Validate(), "no bus")
	require.ErrorContains(t, (&CLINT{Bus: m, Harts: 1}).Validate(), "timebase 0 Hz")
	require.ErrorContains(t, (&CLINT{Bus: m, TimebaseHz: 1e6}).Validate(), "0 harts")
}
