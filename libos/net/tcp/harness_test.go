package tcp

import (
	"container/heap"
	"errors"
	"io"
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/exo-os/exo/libos/net/checksum"
	"time"
)

// The test harness: two Protocols joined by an in-memory "IP" that
// queues each segment with a delivery time, and a loop that advances
// virtual time to the next event (a delivery or a timer).

type packet struct {
	at   time.Duration
	n    uint64 // FIFO among equal times
	from int
	data []byte
}

type packetHeap []*packet

func (h packetHeap) Len() int { return len(h) }
func (h packetHeap) Less(i, j int) bool {
	if h[i].at != h[j].at {
		return h[i].at < h[j].at
	}
	return h[i].n < h[j].n
}
func (h packetHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *packetHeap) Push(x any)   { *h = append(*h, x.(*packet)) }
func (h *packetHeap) Pop() any {
	old := *h
	p := old[len(old)-1]
	*h = old[:len(old)-1]
	return p
}

// impair is one direction's misbehaviour, each a probability per segment.
type impair struct {
	drop, dup, reorder, corrupt float64
}

// sent is one segment a host sent, as the harness saw it.
type sent struct {
	at   time.Duration
	h    header
	dlen int
}

type testNet struct {
	t       testing.TB
	now     time.Duration
	q       packetHeap
	n       uint64
	rng     *rand.Rand
	delay   time.Duration // one way
	jitter  time.Duration // extra delay of a reordered segment, at most
	imp     [2]impair     // by sender
	hosts   [2]*host
	steps   int
	corrupt int // segments corrupted
	// filter, if set, sees each segment before the impairments; false
	// drops it.
	filter func(from int, h *header, data []byte) bool
	record bool
}

type host struct {
	net  *testNet
	idx  int
	addr netip.Addr
	p    *Protocol
	sent []sent
}

func (h *host) WriteIP(now time.Duration, proto uint8, dst netip.Addr, hdr, payload []byte) error {
	n := h.net
	if proto != ProtocolNumber {
		n.t.Fatalf("WriteIP proto %d", proto)
	}
	if dst != n.hosts[1-h.idx].addr {
		n.t.Fatalf("WriteIP to %v, want %v", dst, n.hosts[1-h.idx].addr)
	}
	if now != n.now {
		n.t.Fatalf("WriteIP at %v, harness at %v", now, n.now)
	}
	seg := make([]byte, len(hdr)+len(payload))
	copy(seg, hdr)
	copy(seg[len(hdr):], payload)
	var hd header
	if err := parseHeader(seg, &hd); err != nil {
		n.t.Fatalf("host %d sent a bad segment: %v", h.idx, err)
	}
	if n.record {
		h.sent = append(h.sent, sent{now, hd, len(payload)})
	}
	if n.filter != nil && !n.filter(h.idx, &hd, seg[hd.hlen:]) {
		return nil
	}
	imp := n.imp[h.idx]
	if imp.drop > 0 && n.rng.Float64() < imp.drop {
		return nil
	}
	copies := 1
	if imp.dup > 0 && n.rng.Float64() < imp.dup {
		copies = 2
	}
	for i := 0; i < copies; i++ {
		b := seg
		if i > 0 {
			b = append([]byte(nil), seg...)
		}
		if imp.corrupt > 0 && n.rng.Float64() < imp.corrupt {
			bit := n.rng.IntN(len(b) * 8)
			b[bit/8] ^= 1 << (bit % 8)
			n.corrupt++
		}
		at := now + n.delay
		if imp.reorder > 0 && n.rng.Float64() < imp.reorder {
			at += time.Duration(1 + n.rng.Int64N(int64(n.jitter)))
		}
		n.n++
		heap.Push(&n.q, &packet{at: at, n: n.n, from: h.idx, data: b})
	}
	return nil
}

var (
	addrA = netip.MustParseAddr("10.0.0.1")
	addrB = netip.MustParseAddr("10.0.0.2")
)

// newNet makes two hosts with configs ca and cb (secrets set from the
// seed unless given).
func newNet(t testing.TB, seed uint64, ca, cb Config) *testNet {
	n := &testNet{t: t, rng: rand.New(rand.NewPCG(seed, 0x7c9)), delay: time.Millisecond, jitter: 3 * time.Millisecond, record: true}
	for i, cfg := range []Config{ca, cb} {
		h := &host{net: n, idx: i, addr: []netip.Addr{addrA, addrB}[i]}
		if cfg.Secret == ([16]byte{}) {
			for j := range cfg.Secret {
				cfg.Secret[j] = byte(n.rng.Uint32())
			}
		}
		p, err := New(cfg, h)
		if err != nil {
			t.Fatal(err)
		}
		h.p = p
		n.hosts[i] = h
	}
	return n
}

// step runs the next event no later than limit; false if there is none.
func (n *testNet) step(limit time.Duration) bool {
	next, what := noTimer, -1
	if len(n.q) > 0 {
		next, what = n.q[0].at, 2
	}
	for i, h := range n.hosts {
		if t, ok := h.p.NextTimer(); ok && t < next {
			next, what = t, i
		}
	}
	if what < 0 || next > limit {
		return false
	}
	if next > n.now {
		n.now = next
	}
	n.steps++
	if n.steps > 20_000_000 {
		n.t.Fatalf("harness: runaway after %d steps at %v", n.steps, n.now)
	}
	if what == 2 {
		pk := heap.Pop(&n.q).(*packet)
		to := n.hosts[1-pk.from]
		to.p.Deliver(n.now, n.hosts[pk.from].addr, to.addr, pk.data)
	} else {
		n.hosts[what].p.Tick(n.now)
	}
	for _, h := range n.hosts {
		if got, _ := h.p.NextTimer(); got > h.p.exactNextTimer() {
			n.t.Fatalf("harness: NextTimer %v is later than the earliest timer %v", got, h.p.exactNextTimer())
		}
	}
	return true
}

// run steps until cond holds (checked first and after every event) or
// virtual time would pass now+d; it reports whether cond held.
func (n *testNet) run(d time.Duration, cond func() bool) bool {
	limit := n.now + d
	for {
		if cond != nil && cond() {
			return true
		}
		if !n.step(limit) {
			if cond == nil {
				n.now = max(n.now, limit)
				return true
			}
			n.now = max(n.now, limit)
			return cond()
		}
	}
}

// idle runs for d with no condition.
func (n *testNet) idle(d time.Duration) { n.run(d, nil) }

func (n *testNet) a() *Protocol { return n.hosts[0].p }
func (n *testNet) b() *Protocol { return n.hosts[1].p }

// connect listens on B:80 and dials from A, returning both ends.
func (n *testNet) connect() (client, server *Conn, l *Listener) {
	n.t.Helper()
	l, err := n.b().Listen(netip.AddrPortFrom(addrB, 80), 16)
	if err != nil {
		n.t.Fatal(err)
	}
	client, err = n.a().Dial(n.now, netip.AddrPortFrom(addrA, 0), netip.AddrPortFrom(addrB, 80))
	if err != nil {
		n.t.Fatal(err)
	}
	if !n.run(10*time.Second, func() bool {
		if server == nil {
			server, _ = l.Accept()
		}
		return server != nil && client.Established()
	}) {
		n.t.Fatalf("handshake did not complete: client %v, server %v", client.State(), server)
	}
	return client, server, l
}

// testData is the shared pseudo-random payload of the transfer tests.
var testData = func() []byte {
	r := rand.New(rand.NewPCG(42, 43))
	b := make([]byte, 12<<20)
	for i := 0; i+8 <= len(b); i += 8 {
		v := r.Uint64()
		for j := 0; j < 8; j++ {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	return b
}()

// pump moves data one way: it writes size bytes of testData from w
// (then CloseWrite if closeAfter) and reads at r, checking every byte.
type pump struct {
	t          testing.TB
	w, r       *Conn
	size       int
	written    int
	read       int
	closeAfter bool
	closed     bool
	eof        bool
	buf        []byte
	err        error
}

func newPump(t testing.TB, w, r *Conn, size int, closeAfter bool) *pump {
	return &pump{t: t, w: w, r: r, size: size, closeAfter: closeAfter, buf: make([]byte, 64<<10)}
}

// service writes and reads what it can at now; it reports whether the
// reader has everything (and EOF if closeAfter).
func (p *pump) service(now time.Duration) bool {
	for p.written < p.size && p.err == nil {
		k, err := p.w.Write(now, testData[p.written:p.size])
		p.written += k
		if errors.Is(err, ErrWouldBlock) || k == 0 {
			break
		}
		if err != nil {
			p.err = err
		}
	}
	if p.written == p.size && p.closeAfter && !p.closed {
		p.closed = true
		if err := p.w.CloseWrite(now); err != nil {
			p.t.Errorf("CloseWrite: %v", err)
		}
	}
	for p.err == nil && !p.eof {
		k, err := p.r.Read(p.buf)
		if k > 0 {
			if p.read+k > p.size {
				p.t.Fatalf("read %d bytes past the %d sent", p.read+k-p.size, p.size)
			}
			if string(p.buf[:k]) != string(testData[p.read:p.read+k]) {
				p.t.Fatalf("data differs in [%d, %d)", p.read, p.read+k)
			}
			p.read += k
		}
		if err == io.EOF {
			p.eof = true
		} else if errors.Is(err, ErrWouldBlock) {
			break
		} else if err != nil {
			p.err = err
		}
	}
	if p.err != nil {
		p.t.Fatalf("pump: %v (wrote %d, read %d of %d)", p.err, p.written, p.read, p.size)
	}
	return p.read == p.size && (!p.closeAfter || p.eof)
}

// inject delivers a segment built from h and data to host to, as if
// from the other host, at the harness's time.
func (n *testNet) inject(to int, h header, data []byte) {
	b := make([]byte, maxHeader+len(data))
	k := h.marshal(b)
	b = append(b[:k], data...)
	from := n.hosts[1-to].addr
	sum := checksum.Pseudo(from.As4(), n.hosts[to].addr.As4(), ProtocolNumber, len(b))
	cs := checksum.Finish(checksum.Sum(sum, b))
	b[16], b[17] = byte(cs>>8), byte(cs)
	n.hosts[to].p.Deliver(n.now, from, n.hosts[to].addr, b)
}

// segsSince returns host i's segments sent from index k on.
func (n *testNet) segsSince(i, k int) []sent { return n.hosts[i].sent[k:] }

// mark returns how many segments host i has sent so far.
func (n *testNet) mark(i int) int { return len(n.hosts[i].sent) }

// blockFrom drops everything host i sends (or nothing, i < 0).
func (n *testNet) blockFrom(i int) {
	if i < 0 {
		n.filter = nil
		return
	}
	n.filter = func(from int, h *header, data []byte) bool { return from != i }
}

// reply returns a header from c's peer to c: ports swapped, seq at c's
// rcvNxt and ack at c's sndNxt.
func reply(c *Conn, flags uint8) header {
	return header{srcPort: c.key.remote.Port(), dstPort: c.key.local.Port(), seq: c.rcvNxt, ack: c.sndNxt, flags: flags, wnd: 65535}
}
