package abi

import (
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"
)

// Assembly handlers address the frame by these offsets.
func TestExceptionFrameLayout(t *testing.T) {
	var f ExceptionFrame
	require.Equal(t, uintptr(ExceptionFrameSize), unsafe.Sizeof(f))
	require.Equal(t, uintptr(ExcFrameCause), unsafe.Offsetof(f.Cause))
	require.Equal(t, uintptr(ExcFrameTval), unsafe.Offsetof(f.Tval))
	require.Equal(t, uintptr(ExcFramePC), unsafe.Offsetof(f.PC))
	require.Equal(t, uintptr(ExcFrameX), unsafe.Offsetof(f.X))
	require.Equal(t, SysNetStats+1, SysExcHandler, "the next free number")
	require.Equal(t, SysExcHandler+1, SysExcResume)
}
