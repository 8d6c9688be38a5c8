package tcp

import (
	"fmt"
	"testing"
	"time"
)

func TestSACKNegotiation(t *testing.T) {
	for _, tc := range []struct {
		noA, noB bool
	}{{false, false}, {true, false}, {false, true}, {true, true}} {
		t.Run(fmt.Sprintf("noA=%v/noB=%v", tc.noA, tc.noB), func(t *testing.T) {
			n := newNet(t, 60, Config{}, Config{})
			n.a().noSACK, n.b().noSACK = tc.noA, tc.noB
			c, s, _ := n.connect()
			want := !tc.noA && !tc.noB
			if c.sackOK != want || s.sackOK != want {
				t.Errorf("sackOK client %v server %v, want %v", c.sackOK, s.sackOK, want)
			}
			syn, synAck := n.hosts[0].sent[0].h, n.hosts[1].sent[0].h
			if syn.sackOK == tc.noA {
				t.Errorf("SYN SACK-permitted %v", syn.sackOK)
			}
			// The SYN-ACK carries it only if the SYN did and B allows it.
			if synAck.sackOK != want {
				t.Errorf("SYN-ACK SACK-permitted %v", synAck.sackOK)
			}
		})
	}
}

func TestScoreboard(t *testing.T) {
	type op struct {
		add   bool
		a, b  uint32 // add [a,b) or trim at a
		fresh uint32 // add: newly SACKed; trim: 1 if not reneged
	}
	for _, tc := range []struct {
		name string
		base uint32
		ops  []op
		want []seqRange // relative to base
	}{
		{"disjoint sorted", 0, []op{{true, 30, 40, 10}, {true, 10, 20, 10}, {true, 50, 60, 10}}, []seqRange{{10, 20}, {30, 40}, {50, 60}}},
		{"merge touching", 0, []op{{true, 10, 20, 10}, {true, 20, 30, 10}, {true, 5, 10, 5}}, []seqRange{{5, 30}}},
		{"overlap counts fresh once", 0, []op{{true, 10, 20, 10}, {true, 30, 40, 10}, {true, 15, 35, 10}}, []seqRange{{10, 40}}},
		{"duplicate", 0, []op{{true, 10, 20, 10}, {true, 12, 18, 0}}, []seqRange{{10, 20}}},
		{"empty range", 0, []op{{true, 10, 10, 0}, {true, 20, 10, 0}}, nil},
		{"trim", 0, []op{{true, 10, 20, 10}, {true, 30, 40, 10}, {false, 25, 0, 1}}, []seqRange{{30, 40}}},
		{"trim at range start reneges", 0, []op{{true, 10, 20, 10}, {true, 30, 40, 10}, {false, 10, 0, 0}}, nil},
		{"trim inside range reneges", 0, []op{{true, 10, 20, 10}, {false, 15, 0, 0}}, nil},
		{"wrap", 0xfffffff0, []op{{true, 0, 0x20, 0x20}, {true, 0x30, 0x40, 0x10}, {true, 0x18, 0x34, 0x10}}, []seqRange{{0, 0x40}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var s scoreboard
			for i, o := range tc.ops {
				if o.add {
					if got := s.add(tc.base+o.a, tc.base+o.b); got != o.fresh {
						t.Errorf("op %d: add fresh %d, want %d", i, got, o.fresh)
					}
				} else if got := s.trim(tc.base + o.a); got != (o.fresh == 1) {
					t.Errorf("op %d: trim %v", i, got)
				}
			}
			var got []seqRange
			for _, r := range s.r[:s.n] {
				got = append(got, seqRange{r.start - tc.base, r.end - tc.base})
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("ranges %v, want %v", got, tc.want)
			}
		})
	}
	// Queries.
	var s scoreboard
	s.add(10, 20)
	s.add(30, 40)
	for _, q := range []struct{ x, below, above uint32 }{{0, 0, 20}, {15, 5, 15}, {25, 10, 10}, {35, 15, 5}, {50, 20, 0}} {
		if b, a := s.below(q.x), s.above(q.x); b != q.below || a != q.above {
			t.Errorf("at %d: below %d above %d, want %d %d", q.x, b, a, q.below, q.above)
		}
	}
	for _, q := range []struct {
		from, limit, s, e uint32
		ok                bool
	}{{0, 50, 0, 10, true}, {10, 50, 20, 30, true}, {35, 50, 40, 50, true}, {35, 40, 40, 40, false}, {0, 5, 0, 5, true}} {
		if hs, he, ok := s.hole(q.from, q.limit); hs != q.s || he != q.e || ok != q.ok {
			t.Errorf("hole(%d, %d) = %d %d %v", q.from, q.limit, hs, he, ok)
		}
	}
	// Full: a range above all is forgotten, one below pushes out the top.
	s = scoreboard{}
	for i := uint32(0); i < maxSACKRanges; i++ {
		s.add(100+20*i, 110+20*i)
	}
	top := s.r[s.n-1]
	if s.add(10000, 10010) != 0 || s.n != maxSACKRanges || s.r[s.n-1] != top {
		t.Errorf("full table took a range above all")
	}
	if s.add(10, 20) != 10 || s.n != maxSACKRanges || s.r[0] != (seqRange{10, 20}) || s.r[s.n-1] == top {
		t.Errorf("full table: %v", s.r[:s.n])
	}
}

// TestSACKBlocks checks the receiver's blocks: one per out-of-order
// range, the most recently changed first, three at most beside
// timestamps and four without.
func TestSACKBlocks(t *testing.T) {
	for _, ts := range []bool{true, false} {
		t.Run(fmt.Sprintf("timestamps=%v", ts), func(t *testing.T) {
			n := newNet(t, 61, Config{}, Config{})
			n.a().noTS = !ts
			_, s, _ := n.connect()
			base := s.rcvNxt
			var want []seqRange
			for _, k := range []uint32{2, 6, 4, 8, 10, 3, 12} { // 3 joins 2 and 4
				h := reply(s, flagACK)
				h.seq = base + 100*k
				n.inject(1, h, testData[:100])
				last := n.hosts[1].sent[len(n.hosts[1].sent)-1].h
				r := seqRange{base + 100*k, base + 100*k + 100}
				var kept []seqRange
				for _, w := range want {
					if seqLEQ(w.start, r.end) && seqLEQ(r.start, w.end) {
						r = seqRange{seqMin(r.start, w.start), seqMax(r.end, w.end)}
					} else {
						kept = append(kept, w)
					}
				}
				want = append([]seqRange{r}, kept...)
				limit := 4
				if ts {
					limit = 3
				}
				exp := want[:min(len(want), limit)]
				if last.ack != base || fmt.Sprint(last.sack[:last.nsack]) != fmt.Sprint(exp) {
					t.Fatalf("after %d: ACK %d blocks %v, want %v", k, last.ack-base, last.sack[:last.nsack], exp)
				}
			}
			// Filling the first hole takes [200, 500) in; the four
			// ranges above stay.
			h := reply(s, flagACK)
			n.inject(1, h, testData[:200])
			last := n.hosts[1].sent[len(n.hosts[1].sent)-1].h
			if last.ack != base+500 || last.nsack != 3 && ts || last.nsack != 4 && !ts {
				t.Errorf("after the fill: ACK %d, %d blocks", last.ack-base, last.nsack)
			}
		})
	}
}

// dropNth drops data segments from host 0 by their order number (1 is
// the first data segment), each once.
func dropNth(n *testNet, nth ...int) {
	count := 0
	n.filter = func(from int, h *header, data []byte) bool {
		if from == 0 && len(data) > 0 {
			count++
			for _, k := range nth {
				if count == k {
					return false
				}
			}
		}
		return true
	}
}

// retransmitsOfSACKed counts host 0's data segments sent from time from
// on that resent bytes host 1 had SACKed before they were sent (the link
// is FIFO and lossless from host 1, so every ACK sent a delay earlier has
// arrived), and all its retransmissions from then.
func retransmitsOfSACKed(n *testNet, from time.Duration) (overlap int, retx int) {
	var sb scoreboard
	acks := n.hosts[1].sent
	j := 0
	var high uint32
	first := true
	for _, seg := range n.hosts[0].sent {
		for j < len(acks) && acks[j].at+n.delay <= seg.at {
			for i := 0; i < acks[j].h.nsack; i++ {
				sb.add(acks[j].h.sack[i].start, acks[j].h.sack[i].end)
			}
			sb.trim(acks[j].h.ack)
			j++
		}
		if seg.dlen == 0 {
			continue
		}
		end := seg.h.seq + uint32(seg.dlen)
		if !first && seqLT(seg.h.seq, high) && seg.at >= from {
			retx++
			if sb.above(seg.h.seq)-sb.above(end) > 0 {
				overlap++
			}
		}
		if first || seqGT(end, high) {
			high, first = end, false
		}
	}
	return overlap, retx
}

// TestSACKRecovery drops several segments of one window: one recovery,
// each hole resent once, nothing SACKed resent, no timeout; and the
// same without SACK (NewReno, one hole per round trip).
func TestSACKRecovery(t *testing.T) {
	for _, tc := range []struct {
		name   string
		noSACK bool
		drops  []int
	}{
		{"sack/one", false, []int{40}},
		{"sack/three", false, []int{40, 43, 47}},
		{"sack/burst", false, []int{40, 41, 42, 43, 50, 60}},
		{"newreno/three", true, []int{40, 43, 47}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := newNet(t, 62, Config{}, Config{})
			n.a().noSACK = tc.noSACK
			c, s, _ := n.connect()
			dropNth(n, tc.drops...)
			p := newPump(t, c, s, 1<<20, true)
			if !n.run(time.Minute, func() bool { return p.service(n.now) }) {
				t.Fatal("incomplete")
			}
			st := n.a().Stats()
			if st.FastRetransmits != 1 || st.Timeouts != 0 || st.Retransmits != uint64(len(tc.drops)) {
				t.Errorf("stats: %d recoveries, %d timeouts, %d retransmits (%d drops)", st.FastRetransmits, st.Timeouts, st.Retransmits, len(tc.drops))
			}
			if over, retx := retransmitsOfSACKed(n, 0); over != 0 || retx != len(tc.drops) {
				t.Errorf("%d of %d retransmissions resent SACKed data", over, retx)
			}
		})
	}
}

// TestSACKTimeoutResendsHoles makes a retransmission timeout with five
// holes and much SACKed between (every resend of the first hole is
// dropped for a while): after the timeout only the holes go again, not
// what the receiver holds (RFC 6675 §5.1), where without SACK the
// sender goes back N.
func TestSACKTimeoutResendsHoles(t *testing.T) {
	for _, noSACK := range []bool{false, true} {
		t.Run(fmt.Sprintf("noSACK=%v", noSACK), func(t *testing.T) {
			n := newNet(t, 63, Config{}, Config{})
			n.a().noSACK = noSACK
			c, s, _ := n.connect()
			count := 0
			var lost uint32
			n.filter = func(from int, h *header, data []byte) bool {
				if from != 0 || len(data) == 0 {
					return true
				}
				count++
				switch count {
				case 40:
					lost = h.seq
					return false
				case 60, 80, 100, 120:
					return false
				}
				// Every resend of the first lost segment, until 300ms.
				return !(h.seq == lost && n.now < 300*time.Millisecond)
			}
			p := newPump(t, c, s, 1<<20, true)
			var rto time.Duration
			if !n.run(time.Minute, func() bool {
				if rto == 0 && n.a().stats.Timeouts > 0 {
					rto = n.now
				}
				return p.service(n.now)
			}) {
				t.Fatal("incomplete")
			}
			st := n.a().Stats()
			if rto == 0 {
				t.Fatalf("no timeout: %+v", st)
			}
			over, retx := retransmitsOfSACKed(n, rto)
			t.Logf("from the timeout at %v: %d retransmissions, %d of SACKed data; %d timeouts", rto, retx, over, st.Timeouts)
			if !noSACK && (over != 0 || retx > 6) {
				t.Errorf("after the timeout: %d retransmissions, %d of SACKed data", retx, over)
			}
			if noSACK && retx < 12 {
				t.Errorf("go-back-N resent only %d", retx)
			}
		})
	}
}

// TestLostRetransmission drops a hole's first retransmission: SACKs
// for data sent after it show it lost and it goes again, without a
// timeout.
func TestLostRetransmission(t *testing.T) {
	n := newNet(t, 64, Config{}, Config{})
	c, s, _ := n.connect()
	count, resent := 0, 0
	var lost uint32
	n.filter = func(from int, h *header, data []byte) bool {
		if from != 0 || len(data) == 0 {
			return true
		}
		count++
		if count == 40 {
			lost = h.seq
			return false
		}
		if count > 40 && h.seq == lost {
			resent++
			return resent > 1
		}
		return true
	}
	p := newPump(t, c, s, 1<<20, true)
	if !n.run(time.Minute, func() bool { return p.service(n.now) }) {
		t.Fatal("incomplete")
	}
	st := n.a().Stats()
	if st.Timeouts != 0 || st.LostRetransmits != 1 || st.Retransmits != 2 || resent != 2 {
		t.Errorf("%d timeouts, %d lost retransmissions, %d retransmits, %d resends", st.Timeouts, st.LostRetransmits, st.Retransmits, resent)
	}
}

// TestLimitedTransmit: with a three-segment window and its first
// segment lost, only two duplicate ACKs come; limited transmit (RFC
// 3042) sends a new segment on each, their ACKs make the third, and
// fast retransmit repairs the loss without a timeout.
func TestLimitedTransmit(t *testing.T) {
	for _, noSACK := range []bool{false, true} {
		t.Run(fmt.Sprintf("noSACK=%v", noSACK), func(t *testing.T) {
			n := newNet(t, 65, Config{}, Config{})
			n.a().noSACK = noSACK
			c, s, _ := n.connect()
			c.cwnd, c.ssthresh = 3*c.segMax(), 3*c.segMax()
			dropNth(n, 1)
			m := n.mark(0)
			p := newPump(t, c, s, 20*int(c.segMax()), true)
			if !n.run(time.Minute, func() bool { return p.service(n.now) }) {
				t.Fatal("incomplete")
			}
			st := n.a().Stats()
			if st.Timeouts != 0 || st.FastRetransmits != 1 || st.Retransmits != 1 {
				t.Errorf("%d timeouts, %d fast retransmits, %d retransmits", st.Timeouts, st.FastRetransmits, st.Retransmits)
			}
			// Segments 4 and 5 went on the first two duplicate ACKs,
			// before the retransmission.
			var order []uint32
			for _, seg := range n.segsSince(0, m) {
				if seg.dlen > 0 {
					order = append(order, (seg.h.seq-c.iss-1)/c.segMax())
				}
			}
			if fmt.Sprint(order[:6]) != "[0 1 2 3 4 0]" {
				t.Errorf("segment order %v", order)
			}
		})
	}
}
