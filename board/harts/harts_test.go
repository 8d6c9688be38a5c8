package harts

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// The entry code (entry_riscv64.s) runs on QEMU's sifive_u in
// tools/qemu's TestHartEntryOnSifiveU, and its instructions are checked in
// tools/vf2image's TestEntryHasNoFloatingPoint. These are the host-side
// pieces.

func TestStates(t *testing.T) {
	seen := map[State]bool{}
	for _, s := range []State{Absent, Parked, Kernel, Released} {
		require.NotZero(t, s, "no state may be zero: zeroed memory must not pass for one")
		require.False(t, seen[s])
		seen[s] = true
		require.NotEqual(t, "unknown", s.String())
	}
	require.Equal(t, "unknown", State(0).String())
	require.Equal(t, "parked", Parked.String())
}

func TestDeviceTreeError(t *testing.T) {
	for status, want := range map[uint64]string{
		dtbNone:      "a1 = 0",
		dtbMisalign:  "not 8-byte aligned",
		dtbBadMagic:  "no device tree magic",
		dtbTooSmall:  "smaller than a header",
		dtbTooLarge:  "larger than the 0x10000-byte buffer",
		dtbNotRunYet: "did not run",
		0x42:         "unknown status 0x42",
	} {
		err := &DeviceTreeError{Addr: 0x40398000, Reason: dtbReason(status)}
		require.Contains(t, err.Error(), "a1=0x40398000: ")
		require.Contains(t, err.Error(), want)
	}
	require.Equal(t, "0x0", hex(0))
	require.Equal(t, "0xffffffffffffffff", hex(^uint64(0)))
	require.Equal(t, uint64(stay)%2, uint64(1), "the stay value cannot be an instruction address")
}
