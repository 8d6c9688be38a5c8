package riscv

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCauseName(t *testing.T) {
	for _, tc := range []struct {
		cause uint64
		name  string
		addr  bool
	}{
		{CauseIllegalInsn, "illegal instruction", false},
		{CauseStorePageFault, "store page fault", true},
		{CauseLoadAccess, "load access fault", true},
		{CauseFetchPageFault, "instruction page fault", true},
		{CauseEcallU, "environment call from U-mode", false},
		{IntMachineTimer, "machine timer interrupt", false},
		{CauseInterrupt | 42, "interrupt 42", false},
		{24, "exception 24", false},
	} {
		require.Equal(t, tc.name, CauseName(tc.cause))
		require.Equal(t, tc.addr, HasAddress(tc.cause), tc.name)
	}
}

func TestSatpASID(t *testing.T) {
	require.Equal(t, uint64(0x1234), SatpASID(8<<60|0x1234<<44|0x84321))
	require.Zero(t, SatpASID(8<<60|0x84321))
}
