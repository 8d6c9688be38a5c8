package libos

import "math/bits"

// ticksToNs converts time-counter ticks at hz to nanoseconds.
func ticksToNs(ticks, hz uint64) int64 {
	hi, lo := bits.Mul64(ticks, 1e9)
	if hi >= hz {
		return 1<<63 - 1
	}
	q, _ := bits.Div64(hi, lo, hz)
	return int64(q)
}

// nsToTicks converts nanoseconds to ticks at hz, rounding up so that a
// sleep never ends early.
func nsToTicks(ns int64, hz uint64) uint64 {
	if ns <= 0 {
		return 0
	}
	hi, lo := bits.Mul64(uint64(ns), hz)
	q, r := bits.Div64(hi, lo, 1e9)
	if r != 0 {
		q++
	}
	return q
}
