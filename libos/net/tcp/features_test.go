package tcp

import (
	"errors"
	"net/netip"
	"testing"
	"time"
)

func TestNagle(t *testing.T) {
	for _, tc := range []struct {
		noDelay bool
		min     int
		max     int
	}{
		{false, 2, 3}, // the first byte, then the rest in one segment
		{true, 100, 100},
	} {
		n := newNet(t, 50, Config{}, Config{})
		c, s, _ := n.connect()
		c.SetNoDelay(tc.noDelay)
		m := n.mark(0)
		for i := 0; i < 100; i++ {
			c.Write(n.now, []byte{byte(i)})
		}
		n.idle(time.Second)
		data := 0
		for _, seg := range n.segsSince(0, m) {
			if seg.dlen > 0 {
				data++
			}
		}
		if data < tc.min || data > tc.max {
			t.Errorf("noDelay %v: %d data segments", tc.noDelay, data)
		}
		buf := make([]byte, 200)
		if k, _ := s.Read(buf); k != 100 {
			t.Errorf("read %d", k)
		}
	}
}

func TestDelayedACK(t *testing.T) {
	n := newNet(t, 51, Config{}, Config{DelayedACK: 30 * time.Millisecond})
	c, s, _ := n.connect()
	m := n.mark(1)
	c.Write(n.now, []byte("one small segment"))
	sentAt := n.now
	n.idle(time.Second)
	acks := n.segsSince(1, m)
	if len(acks) != 1 || acks[0].at-sentAt != 30*time.Millisecond+n.delay {
		t.Fatalf("ACK %+v, data sent at %v", acks, sentAt)
	}
	if n.b().Stats().DelayedACKs != 1 {
		t.Errorf("DelayedACKs %d", n.b().Stats().DelayedACKs)
	}
	// Two full segments: ACKed at once.
	m = n.mark(1)
	c.Write(n.now, testData[:2*int(c.segMax())])
	sentAt = n.now
	n.idle(time.Second)
	acks = n.segsSince(1, m)
	if len(acks) != 1 || acks[0].at != sentAt+n.delay {
		t.Fatalf("ACKs %+v, sent at %v", acks, sentAt)
	}
	// A reply carries the ACK: no separate ACK.
	s.Read(make([]byte, 1<<16))
	m = n.mark(1)
	c.Write(n.now, []byte("ping"))
	n.run(time.Second, func() bool { return s.Readable() })
	s.Read(make([]byte, 100))
	s.Write(n.now, []byte("pong"))
	n.idle(time.Second)
	if got := n.segsSince(1, m); len(got) != 1 || got[0].dlen != 4 {
		t.Errorf("reply segments %+v", got)
	}
}

func TestKeepAlive(t *testing.T) {
	cfg := Config{KeepAlive: 10 * time.Second}
	n := newNet(t, 52, cfg, Config{})
	c, _, _ := n.connect()
	c.SetKeepAlive(true)
	start := n.now
	n.idle(11 * time.Second)
	st := n.a().Stats()
	if st.KeepAliveProbes != 1 || c.State() != StateEstablished {
		t.Fatalf("after idle: %+v", st)
	}
	probe := n.hosts[0].sent[len(n.hosts[0].sent)-1]
	if d := probe.at - start; d < 10*time.Second-5*time.Millisecond || d > 10*time.Second || probe.h.seq != c.sndUna-1 || probe.dlen != 0 {
		t.Errorf("probe %+v", probe)
	}
	// Answered: the peer's ACK resets the idle time.
	n.idle(10 * time.Second)
	if n.a().Stats().KeepAliveProbes != 2 {
		t.Errorf("probes %d", n.a().Stats().KeepAliveProbes)
	}
	// Peer gone: 9 probes 75s apart, then ErrTimeout.
	n.blockFrom(1)
	n.run(time.Hour, func() bool { return c.State() == StateClosed })
	if _, err := c.Read(nil); !errors.Is(err, ErrTimeout) {
		t.Fatalf("error %v", err)
	}
	if got := n.a().Stats().KeepAliveProbes; got != 2+9 {
		t.Errorf("probes %d", got)
	}
	// Off by default.
	n = newNet(t, 52, cfg, Config{})
	n.connect()
	n.idle(time.Minute)
	if n.a().Stats().KeepAliveProbes != 0 {
		t.Error("keep-alive without SetKeepAlive")
	}
}

func TestBacklogFull(t *testing.T) {
	n := newNet(t, 53, Config{}, Config{})
	l, _ := n.b().Listen(netip.AddrPortFrom(addrB, 80), 2)
	dial := func() *Conn {
		t.Helper()
		c, err := n.a().Dial(n.now, netip.AddrPortFrom(addrA, 0), netip.AddrPortFrom(addrB, 80))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	// Four SYNs at once on a backlog of two: the two newest half-open
	// connections stay and the oldest give way (what defends a listener
	// from a SYN flood); their clients are reset when they ACK.
	var cs []*Conn
	for i := 0; i < 4; i++ {
		cs = append(cs, dial())
	}
	n.idle(500 * time.Millisecond)
	resets := 0
	for _, c := range cs[:2] {
		if _, err := c.Read(nil); errors.Is(err, ErrReset) {
			resets++
		}
	}
	if st := n.b().Stats(); resets != 2 || !cs[2].Established() || !cs[3].Established() || l.Pending() != 2 || st.SynEvicted != 2 {
		t.Fatalf("resets %d, established %v %v, pending %d, stats %+v", resets, cs[2].Established(), cs[3].Established(), l.Pending(), st)
	}
	// A backlog of established connections not yet accepted is never
	// evicted: a new SYN is dropped, and its retransmission gets in once
	// Accept makes room.
	c5 := dial()
	n.idle(500 * time.Millisecond)
	if c5.Established() || n.b().Stats().BacklogFull == 0 {
		t.Fatalf("a SYN on a backlog of established connections: established %v, stats %+v", c5.Established(), n.b().Stats())
	}
	if c, err := l.Accept(); err != nil || c.RemoteAddr() != cs[2].LocalAddr() {
		t.Fatalf("Accept: %v %v, want the oldest established", c, err)
	}
	n.idle(2 * time.Second)
	if !c5.Established() || l.Pending() != 2 {
		t.Fatalf("after the SYN's retransmission: established %v, pending %d", c5.Established(), l.Pending())
	}
	// Closing the listener resets what was not accepted.
	l.Close(n.now)
	n.idle(time.Second)
	resets = 0
	for _, c := range []*Conn{cs[3], c5} {
		if _, err := c.Read(nil); errors.Is(err, ErrReset) {
			resets++
		}
	}
	if resets != 2 {
		t.Errorf("%d resets on listener close", resets)
	}
	if _, err := l.Accept(); !errors.Is(err, ErrClosed) {
		t.Error(err)
	}
	if _, err := n.b().Listen(netip.AddrPortFrom(addrB, 80), 2); err != nil {
		t.Errorf("relisten: %v", err)
	}
}

// TestTimeWaitRecycled: at the connection limit, the connection longest
// in TIME-WAIT makes room for a new one, and one not in TIME-WAIT never
// does.
func TestTimeWaitRecycled(t *testing.T) {
	n := newNet(t, 57, Config{}, Config{MaxConnections: 3})
	l, _ := n.b().Listen(netip.AddrPortFrom(addrB, 80), 8)
	for i := 0; i < 6; i++ {
		c, err := n.a().Dial(n.now, netip.AddrPortFrom(addrA, 0), netip.AddrPortFrom(addrB, 80))
		if err != nil {
			t.Fatal(err)
		}
		n.idle(100 * time.Millisecond)
		s, err := l.Accept()
		if err != nil {
			t.Fatalf("connection %d: %v (stats %+v)", i, err, n.b().Stats())
		}
		s.Close(n.now) // the server closes first: it holds the TIME-WAIT
		n.idle(100 * time.Millisecond)
		c.Close(n.now)
		n.idle(100 * time.Millisecond)
		if s.State() != StateTimeWait {
			t.Fatalf("connection %d: server in %v, want TIME-WAIT", i, s.State())
		}
	}
	st := n.b().Stats()
	if st.TimeWaitRecycled != 3 || st.ConnLimitRefusals != 0 || st.CurrentConnections > 3 {
		t.Fatalf("stats %+v: want 3 TIME-WAIT connections recycled and no refusal", st)
	}
	// Three live connections and nothing in TIME-WAIT: the limit holds.
	n2 := newNet(t, 58, Config{}, Config{MaxConnections: 3})
	l2, _ := n2.b().Listen(netip.AddrPortFrom(addrB, 80), 8)
	for i := 0; i < 4; i++ {
		n2.a().Dial(n2.now, netip.AddrPortFrom(addrA, 0), netip.AddrPortFrom(addrB, 80))
		n2.idle(100 * time.Millisecond)
	}
	if st := n2.b().Stats(); st.ConnLimitRefusals == 0 || st.TimeWaitRecycled != 0 || l2.Pending() != 3 {
		t.Fatalf("at the limit with no TIME-WAIT: pending %d, stats %+v", l2.Pending(), st)
	}
}

func TestListenInUse(t *testing.T) {
	n := newNet(t, 54, Config{}, Config{})
	if _, err := n.b().Listen(netip.AddrPortFrom(addrB, 80), 2); err != nil {
		t.Fatal(err)
	}
	if _, err := n.b().Listen(netip.AddrPortFrom(addrB, 80), 2); err == nil {
		t.Error("second Listen on a port in use")
	}
	l, err := n.b().Listen(netip.AddrPortFrom(netip.IPv4Unspecified(), 0), 2)
	if err != nil || l.Addr().Port() < 49152 {
		t.Fatalf("ephemeral listen: %v %v", l, err)
	}
	c, _ := n.a().Dial(n.now, netip.AddrPortFrom(addrA, 0), netip.AddrPortFrom(addrB, l.Addr().Port()))
	n.idle(time.Second)
	if !c.Established() {
		t.Error("wildcard listener did not answer")
	}
}

func TestConnectionLimits(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		stat func(Stats) uint64
	}{
		{"MaxConnections", Config{MaxConnections: 2}, func(s Stats) uint64 { return s.ConnLimitRefusals }},
		{"MaxMemory", Config{SendBuffer: 1000, ReceiveBuffer: 1000, MaxMemory: 4500}, func(s Stats) uint64 { return s.MemoryRefusals }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := newNet(t, 55, Config{}, tc.cfg)
			l, _ := n.b().Listen(netip.AddrPortFrom(addrB, 80), 10)
			// Two established connections hold the limit; a third SYN is
			// refused, since only half-open connections give way.
			var cs []*Conn
			for i := 0; i < 3; i++ {
				c, _ := n.a().Dial(n.now, netip.AddrPortFrom(addrA, 0), netip.AddrPortFrom(addrB, 80))
				cs = append(cs, c)
				n.idle(time.Second)
			}
			if !cs[0].Established() || !cs[1].Established() {
				t.Fatal("first two not established")
			}
			if _, err := cs[2].Read(nil); !errors.Is(err, ErrRefused) {
				t.Errorf("third: %v", err)
			}
			if got := tc.stat(n.b().Stats()); got != 1 {
				t.Errorf("refusals %d", got)
			}
			// The local side refuses Dial too.
			if _, err := n.b().Dial(n.now, netip.AddrPortFrom(addrB, 0), netip.AddrPortFrom(addrA, 9)); err == nil {
				t.Error("Dial past the limit")
			}
			// Closing one frees its share.
			s, _ := l.Accept()
			s.Abort(n.now)
			if _, err := n.b().Dial(n.now, netip.AddrPortFrom(addrB, 0), netip.AddrPortFrom(addrA, 9)); err != nil {
				t.Errorf("Dial after a close: %v", err)
			}
		})
	}
	// At the limit with half-open connections, the oldest gives way to a
	// new SYN: three SYNs at once under MaxConnections 2 leave the two
	// newest, and the first client is reset when it ACKs.
	n := newNet(t, 56, Config{}, Config{MaxConnections: 2})
	n.b().Listen(netip.AddrPortFrom(addrB, 80), 10)
	var cs []*Conn
	for i := 0; i < 3; i++ {
		c, _ := n.a().Dial(n.now, netip.AddrPortFrom(addrA, 0), netip.AddrPortFrom(addrB, 80))
		cs = append(cs, c)
	}
	n.idle(time.Second)
	if _, err := cs[0].Read(nil); !errors.Is(err, ErrReset) || !cs[1].Established() || !cs[2].Established() || n.b().Stats().SynEvicted != 1 {
		t.Errorf("three SYNs at a limit of two: first %v, others established %v %v, stats %+v", err, cs[1].Established(), cs[2].Established(), n.b().Stats())
	}
	n = newNet(t, 55, Config{}, Config{})
	if _, err := n.a().Dial(n.now, netip.AddrPortFrom(addrA, 7), netip.AddrPortFrom(addrB, 80)); err != nil {
		t.Fatal(err)
	}
	if _, err := n.a().Dial(n.now, netip.AddrPortFrom(addrA, 7), netip.AddrPortFrom(addrB, 80)); err == nil {
		t.Error("two Dials with one 4-tuple")
	}
}

func TestISN(t *testing.T) {
	mk := func(secret byte) *Protocol {
		p, err := New(Config{Secret: [16]byte{secret, 1, 2, 3}}, &host{})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	a, b := mk(1), mk(2)
	l := netip.AddrPortFrom(addrA, 1000)
	r := netip.AddrPortFrom(addrB, 80)
	r2 := netip.AddrPortFrom(addrB, 81)
	if a.isn(0, l, r) == b.isn(0, l, r) {
		t.Error("same ISN under different secrets")
	}
	if a.isn(0, l, r) == a.isn(0, l, r2) {
		t.Error("same ISN for different ports")
	}
	if a.isn(0, l, r) != a.isn(0, l, r) {
		t.Error("ISN not a function of its inputs")
	}
	// M: one tick per 4 µs.
	if d := a.isn(time.Second, l, r) - a.isn(0, l, r); d != 250000 {
		t.Errorf("ISN moved by %d in a second", d)
	}
	// The spread over ports looks random: no two equal in 1000.
	seen := map[uint32]bool{}
	for port := uint16(1); port <= 1000; port++ {
		seen[a.isn(0, netip.AddrPortFrom(addrA, port), r)] = true
	}
	if len(seen) != 1000 {
		t.Errorf("%d distinct ISNs of 1000", len(seen))
	}
}

func TestSipHashVector(t *testing.T) {
	// The reference vector of the SipHash paper (Appendix A): key
	// 00..0f, message 00..0e.
	var k0, k1 uint64
	for i := 0; i < 8; i++ {
		k0 |= uint64(i) << (8 * i)
		k1 |= uint64(8+i) << (8 * i)
	}
	m := make([]byte, 15)
	for i := range m {
		m[i] = byte(i)
	}
	if got := sipHash24(k0, k1, m); got != 0xa129ca6149be45e5 {
		t.Errorf("SipHash-2-4 = %#x", got)
	}
}

func TestSeqArithmetic(t *testing.T) {
	tests := []struct {
		a, b    uint32
		lt, leq bool
		gt, geq bool
		inWin   bool // a in [b, b+100)
	}{
		{1, 2, true, true, false, false, false},
		{2, 1, false, false, true, true, true},
		{5, 5, false, true, false, true, true},
		{0xfffffff0, 0x10, true, true, false, false, false},
		{0x10, 0xfffffff0, false, false, true, true, true},
		{0x7fffffff, 0, false, false, true, true, false},
	}
	for _, tc := range tests {
		if seqLT(tc.a, tc.b) != tc.lt || seqLEQ(tc.a, tc.b) != tc.leq || seqGT(tc.a, tc.b) != tc.gt ||
			seqGEQ(tc.a, tc.b) != tc.geq || seqInWindow(tc.a, tc.b, 100) != tc.inWin {
			t.Errorf("%#x vs %#x wrong", tc.a, tc.b)
		}
	}
}

func TestAcceptable(t *testing.T) {
	const nxt = 0xffffff00
	tests := []struct {
		seq, len, wnd uint32
		ok            bool
	}{
		{nxt, 0, 0, true},
		{nxt + 1, 0, 0, false},
		{nxt, 1, 0, false},
		{nxt, 0, 100, true},
		{nxt + 99, 0, 100, true},
		{nxt + 100, 0, 100, false},
		{nxt - 1, 0, 100, false},
		{nxt - 10, 20, 100, true}, // overlaps the left edge
		{nxt - 10, 10, 100, false},
		{nxt + 99, 50, 100, true}, // crosses the right edge
		{nxt + 100, 50, 100, false},
	}
	for _, tc := range tests {
		if got := acceptable(tc.seq, tc.len, nxt, tc.wnd); got != tc.ok {
			t.Errorf("seq %#x len %d wnd %d: %v", tc.seq, tc.len, tc.wnd, got)
		}
	}
}

func TestStateString(t *testing.T) {
	if StateEstablished.String() != "ESTABLISHED" || StateTimeWait.String() != "TIME-WAIT" || State(99).String() != "State(99)" {
		t.Error(StateEstablished.String(), State(99).String())
	}
}

func TestConfigErrors(t *testing.T) {
	for _, cfg := range []Config{
		{MSS: 10},
		{SendBuffer: -1},
		{MaxMemory: 100},
		{Ports: [2]uint16{100, 50}},
		{MinRTO: time.Second, MaxRTO: time.Millisecond},
	} {
		if _, err := New(cfg, &host{}); err == nil {
			t.Errorf("%+v accepted", cfg)
		}
	}
	if _, err := New(Config{}, nil); err == nil {
		t.Error("nil Output accepted")
	}
}

func TestOutOfOrderQueue(t *testing.T) {
	n := newNet(t, 56, Config{}, Config{})
	c, s, _ := n.connect()
	// Segments 2..4 before 1: held, then delivered in order.
	base := s.rcvNxt
	for _, k := range []int{3, 1, 2} {
		h := reply(s, flagACK)
		h.seq = base + uint32(k*10)
		n.inject(1, h, testData[k*10:k*10+10])
	}
	if s.rcvBuf.n != 0 || s.nooo != 1 {
		t.Fatalf("held %d in order, %d ranges", s.rcvBuf.n, s.nooo)
	}
	// The duplicate ACKs went out at once.
	h := reply(s, flagACK)
	n.inject(1, h, testData[:10])
	buf := make([]byte, 100)
	k, _ := s.Read(buf)
	if k != 40 || string(buf[:k]) != string(testData[:40]) {
		t.Fatalf("read %d %q", k, buf[:k])
	}
	_ = c
	// Beyond the window: dropped.
	h = reply(s, flagACK)
	h.seq = s.rcvNxt + s.rcvAdv - s.rcvNxt
	n.inject(1, h, testData[:10])
	if s.nooo != 0 {
		t.Error("kept data beyond the window")
	}
}
