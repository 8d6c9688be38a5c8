// Package tcp is the library OS's TCP (RFC 9293), driven by the IP layer
// with no goroutines and no locks: the stack hands it segments (Deliver),
// runs its timers (Tick, NextTimer) and it sends through an Output. The
// caller serialises all calls (libos/net/socket holds one mutex).
//
// It implements the RFC 9293 state machine with simultaneous open and
// close and TIME-WAIT; retransmission per RFC 6298; flow control with
// zero-window probing and silly window avoidance on both sides (RFC 9293
// §3.8.6); congestion control per RFC 5681 with NewReno fast recovery
// (RFC 6582) and a 10-segment initial window (RFC 6928); window scaling
// and timestamps (RFC 7323, no PAWS); RST, SYN and ACK hardening per RFC
// 5961 with rate-limited challenge ACKs; delayed ACKs, Nagle and
// keep-alive (RFC 1122 §4.2.3); ISNs per RFC 6528; SACK (RFC 2018) with
// conservative SACK-based loss recovery (RFC 6675) and limited transmit
// (RFC 3042). Urgent data (treated as ordinary data), D-SACK and SYN
// cookies are not implemented.
//
// Memory is bounded: a connection's send and receive rings are allocated
// on first use and never grow; each connection reserves
// SendBuffer+ReceiveBuffer bytes against Config.MaxMemory while it has
// data buffers (until CLOSED or TIME-WAIT), and a new connection that
// would pass the limit is refused.
package tcp

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"time"

	"github.com/exo-os/exo/libos/net/checksum"
)

// ProtocolNumber is TCP's IPv4 protocol number.
const ProtocolNumber = 6

// Errors returned by Conn and Listener methods.
var (
	// ErrWouldBlock means the call cannot make progress now; retry after
	// the protocol has run (Deliver or Tick).
	ErrWouldBlock = errors.New("tcp: operation would block")
	// ErrReset means the peer reset the connection.
	ErrReset = errors.New("tcp: connection reset by peer")
	// ErrRefused means the peer refused the connection (a RST to our SYN).
	ErrRefused = errors.New("tcp: connection refused")
	// ErrTimeout means retransmissions, SYN retries or keep-alive probes
	// ran out without an answer.
	ErrTimeout = errors.New("tcp: connection timed out")
	// ErrClosed means the connection (or its sending side) was closed by
	// this end.
	ErrClosed = errors.New("tcp: use of closed connection")
)

// Output is how the protocol sends: the IP layer.
type Output interface {
	// WriteIP sends header||payload as one IPv4 datagram, protocol proto,
	// from the stack's address to dst. The slices are only valid during
	// the call.
	WriteIP(now time.Duration, proto uint8, dst netip.Addr, header, payload []byte) error
}

// Config configures a Protocol; zero fields take the defaults given.
type Config struct {
	// MSS is the maximum segment size we advertise (default 1460).
	MSS int
	// SendBuffer and ReceiveBuffer are each connection's buffer sizes in
	// bytes (default 256 KiB each); the receive window is the free space
	// of the receive buffer.
	SendBuffer, ReceiveBuffer int
	// MaxConnections bounds the connections in all states, SYN-RECEIVED
	// and TIME-WAIT included (default 1024).
	MaxConnections int
	// MaxMemory bounds the total of all connections' buffers (default
	// 64 MiB); a new connection past it is refused.
	MaxMemory int
	// Secret keys the RFC 6528 ISN function (and the default Random); the
	// caller fills it from crypto/rand.
	Secret [16]byte
	// Random returns random numbers for ephemeral ports and timestamp
	// offsets (default: SipHash of a counter keyed by Secret).
	Random func() uint32
	// Ports is the ephemeral port range for Dial with port 0, inclusive
	// (default 49152..65535).
	Ports [2]uint16
	// TimeWait is how long TIME-WAIT lasts, 2*MSL (default 60s). It also
	// bounds how long a connection closed by the user waits in FIN-WAIT-2
	// for the peer's FIN.
	TimeWait time.Duration
	// DelayedACK is the delayed-ACK timeout (default 40ms; RFC 1122
	// §4.2.3.2 requires under 500ms); every second full segment is ACKed
	// at once.
	DelayedACK time.Duration
	// MinRTO and MaxRTO bound the retransmission timeout (defaults 200ms
	// and 60s). RFC 6298 §2.4 says a minimum of 1s; 200ms is what Linux
	// uses and suits fast links.
	MinRTO, MaxRTO time.Duration
	// KeepAlive is the idle time before keep-alive probes (default 2h);
	// probes go every 75s and after 9 unanswered the connection fails
	// with ErrTimeout (RFC 1122 §4.2.3.6).
	KeepAlive time.Duration
	// SynRetries is how many times a SYN (or SYN-ACK) is retransmitted
	// before giving up (default 6).
	SynRetries int
}

// Tunables that Config does not expose.
const (
	defaultMSS       = 1460
	peerDefaultMSS   = 536 // RFC 9293 §3.7.1, when the peer sends no MSS option
	initialRTO       = time.Second
	maxRetries       = 15
	keepAliveIntvl   = 75 * time.Second
	keepAliveProbes  = 9
	challengeLimit   = 1000 // challenge ACKs per second (RFC 5961 §7)
	maxOutOfOrder    = 32   // out-of-order ranges kept per connection
	noTimer          = time.Duration(math.MaxInt64)
	initialWindowSeg = 10 // RFC 6928
)

func (c *Config) setDefaults() error {
	if c.MSS == 0 {
		c.MSS = defaultMSS
	}
	if c.SendBuffer == 0 {
		c.SendBuffer = 256 << 10
	}
	if c.ReceiveBuffer == 0 {
		c.ReceiveBuffer = 256 << 10
	}
	if c.MaxConnections == 0 {
		c.MaxConnections = 1024
	}
	if c.MaxMemory == 0 {
		c.MaxMemory = 64 << 20
	}
	if c.Ports == [2]uint16{} {
		c.Ports = [2]uint16{49152, 65535}
	}
	if c.TimeWait == 0 {
		c.TimeWait = 60 * time.Second
	}
	if c.DelayedACK == 0 {
		c.DelayedACK = 40 * time.Millisecond
	}
	if c.MinRTO == 0 {
		c.MinRTO = 200 * time.Millisecond
	}
	if c.MaxRTO == 0 {
		c.MaxRTO = 60 * time.Second
	}
	if c.KeepAlive == 0 {
		c.KeepAlive = 2 * time.Hour
	}
	if c.SynRetries == 0 {
		c.SynRetries = 6
	}
	switch {
	case c.MSS < 64 || c.MSS > 65535-40:
		return fmt.Errorf("tcp: config: MSS %d out of range 64..65495", c.MSS)
	case c.SendBuffer < 1 || c.ReceiveBuffer < 1:
		return fmt.Errorf("tcp: config: buffers must be positive (send %d, receive %d)", c.SendBuffer, c.ReceiveBuffer)
	case c.ReceiveBuffer > 1<<30 || c.SendBuffer > 1<<30:
		return fmt.Errorf("tcp: config: buffers over 1 GiB (send %d, receive %d)", c.SendBuffer, c.ReceiveBuffer)
	case c.MaxConnections < 1:
		return fmt.Errorf("tcp: config: MaxConnections %d must be positive", c.MaxConnections)
	case c.MaxMemory < c.SendBuffer+c.ReceiveBuffer:
		return fmt.Errorf("tcp: config: MaxMemory %d is less than one connection's buffers (%d)", c.MaxMemory, c.SendBuffer+c.ReceiveBuffer)
	case c.Ports[0] == 0 || c.Ports[0] > c.Ports[1]:
		return fmt.Errorf("tcp: config: bad ephemeral port range %d..%d", c.Ports[0], c.Ports[1])
	case c.TimeWait < 0 || c.DelayedACK < 0 || c.KeepAlive < 0:
		return errors.New("tcp: config: negative duration")
	case c.MinRTO <= 0 || c.MaxRTO < c.MinRTO:
		return fmt.Errorf("tcp: config: bad RTO bounds %v..%v", c.MinRTO, c.MaxRTO)
	case c.SynRetries < 0:
		return fmt.Errorf("tcp: config: SynRetries %d is negative", c.SynRetries)
	}
	return nil
}

// Stats are the protocol's counters.
type Stats struct {
	SegmentsIn         uint64 // segments delivered to Deliver
	SegmentsOut        uint64 // segments sent
	Retransmits        uint64 // segments retransmitted (timeouts and fast)
	TailLossProbes     uint64 // tail loss probes sent (RFC 8985 §7)
	FastRetransmits    uint64 // fast recoveries entered (three duplicate ACKs, or SACKed data above a hole)
	LostRetransmits    uint64 // retransmissions found lost from SACK information and sent again
	Timeouts           uint64 // retransmission timer expiries
	ConnTimeouts       uint64 // connections failed with ErrTimeout
	ResetsIn           uint64 // RSTs received
	ResetsOut          uint64 // RSTs sent
	ChallengeACKs      uint64 // challenge ACKs sent (RFC 5961)
	ChallengeLimited   uint64 // challenge ACKs suppressed by the rate limit
	BadChecksum        uint64 // segments dropped for a bad checksum
	Malformed          uint64 // segments dropped as malformed
	NoListener         uint64 // segments for no connection and no listener
	BacklogFull        uint64 // SYNs dropped on a backlog full of established connections
	SynEvicted         uint64 // half-open connections ended for a newer SYN on a full backlog
	TimeWaitRecycled   uint64 // TIME-WAIT connections ended early at the connection limit
	MemoryRefusals     uint64 // connections refused by MaxMemory
	ConnLimitRefusals  uint64 // connections refused by MaxConnections
	ActiveOpens        uint64 // Dial calls that sent a SYN
	PassiveOpens       uint64 // SYNs that made a SYN-RECEIVED connection
	PersistProbes      uint64 // zero-window probes sent
	KeepAliveProbes    uint64 // keep-alive probes sent
	DelayedACKs        uint64 // ACKs sent by the delayed-ACK timer
	OutputErrors       uint64 // WriteIP errors
	CurrentConnections uint64 // connections in any state
}

type connKey struct {
	local, remote netip.AddrPort
}

// Protocol is one TCP instance over one IP layer.
type Protocol struct {
	cfg       Config
	out       Output
	random    func() uint32
	k0, k1    uint64
	rndCount  uint64
	conns     map[connKey]*Conn
	list      []*Conn // conns, for timers; Conn.idx is the index
	listeners map[netip.AddrPort]*Listener
	ports     map[uint16]int // local port use counts (conns and listeners)
	memUsed   int
	now       time.Duration // latest time seen
	stats     Stats

	chalStart time.Duration
	chalCount int

	// noWS and noTS leave window scaling and timestamps out of our
	// SYNs and refuse them in the peer's (for tests).
	noWS, noTS bool
	// noSACK leaves SACK-permitted out of our SYNs and refuses the
	// peer's (for tests).
	noSACK  bool
	isnHook func() uint32 // replaces the ISN (for tests)

	hdr     [maxHeader]byte
	scratch []byte // payload that wraps in a ring, and data copies

	sndPool, rcvPool pool // idle connections' buffers

	// next is never later than the earliest timer of any connection
	// (NextTimer); touched are the connections operated on since it was
	// last brought up to date.
	next    time.Duration
	touched []*Conn
}

// New returns a TCP protocol instance sending through out.
func New(cfg Config, out Output) (*Protocol, error) {
	if out == nil {
		return nil, errors.New("tcp: New: nil Output")
	}
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	p := &Protocol{
		cfg:       cfg,
		out:       out,
		conns:     make(map[connKey]*Conn),
		listeners: make(map[netip.AddrPort]*Listener),
		ports:     make(map[uint16]int),
		scratch:   make([]byte, 65536),
		next:      noTimer,
	}
	for i := 0; i < 8; i++ {
		p.k0 |= uint64(cfg.Secret[i]) << (8 * i)
		p.k1 |= uint64(cfg.Secret[8+i]) << (8 * i)
	}
	p.random = cfg.Random
	if p.random == nil {
		p.random = p.defaultRandom
	}
	return p, nil
}

// Stats returns the counters.
func (p *Protocol) Stats() Stats {
	s := p.stats
	s.CurrentConnections = uint64(len(p.conns))
	return s
}

func (p *Protocol) advance(now time.Duration) {
	if now > p.now {
		p.now = now
	}
}

// Deliver takes one received TCP segment (the IP payload) from src to dst:
// stack.Transport. It verifies the checksum over the pseudo-header
// (RFC 9293 §3.1) and demultiplexes the segment to a connection, a
// listener, or a RST reply (§3.10.7.1).
func (p *Protocol) Deliver(now time.Duration, src, dst netip.Addr, payload []byte) {
	p.advance(now)
	p.stats.SegmentsIn++
	if !src.Is4() || !dst.Is4() || len(payload) < minHeader || len(payload) > 65535 {
		p.stats.Malformed++
		return
	}
	if checksum.Fold(checksum.Sum(checksum.Pseudo(dst.As4(), src.As4(), ProtocolNumber, len(payload)), payload)) != 0xffff {
		p.stats.BadChecksum++
		return
	}
	var h header
	if err := parseHeader(payload, &h); err != nil {
		p.stats.Malformed++
		return
	}
	if h.srcPort == 0 || h.dstPort == 0 {
		p.stats.Malformed++
		return
	}
	data := payload[h.hlen:]
	key := connKey{netip.AddrPortFrom(dst, h.dstPort), netip.AddrPortFrom(src, h.srcPort)}
	if h.flags&flagRST != 0 {
		p.stats.ResetsIn++
	}
	if c := p.conns[key]; c != nil {
		if c.state == StateTimeWait && c.timeWaitSYN(&h) {
			// RFC 9293 §3.10.7.4 / RFC 6191: a new SYN with a larger
			// ISN ends TIME-WAIT and opens a new connection.
			c.release()
		} else {
			c.touch()
			c.input(now, &h, data)
			return
		}
	}
	l := p.listeners[key.local]
	if l == nil {
		l = p.listeners[netip.AddrPortFrom(netip.IPv4Unspecified(), h.dstPort)]
	}
	if l != nil && !l.closed {
		l.input(now, key, &h, data)
		return
	}
	p.stats.NoListener++
	p.resetReply(now, key, &h, len(data))
}

// resetReply answers a segment that belongs to no connection with a RST
// (RFC 9293 §3.10.7.1), never in reply to a RST.
func (p *Protocol) resetReply(now time.Duration, key connKey, h *header, dlen int) {
	if h.flags&flagRST != 0 {
		return
	}
	if h.flags&flagACK != 0 {
		p.sendRST(now, key, h.ack, 0, flagRST)
		return
	}
	seglen := uint32(dlen)
	if h.flags&flagSYN != 0 {
		seglen++
	}
	if h.flags&flagFIN != 0 {
		seglen++
	}
	p.sendRST(now, key, 0, h.seq+seglen, flagRST|flagACK)
}

// sendRST sends a bare RST (flags includes flagRST, maybe flagACK).
func (p *Protocol) sendRST(now time.Duration, key connKey, seq, ack uint32, flags uint8) {
	h := header{srcPort: key.local.Port(), dstPort: key.remote.Port(), seq: seq, ack: ack, flags: flags}
	p.stats.ResetsOut++
	p.emit(now, key, &h, nil, nil)
}

// emit sends one segment: h with data a||b, checksummed.
func (p *Protocol) emit(now time.Duration, key connKey, h *header, a, b []byte) {
	h.csum = 0
	n := h.marshal(p.hdr[:])
	payload := a
	if len(b) > 0 {
		payload = p.scratch[:copy(p.scratch, a)]
		payload = append(payload, b...)
	}
	sum := checksum.Pseudo(key.local.Addr().As4(), key.remote.Addr().As4(), ProtocolNumber, n+len(payload))
	sum = checksum.Sum(sum, p.hdr[:n])
	sum = checksum.Sum(sum, payload)
	cs := checksum.Finish(sum)
	p.hdr[16], p.hdr[17] = byte(cs>>8), byte(cs)
	p.stats.SegmentsOut++
	if err := p.out.WriteIP(now, ProtocolNumber, key.remote.Addr(), p.hdr[:n], payload); err != nil {
		p.stats.OutputErrors++
	}
}

// challengeOK reports whether a challenge ACK may be sent now (RFC 5961
// §7: a global limit per second).
func (p *Protocol) challengeOK(now time.Duration) bool {
	if now-p.chalStart >= time.Second {
		p.chalStart, p.chalCount = now, 0
	}
	if p.chalCount >= challengeLimit {
		p.stats.ChallengeLimited++
		return false
	}
	p.chalCount++
	p.stats.ChallengeACKs++
	return true
}

// Tick runs the timers due at now.
func (p *Protocol) Tick(now time.Duration) {
	p.advance(now)
	if p.foldTouched(); p.next > now {
		return // nothing due: no connection to look at
	}
	// Backwards, so that a connection released by its timer (swapped
	// with the last) is not skipped; the walk also recomputes the
	// earliest timer exactly.
	next := noTimer
	for i := len(p.list) - 1; i >= 0; i-- {
		if i >= len(p.list) {
			continue
		}
		c := p.list[i]
		if c.nextTimer() <= now {
			c.tick(now)
		}
		if i < len(p.list) && p.list[i] == c {
			next = min(next, c.nextTimer())
		}
	}
	// tick may have touched connections it ended or others it reset;
	// they are folded in at the next call.
	p.next = next
}

// NextTimer returns the earliest time Tick has work, if any. It costs
// the connections touched since the last call, not all of them: p.next
// is never later than the earliest timer (a timer that moved later or
// went away leaves it early, and the Tick it causes finds nothing due
// and walks to recompute it).
func (p *Protocol) NextTimer() (time.Duration, bool) {
	p.foldTouched()
	return p.next, p.next != noTimer
}

// touch records that an operation on c may have armed one of its timers
// earlier: NextTimer and Tick fold it into p.next.
func (c *Conn) touch() {
	if !c.touched {
		c.touched = true
		c.p.touched = append(c.p.touched, c)
	}
}

// foldTouched brings the touched connections' timers into p.next.
func (p *Protocol) foldTouched() {
	for i, c := range p.touched {
		c.touched = false
		if c.idx >= 0 {
			p.next = min(p.next, c.nextTimer())
		}
		p.touched[i] = nil
	}
	p.touched = p.touched[:0]
}

// exactNextTimer is NextTimer by a walk of every connection (for tests:
// NextTimer must never be later).
func (p *Protocol) exactNextTimer() time.Duration {
	next := noTimer
	for _, c := range p.list {
		next = min(next, c.nextTimer())
	}
	return next
}

// Listener is a passive-open endpoint.
type Listener struct {
	p       *Protocol
	addr    netip.AddrPort
	backlog int
	ready   []*Conn // established, not yet accepted
	synRcvd int     // children in SYN-RECEIVED
	closed  bool
}

// Listen listens on local (port 0: an ephemeral port; an unspecified
// address: any local address) with room for backlog connections that are
// in SYN-RECEIVED or established but not yet accepted.
func (p *Protocol) Listen(local netip.AddrPort, backlog int) (*Listener, error) {
	if !local.Addr().Is4() {
		return nil, fmt.Errorf("tcp: listen %v: not an IPv4 address", local)
	}
	if backlog < 1 {
		backlog = 1
	}
	if local.Port() == 0 {
		port, ok := p.ephemeral(func(port uint16) bool { return p.ports[port] == 0 })
		if !ok {
			return nil, fmt.Errorf("tcp: listen %v: no free ephemeral port", local)
		}
		local = netip.AddrPortFrom(local.Addr(), port)
	}
	if p.listeners[local] != nil {
		return nil, fmt.Errorf("tcp: listen %v: address in use", local)
	}
	l := &Listener{p: p, addr: local, backlog: backlog}
	p.listeners[local] = l
	p.ports[local.Port()]++
	return l, nil
}

// Addr returns the address l listens on.
func (l *Listener) Addr() netip.AddrPort { return l.addr }

// Accept returns the oldest established connection not yet accepted, or
// ErrWouldBlock if there is none (ErrClosed once l is closed).
func (l *Listener) Accept() (*Conn, error) {
	if l.closed {
		return nil, ErrClosed
	}
	if len(l.ready) == 0 {
		return nil, ErrWouldBlock
	}
	c := l.ready[0]
	copy(l.ready, l.ready[1:])
	l.ready[len(l.ready)-1] = nil
	l.ready = l.ready[:len(l.ready)-1]
	c.listener = nil
	return c, nil
}

// Pending returns how many established connections wait in Accept's queue.
func (l *Listener) Pending() int { return len(l.ready) }

// Close stops listening and resets the connections not yet accepted
// (those established and those still in SYN-RECEIVED).
func (l *Listener) Close(now time.Duration) error {
	if l.closed {
		return ErrClosed
	}
	p := l.p
	p.advance(now)
	l.closed = true
	delete(p.listeners, l.addr)
	p.ports[l.addr.Port()]--
	if p.ports[l.addr.Port()] == 0 {
		delete(p.ports, l.addr.Port())
	}
	for _, c := range l.ready {
		c.listener = nil
		c.Abort(now)
	}
	l.ready = nil
	for i := len(p.list) - 1; i >= 0; i-- {
		if i < len(p.list) && p.list[i].listener == l {
			p.list[i].listener = nil
			p.list[i].Abort(now)
		}
	}
	l.synRcvd = 0
	return nil
}

func (l *Listener) remove(c *Conn) {
	for i, r := range l.ready {
		if r == c {
			copy(l.ready[i:], l.ready[i+1:])
			l.ready[len(l.ready)-1] = nil
			l.ready = l.ready[:len(l.ready)-1]
			return
		}
	}
}

// input handles a segment for the listener (RFC 9293 §3.10.7.2).
func (l *Listener) input(now time.Duration, key connKey, h *header, data []byte) {
	p := l.p
	switch {
	case h.flags&flagRST != 0:
		return
	case h.flags&flagACK != 0:
		p.sendRST(now, key, h.ack, 0, flagRST)
		return
	case h.flags&flagSYN == 0:
		return
	}
	if len(l.ready)+l.synRcvd >= l.backlog {
		// A full backlog of half-open connections is what a SYN flood
		// makes: the oldest gives way to the newest, so that a real
		// client's SYN (retransmitted if need be) always gets in and the
		// flood's never hold the listener for their whole SYN-RECEIVED
		// lifetime. Established connections not yet accepted stay.
		old := p.oldest(func(c *Conn) bool { return c.listener == l && c.state == StateSynReceived })
		if old == nil {
			p.stats.BacklogFull++
			return
		}
		p.stats.SynEvicted++
		old.release()
	}
	if !p.room() {
		// At a limit (connections or memory), a half-open connection,
		// the oldest, gives way to the new SYN: half-open connections
		// are what a SYN flood makes, and they must not lock real
		// clients out while established ones hold their memory.
		if old := p.oldest(func(c *Conn) bool { return c.state == StateSynReceived }); old != nil {
			p.stats.SynEvicted++
			old.release()
		}
	}
	if err := p.admit(); err != nil {
		p.resetReply(now, key, h, len(data))
		return
	}
	c := p.newConn(now, key)
	c.listener = l
	l.synRcvd++
	p.stats.PassiveOpens++
	c.state = StateSynReceived
	c.irs = h.seq
	c.rcvNxt = h.seq + 1
	c.synOptions(h)
	c.rcvAdv = c.rcvNxt + c.rcvWindowMax()
	c.sndWnd = uint32(h.wnd) // never scaled in a SYN (RFC 7323 §2.2)
	c.sndWl1, c.sndWl2 = h.seq, c.iss
	c.sendSYN(now)
	// Data in a SYN is not accepted (it is not ACKed, so it comes again).
}

// oldest returns the connection made longest ago for which match
// reports true, or nil. It looks at every connection: it runs only when a
// limit is reached.
func (p *Protocol) oldest(match func(*Conn) bool) *Conn {
	var o *Conn
	for _, c := range p.list {
		if match(c) && (o == nil || c.born < o.born) {
			o = c
		}
	}
	return o
}

// room reports whether a new connection fits under both limits now
// (TIME-WAIT connections, which admit recycles, count as room).
func (p *Protocol) room() bool {
	n := len(p.conns)
	if n >= p.cfg.MaxConnections && p.oldest(func(c *Conn) bool { return c.state == StateTimeWait }) != nil {
		n--
	}
	return n < p.cfg.MaxConnections && p.memUsed+p.cfg.SendBuffer+p.cfg.ReceiveBuffer <= p.cfg.MaxMemory
}

// admit checks the connection and memory limits for a new connection.
// At the connection limit, the connection longest in TIME-WAIT is ended
// to make room (it holds no buffers; RFC 6191 and Linux's
// tcp_max_tw_buckets end TIME-WAIT early as well): a server that closes
// first leaves one TIME-WAIT per connection for 2*MSL, and those must not
// lock new clients out.
func (p *Protocol) admit() error {
	if len(p.conns) >= p.cfg.MaxConnections {
		if tw := p.oldest(func(c *Conn) bool { return c.state == StateTimeWait }); tw != nil {
			p.stats.TimeWaitRecycled++
			tw.release()
		}
	}
	if len(p.conns) >= p.cfg.MaxConnections {
		p.stats.ConnLimitRefusals++
		return fmt.Errorf("tcp: connection limit (%d) reached", p.cfg.MaxConnections)
	}
	if p.memUsed+p.cfg.SendBuffer+p.cfg.ReceiveBuffer > p.cfg.MaxMemory {
		p.stats.MemoryRefusals++
		return fmt.Errorf("tcp: memory limit (%d bytes) reached", p.cfg.MaxMemory)
	}
	return nil
}

// ephemeral picks a port in Config.Ports for which free reports true,
// starting at a random point (RFC 6056 §3.3.1).
func (p *Protocol) ephemeral(free func(uint16) bool) (uint16, bool) {
	lo, hi := uint32(p.cfg.Ports[0]), uint32(p.cfg.Ports[1])
	n := hi - lo + 1
	start := p.random() % n
	for i := uint32(0); i < n; i++ {
		port := uint16(lo + (start+i)%n)
		if free(port) {
			return port, true
		}
	}
	return 0, false
}

// Dial opens a connection from local (port 0: an ephemeral port) to
// remote and sends the SYN; the Conn is established when Established
// reports true.
func (p *Protocol) Dial(now time.Duration, local, remote netip.AddrPort) (*Conn, error) {
	p.advance(now)
	if !local.Addr().Is4() || local.Addr().IsUnspecified() {
		return nil, fmt.Errorf("tcp: dial %v: local address %v is not a unicast IPv4 address", remote, local.Addr())
	}
	if !remote.Addr().Is4() || remote.Addr().IsUnspecified() || remote.Port() == 0 {
		return nil, fmt.Errorf("tcp: dial %v: bad remote address", remote)
	}
	if local.Port() == 0 {
		port, ok := p.ephemeral(func(port uint16) bool {
			return p.ports[port] == 0
		})
		if !ok {
			return nil, fmt.Errorf("tcp: dial %v: no free ephemeral port", remote)
		}
		local = netip.AddrPortFrom(local.Addr(), port)
	}
	key := connKey{local, remote}
	if p.conns[key] != nil {
		return nil, fmt.Errorf("tcp: dial %v from %v: address in use", remote, local)
	}
	if err := p.admit(); err != nil {
		return nil, fmt.Errorf("tcp: dial %v: %w", remote, err)
	}
	c := p.newConn(now, key)
	c.active = true
	c.state = StateSynSent
	p.stats.ActiveOpens++
	c.sendSYN(now)
	return c, nil
}

// newConn makes a connection in CLOSED state, registered and charged.
func (p *Protocol) newConn(now time.Duration, key connKey) *Conn {
	c := &Conn{
		p:        p,
		key:      key,
		idx:      len(p.list),
		rtoAt:    noTimer,
		delackAt: noTimer,
		twAt:     noTimer,
		born:     now,
		rto:      initialRTO,
		lastRecv: now,
		tsOffset: p.random(),
	}
	c.sndBuf.size, c.sndBuf.pool = p.cfg.SendBuffer, &p.sndPool
	c.rcvBuf.size, c.rcvBuf.pool = p.cfg.ReceiveBuffer, &p.rcvPool
	c.iss = p.isn(now, key.local, key.remote)
	if p.isnHook != nil {
		c.iss = p.isnHook()
	}
	c.sndUna, c.sndNxt, c.sndMax = c.iss, c.iss, c.iss
	c.recover, c.retxEnd = c.iss, c.iss
	c.mss = peerDefaultMSS
	c.ssthresh = math.MaxUint32
	c.rcvShift = 0
	for c.rcvShift < maxWScale && p.cfg.ReceiveBuffer>>c.rcvShift > 65535 {
		c.rcvShift++
	}
	p.memUsed += p.cfg.SendBuffer + p.cfg.ReceiveBuffer
	c.charged = true
	p.conns[key] = c
	p.list = append(p.list, c)
	c.touch()
	p.ports[key.local.Port()]++
	return c
}
