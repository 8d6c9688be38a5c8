package socket

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/netip"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/exo-os/exo/internal/httpdemo"
	"github.com/exo-os/exo/libos/net/link"
	"github.com/exo-os/exo/libos/net/stack"
	"github.com/exo-os/exo/libos/net/tcp"
)

// pair is two Exo stacks, a and b, over an in-memory wire run against
// the wall clock.
type pair struct {
	a, b *Stack
	w    *link.Wire
	rt   *link.RealTime
}

var (
	addrA = netip.MustParsePrefix("10.9.0.1/24")
	addrB = netip.MustParsePrefix("10.9.0.2/24")
)

// receiver adapts a Stack to link.Receiver (the Stack takes the time
// from its own clock).
type receiver struct{ s *Stack }

func (r receiver) Input(_ time.Duration, f []byte) { r.s.Input(f) }

func newPair(t *testing.T, imp link.Impairment) *pair {
	t.Helper()
	w := link.NewWire(imp)
	p := &pair{w: w}
	clock := func() time.Duration { return w.Now() }
	mk := func(i int, addr netip.Prefix) *Stack {
		ip, err := stack.New(stack.Config{Addr: addr}, w.End(i))
		if err != nil {
			t.Fatal(err)
		}
		var secret [16]byte
		secret[0] = byte(i + 1)
		tp, err := tcp.New(tcp.Config{Secret: secret, TimeWait: time.Second}, ip)
		if err != nil {
			t.Fatal(err)
		}
		ip.Register(6, tp)
		s := New(ip, tp, clock)
		w.Attach(i, receiver{s})
		return s
	}
	p.a, p.b = mk(0, addrA), mk(1, addrB)
	timer := func(s *Stack) link.Timer {
		return func(now time.Duration) (time.Duration, bool) {
			n := s.Service()
			return n, n != math.MaxInt64
		}
	}
	p.rt = link.NewRealTime(w, timer(p.a), timer(p.b))
	p.a.SetWake(p.rt.Wake)
	p.b.SetWake(p.rt.Wake)
	p.a.With(func(ip *stack.Stack, _ *tcp.Protocol) { ip.Start(clock()) })
	p.b.With(func(ip *stack.Stack, _ *tcp.Protocol) { ip.Start(clock()) })
	t.Cleanup(p.rt.Close)
	return p
}

func tcpAddr(p netip.Prefix, port int) *net.TCPAddr {
	return net.TCPAddrFromAddrPort(netip.AddrPortFrom(p.Addr(), uint16(port)))
}

func (p *pair) listen(t *testing.T, port int) net.Listener {
	t.Helper()
	x, err := p.a.Socket(context.Background(), "tcp", syscall.AF_INET, syscall.SOCK_STREAM, tcpAddr(addrA, port), nil)
	if err != nil {
		t.Fatal(err)
	}
	l, ok := x.(net.Listener)
	if !ok {
		t.Fatalf("Socket for a listener returned %T", x)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func (p *pair) dial(ctx context.Context, port int) (net.Conn, error) {
	x, err := p.b.Socket(ctx, "tcp", syscall.AF_INET, syscall.SOCK_STREAM, nil, tcpAddr(addrA, port))
	if err != nil {
		return nil, err
	}
	return x.(net.Conn), nil
}

// TestHTTP runs net/http's server over one stack and its client over the
// other: the page, a 1 MiB download and a 1 MiB upload, byte exact, over
// a clean wire and a lossy one.
func TestHTTP(t *testing.T) {
	for _, tc := range []struct {
		name string
		imp  link.Impairment
	}{
		{"clean", link.Impairment{Delay: 100 * time.Microsecond}},
		{"lossy", link.Impairment{Drop: 0.02, Reorder: 0.02, Duplicate: 0.01, Corrupt: 0.01, Delay: 200 * time.Microsecond, Seed: 7}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newPair(t, tc.imp)
			l := p.listen(t, 80)
			srv := &http.Server{Handler: httpdemo.Handler("exo", func() string { return "ok\n" })}
			go srv.Serve(l)
			defer srv.Close()
			client := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{
				DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) { return p.dial(ctx, 80) },
			}}
			defer client.CloseIdleConnections()

			r, err := client.Get("http://10.9.0.1/download")
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(r.Body)
			r.Body.Close()
			want := make([]byte, httpdemo.DefaultDownload)
			httpdemo.Pattern(want, 0)
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("download: %d bytes, %v; want the %d-byte pattern", len(got), err, len(want))
			}
			body := make([]byte, 1<<20)
			httpdemo.Pattern(body, 12345)
			r, err = client.Post("http://10.9.0.1/upload", "application/octet-stream", bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			got, _ = io.ReadAll(r.Body)
			r.Body.Close()
			if want := fmt.Sprintf("%d %x\n", len(body), sha256.Sum256(body)); string(got) != want {
				t.Fatalf("upload answered %q, want %q", got, want)
			}
		})
	}
}

// TestManyConnections opens 50 connections at once, each echoing its own
// bytes.
func TestManyConnections(t *testing.T) {
	p := newPair(t, link.Impairment{Delay: 50 * time.Microsecond})
	l := p.listen(t, 7)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(c, c); c.Close() }()
		}
	}()
	var wg sync.WaitGroup
	errs := make(chan error, 50)
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := p.dial(context.Background(), 7)
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			msg := bytes.Repeat([]byte{byte(i)}, 10000+i)
			go c.Write(msg)
			got := make([]byte, len(msg))
			c.SetReadDeadline(time.Now().Add(30 * time.Second))
			if _, err := io.ReadFull(c, got); err != nil || !bytes.Equal(got, msg) {
				errs <- fmt.Errorf("connection %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestDeadlines: a Read past its deadline fails with a timeout, a
// deadline set while Read blocks ends it at once, Accept has one too,
// and Close ends a blocked Accept.
func TestDeadlines(t *testing.T) {
	p := newPair(t, link.Impairment{})
	l := p.listen(t, 9)
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := l.Accept()
		if err == nil {
			accepted <- c
		}
	}()
	c, err := p.dial(context.Background(), 9)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	<-accepted

	c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	start := time.Now()
	_, err = c.Read(make([]byte, 10))
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Read past its deadline: %v, want a timeout", err)
	}
	if d := time.Since(start); d < 40*time.Millisecond || d > 5*time.Second {
		t.Fatalf("the deadline took %v", d)
	}

	c.SetReadDeadline(time.Time{})
	done := make(chan error, 1)
	go func() { _, err := c.Read(make([]byte, 10)); done <- err }()
	time.Sleep(20 * time.Millisecond)
	c.SetReadDeadline(time.Now())
	select {
	case err := <-done:
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("Read after SetReadDeadline(now): %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("SetReadDeadline did not end a blocked Read")
	}

	l.(*Listener).SetDeadline(time.Now().Add(20 * time.Millisecond))
	if _, err := l.Accept(); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Accept past its deadline: %v", err)
	}
	l.(*Listener).SetDeadline(time.Time{})
	go func() { time.Sleep(20 * time.Millisecond); l.Close() }()
	if _, err := l.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Accept on a closed listener: %v", err)
	}
}

// TestRefusedAndReset: a Dial to a port nobody listens on is refused, and
// a peer that closes with unread data resets the connection.
func TestRefusedAndReset(t *testing.T) {
	p := newPair(t, link.Impairment{})
	if _, err := p.dial(context.Background(), 81); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("Dial to a closed port: %v, want ECONNREFUSED", err)
	}
	l := p.listen(t, 82)
	got := make(chan net.Conn, 1)
	go func() {
		c, err := l.Accept()
		if err == nil {
			got <- c
		}
	}()
	c, err := p.dial(context.Background(), 82)
	if err != nil {
		t.Fatal(err)
	}
	s := <-got
	if _, err := c.Write([]byte("left unread")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	s.Close() // unread data: RST (RFC 9293 §3.6)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Read(make([]byte, 10)); !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("Read after the peer's reset: %v, want ECONNRESET", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	p.rt.Close() // nothing is delivered any more: the dial must end on ctx
	if _, err := p.dial(ctx, 82); err == nil {
		t.Fatal("Dial over a dead wire succeeded")
	}
}

// TestUDP: ListenPacket's ReadFrom returns *net.UDPAddr, a connected
// socket reads only its peer's datagrams, and a datagram longer than the
// buffer is reported truncated.
func TestUDP(t *testing.T) {
	p := newPair(t, link.Impairment{})
	x, err := p.a.Socket(context.Background(), "udp", syscall.AF_INET, syscall.SOCK_DGRAM, &net.UDPAddr{Port: 53}, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := x.(net.PacketConn)
	defer srv.Close()
	y, err := p.b.Socket(context.Background(), "udp", syscall.AF_INET, syscall.SOCK_DGRAM, nil, &net.UDPAddr{IP: addrA.Addr().AsSlice(), Port: 53})
	if err != nil {
		t.Fatal(err)
	}
	cli := y.(net.Conn)
	defer cli.Close()
	if _, err := cli.Write([]byte("query")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 100)
	srv.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, from, err := srv.ReadFrom(buf)
	if err != nil || string(buf[:n]) != "query" {
		t.Fatalf("ReadFrom: %q %v", buf[:n], err)
	}
	ua, ok := from.(*net.UDPAddr)
	if !ok || !ua.IP.Equal(addrB.Addr().AsSlice()) || ua.Port < 49152 {
		t.Fatalf("ReadFrom's address %#v: want *net.UDPAddr from 10.9.0.2 and an ephemeral port", from)
	}
	if _, err := srv.WriteTo([]byte("answer that is long"), from); err != nil {
		t.Fatal(err)
	}
	cli.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err = cli.Read(buf[:6])
	var te *TruncatedError
	if !errors.As(err, &te) || n != 6 || te.Len != 19 || string(buf[:6]) != "answer" {
		t.Fatalf("a 19-byte datagram into 6 bytes: %d %q %v", n, buf[:n], err)
	}
	cli.SetReadDeadline(time.Now().Add(30 * time.Millisecond))
	if _, err := cli.Read(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Read with nothing queued: %v", err)
	}
}

// TestSocketContract: what net.SocketFunc's callers may pass and get.
func TestSocketContract(t *testing.T) {
	p := newPair(t, link.Impairment{})
	ctx := context.Background()
	if _, err := p.a.Socket(ctx, "tcp6", syscall.AF_INET6, syscall.SOCK_STREAM, &net.TCPAddr{Port: 1}, nil); err == nil {
		t.Fatal("an IPv6 socket was made")
	}
	if _, err := p.a.Socket(ctx, "ip", syscall.AF_INET, syscall.SOCK_RAW, nil, nil); err == nil {
		t.Fatal("a raw socket was made")
	}
	if _, err := p.a.Socket(ctx, "tcp", syscall.AF_INET, syscall.SOCK_STREAM, &net.TCPAddr{IP: net.ParseIP("::1"), Port: 1}, nil); err == nil {
		t.Fatal("an IPv6 local address was accepted")
	}
	x, err := p.a.Socket(ctx, "tcp", syscall.AF_INET, syscall.SOCK_STREAM, &net.TCPAddr{Port: 0}, nil)
	if err != nil {
		t.Fatal(err)
	}
	l := x.(net.Listener)
	defer l.Close()
	if _, err := p.a.Socket(ctx, "tcp", syscall.AF_INET, syscall.SOCK_STREAM, l.Addr(), nil); err == nil {
		t.Fatalf("a second listener on %v", l.Addr())
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("a second Close: %v", err)
	}
}

// fakeVector is a VectorSource over a slice.
type fakeVector struct {
	queue []string
	from  netip.AddrPort
	done  int
}

func (f *fakeVector) Next() ([]byte, netip.AddrPort, bool) {
	if len(f.queue) == 0 {
		return nil, netip.AddrPort{}, false
	}
	return []byte(f.queue[0]), f.from, true
}

func (f *fakeVector) Done() { f.queue = f.queue[1:]; f.done++ }

// TestVectorSource: a socket reads its port's vector source first, then
// the stack's queue; a long datagram is reported truncated and released.
func TestVectorSource(t *testing.T) {
	p := newPair(t, link.Impairment{})
	v := &fakeVector{queue: []string{"vectored", "a long vectored datagram"}, from: netip.MustParseAddrPort("10.9.0.2:4000")}
	p.a.SetVector(5009, v)
	x, err := p.a.Socket(context.Background(), "udp", syscall.AF_INET, syscall.SOCK_DGRAM, &net.UDPAddr{Port: 5009}, nil)
	if err != nil {
		t.Fatal(err)
	}
	pc := x.(net.PacketConn)
	defer pc.Close()
	y, err := p.b.Socket(context.Background(), "udp", syscall.AF_INET, syscall.SOCK_DGRAM, nil, &net.UDPAddr{IP: addrA.Addr().AsSlice(), Port: 5009})
	if err != nil {
		t.Fatal(err)
	}
	defer y.(net.Conn).Close()
	if _, err := y.(net.Conn).Write([]byte("through the stack")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 10)
	pc.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, from, err := pc.ReadFrom(buf)
	if err != nil || string(buf[:n]) != "vectored" || from.String() != "10.9.0.2:4000" {
		t.Fatalf("first read: %q from %v, %v; want the vector source's datagram", buf[:n], from, err)
	}
	n, _, err = pc.ReadFrom(buf)
	var te *TruncatedError
	if !errors.As(err, &te) || n != 10 || te.Len != 24 || v.done != 2 {
		t.Fatalf("a 24-byte vectored datagram into 10 bytes: %d, %v, %d released", n, err, v.done)
	}
	buf = make([]byte, 100)
	n, _, err = pc.ReadFrom(buf)
	if err != nil || string(buf[:n]) != "through the stack" {
		t.Fatalf("third read: %q %v; want the stack's datagram", buf[:n], err)
	}
	if got := p.a.Vectored(); got != 2 {
		t.Fatalf("Vectored %d, want 2", got)
	}
}
