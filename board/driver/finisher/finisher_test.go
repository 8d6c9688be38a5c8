package finisher

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/exo-os/exo/board/mmio/mmiotest"
)

func TestEncode(t *testing.T) {
	for _, tc := range []struct{ code, word uint32 }{
		{0, 0x5555},
		{1, 0x13333},
		{42, 0x2a3333},
		{255, 0xff3333},
		{256, 0xff3333},
		{1 << 20, 0xff3333},
	} {
		require.Equal(t, tc.word, Encode(tc.code), "code %d", tc.code)
	}
}

func TestExit(t *testing.T) {
	m := mmiotest.New(true)
	m.Reg(0x100000, 4, 0)
	f := &Finisher{Bus: m, Base: 0x100000}
	f.Exit(3)
	f.Reset()
	require.Equal(t, []uint64{0x33333, 0x7777}, m.Writes(0x100000))
	require.NoError(t, m.Err())
}
