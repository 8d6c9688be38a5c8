package tcp

import (
	"bytes"
	"testing"
	"time"
)

// TestIdleConnectionsHoldNoBuffers: once everything sent is acknowledged
// and everything received read, a connection's buffers go back to the
// pool, and the next connection takes them from there.
func TestIdleConnectionsHoldNoBuffers(t *testing.T) {
	n := newNet(t, 91, Config{}, Config{})
	c, s, _ := n.connect()
	msg := bytes.Repeat([]byte("exo"), 20000)
	if _, err := c.Write(n.now, msg); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 0, len(msg))
	buf := make([]byte, 4096)
	n.run(time.Minute, func() bool {
		for {
			k, err := s.Read(buf)
			if err != nil {
				break
			}
			got = append(got, buf[:k]...)
		}
		return len(got) == len(msg)
	})
	n.idle(time.Second) // the last ACKs
	if !bytes.Equal(got, msg) {
		t.Fatalf("read %d bytes of %d", len(got), len(msg))
	}
	for _, x := range []*Conn{c, s} {
		if x.sndBuf.buf != nil || x.rcvBuf.buf != nil {
			t.Fatalf("an idle connection holds buffers: send %d bytes, receive %d", len(x.sndBuf.buf), len(x.rcvBuf.buf))
		}
	}
	if len(n.a().sndPool.free) != 1 || len(n.b().rcvPool.free) != 1 {
		t.Fatalf("pools: client send %d, server receive %d; want one buffer each", len(n.a().sndPool.free), len(n.b().rcvPool.free))
	}
	// The next write takes the pooled buffer.
	if _, err := c.Write(n.now, []byte("again")); err != nil {
		t.Fatal(err)
	}
	if len(n.a().sndPool.free) != 0 || c.sndBuf.buf == nil {
		t.Fatal("the next write did not take the pooled buffer")
	}
}

// TestPoolBounded: the pool keeps at most poolMax buffers and only those
// of the size asked.
func TestPoolBounded(t *testing.T) {
	var p pool
	for i := 0; i < poolMax+10; i++ {
		p.put(make([]byte, 100))
	}
	if len(p.free) != poolMax {
		t.Fatalf("%d buffers kept, want %d", len(p.free), poolMax)
	}
	if b := p.get(200); len(b) != 200 || len(p.free) != poolMax {
		t.Fatalf("a get of another size: %d bytes, %d kept", len(b), len(p.free))
	}
	if b := p.get(100); len(b) != 100 || len(p.free) != poolMax-1 {
		t.Fatalf("a get of the pooled size: %d bytes, %d kept", len(b), len(p.free))
	}
	var none *pool
	none.put(make([]byte, 1))
	if b := none.get(5); len(b) != 5 {
		t.Fatal("a nil pool's get")
	}
}
