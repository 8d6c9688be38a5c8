package abi

import "math/bits"

// The time counter (the time CSR, the machine timer's mtime) counts ticks
// of the timebase in Startup.TimebaseHz. Kernel and environments convert
// between ticks and nanoseconds with these two functions.

// TicksToNs converts timer ticks at hz to nanoseconds without overflowing
// the intermediate product (a 10 MHz timer passes 2^64/1e9 ticks after 58
// years, but a naive ticks*1e9 overflows after 30 minutes).
func TicksToNs(ticks, hz uint64) uint64 {
	if 1e9%hz == 0 {
		hi, lo := bits.Mul64(ticks, 1e9/hz)
		if hi != 0 {
			return ^uint64(0)
		}
		return lo
	}
	hi, lo := bits.Mul64(ticks, 1e9)
	if hi >= hz {
		return ^uint64(0)
	}
	q, _ := bits.Div64(hi, lo, hz)
	return q
}

// NsToTicks converts nanoseconds to timer ticks at hz, rounding up so that
// a deadline is never armed early.
func NsToTicks(ns, hz uint64) uint64 {
	hi, lo := bits.Mul64(ns, hz)
	if hi >= 1e9 {
		return ^uint64(0)
	}
	q, r := bits.Div64(hi, lo, 1e9)
	if r != 0 {
		q++
	}
	return q
}
