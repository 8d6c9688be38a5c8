package abi

import (
	"testing"
	"unsafe"
)

// The predicate ABI's sizes and limits are what docs/ABI.md says.
func TestPredLayout(t *testing.T) {
	for _, c := range []struct {
		name      string
		got, want uintptr
	}{
		{"PredStats", unsafe.Sizeof(PredStats{}), PredStatsSize},
		{"MaxPredWindow", MaxPredWindow, PageSize},
		{"last counter", PredCounterEvals + 8, 64},
	} {
		if c.got != c.want {
			t.Errorf("%s: %d, want %d", c.name, c.got, c.want)
		}
	}
}
