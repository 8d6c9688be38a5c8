package ping

import (
	"math"
	"slices"
	"time"
)

// Summary holds the statistics of a run. The RTT statistics cover good
// replies only, and are zero if there were none.
type Summary struct {
	Sent       int `json:"sent"`       // probes sent (or that failed to send)
	Received   int `json:"received"`   // probes with a good first reply
	Lost       int `json:"lost"`       // probes without a reply in time
	Corrupt    int `json:"corrupt"`    // probes whose first reply was corrupt
	Duplicates int `json:"duplicates"` // replies after a probe's first
	Late       int `json:"late"`       // replies after their probe was lost
	// LossPercent is 100·Lost/Sent. Corrupt probes are not lost, but they
	// are not Received either: Sent = Received + Lost + Corrupt.
	LossPercent float64 `json:"loss_percent"`

	// Min, Max and the nearest-rank percentiles (see Percentile) of the
	// good RTTs.
	Min  time.Duration `json:"min_ns"`   // the smallest
	P50  time.Duration `json:"p50_ns"`   // the median
	P90  time.Duration `json:"p90_ns"`   // 90th percentile
	P99  time.Duration `json:"p99_ns"`   // 99th percentile
	P999 time.Duration `json:"p99_9_ns"` // 99.9th percentile
	Max  time.Duration `json:"max_ns"`   // the largest
	// Mean is the arithmetic mean of the good RTTs, and StdDev their
	// population standard deviation (the sum of squared deviations divided
	// by their number, not one less): the figure ping prints as mdev.
	Mean   time.Duration `json:"mean_ns"`   // arithmetic mean
	StdDev time.Duration `json:"stddev_ns"` // population standard deviation
}

// Summarize computes the statistics of a run's probe records.
func Summarize(probes []Probe) Summary {
	s := Summary{Sent: len(probes)}
	rtts := make([]time.Duration, 0, len(probes))
	for i := range probes {
		p := &probes[i]
		switch {
		case p.Lost:
			s.Lost++
		case p.Corrupt:
			s.Corrupt++
		default:
			s.Received++
			rtts = append(rtts, p.RTT)
		}
		s.Duplicates += p.Dups
		s.Late += p.Late
	}
	if s.Sent > 0 {
		s.LossPercent = 100 * float64(s.Lost) / float64(s.Sent)
	}
	if len(rtts) == 0 {
		return s
	}
	slices.Sort(rtts)
	s.Min, s.Max = rtts[0], rtts[len(rtts)-1]
	s.P50 = Percentile(rtts, 50)
	s.P90 = Percentile(rtts, 90)
	s.P99 = Percentile(rtts, 99)
	s.P999 = Percentile(rtts, 99.9)
	var total float64
	for _, d := range rtts {
		total += float64(d)
	}
	mean := total / float64(len(rtts))
	var sq float64
	for _, d := range rtts {
		sq += (float64(d) - mean) * (float64(d) - mean)
	}
	s.Mean = time.Duration(math.Round(mean))
	s.StdDev = time.Duration(math.Round(math.Sqrt(sq / float64(len(rtts)))))
	return s
}

// Percentile returns the p-th percentile (0 < p ≤ 100) of sorted, which
// must be in ascending order, by the nearest-rank method: the smallest
// value such that at least p percent of the values are at most it, which
// is the value of rank ⌈p/100 · n⌉ (from 1) among n. Every result is
// thus one of the values measured, never an interpolation. p is taken to
// four decimal places, so that ranks are computed exactly. Percentile
// returns 0 for no values; p ≤ 0 gives the minimum.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	n := int64(len(sorted))
	if n == 0 {
		return 0
	}
	const scale = 1000000 // 100 % in units of 0.0001 %
	q := int64(math.Round(p * scale / 100))
	q = min(max(q, 0), scale)
	rank := (q*n + scale - 1) / scale
	return sorted[max(rank, 1)-1]
}
