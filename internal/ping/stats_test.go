package ping

import (
	"net/netip"
	"testing"
	"time"
)

func TestPercentileNearestRank(t *testing.T) {
	us := func(n ...int) []time.Duration {
		var d []time.Duration
		for _, x := range n {
			d = append(d, time.Duration(x)*time.Microsecond)
		}
		return d
	}
	thousand := make([]time.Duration, 1000)
	for i := range thousand {
		thousand[i] = time.Duration(i+1) * time.Microsecond
	}
	for _, tc := range []struct {
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{nil, 50, 0},
		{us(7), 0, 7 * time.Microsecond},
		{us(7), 50, 7 * time.Microsecond},
		{us(7), 100, 7 * time.Microsecond},
		{us(10, 20, 30), 33.3, 10 * time.Microsecond},  // rank ⌈0.999⌉ = 1
		{us(10, 20, 30), 33.34, 20 * time.Microsecond}, // rank ⌈1.0002⌉ = 2
		{us(10, 20, 30), 50, 20 * time.Microsecond},    // rank ⌈1.5⌉ = 2
		{us(10, 20, 30), 90, 30 * time.Microsecond},    // rank ⌈2.7⌉ = 3
		{us(15, 20, 35, 40, 50), 30, 20 * time.Microsecond},
		{us(15, 20, 35, 40, 50), 40, 20 * time.Microsecond}, // rank 2 exactly
		{us(15, 20, 35, 40, 50), 50, 35 * time.Microsecond},
		{us(15, 20, 35, 40, 50), 100, 50 * time.Microsecond},
		// Exact ranks, where floating point would round up a rank too far.
		{thousand, 50, 500 * time.Microsecond},
		{thousand, 90, 900 * time.Microsecond},
		{thousand, 99, 990 * time.Microsecond},
		{thousand, 99.9, 999 * time.Microsecond},
		{thousand, 99.95, 1000 * time.Microsecond},
		{thousand, 0.1, 1 * time.Microsecond},
		{thousand, 0.11, 2 * time.Microsecond},
	} {
		if got := Percentile(tc.sorted, tc.p); got != tc.want {
			t.Errorf("Percentile(%d values, %v) = %v, want %v", len(tc.sorted), tc.p, got, tc.want)
		}
	}
}

func TestSummarize(t *testing.T) {
	// Ten good replies of 1 to 10 ms (in a scrambled order), two lost, one
	// corrupt (its RTT not counted), three duplicates, one late reply.
	var probes []Probe
	for i, ms := range []int{3, 10, 1, 7, 5, 2, 9, 4, 8, 6} {
		probes = append(probes, Probe{Seq: i, RTT: time.Duration(ms) * time.Millisecond})
	}
	probes[4].Dups = 2
	probes[9].Dups = 1
	probes = append(probes,
		Probe{Seq: 10, Lost: true},
		Probe{Seq: 11, Lost: true, Late: 1},
		Probe{Seq: 12, RTT: time.Microsecond, Corrupt: true, Reason: "payload"})
	got := Summarize(probes)
	// By hand: mean 5.5 ms; population variance 38.5 - 5.5² = 8.25 ms²,
	// standard deviation √8.25 = 2.8722813 ms; nearest ranks of 10 values:
	// p50 the 5th, p90 the 9th, p99 and p99.9 the 10th.
	want := Summary{
		Sent: 13, Received: 10, Lost: 2, Corrupt: 1, Duplicates: 3, Late: 1,
		LossPercent: 100 * 2.0 / 13,
		Min:         1 * time.Millisecond, P50: 5 * time.Millisecond, P90: 9 * time.Millisecond,
		P99: 10 * time.Millisecond, P999: 10 * time.Millisecond, Max: 10 * time.Millisecond,
		Mean: 5500 * time.Microsecond, StdDev: 2872281 * time.Nanosecond,
	}
	if got != want {
		t.Errorf("Summarize:\n got %+v\nwant %+v", got, want)
	}

	if s := Summarize(nil); s != (Summary{}) {
		t.Errorf("Summarize(nil) = %+v", s)
	}
	allLost := Summarize([]Probe{{Lost: true}, {Lost: true}})
	if allLost.LossPercent != 100 || allLost.Mean != 0 || allLost.Max != 0 {
		t.Errorf("all lost: %+v", allLost)
	}
	one := Summarize([]Probe{{RTT: 42 * time.Microsecond}})
	if one.Min != one.Max || one.P999 != 42*time.Microsecond || one.StdDev != 0 || one.Mean != 42*time.Microsecond {
		t.Errorf("one probe: %+v", one)
	}
}

func TestConfigNormalize(t *testing.T) {
	target := guestIP
	good, err := Config{Target: target, Count: 1}.normalize()
	if err != nil {
		t.Fatal(err)
	}
	if good.Proto != "icmp" || good.Port != DefaultPort || good.Interval != DefaultInterval ||
		good.Timeout != DefaultTimeout || good.Size != DefaultSize || good.ID == 0 {
		t.Errorf("defaults: %+v", good)
	}
	for name, c := range map[string]Config{
		"proto":       {Proto: "tcp", Target: target, Count: 1},
		"no target":   {Count: 1},
		"IPv6 target": {Target: netip.MustParseAddr("::1"), Count: 1},
		"count":       {Target: target},
		"interval":    {Target: target, Count: 1, Interval: -1},
		"timeout":     {Target: target, Count: 1, Timeout: -1},
		"size":        {Target: target, Count: 1, Size: -1},
		"udp size":    {Proto: "udp", Target: target, Count: 1, Size: UDPHeaderLen - 1},
		"large size":  {Target: target, Count: 1, Size: MaxSize + 1},
		"ambiguous":   {Target: target, Count: 1<<16 + 1, Interval: time.Microsecond, Timeout: time.Second},
	} {
		if _, err := c.normalize(); err == nil {
			t.Errorf("%s: normalize(%+v) succeeded", name, c)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
}
