package interop_test

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/exo-os/exo/libos/net/link"
)

// impairments is the wire's table for the transfer tests: each rate is
// applied to all four kinds at once (drop, reorder, duplicate and
// corrupt), so that at 10% about one frame in five is lost (dropped or
// caught by a checksum) and recovery meets every kind together.
//
// The sizes keep the package within its time budget: gVisor's minimum
// RTO is 200 ms (package gvisor has no option to lower it) and doubles
// on every consecutive timeout, so at 5% a 10 MiB transfer from gVisor
// takes from 10 s to over 2 minutes. INTEROP_FULL=1 runs 10 MiB at
// every rate.
var impairments = []struct {
	name string
	rate float64
	size int64 // bytes per transfer
}{
	{"clean", 0, 10 << 20},
	{"1%", 0.01, 10 << 20},
	{"5%", 0.05, 512 << 10},
	{"10%", 0.10, 64 << 10},
}

func impairment(rate float64, seed uint64) link.Impairment {
	return link.Impairment{Drop: rate, Reorder: rate, Duplicate: rate, Corrupt: rate, Delay: oneWay, Seed: seed}
}

// TestTransfer sends a seeded stream one way over one connection, the
// sender closing when done, and checks that the receiver reads it to EOF
// with the right length and SHA-256: Exo to gVisor and gVisor to Exo,
// with Exo as the client and as the server, at each impairment. The
// subtests run in parallel: lossy transfers spend most of their time
// waiting for retransmission timers.
func TestTransfer(t *testing.T) {
	for i, im := range impairments {
		for _, dir := range []struct {
			name     string
			exoSends bool
		}{{"exo-to-gvisor", true}, {"gvisor-to-exo", false}} {
			for _, role := range []struct {
				name     string
				exoDials bool
			}{{"exo-dials", true}, {"gvisor-dials", false}} {
				seed := 100*uint64(i) + 10*b2i(dir.exoSends) + b2i(role.exoDials)
				size := im.size
				if os.Getenv("INTEROP_FULL") != "" {
					size = 10 << 20
				}
				t.Run(fmt.Sprintf("%s/%s/%s", im.name, dir.name, role.name), func(t *testing.T) {
					t.Parallel()
					transfer(t, impairment(im.rate, seed), role.exoDials, dir.exoSends, size, seed)
				})
			}
		}
	}
}

func b2i(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

// transfer is one of TestTransfer's cases.
func transfer(t *testing.T, imp link.Impairment, exoDials, exoSends bool, size int64, seed uint64) {
	e := newEnv(t, imp, exoConfig())
	exoc, gvc := e.connect(exoDials, 80)
	from, to := gvc, exoc
	if exoSends {
		from, to = exoc, gvc
	}
	deadline := time.Now().Add(5 * time.Minute)
	from.SetDeadline(deadline)
	to.SetDeadline(deadline)
	start := time.Now()
	got := receiveAsync(to)
	if err := send(from, seed, size); err != nil {
		t.Fatalf("send: %v", err)
	}
	if err := from.Close(); err != nil {
		t.Fatalf("sender's Close: %v", err)
	}
	r := <-got
	elapsed := time.Since(start)
	if r.err != nil {
		t.Fatalf("receive: %v after %d bytes", r.err, r.n)
	}
	if r.n != size || r.sum != streamSum(seed, size) {
		t.Fatalf("received %d bytes, SHA-256 %x; want %d bytes, %x", r.n, r.sum, size, streamSum(seed, size))
	}
	ws := e.w.Stats()
	ts := e.exoTCPStats()
	t.Logf("%d bytes in %v (%.1f MB/s); wire %+v; exo retransmits %d (fast %d, timeouts %d); gVisor retransmits %d",
		size, elapsed.Round(time.Millisecond), float64(size)/elapsed.Seconds()/1e6, ws,
		ts.Retransmits, ts.FastRetransmits, ts.Timeouts, e.gv.Stats()["tcp.retransmits"])
	if imp.Drop > 0 && (ws.Dropped == 0 || ws.Corrupted == 0 || ws.Reordered == 0 || ws.Duplicated == 0) {
		t.Errorf("wire stats %+v: an impairment was not exercised", ws)
	}
	if err := to.Close(); err != nil {
		t.Fatalf("receiver's Close: %v", err)
	}
}
