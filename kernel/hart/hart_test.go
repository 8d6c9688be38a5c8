package hart

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/exo-os/exo/kernel/abi"
)

func TestFloorMatchesABI(t *testing.T) {
	require.Equal(t, abi.SysFloor, FloorSyscall)
	require.Less(t, FloorSyscall, 2048, "floorEntry loads it as a 12-bit immediate")
}
