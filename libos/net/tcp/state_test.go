package tcp

import (
	"errors"
	"io"
	"net/netip"
	"testing"
	"time"
)

var shortTW = Config{TimeWait: 2 * time.Second}

func TestSimultaneousOpen(t *testing.T) {
	n := newNet(t, 10, Config{}, Config{})
	pa, pb := netip.AddrPortFrom(addrA, 5000), netip.AddrPortFrom(addrB, 6000)
	a, err := n.a().Dial(n.now, pa, pb)
	if err != nil {
		t.Fatal(err)
	}
	b, err := n.b().Dial(n.now, pb, pa)
	if err != nil {
		t.Fatal(err)
	}
	sawSynRcvd := false
	if !n.run(10*time.Second, func() bool {
		sawSynRcvd = sawSynRcvd || a.State() == StateSynReceived || b.State() == StateSynReceived
		return a.Established() && b.Established()
	}) {
		t.Fatalf("not established: %v %v", a.State(), b.State())
	}
	if !sawSynRcvd {
		t.Error("never passed through SYN-RECEIVED")
	}
	p := newPump(t, a, b, 50000, true)
	q := newPump(t, b, a, 50000, true)
	if !n.run(time.Minute, func() bool { return p.service(n.now) && q.service(n.now) }) {
		t.Fatal("no data after simultaneous open")
	}
	if st := n.a().Stats(); st.ResetsOut+st.ResetsIn != 0 {
		t.Errorf("resets: %+v", st)
	}
}

// closeCase is a close order: who calls what, in which order.
func TestCloseOrders(t *testing.T) {
	type step struct {
		who  int // 0 client, 1 server
		half bool
	}
	tests := []struct {
		name  string
		steps []step
		// the states expected when all is done, before TIME-WAIT expires
		want [2]State
	}{
		{"client active", []step{{0, false}, {1, false}}, [2]State{StateTimeWait, StateClosed}},
		{"server active", []step{{1, false}, {0, false}}, [2]State{StateClosed, StateTimeWait}},
		{"client half close", []step{{0, true}, {1, true}}, [2]State{StateTimeWait, StateClosed}},
		{"server half close", []step{{1, true}, {0, true}}, [2]State{StateClosed, StateTimeWait}},
		{"simultaneous", []step{{0, false}, {1, false}}, [2]State{StateTimeWait, StateTimeWait}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := newNet(t, 11, shortTW, shortTW)
			c, s, _ := n.connect()
			ends := [2]*Conn{c, s}
			simul := tc.name == "simultaneous"
			for i, st := range tc.steps {
				e := ends[st.who]
				// The half-closing side keeps reading and the other
				// sends data after the half close.
				if st.half && i == 1 {
					if _, err := e.Write(n.now, []byte("after half close")); err != nil {
						t.Fatal(err)
					}
				}
				var err error
				if st.half {
					err = e.CloseWrite(n.now)
				} else {
					err = e.Close(n.now)
				}
				if err != nil {
					t.Fatal(err)
				}
				if i == 0 && !simul && e.State() != StateFinWait1 {
					t.Errorf("after first close: %v", e.State())
				}
				if !simul {
					n.idle(500 * time.Millisecond)
				}
				if i == 0 && !simul {
					other := ends[1-st.who]
					if other.State() != StateCloseWait || e.State() != StateFinWait2 {
						t.Errorf("after first close: closer %v, other %v", e.State(), other.State())
					}
					if st.half {
						if _, err := other.Read(make([]byte, 10)); err != io.EOF {
							t.Errorf("read at the other end: %v", err)
						}
					}
				}
			}
			if simul {
				n.idle(500 * time.Millisecond)
			}
			if tc.steps[0].half {
				buf := make([]byte, 100)
				k, _ := ends[tc.steps[0].who].Read(buf)
				if string(buf[:k]) != "after half close" {
					t.Errorf("half-closed end read %q", buf[:k])
				}
				if _, err := ends[tc.steps[0].who].Read(buf); err != io.EOF {
					t.Errorf("then %v", err)
				}
			}
			if got := [2]State{c.State(), s.State()}; got != tc.want {
				t.Fatalf("states %v, want %v", got, tc.want)
			}
			n.idle(3 * time.Second)
			if c.State() != StateClosed || s.State() != StateClosed {
				t.Fatalf("after TIME-WAIT: %v %v", c.State(), s.State())
			}
			if a, b := n.a().Stats(), n.b().Stats(); a.CurrentConnections != 0 || b.CurrentConnections != 0 || a.ResetsOut+b.ResetsOut != 0 {
				t.Fatalf("stats %+v %+v", a, b)
			}
			if n.a().memUsed != 0 || n.b().memUsed != 0 {
				t.Errorf("memory still charged: %d %d", n.a().memUsed, n.b().memUsed)
			}
		})
	}
}

func TestSimultaneousCloseGoesThroughClosing(t *testing.T) {
	n := newNet(t, 12, shortTW, shortTW)
	c, s, _ := n.connect()
	c.Close(n.now)
	s.Close(n.now)
	saw := false
	n.run(time.Second, func() bool {
		saw = saw || c.State() == StateClosing || s.State() == StateClosing
		return false
	})
	if !saw {
		t.Error("no CLOSING state")
	}
	if c.State() != StateTimeWait || s.State() != StateTimeWait {
		t.Fatalf("states %v %v", c.State(), s.State())
	}
}

func TestTimeWaitExpiry(t *testing.T) {
	n := newNet(t, 13, shortTW, shortTW)
	c, s, _ := n.connect()
	c.Close(n.now)
	n.run(time.Second, func() bool { return s.State() == StateCloseWait })
	s.Close(n.now)
	n.run(time.Second, func() bool { return c.State() == StateTimeWait })
	entered := n.now
	// A retransmitted FIN in TIME-WAIT is ACKed and restarts the timer.
	n.run(time.Second, nil)
	n.blockFrom(1) // B has forgotten the connection and would reset it
	m := n.mark(0)
	h := reply(c, flagFIN|flagACK)
	h.seq = c.rcvNxt - 1
	n.inject(0, h, nil)
	if segs := n.segsSince(0, m); len(segs) != 1 || segs[0].h.flags != flagACK || segs[0].h.ack != c.rcvNxt {
		t.Fatalf("FIN in TIME-WAIT answered by %+v", segs)
	}
	restarted := n.now
	n.run(10*time.Second, func() bool { return c.State() == StateClosed })
	if got := n.now - restarted; got < 2*time.Second || got > 2*time.Second+time.Millisecond {
		t.Errorf("TIME-WAIT lasted %v after its restart (entered at %v)", got, entered)
	}
	if _, ok := n.a().NextTimer(); ok {
		t.Error("timer left after TIME-WAIT")
	}
	n.blockFrom(-1)
	// The port can be used again.
	if _, err := n.a().Dial(n.now, c.LocalAddr(), c.RemoteAddr()); err != nil {
		t.Error(err)
	}
}

func TestTimeWaitReopen(t *testing.T) {
	n := newNet(t, 14, Config{}, Config{})
	c, s, l := n.connect()
	// The server closes first, so that it holds TIME-WAIT; the client
	// reconnects from the same port with a larger ISN.
	s.Close(n.now)
	n.run(time.Second, func() bool { return c.State() == StateCloseWait })
	c.Close(n.now)
	n.run(time.Second, func() bool { return s.State() == StateTimeWait && c.State() == StateClosed })
	if s.State() != StateTimeWait {
		t.Fatalf("server %v", s.State())
	}
	n.idle(time.Second)
	// Wait until the listener side is the one in TIME-WAIT; now
	// redial the same 4-tuple: the new ISN is larger (time moved on).
	c2, err := n.a().Dial(n.now, c.LocalAddr(), c.RemoteAddr())
	if err != nil {
		t.Fatal(err)
	}
	var s2 *Conn
	if !n.run(5*time.Second, func() bool {
		if s2 == nil {
			s2, _ = l.Accept()
		}
		return c2.Established() && s2 != nil
	}) {
		t.Fatalf("no reopen: %v", c2.State())
	}
}

func TestRefusedByClosedPort(t *testing.T) {
	n := newNet(t, 15, Config{}, Config{})
	c, err := n.a().Dial(n.now, netip.AddrPortFrom(addrA, 0), netip.AddrPortFrom(addrB, 81))
	if err != nil {
		t.Fatal(err)
	}
	n.run(time.Second, func() bool { return c.State() == StateClosed })
	if _, err := c.Read(nil); !errors.Is(err, ErrRefused) {
		t.Fatalf("Read(nil) = %v, want ErrRefused", err)
	}
	if st := n.b().Stats(); st.NoListener != 1 || st.ResetsOut != 1 {
		t.Errorf("stats %+v", st)
	}
	rst := n.hosts[1].sent[0].h
	syn := n.hosts[0].sent[0].h
	if rst.flags != flagRST|flagACK || rst.seq != 0 || rst.ack != syn.seq+1 {
		t.Errorf("RST %+v to SYN %+v", rst, syn)
	}
	// An ACK to a closed port: <SEQ=SEG.ACK><CTL=RST>.
	m := n.mark(1)
	n.inject(1, header{srcPort: 1234, dstPort: 99, seq: 5, ack: 777, flags: flagACK}, []byte("x"))
	if s := n.segsSince(1, m); len(s) != 1 || s[0].h.flags != flagRST || s[0].h.seq != 777 {
		t.Errorf("reply to ACK: %+v", s)
	}
	// Never a RST to a RST.
	m = n.mark(1)
	n.inject(1, header{srcPort: 1234, dstPort: 99, seq: 5, flags: flagRST}, nil)
	if s := n.segsSince(1, m); len(s) != 0 {
		t.Errorf("reply to RST: %+v", s)
	}
}

// stateAt brings a client connection into the named state; it returns
// the client (the conn under test) and the harness.
func stateAt(t *testing.T, st State) (*testNet, *Conn, *Conn) {
	n := newNet(t, 16, shortTW, shortTW)
	if st == StateSynSent {
		n.blockFrom(1)
		n.b().Listen(netip.AddrPortFrom(addrB, 80), 4)
		c, _ := n.a().Dial(n.now, netip.AddrPortFrom(addrA, 0), netip.AddrPortFrom(addrB, 80))
		return n, c, nil
	}
	if st == StateSynReceived {
		// The server's view: drop its SYN-ACK.
		n.blockFrom(1)
		l, _ := n.b().Listen(netip.AddrPortFrom(addrB, 80), 4)
		n.a().Dial(n.now, netip.AddrPortFrom(addrA, 0), netip.AddrPortFrom(addrB, 80))
		n.run(10*time.Millisecond, nil)
		for _, c := range n.b().list {
			_ = l
			return n, c, nil
		}
		t.Fatal("no SYN-RECEIVED conn")
	}
	c, s, _ := n.connect()
	switch st {
	case StateFinWait1:
		n.blockFrom(1)
		c.CloseWrite(n.now)
	case StateFinWait2:
		c.CloseWrite(n.now)
	case StateCloseWait:
		s.CloseWrite(n.now)
	case StateClosing:
		n.blockFrom(1)
		c.CloseWrite(n.now)
		n.run(10*time.Millisecond, nil)
		h := reply(c, flagFIN|flagACK)
		h.ack = c.sndUna // does not ACK our FIN
		n.inject(0, h, nil)
	case StateLastAck:
		s.CloseWrite(n.now)
		n.run(10*time.Millisecond, nil)
		n.blockFrom(1)
		c.CloseWrite(n.now)
	case StateTimeWait:
		c.CloseWrite(n.now)
		n.run(10*time.Millisecond, nil)
		s.CloseWrite(n.now)
	}
	n.run(10*time.Millisecond, nil)
	if c.State() != st {
		t.Fatalf("got to %v, not %v", c.State(), st)
	}
	return n, c, s
}

func TestResetInEveryState(t *testing.T) {
	states := []State{StateSynSent, StateSynReceived, StateEstablished, StateFinWait1, StateFinWait2,
		StateCloseWait, StateClosing, StateLastAck, StateTimeWait}
	wantErr := map[State]error{StateSynSent: ErrRefused, StateEstablished: ErrReset, StateFinWait1: ErrReset,
		StateFinWait2: ErrReset, StateCloseWait: ErrReset}
	for _, st := range states {
		t.Run(st.String()+"/exact", func(t *testing.T) {
			n, c, _ := stateAt(t, st)
			h := reply(c, flagRST)
			if st == StateSynSent {
				h = header{srcPort: c.key.remote.Port(), dstPort: c.key.local.Port(), ack: c.iss + 1, flags: flagRST | flagACK}
			}
			m := n.mark(c.p.hostIdx())
			n.inject(c.p.hostIdx(), h, nil)
			if c.State() != StateClosed {
				t.Fatalf("after exact RST: %v", c.State())
			}
			if _, err := c.Read(nil); !errors.Is(err, wantErr[st]) && !(wantErr[st] == nil && err == nil) {
				t.Errorf("error %v, want %v", err, wantErr[st])
			}
			if s := n.segsSince(c.p.hostIdx(), m); len(s) != 0 {
				t.Errorf("answered a RST with %+v", s)
			}
			if c.p.Stats().CurrentConnections != 0 {
				t.Error("connection not released")
			}
		})
		if st == StateSynSent {
			continue
		}
		t.Run(st.String()+"/challenge", func(t *testing.T) {
			n, c, _ := stateAt(t, st)
			h := reply(c, flagRST)
			h.seq += 100 // in the window, not exact
			i := c.p.hostIdx()
			m := n.mark(i)
			n.inject(i, h, nil)
			if c.State() != st {
				t.Fatalf("in-window RST changed the state to %v", c.State())
			}
			s := n.segsSince(i, m)
			if len(s) != 1 || s[0].h.flags&flagACK == 0 || s[0].h.ack != c.rcvNxt {
				t.Fatalf("no challenge ACK: %+v", s)
			}
			if c.p.Stats().ChallengeACKs != 1 {
				t.Errorf("ChallengeACKs %d", c.p.Stats().ChallengeACKs)
			}
			// Out of the window: ignored.
			h.seq = c.rcvNxt + 1<<30
			m = n.mark(i)
			n.inject(i, h, nil)
			if s := n.segsSince(i, m); len(s) != 0 || c.State() != st {
				t.Errorf("out-of-window RST: %+v, %v", s, c.State())
			}
		})
	}
}

// hostIdx is the harness index of p (tests only: by its address).
func (p *Protocol) hostIdx() int {
	if h, ok := p.out.(*host); ok {
		return h.idx
	}
	return 0
}

func TestSynInSynchronizedState(t *testing.T) {
	n := newNet(t, 17, Config{}, Config{})
	c, _, _ := n.connect()
	for _, off := range []uint32{0, 10, 1 << 31} {
		m := n.mark(0)
		h := reply(c, flagSYN)
		h.seq += off
		n.inject(0, h, nil)
		s := n.segsSince(0, m)
		if c.State() != StateEstablished || len(s) != 1 || s[0].h.flags != flagACK {
			t.Errorf("SYN at +%d: %v, sent %+v", off, c.State(), s)
		}
	}
}

func TestChallengeACKRateLimit(t *testing.T) {
	n := newNet(t, 18, Config{}, Config{})
	c, _, _ := n.connect()
	m := n.mark(0)
	for i := 0; i < challengeLimit+100; i++ {
		h := reply(c, flagRST)
		h.seq += 1 + uint32(i)
		n.inject(0, h, nil)
	}
	st := n.a().Stats()
	if got := len(n.segsSince(0, m)); got != challengeLimit || st.ChallengeACKs != challengeLimit || st.ChallengeLimited != 100 {
		t.Errorf("sent %d, stats %+v", got, st)
	}
	n.idle(time.Second)
	h := reply(c, flagRST)
	h.seq += 5
	m = n.mark(0)
	n.inject(0, h, nil)
	if len(n.segsSince(0, m)) != 1 {
		t.Error("no challenge ACK a second later")
	}
	if c.State() != StateEstablished {
		t.Error(c.State())
	}
}

func TestAckAcceptability(t *testing.T) {
	n := newNet(t, 19, Config{}, Config{})
	c, _, _ := n.connect()
	// An ACK for data never sent: ACK back, drop (RFC 5961 §5.2).
	m := n.mark(0)
	h := reply(c, flagACK)
	h.ack += 1000
	n.inject(0, h, []byte("data"))
	s := n.segsSince(0, m)
	if len(s) != 1 || s[0].h.ack != c.rcvNxt || c.rcvBuf.n != 0 {
		t.Errorf("ACK of unsent data: %+v, %d bytes taken", s, c.rcvBuf.n)
	}
	// Too old (more than MAX.SND.WND behind): likewise.
	h = reply(c, flagACK)
	h.ack -= c.maxSndWnd + 10
	m = n.mark(0)
	n.inject(0, h, []byte("data"))
	if len(n.segsSince(0, m)) != 1 || c.rcvBuf.n != 0 {
		t.Errorf("old ACK accepted")
	}
	// A good one is taken.
	n.inject(0, reply(c, flagACK), []byte("data"))
	if c.rcvBuf.n != 4 {
		t.Errorf("good segment not taken")
	}
}

func TestCloseWithUnreadDataResets(t *testing.T) {
	n := newNet(t, 20, Config{}, Config{})
	c, s, _ := n.connect()
	c.Write(n.now, []byte("unread"))
	n.idle(100 * time.Millisecond)
	m := n.mark(1)
	s.Close(n.now)
	segs := n.segsSince(1, m)
	if len(segs) != 1 || segs[0].h.flags&flagRST == 0 {
		t.Fatalf("close with unread data sent %+v", segs)
	}
	n.idle(100 * time.Millisecond)
	if _, err := c.Read(nil); !errors.Is(err, ErrReset) {
		t.Errorf("peer sees %v", err)
	}
	if _, err := c.Write(n.now, []byte("x")); !errors.Is(err, ErrReset) {
		t.Errorf("write after reset: %v", err)
	}
}

func TestDataAfterCloseResets(t *testing.T) {
	n := newNet(t, 21, Config{}, Config{})
	c, s, _ := n.connect()
	s.Close(n.now)
	n.idle(100 * time.Millisecond)
	if s.State() != StateFinWait2 {
		t.Fatal(s.State())
	}
	c.Write(n.now, []byte("too late"))
	n.idle(100 * time.Millisecond)
	if _, err := c.Read(nil); !errors.Is(err, ErrReset) || s.State() != StateClosed {
		t.Errorf("peer sees %v, closer %v", err, s.State())
	}
}

func TestOrphanFinWait2Times(t *testing.T) {
	n := newNet(t, 22, shortTW, shortTW)
	_, s, _ := n.connect()
	s.Close(n.now)
	n.idle(time.Second)
	if s.State() != StateFinWait2 {
		t.Fatal(s.State())
	}
	n.idle(2 * time.Second)
	if s.State() != StateClosed || n.b().Stats().CurrentConnections != 0 {
		t.Errorf("orphan FIN-WAIT-2 still %v", s.State())
	}
}

func TestAbort(t *testing.T) {
	n := newNet(t, 23, Config{}, Config{})
	c, s, _ := n.connect()
	s.Abort(n.now)
	if s.State() != StateClosed || n.b().Stats().CurrentConnections != 0 {
		t.Fatal("abort did not release")
	}
	n.idle(100 * time.Millisecond)
	if _, err := c.Read(nil); !errors.Is(err, ErrReset) {
		t.Errorf("peer: %v", err)
	}
	if _, err := s.Read(nil); !errors.Is(err, ErrClosed) {
		t.Errorf("aborted: %v", err)
	}
}
