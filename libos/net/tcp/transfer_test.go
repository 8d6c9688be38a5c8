package tcp

import (
	"fmt"
	"testing"
	"time"
)

// TestTransfer moves 10 MiB each way, byte-exact, over a clean link and
// over links that drop, reorder, duplicate and corrupt segments (each at
// the given rate, both directions).
func TestTransfer(t *testing.T) {
	rates := []float64{0, 0.01, 0.02, 0.05, 0.10}
	if testing.Short() {
		rates = []float64{0, 0.05}
	}
	for _, rate := range rates {
		for dir := 0; dir < 2; dir++ {
			t.Run(fmt.Sprintf("rate=%g/dir=%d", rate, dir), func(t *testing.T) {
				n := newNet(t, uint64(1000*rate)+uint64(dir), Config{}, Config{})
				n.record = false
				imp := impair{drop: rate, dup: rate, reorder: rate, corrupt: rate}
				c, s, _ := n.connect()
				n.imp = [2]impair{imp, imp}
				w, r := c, s
				if dir == 1 {
					w, r = s, c
				}
				p := newPump(t, w, r, 10<<20, true)
				start := n.now
				if !n.run(time.Hour, func() bool { return p.service(n.now) }) {
					t.Fatalf("incomplete at %v: read %d of %d\nwriter %s\nreader %s", n.now, p.read, p.size, w.dump(), r.dump())
				}
				st := [2]Stats{n.a().Stats(), n.b().Stats()}
				if rate > 0 && st[0].BadChecksum+st[1].BadChecksum == 0 {
					t.Errorf("no corrupt segment was caught (%d corrupted)", n.corrupt)
				}
				if rate == 0 && st[dir].Retransmits != 0 {
					t.Errorf("%d retransmits on a clean link", st[dir].Retransmits)
				}
				t.Logf("%v virtual, %d steps; writer: %+v", n.now-start, n.steps, st[dir])
			})
		}
	}
}
