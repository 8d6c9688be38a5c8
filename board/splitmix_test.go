package board

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// The reference outputs of SplitMix64 from state 0 are 0xe220a8397b1dcdaf,
// 0x6e789e6aa1b965f4, 0x06c45d188009454f: Read gives their low bytes.
func TestSplitMix64(t *testing.T) {
	var s SplitMix64
	b := make([]byte, 3)
	s.Read(b)
	require.Equal(t, []byte{0xaf, 0xf4, 0x4f}, b)
	var three uint64 = 0x9e3779b97f4a7c15
	three *= 3 // the state advances by the golden gamma per output, mod 2^64
	require.Equal(t, three, s.State)
}
