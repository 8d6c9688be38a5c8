package libos

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestTimeConversion(t *testing.T) {
	require.Equal(t, int64(100), ticksToNs(1, 10_000_000))
	require.Equal(t, int64(250), ticksToNs(1, 4_000_000))
	require.Equal(t, int64(math.MaxInt64), ticksToNs(math.MaxUint64, 7))
	require.Equal(t, uint64(1), nsToTicks(1, 10_000_000), "rounds up")
	require.Equal(t, uint64(0), nsToTicks(-5, 10_000_000))
	for _, hz := range []uint64{10_000_000, 4_000_000, 6_250_000} {
		for _, ticks := range []uint64{0, 1, 12345, 1 << 40} {
			require.Equal(t, ticks, nsToTicks(ticksToNs(ticks, hz), hz))
		}
	}
}
