package libos

import (
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"

	"github.com/exo-os/exo/kernel/abi"
)

// cpuinit_riscv64.s reads the RAM size from the start-up block by offset.
func TestStartupOffsets(t *testing.T) {
	require.Equal(t, uintptr(32), unsafe.Offsetof(abi.Startup{}.RAMSize))
}
