package ping_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/exo-os/exo/internal/ping"
	"github.com/exo-os/exo/internal/ping/pingtest"
)

var guest = pingtest.DefaultIP

// Timeouts. Replies from the fake guest take microseconds; the timeouts
// are generous so that a loaded machine does not turn a slow reply into
// a lost one. Runs without loss end with their last reply, so a long
// timeout costs only the runs that lose probes, which run in parallel.
const (
	interval = time.Millisecond
	timeout  = 3 * time.Second
)

// newDgram starts a fake guest with o and a Dgram that talks to it.
func newDgram(t *testing.T, o pingtest.Options, arpTries int, arpWait time.Duration) (*ping.Dgram, *pingtest.Peer) {
	t.Helper()
	peer, err := pingtest.Start(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { peer.Close() })
	d, err := ping.ListenDgram(ping.DgramConfig{
		Local:    netip.MustParseAddrPort("127.0.0.1:0"),
		Remote:   peer.Addr(),
		ARPTries: arpTries,
		ARPWait:  arpWait,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d, peer
}

func TestRunDgram(t *testing.T) {
	for _, proto := range []string{"icmp", "udp"} {
		for _, tc := range []struct {
			name  string
			opts  pingtest.Options
			count int
			want  ping.Summary // counts only
			// reason is in every corrupt probe's Reason.
			reason string
			// lostSeqs are the probes that must be lost.
			lostSeqs []int
		}{
			{name: "clean", count: 10, want: ping.Summary{Sent: 10, Received: 10}},
			{name: "drop every 3rd", opts: pingtest.Options{Fault: pingtest.Drop, Every: 3}, count: 9,
				want: ping.Summary{Sent: 9, Received: 6, Lost: 3}, lostSeqs: []int{2, 5, 8}},
			{name: "corrupt payload", opts: pingtest.Options{Fault: pingtest.CorruptPayload, Every: 2}, count: 6,
				want: ping.Summary{Sent: 6, Received: 3, Corrupt: 3}, reason: "reply payload byte 31 is"},
			{name: "corrupt IPv4 checksum", opts: pingtest.Options{Fault: pingtest.CorruptIPChecksum}, count: 4,
				want: ping.Summary{Sent: 4, Corrupt: 4}, reason: "IPv4 header checksum at byte 24"},
			{name: "corrupt L4 checksum", opts: pingtest.Options{Fault: pingtest.CorruptL4Checksum, Every: 2}, count: 4,
				want: ping.Summary{Sent: 4, Received: 2, Corrupt: 2}, reason: map[string]string{"icmp": "ICMP checksum at byte 36", "udp": "UDP checksum at byte 40"}[proto]},
			{name: "duplicates", opts: pingtest.Options{Fault: pingtest.Duplicate}, count: 5,
				want: ping.Summary{Sent: 5, Received: 5, Duplicates: 4}},
			{name: "decoys", opts: pingtest.Options{Decoys: true}, count: 5, want: ping.Summary{Sent: 5, Received: 5}},
			{name: "guest asks ARP", opts: pingtest.Options{AskARP: true}, count: 5, want: ping.Summary{Sent: 5, Received: 5}},
		} {
			t.Run(proto+"/"+tc.name, func(t *testing.T) {
				t.Parallel()
				d, peer := newDgram(t, tc.opts, 5, time.Second)
				var events []ping.Event
				var progress bytes.Buffer
				cfg := ping.Config{Proto: proto, Target: guest, Count: tc.count, Interval: interval, Timeout: timeout,
					Size: 32, Progress: &progress, Trace: func(e ping.Event) { events = append(events, e) }}
				res, err := ping.Run(context.Background(), cfg, d)
				if err != nil {
					t.Fatalf("Run: %v", err)
				}
				s := res.Summary
				got := ping.Summary{Sent: s.Sent, Received: s.Received, Lost: s.Lost, Corrupt: s.Corrupt, Duplicates: s.Duplicates, Late: s.Late}
				if got != tc.want {
					t.Errorf("counts %+v, want %+v", got, tc.want)
				}
				if res.Unmatched != 0 {
					t.Errorf("%d unmatched replies", res.Unmatched)
				}
				var lost []int
				for _, p := range res.Probes {
					if p.Lost {
						lost = append(lost, p.Seq)
					}
					if p.Corrupt && !strings.Contains(p.Reason, tc.reason) {
						t.Errorf("probe %d: reason %q, want %q in it", p.Seq, p.Reason, tc.reason)
					}
					if p.Good() && p.RTT <= 0 {
						t.Errorf("probe %d: RTT %v", p.Seq, p.RTT)
					}
				}
				if !equalInts(lost, tc.lostSeqs) {
					t.Errorf("lost probes %v, want %v", lost, tc.lostSeqs)
				}
				if s.Received > 0 && !(s.Min <= s.P50 && s.P50 <= s.P90 && s.P90 <= s.P99 && s.P99 <= s.P999 && s.P999 <= s.Max && s.Min <= s.Mean && s.Mean <= s.Max) {
					t.Errorf("statistics out of order: %+v", s)
				}
				if want := tc.count + tc.want.Duplicates; len(events) != want {
					t.Errorf("%d trace events, want %d", len(events), want)
				}
				for _, e := range events {
					if e.Kind == ping.EventReply && e.From != guest {
						t.Errorf("reply event from %v", e.From)
					}
				}
				if want := fmt.Sprintf("%d/%d sent, %d lost, p50 ", tc.count, tc.count, tc.want.Lost); !strings.Contains(progress.String(), want) || !strings.HasSuffix(progress.String(), "\n") {
					t.Errorf("progress %q, want %q in it", progress.String(), want)
				}
				if st := peer.Stats(); st.Requests != tc.count {
					t.Errorf("the guest saw %d echo requests, want %d", st.Requests, tc.count)
				}
				if tc.opts.AskARP && peer.Stats().ARPLearned == 0 {
					t.Error("the guest never got an answer to its ARP request")
				}
			})
		}
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestRunDgramProgress(t *testing.T) {
	d, _ := newDgram(t, pingtest.Options{}, 5, time.Second)
	var progress bytes.Buffer
	_, err := ping.Run(context.Background(), ping.Config{Target: guest, Count: 20, Interval: interval, Timeout: timeout, Progress: &progress}, d)
	if err != nil {
		t.Fatal(err)
	}
	out := progress.String()
	if !strings.HasPrefix(out, "\r") || !strings.HasSuffix(out, "\n") || !strings.Contains(out, " 20/20 sent, 0 lost, p50 ") {
		t.Errorf("progress output %q", out)
	}
}

func TestRunDgramNoARP(t *testing.T) {
	d, peer := newDgram(t, pingtest.Options{NoARP: true}, 3, 20*time.Millisecond)
	res, err := ping.Run(context.Background(), ping.Config{Target: guest, Count: 3, Interval: interval, Timeout: timeout}, d)
	if err == nil || !strings.Contains(err.Error(), "no ARP reply from 198.18.0.2 after 3 tries") {
		t.Fatalf("Run = %v, %v; want an error saying no ARP reply came after 3 tries", res, err)
	}
	if res != nil {
		t.Errorf("result %+v with a failed setup", res)
	}
	if st := peer.Stats(); st.Requests != 0 {
		t.Errorf("%d probes sent without a MAC address", st.Requests)
	}
}

// TestRunDgramReuse runs ICMP then UDP over one Dgram, as a QEMU test
// with fixed ports must.
func TestRunDgramReuse(t *testing.T) {
	d, peer := newDgram(t, pingtest.Options{}, 5, time.Second)
	for _, proto := range []string{"icmp", "udp", "icmp"} {
		res, err := ping.Run(context.Background(), ping.Config{Proto: proto, Target: guest, Count: 3, Interval: interval, Timeout: timeout}, d)
		if err != nil || res.Summary.Received != 3 {
			t.Fatalf("%s: %v, %+v", proto, err, res)
		}
	}
	if st := peer.Stats(); st.Requests != 9 || st.ARPAnswers != 3 {
		t.Errorf("guest stats %+v, want 9 requests and 3 ARP answers", st)
	}
}

func TestRunCancel(t *testing.T) {
	d, _ := newDgram(t, pingtest.Options{}, 5, time.Second)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg := ping.Config{Target: guest, Count: 1000, Interval: interval, Timeout: timeout, Trace: func(e ping.Event) {
		if e.Probe.Seq == 2 {
			cancel()
		}
	}}
	res, err := ping.Run(ctx, cfg, d)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Run: %v, want context.Canceled", err)
	}
	s := res.Summary
	if s.Sent < 3 || s.Sent >= 1000 || s.Received < 3 || s.Sent != s.Received+s.Lost+s.Corrupt || len(res.Probes) != s.Sent {
		t.Errorf("summary of a cancelled run: %+v", s)
	}
}

func TestDgramSetupErrors(t *testing.T) {
	d, _ := newDgram(t, pingtest.Options{}, 1, 10*time.Millisecond)
	for name, tc := range map[string]struct {
		cfg  ping.Config
		want string
	}{
		"off subnet": {ping.Config{Target: netip.MustParseAddr("10.0.0.2"), Count: 1}, "not on the guest Ethernet 198.18.0.0/24"},
		"own":        {ping.Config{Target: ping.DefaultPrefix.Addr(), Count: 1}, "Dgram's own address"},
		"MTU":        {ping.Config{Target: guest, Count: 1, Size: 1473}, "at most 1472"},
		"config":     {ping.Config{Target: guest}, "Count 0"},
	} {
		if _, err := ping.Run(context.Background(), tc.cfg, d); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Run: %v, want %q", name, err, tc.want)
		}
	}
	for name, c := range map[string]ping.DgramConfig{
		"no remote": {Local: netip.MustParseAddrPort("127.0.0.1:0")},
		"multicast": {Local: netip.MustParseAddrPort("127.0.0.1:0"), Remote: netip.MustParseAddrPort("127.0.0.1:9"), MAC: ping.MAC{1}},
		"in use":    {Local: d.LocalAddr(), Remote: netip.MustParseAddrPort("127.0.0.1:9")},
	} {
		if d, err := ping.ListenDgram(c); err == nil {
			d.Close()
			t.Errorf("%s: ListenDgram succeeded", name)
		}
	}
}
