package interop_test

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/exo-os/exo/libos/net/checksum"
	"github.com/exo-os/exo/libos/net/gvisor"
	"github.com/exo-os/exo/libos/net/link"
	"github.com/exo-os/exo/libos/net/socket"
	"github.com/exo-os/exo/libos/net/stack"
	"github.com/exo-os/exo/libos/net/tcp"
	"github.com/exo-os/exo/libos/net/wire"
)

// Exo is on the wire's end 0, gVisor on end 1.
const (
	exoEnd = 0
	gvEnd  = 1
)

var (
	exoPrefix = netip.MustParsePrefix("10.7.0.1/24")
	gvPrefix  = netip.MustParsePrefix("10.7.0.2/24")
	exoIP     = exoPrefix.Addr()
	gvIP      = gvPrefix.Addr()
)

// rtt is the wire's round trip: the one-way delay twice.
const oneWay = 50 * time.Microsecond

// exoConfig is Exo's TCP configuration in these tests: retransmission
// timeouts suited to a wire whose round trip is ~100 us, and a short
// TIME-WAIT so that a closed connection reaches CLOSED within a test.
func exoConfig() tcp.Config {
	return tcp.Config{
		Secret:   [16]byte{'i', 'n', 't', 'e', 'r', 'o', 'p'},
		MinRTO:   15 * time.Millisecond,
		MaxRTO:   250 * time.Millisecond,
		TimeWait: 100 * time.Millisecond,
	}
}

// env is one Exo stack and one gVisor stack on a wire run in real time.
type env struct {
	t   *testing.T
	w   *link.Wire
	rt  *link.RealTime
	exo *socket.Stack
	gv  *gvisor.Stack

	mu     sync.Mutex
	filter func(from int, frame []byte) bool // the test's, under the wire's lock
	trace  []string                          // INTEROP_TRACE: every TCP segment sent and received
	start  time.Time
}

// record adds a TCP segment to the trace: what was sent (tag "tx") or
// delivered ("rx", with "bad" if the checksum fails), from end from.
func (e *env) record(tag string, from int, f []byte) {
	eth, ipb, err := wire.ParseEthernet(f)
	if err != nil || eth.Type != wire.EtherIPv4 || len(ipb) < wire.IPv4Len {
		return
	}
	hl := int(ipb[0]&0xf) * 4
	total := int(binary.BigEndian.Uint16(ipb[2:]))
	if ipb[9] != wire.ProtoTCP || hl < wire.IPv4Len || total > len(ipb) || hl+20 > total {
		return
	}
	h := ipb[hl:total]
	doff := min(int(h[12]>>4)*4, len(h))
	sum := checksum.Sum(checksum.Pseudo([4]byte(ipb[12:16]), [4]byte(ipb[16:20]), wire.ProtoTCP, len(h)), h)
	if checksum.Checksum(ipb[:hl]) != 0 || checksum.Finish(sum) != 0 {
		tag += " bad"
	}
	l := fmt.Sprintf("%10.3fms %-6s %v %d>%d seq=%d ack=%d flags=%#02x win=%d len=%d",
		float64(time.Since(e.start).Microseconds())/1000, tag, side(from),
		binary.BigEndian.Uint16(h[0:]), binary.BigEndian.Uint16(h[2:]),
		binary.BigEndian.Uint32(h[4:]), binary.BigEndian.Uint32(h[8:]), h[13],
		binary.BigEndian.Uint16(h[14:]), len(h)-doff)
	e.mu.Lock()
	e.trace = append(e.trace, l)
	e.mu.Unlock()
}

// exoReceiver adapts a socket.Stack to link.Receiver (the stack takes
// the time from its own clock, the wire's).
type exoReceiver struct{ s *socket.Stack }

func (r exoReceiver) Input(_ time.Duration, f []byte) { r.s.Input(f) }

// newEnv builds the two stacks over a wire with impairment imp, Exo's
// TCP configured by cfg, and has each learn the other's Ethernet address
// (see the package comment: ARP is dropped).
func newEnv(t *testing.T, imp link.Impairment, cfg tcp.Config) *env {
	t.Helper()
	e := &env{t: t, w: link.NewWire(imp), start: time.Now()}
	tracing := os.Getenv("INTEROP_TRACE") != ""
	e.w.SetFilter(func(from int, f []byte) bool {
		if binary.BigEndian.Uint16(f[12:14]) == 0x0806 {
			return false // ARP: see the package comment
		}
		if tracing {
			e.record("tx", from, f)
		}
		e.mu.Lock()
		g := e.filter
		e.mu.Unlock()
		return g == nil || g(from, f)
	})
	clock := func() time.Duration { return e.w.Now() }
	ip, err := stack.New(stack.Config{Addr: exoPrefix, LearnFromIP: true}, e.w.End(exoEnd))
	if err != nil {
		t.Fatal(err)
	}
	tp, err := tcp.New(cfg, ip)
	if err != nil {
		t.Fatal(err)
	}
	ip.Register(tcp.ProtocolNumber, tp)
	e.exo = socket.New(ip, tp, clock)
	var exoRecv link.Receiver = exoReceiver{e.exo}
	e.w.Attach(exoEnd, exoRecv)
	if e.gv, err = gvisor.New(gvisor.Config{Addr: gvPrefix}, e.w.End(gvEnd)); err != nil {
		t.Fatal(err)
	}
	var gvRecv link.Receiver = e.gv
	if tracing {
		exoRecv = link.ReceiverFunc(func(now time.Duration, f []byte) { e.record("rx", gvEnd, f); e.exo.Input(f) })
		gvRecv = link.ReceiverFunc(func(now time.Duration, f []byte) { e.record("rx", exoEnd, f); e.gv.Input(now, f) })
		e.w.Attach(exoEnd, exoRecv)
		t.Cleanup(func() {
			if t.Failed() {
				e.mu.Lock()
				t.Logf("trace (%d segments):\n%s", len(e.trace), strings.Join(e.trace, "\n"))
				e.mu.Unlock()
			}
		})
	}
	e.w.Attach(gvEnd, gvRecv)
	if err := e.gv.AddNeighbor(exoIP, e.w.End(exoEnd).MAC()); err != nil {
		t.Fatal(err)
	}
	service := func(now time.Duration) (time.Duration, bool) {
		n := e.exo.Service()
		return n, n != math.MaxInt64
	}
	e.rt = link.NewRealTime(e.w, service)
	e.exo.SetWake(e.rt.Wake)
	t.Cleanup(func() {
		e.rt.Close()
		e.gv.Close()
	})
	e.teach()
	return e
}

// teach has Exo learn gVisor's Ethernet address: gVisor sends UDP
// datagrams to Exo until one has arrived (the wire may drop some).
func (e *env) teach() {
	e.t.Helper()
	v, err := e.gv.Socket(context.Background(), "udp", syscall.AF_INET, syscall.SOCK_DGRAM, nil, &net.UDPAddr{IP: exoIP.AsSlice(), Port: 9})
	if err != nil {
		e.t.Fatal(err)
	}
	c := v.(net.Conn)
	defer c.Close()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		if _, err := c.Write([]byte("hello")); err != nil {
			e.t.Fatalf("teach: %v", err)
		}
		time.Sleep(2 * time.Millisecond)
		if e.exoIPStats().IPLearned > 0 {
			return
		}
	}
	e.t.Fatal("teach: Exo never learned gVisor's address")
}

// setFilter installs f (nil: none) to see, and drop when it returns
// false, every non-ARP frame, before the impairment. f runs under the
// wire's lock and must not call the wire.
func (e *env) setFilter(f func(from int, frame []byte) bool) {
	e.mu.Lock()
	e.filter = f
	e.mu.Unlock()
}

func (e *env) exoTCPStats() (s tcp.Stats) {
	e.exo.With(func(_ *stack.Stack, t *tcp.Protocol) { s = t.Stats() })
	return s
}

func (e *env) exoIPStats() (s stack.Stats) {
	e.exo.With(func(ip *stack.Stack, _ *tcp.Protocol) { s = ip.Stats() })
	return s
}

// waitExoClosed waits until Exo has no connection in any state (every
// one CLOSED, TIME-WAIT over).
func (e *env) waitExoClosed() {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for e.exoTCPStats().CurrentConnections != 0 {
		if time.Now().After(deadline) {
			e.t.Fatalf("Exo still has %d connections 10s after they were closed", e.exoTCPStats().CurrentConnections)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (e *env) exoListen(port int) net.Listener {
	e.t.Helper()
	v, err := e.exo.Socket(context.Background(), "tcp", syscall.AF_INET, syscall.SOCK_STREAM, &net.TCPAddr{Port: port}, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	l := v.(net.Listener)
	e.t.Cleanup(func() { l.Close() })
	return l
}

func (e *env) gvListen(port int) net.Listener {
	e.t.Helper()
	v, err := e.gv.Socket(context.Background(), "tcp", syscall.AF_INET, syscall.SOCK_STREAM, &net.TCPAddr{Port: port}, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	l := v.(net.Listener)
	e.t.Cleanup(func() { l.Close() })
	return l
}

// dialTimeout bounds a Dial: SYNs are retransmitted after 1s, 2s, ...
const dialTimeout = 20 * time.Second

func (e *env) exoDial(port int) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), dialTimeout)
	defer cancel()
	v, err := e.exo.Socket(ctx, "tcp", syscall.AF_INET, syscall.SOCK_STREAM, nil, &net.TCPAddr{IP: gvIP.AsSlice(), Port: port})
	if err != nil {
		return nil, err
	}
	return v.(net.Conn), nil
}

func (e *env) gvDial(port int) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), dialTimeout)
	defer cancel()
	v, err := e.gv.Socket(ctx, "tcp", syscall.AF_INET, syscall.SOCK_STREAM, nil, &net.TCPAddr{IP: exoIP.AsSlice(), Port: port})
	if err != nil {
		return nil, err
	}
	return v.(net.Conn), nil
}

// connect opens one connection between the stacks, Exo dialing when
// exoDials (else gVisor), and returns its two ends. Both are closed at
// the test's end.
func (e *env) connect(exoDials bool, port int) (exoc, gvc net.Conn) {
	e.t.Helper()
	var l net.Listener
	dial := e.gvDial
	if exoDials {
		l, dial = e.gvListen(port), e.exoDial
	} else {
		l = e.exoListen(port)
	}
	type accepted struct {
		c   net.Conn
		err error
	}
	ac := make(chan accepted, 1)
	go func() {
		c, err := l.Accept()
		ac <- accepted{c, err}
	}()
	d, err := dial(port)
	if err != nil {
		l.Close()
		e.t.Fatalf("dial (Exo dials: %v): %v", exoDials, err)
	}
	var a accepted
	select {
	case a = <-ac:
	case <-time.After(dialTimeout):
		e.t.Fatalf("accept (Exo dials: %v): nothing after %v", exoDials, dialTimeout)
	}
	if a.err != nil {
		e.t.Fatalf("accept (Exo dials: %v): %v", exoDials, a.err)
	}
	e.t.Cleanup(func() { d.Close(); a.c.Close() })
	if exoDials {
		return d, a.c
	}
	return a.c, d
}

// stream is a seeded pseudo-random byte stream.
type stream struct {
	r   *rand.Rand
	buf [8]byte
	n   int // unused bytes at the end of buf
}

func newStream(seed uint64) *stream {
	return &stream{r: rand.New(rand.NewPCG(seed, seed^0x5eed))}
}

// Read fills b with the next bytes of the stream.
func (s *stream) Read(b []byte) (int, error) {
	for i := range b {
		if s.n == 0 {
			binary.LittleEndian.PutUint64(s.buf[:], s.r.Uint64())
			s.n = 8
		}
		b[i] = s.buf[8-s.n]
		s.n--
	}
	return len(b), nil
}

// streamSum returns the SHA-256 of the stream's first n bytes.
func streamSum(seed uint64, n int64) [32]byte {
	h := sha256.New()
	io.CopyN(h, newStream(seed), n)
	return [32]byte(h.Sum(nil))
}

// send writes the stream's first n bytes to c in pieces of up to 64 KiB.
func send(c net.Conn, seed uint64, n int64) error {
	src := newStream(seed)
	buf := make([]byte, 64<<10)
	for n > 0 {
		k := min(int64(len(buf)), n)
		src.Read(buf[:k])
		if _, err := c.Write(buf[:k]); err != nil {
			return fmt.Errorf("write with %d bytes left: %w", n, err)
		}
		n -= k
	}
	return nil
}

// receive reads c to EOF and returns the byte count and their SHA-256.
func receive(c net.Conn) (int64, [32]byte, error) {
	h := sha256.New()
	n, err := io.Copy(h, c)
	return n, [32]byte(h.Sum(nil)), err
}

// received is receive's result, from a goroutine.
type received struct {
	n   int64
	sum [32]byte
	err error
}

func receiveAsync(c net.Conn) <-chan received {
	ch := make(chan received, 1)
	go func() {
		n, sum, err := receive(c)
		ch <- received{n, sum, err}
	}()
	return ch
}

// closeWrite half-closes c (a *socket.Conn or gVisor's *gonet.TCPConn).
func closeWrite(c net.Conn) error {
	cw, ok := c.(interface{ CloseWrite() error })
	if !ok {
		return fmt.Errorf("%T has no CloseWrite", c)
	}
	return cw.CloseWrite()
}

// isTimeout reports a deadline or timeout error (net.Error's Timeout).
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
