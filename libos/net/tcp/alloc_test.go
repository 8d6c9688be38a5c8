package tcp

import (
	"net/netip"
	"testing"
	"time"
)

// loop is an Output that keeps the segments sent, in buffers reused.
type loop struct {
	segs [][]byte
	n    int
}

func (l *loop) WriteIP(now time.Duration, proto uint8, dst netip.Addr, header, payload []byte) error {
	if l.n == len(l.segs) {
		l.segs = append(l.segs, make([]byte, 0, 2048))
	}
	l.segs[l.n] = append(append(l.segs[l.n][:0], header...), payload...)
	l.n++
	return nil
}

// TestNoAllocationsOnDataPath checks that writing, sending, receiving,
// ACKing and reading data allocate nothing once buffers exist.
func TestNoAllocationsOnDataPath(t *testing.T) {
	la, lb := &loop{}, &loop{}
	a, _ := New(Config{Secret: [16]byte{1}}, la)
	b, _ := New(Config{Secret: [16]byte{2}}, lb)
	now := time.Duration(0)
	pass := func() {
		for la.n > 0 || lb.n > 0 {
			na, nb := la.n, lb.n
			la.n, lb.n = 0, 0
			for i := 0; i < na; i++ {
				b.Deliver(now, addrA, addrB, la.segs[i])
			}
			for i := 0; i < nb; i++ {
				a.Deliver(now, addrB, addrA, lb.segs[i])
			}
		}
	}
	l, _ := b.Listen(netip.AddrPortFrom(addrB, 80), 4)
	c, _ := a.Dial(now, netip.AddrPortFrom(addrA, 1000), netip.AddrPortFrom(addrB, 80))
	pass()
	s, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	c.SetNoDelay(true)
	msg := testData[:3000]
	buf := make([]byte, 4096)
	round := func() {
		now += time.Millisecond
		c.Write(now, msg)
		pass()
		s.Read(buf)
		now += 50 * time.Millisecond
		a.Tick(now)
		b.Tick(now)
		pass()
	}
	round()
	if got := testing.AllocsPerRun(100, round); got != 0 {
		t.Errorf("%v allocations per round trip", got)
	}
}
