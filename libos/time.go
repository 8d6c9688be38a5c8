package libos

import (
	"math"

	"github.com/exo-os/exo/kernel/abi"
)

// ticksToNs converts time-counter ticks at hz to nanoseconds, as the Go
// runtime's clock wants them (an int64, saturating).
func ticksToNs(ticks, hz uint64) int64 {
	return int64(min(abi.TicksToNs(ticks, hz), math.MaxInt64))
}

// nsToTicks converts nanoseconds to ticks at hz, rounding up so that a
// sleep never ends early.
func nsToTicks(ns int64, hz uint64) uint64 {
	if ns <= 0 {
		return 0
	}
	return abi.NsToTicks(uint64(ns), hz)
}
