package tcp

import (
	"errors"
	"io"
	"net/netip"
	"testing"
	"time"
)

func TestHandshake(t *testing.T) {
	n := newNet(t, 1, Config{}, Config{})
	c, s, _ := n.connect()
	if c.State() != StateEstablished || s.State() != StateEstablished {
		t.Fatalf("states %v %v", c.State(), s.State())
	}
	a := n.hosts[0].sent
	b := n.hosts[1].sent
	if len(a) < 2 || a[0].h.flags != flagSYN || b[0].h.flags != flagSYN|flagACK || a[1].h.flags != flagACK {
		t.Fatalf("handshake segments: %+v / %+v", a, b)
	}
	if !a[0].h.hasMSS || a[0].h.mss != 1460 || !a[0].h.hasWS || !a[0].h.hasTS {
		t.Errorf("SYN options: %+v", a[0].h)
	}
	if b[0].h.ack != a[0].h.seq+1 || a[1].h.ack != b[0].h.seq+1 {
		t.Errorf("handshake acks wrong")
	}
	if c.LocalAddr().Port() < 49152 || c.RemoteAddr() != netip.AddrPortFrom(addrB, 80) {
		t.Errorf("addresses %v %v", c.LocalAddr(), c.RemoteAddr())
	}
	if s.RemoteAddr() != c.LocalAddr() {
		t.Errorf("server sees %v, client is %v", s.RemoteAddr(), c.LocalAddr())
	}
	if st := n.a().Stats(); st.ActiveOpens != 1 || st.CurrentConnections != 1 {
		t.Errorf("client stats %+v", st)
	}
	if st := n.b().Stats(); st.PassiveOpens != 1 {
		t.Errorf("server stats %+v", st)
	}
}

func TestSmallTransfer(t *testing.T) {
	n := newNet(t, 2, Config{}, Config{})
	c, s, _ := n.connect()
	p := newPump(t, c, s, 100000, true)
	if !n.run(time.Minute, func() bool { return p.service(n.now) }) {
		t.Fatalf("transfer incomplete: read %d", p.read)
	}
}

func TestReadWriteErrors(t *testing.T) {
	n := newNet(t, 3, Config{}, Config{})
	c, s, _ := n.connect()
	if _, err := s.Read(make([]byte, 10)); !errors.Is(err, ErrWouldBlock) {
		t.Fatalf("Read with nothing: %v", err)
	}
	if s.Readable() {
		t.Error("Readable with nothing")
	}
	if !c.Writable() {
		t.Error("not Writable when established")
	}
	if err := c.CloseWrite(n.now); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write(n.now, []byte("x")); !errors.Is(err, ErrClosed) {
		t.Errorf("Write after CloseWrite: %v", err)
	}
	n.run(time.Second, func() bool { return s.Readable() })
	if _, err := s.Read(make([]byte, 10)); err != io.EOF {
		t.Errorf("Read after FIN: %v", err)
	}
	if _, err := s.Read(nil); err != nil {
		t.Errorf("Read(nil): %v", err)
	}
}
