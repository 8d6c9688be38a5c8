package tcp

import (
	"errors"
	"net/netip"
	"testing"
	"time"
)

func TestPeerNeverAcks(t *testing.T) {
	n := newNet(t, 30, Config{}, Config{})
	c, _, _ := n.connect()
	n.blockFrom(1)
	m := n.mark(0)
	c.Write(n.now, []byte("hello"))
	if !n.run(time.Hour, func() bool { return c.State() == StateClosed }) {
		t.Fatal("never gave up")
	}
	if _, err := c.Read(nil); !errors.Is(err, ErrTimeout) {
		t.Fatalf("error %v", err)
	}
	var times []time.Duration
	for _, s := range n.segsSince(0, m) {
		if s.dlen > 0 {
			times = append(times, s.at)
		}
	}
	if len(times) != 1+maxRetries {
		t.Fatalf("%d transmissions, want %d", len(times), 1+maxRetries)
	}
	// Exponential backoff from the RTO, capped by MaxRTO.
	for i := 2; i < len(times); i++ {
		prev, gap := times[i-1]-times[i-2], times[i]-times[i-1]
		if gap != min(2*prev, 60*time.Second) {
			t.Errorf("gap %d: %v after %v", i, gap, prev)
		}
	}
	if first := times[1] - times[0]; first != 200*time.Millisecond {
		t.Errorf("first RTO %v, want MinRTO", first)
	}
	if st := n.a().Stats(); st.Timeouts != 1+maxRetries || st.ConnTimeouts != 1 || st.CurrentConnections != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestSynRetries(t *testing.T) {
	n := newNet(t, 31, Config{SynRetries: 3}, Config{})
	n.blockFrom(1)
	n.b().Listen(netip.AddrPortFrom(addrB, 80), 4)
	c, _ := n.a().Dial(n.now, netip.AddrPortFrom(addrA, 0), netip.AddrPortFrom(addrB, 80))
	n.run(time.Hour, func() bool { return c.State() == StateClosed })
	if _, err := c.Read(nil); !errors.Is(err, ErrTimeout) {
		t.Fatal(err)
	}
	var times []time.Duration
	for _, s := range n.hosts[0].sent {
		if s.h.flags == flagSYN {
			times = append(times, s.at)
		}
	}
	want := []time.Duration{0, time.Second, 3 * time.Second, 7 * time.Second}
	if len(times) != len(want) {
		t.Fatalf("SYNs at %v", times)
	}
	for i := range want {
		if times[i] != want[i] {
			t.Errorf("SYNs at %v, want %v", times, want)
			break
		}
	}
	if n.now != 15*time.Second {
		t.Errorf("gave up at %v", n.now)
	}
}

func TestSynLostThenRetransmitted(t *testing.T) {
	n := newNet(t, 32, Config{}, Config{})
	dropped := 0
	n.filter = func(from int, h *header, data []byte) bool {
		if h.flags&flagSYN != 0 && dropped < 2 {
			dropped++
			return false
		}
		return true
	}
	c, s, _ := n.connect()
	if c.cwnd != c.segMax() {
		t.Errorf("initial window after a lost SYN %d, want one segment", c.cwnd)
	}
	_ = s
}

func TestMSSOption(t *testing.T) {
	n := newNet(t, 33, Config{MSS: 1000}, Config{})
	c, s, _ := n.connect()
	if c.mss != 1000 || s.mss != 1000 {
		t.Errorf("MSS %d %d", c.mss, s.mss)
	}
	p := newPump(t, s, c, 20000, true)
	n.run(time.Minute, func() bool { return p.service(n.now) })
	for _, seg := range n.hosts[1].sent {
		if seg.dlen > 1000-tsOptLen {
			t.Fatalf("segment of %d bytes over the peer's MSS", seg.dlen)
		}
	}
	// No MSS option: 536 (RFC 9293 §3.7.1).
	n = newNet(t, 33, Config{}, Config{})
	l, _ := n.b().Listen(netip.AddrPortFrom(addrB, 80), 4)
	n.inject(1, header{srcPort: 4000, dstPort: 80, seq: 1, flags: flagSYN, wnd: 1000}, nil)
	if len(n.b().list) != 1 || n.b().list[0].mss != 536 {
		t.Errorf("no option: %+v", n.b().list)
	}
	_ = l
}

func TestRTOEstimate(t *testing.T) {
	for _, ts := range []bool{true, false} {
		n := newNet(t, 34, Config{}, Config{})
		n.a().noTS = !ts
		n.delay = 50 * time.Millisecond
		c, s, _ := n.connect()
		p := newPump(t, c, s, 1<<20, true)
		n.run(time.Hour, func() bool { return p.service(n.now) })
		if c.srtt < 95*time.Millisecond || c.srtt > 150*time.Millisecond {
			t.Errorf("ts %v: srtt %v on a 100ms path", ts, c.srtt)
		}
		if c.rto < c.srtt || c.rto > time.Second {
			t.Errorf("ts %v: rto %v", ts, c.rto)
		}
	}
}

func TestZeroWindow(t *testing.T) {
	cfg := Config{ReceiveBuffer: 16 << 10}
	n := newNet(t, 35, Config{}, cfg)
	c, s, _ := n.connect()
	const size = 200 << 10
	written := 0
	// The reader does not read for a minute: the window closes, the
	// writer probes.
	n.run(time.Minute, func() bool {
		for written < size {
			k, err := c.Write(n.now, testData[written:size])
			written += k
			if err != nil || k == 0 {
				break
			}
		}
		return false
	})
	if s.rcvBuf.n != 16<<10 {
		t.Fatalf("receiver holds %d bytes, want a full buffer", s.rcvBuf.n)
	}
	st := n.a().Stats()
	if st.PersistProbes < 4 || st.Retransmits != 0 || st.ConnTimeouts != 0 {
		t.Fatalf("stats %+v", st)
	}
	// Probes back off.
	var probes []time.Duration
	for _, seg := range n.hosts[0].sent {
		if seg.dlen == 1 {
			probes = append(probes, seg.at)
		}
	}
	if len(probes) < 3 || probes[2]-probes[1] <= probes[1]-probes[0] {
		t.Errorf("probes at %v", probes)
	}
	// The receiver answered each with a zero window.
	for _, seg := range n.hosts[1].sent[len(n.hosts[1].sent)-2:] {
		if seg.h.wnd != 0 {
			t.Errorf("receiver advertises %d", seg.h.wnd)
		}
	}
	// Now read: data resumes and all arrives.
	p := newPump(t, c, s, size, true)
	p.written = written
	if !n.run(10*time.Minute, func() bool { return p.service(n.now) }) {
		t.Fatalf("stalled: read %d: %s / %s", p.read, c.dump(), s.dump())
	}
	// Silly window avoidance: no small segments but probes and the tail.
	small := 0
	for _, seg := range n.hosts[0].sent {
		if seg.dlen > 1 && seg.dlen < 500 {
			small++
		}
	}
	if small > 2 {
		t.Errorf("%d small segments", small)
	}
}

func TestReceiverSWS(t *testing.T) {
	// A reader taking a few bytes at a time must not open the window by
	// less than min(buffer/2, MSS).
	cfg := Config{ReceiveBuffer: 16 << 10}
	n := newNet(t, 36, Config{}, cfg)
	c, s, _ := n.connect()
	c.Write(n.now, testData[:64<<10])
	n.idle(time.Second)
	m := n.mark(1)
	buf := make([]byte, 100)
	for i := 0; i < 30; i++ {
		s.Read(buf)
		n.idle(time.Millisecond)
	}
	for _, seg := range n.segsSince(1, m) {
		if w := uint32(seg.h.wnd) << s.rcvShift; w != 0 && w < s.swsThreshold() {
			t.Errorf("advertised a silly window of %d", w)
		}
	}
}

func TestFastRetransmit(t *testing.T) {
	n := newNet(t, 37, Config{}, Config{})
	c, s, _ := n.connect()
	count := 0
	n.filter = func(from int, h *header, data []byte) bool {
		if from == 0 && len(data) > 0 {
			count++
			if count == 40 {
				return false
			}
		}
		return true
	}
	p := newPump(t, c, s, 1<<20, true)
	n.run(time.Minute, func() bool { return p.service(n.now) })
	st := n.a().Stats()
	if st.FastRetransmits != 1 || st.Timeouts != 0 || st.Retransmits != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestNewRenoMultipleLosses(t *testing.T) {
	n := newNet(t, 38, Config{}, Config{})
	n.a().noSACK = true // NewReno is the recovery without SACK
	c, s, _ := n.connect()
	count := 0
	n.filter = func(from int, h *header, data []byte) bool {
		if from == 0 && len(data) > 0 {
			count++
			if count == 40 || count == 43 || count == 47 {
				return false
			}
		}
		return true
	}
	p := newPump(t, c, s, 1<<20, true)
	n.run(time.Minute, func() bool { return p.service(n.now) })
	st := n.a().Stats()
	if st.FastRetransmits != 1 || st.Timeouts != 0 || st.Retransmits != 3 {
		t.Errorf("partial ACKs did not recover: %+v", st)
	}
}

func TestSlowStartAndCongestionAvoidance(t *testing.T) {
	n := newNet(t, 39, Config{SendBuffer: 4 << 20}, Config{ReceiveBuffer: 4 << 20})
	c, s, _ := n.connect()
	iw := c.cwnd
	if iw != 10*c.segMax() {
		t.Errorf("initial window %d", iw)
	}
	c.Write(n.now, testData[:4<<20])
	n.run(3*time.Millisecond, nil) // one RTT
	// RFC 5681: one SMSS per ACK, an ACK every second segment.
	if c.cwnd != iw+iw/2 {
		t.Errorf("after one RTT cwnd %d, want %d", c.cwnd, iw+iw/2)
	}
	// A timeout: cwnd to one segment, ssthresh to half the flight.
	flight := c.sndMax - c.sndUna
	n.blockFrom(1)
	n.run(time.Second, func() bool { return c.p.stats.Timeouts == 1 })
	if c.cwnd != c.segMax() || c.ssthresh != max(flight/2, 2*c.segMax()) && c.ssthresh > flight {
		t.Errorf("after timeout cwnd %d ssthresh %d (flight %d)", c.cwnd, c.ssthresh, flight)
	}
	n.blockFrom(-1)
	p := newPump(t, c, s, 4<<20, false)
	p.written = 4 << 20
	n.run(time.Minute, func() bool { return p.service(n.now) })
	if c.cwnd < c.ssthresh {
		t.Errorf("did not reach congestion avoidance")
	}
}

func TestWindowScaling(t *testing.T) {
	big := Config{SendBuffer: 1 << 20, ReceiveBuffer: 1 << 20}
	for _, tc := range []struct {
		name        string
		noWS        bool
		shift       uint8
		maxInFlight uint32
	}{
		{"negotiated", false, 5, 1 << 20},
		{"refused", true, 0, 65535},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := newNet(t, 40, big, big)
			n.b().noWS = tc.noWS
			n.delay = 20 * time.Millisecond
			c, s, _ := n.connect()
			if c.sndShift != tc.shift || s.rcvShift != tc.shift || c.wsOK == tc.noWS {
				t.Fatalf("shifts %d %d", c.sndShift, s.rcvShift)
			}
			var peak uint32
			p := newPump(t, c, s, 8<<20, true)
			n.run(time.Hour, func() bool {
				peak = max(peak, c.sndMax-c.sndUna)
				return p.service(n.now)
			})
			if peak > tc.maxInFlight || (tc.noWS == false && peak < 512<<10) {
				t.Errorf("peak flight %d", peak)
			}
		})
	}
}

func TestTimestampsNegotiation(t *testing.T) {
	for _, no := range []bool{false, true} {
		n := newNet(t, 41, Config{}, Config{})
		n.a().noTS = no
		c, s, _ := n.connect()
		if c.tsOK == no || s.tsOK == no {
			t.Errorf("noTS %v: %v %v", no, c.tsOK, s.tsOK)
		}
		c.Write(n.now, []byte("x"))
		n.idle(time.Second)
		last := n.hosts[0].sent[len(n.hosts[0].sent)-1].h
		if last.hasTS == no {
			t.Errorf("noTS %v: data segment hasTS %v", no, last.hasTS)
		}
	}
}

func TestSequenceWrap(t *testing.T) {
	n := newNet(t, 42, Config{}, Config{})
	n.a().isnHook = func() uint32 { return 0xffffffff - 50000 }
	n.b().isnHook = func() uint32 { return 0xffffffff - 3 }
	n.imp = [2]impair{{drop: 0.02, reorder: 0.05}, {drop: 0.02, reorder: 0.05}}
	c, s, _ := n.connect()
	p := newPump(t, c, s, 1<<20, true)
	q := newPump(t, s, c, 1<<20, true)
	if !n.run(time.Hour, func() bool { return p.service(n.now) && q.service(n.now) }) {
		t.Fatal("stalled across the wrap")
	}
}
