package abi

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestConvert(t *testing.T) {
	for _, tc := range []struct{ ticks, hz, ns uint64 }{
		{0, 10_000_000, 0},
		{1, 10_000_000, 100},
		{4, 4_000_000, 1000},
		{3, 3_000_000, 1000},
		{1, 3, 333333333},
		{1 << 40, 6_250_000, (1 << 40) * 160},
		{math.MaxUint64, 7, math.MaxUint64}, // saturates instead of wrapping
		{math.MaxUint64, 10_000_000, math.MaxUint64},
		{math.MaxUint64 / 100, 10_000_000, math.MaxUint64 / 100 * 100},
	} {
		require.Equal(t, tc.ns, TicksToNs(tc.ticks, tc.hz), "%d ticks at %d Hz", tc.ticks, tc.hz)
	}
	// NsToTicks rounds up and inverts TicksToNs on exact values.
	require.Equal(t, uint64(1), NsToTicks(1, 10_000_000))
	require.Equal(t, uint64(10), NsToTicks(1000, 10_000_000))
	require.Equal(t, uint64(11), NsToTicks(1001, 10_000_000))
	require.Equal(t, uint64(math.MaxUint64/100+1), NsToTicks(math.MaxUint64, 10_000_000))
	require.Equal(t, uint64(math.MaxUint64), NsToTicks(math.MaxUint64, 2_000_000_000), "saturates")
	for _, hz := range []uint64{10_000_000, 4_000_000, 6_250_000, 3} {
		for _, ticks := range []uint64{0, 1, 999, 1 << 33} {
			require.Equal(t, ticks, NsToTicks(TicksToNs(ticks, hz), hz), "round trip %d ticks at %d Hz", ticks, hz)
		}
	}
}
