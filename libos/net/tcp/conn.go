package tcp

import (
	"io"
	"net/netip"
	"time"
)

// State is a connection's RFC 9293 §3.3.2 state.
type State uint8

// The connection states.
const (
	StateClosed State = iota
	StateListen
	StateSynSent
	StateSynReceived
	StateEstablished
	StateFinWait1
	StateFinWait2
	StateCloseWait
	StateClosing
	StateLastAck
	StateTimeWait
)

var stateNames = [...]string{"CLOSED", "LISTEN", "SYN-SENT", "SYN-RECEIVED", "ESTABLISHED",
	"FIN-WAIT-1", "FIN-WAIT-2", "CLOSE-WAIT", "CLOSING", "LAST-ACK", "TIME-WAIT"}

// String returns the state's RFC name, such as "ESTABLISHED".
func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "State(" + itoa(int(s)) + ")"
}

func itoa(n int) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			return string(b[i:])
		}
	}
}

// timer modes of Conn.rtoAt.
const (
	timerOff = iota
	timerRetransmit
	timerPersist
	timerProbe // tail loss probe (RFC 8985 §7), then the retransmission timer
)

// seqRange is an out-of-order range [start, end) held in the receive ring.
type seqRange struct{ start, end uint32 }

// Conn is one TCP connection.
type Conn struct {
	p        *Protocol
	key      connKey
	idx      int // in p.list; -1 once released
	state    State
	estab    bool // has reached ESTABLISHED
	active   bool // opened by Dial
	listener *Listener
	err      error // why the connection failed, if it did
	closed   bool  // Close or Abort called: the user reads no more
	charged  bool  // buffers reserved against MaxMemory
	noDelay  bool
	keep     bool

	// Send sequence space (RFC 9293 §3.3.1). sndBuf holds the bytes from
	// sndUna on (from iss+1 until the SYN is ACKed); sndMax is the
	// highest sequence number sent, sndNxt the next to send (below
	// sndMax after a retransmission timeout).
	iss, sndUna, sndNxt, sndMax uint32
	sndWnd, maxSndWnd           uint32
	sndWl1, sndWl2              uint32
	sndBuf                      ring
	finQueued                   bool // CloseWrite: a FIN follows the data
	mss                         int  // largest segment we send, options excluded

	// Receive sequence space. rcvAdv is the right edge of the window we
	// advertised; it never moves left (RFC 9293 §3.8.6).
	irs, rcvNxt, rcvAdv uint32
	rcvBuf              ring
	ooo                 [maxOutOfOrder]seqRange
	nooo                int
	finRcvd             bool
	finPending          bool // an out-of-order FIN at finSeq
	finSeq              uint32

	// Options (RFC 7323).
	sndShift, rcvShift uint8
	wsOK, tsOK         bool
	tsRecent           uint32
	tsOffset           uint32
	lastAckSent        uint32

	// Congestion control (RFC 5681, RFC 6582).
	cwnd, ssthresh uint32
	caAcked        uint32
	dupAcks        int
	recover        uint32
	inRecovery     bool
	ltFlight       uint32 // flight at the first duplicate ACK (RFC 3042 §2)

	// SACK (RFC 2018) and SACK-based recovery (RFC 6675, sack.go).
	sackOK      bool                  // negotiated: both SYNs had SACK-permitted
	oooAge      [maxOutOfOrder]uint32 // when each ooo range last changed
	oooClock    uint32
	sb          scoreboard
	highRxt     uint32 // RFC 6675 HighRxt: holes below were resent in this recovery
	rtoRecovery bool   // the recovery is a timeout's (RFC 6675 §5.1)
	// unaRxt: the segment at unaRxtSeq (SND.UNA) was retransmitted when
	// unaRxtFence was the highest byte sent.
	unaRxt                 bool
	unaRxtSeq, unaRxtFence uint32
	tlpOut                 bool // a tail loss probe was sent and not yet answered

	// Round-trip time (RFC 6298).
	srtt, rttvar, rto time.Duration
	hasRTT            bool
	rttTiming         bool
	rttSeq            uint32
	rttStart          time.Duration
	backoff           uint
	retxTS            uint32 // our timestamp at the latest retransmission
	retxEnd           uint32 // the end of the data retransmitted then
	retries           int

	// Timers; noTimer when off.
	rtoAt     time.Duration
	timerMode int
	delackAt  time.Duration
	ackNow    bool
	unacked   int // bytes received and not yet ACKed
	twAt      time.Duration
	born      time.Duration // when the connection was made
	touched   bool          // in p.touched
	lastRecv  time.Duration
	kaProbes  int
}

// LocalAddr returns the connection's local address and port.
func (c *Conn) LocalAddr() netip.AddrPort { return c.key.local }

// RemoteAddr returns the peer's address and port.
func (c *Conn) RemoteAddr() netip.AddrPort { return c.key.remote }

// State returns the connection's state.
func (c *Conn) State() State { return c.state }

// Established reports whether the connection has reached ESTABLISHED (it
// stays true after).
func (c *Conn) Established() bool { return c.estab }

// SetNoDelay turns Nagle's algorithm (RFC 9293 §3.7.4) off (true) or on.
func (c *Conn) SetNoDelay(on bool) {
	c.touch()
	c.noDelay = on
	if on && c.idx >= 0 {
		c.output(c.p.now)
	}
}

// SetKeepAlive turns keep-alive probes (RFC 1122 §4.2.3.6) on or off.
func (c *Conn) SetKeepAlive(on bool) {
	c.touch()
	c.keep = on
	c.kaProbes = 0
	c.lastRecv = c.p.now
}

// Readable reports whether Read would not return ErrWouldBlock.
func (c *Conn) Readable() bool {
	return c.rcvBuf.n > 0 || c.finRcvd || c.err != nil || c.closed || c.state == StateClosed
}

// Writable reports whether Write would not return ErrWouldBlock.
func (c *Conn) Writable() bool {
	return !c.canWrite() || c.sndBuf.free() > 0
}

// canWrite reports whether the state accepts more data from the user.
func (c *Conn) canWrite() bool {
	if c.err != nil || c.closed || c.finQueued {
		return false
	}
	switch c.state {
	case StateSynSent, StateSynReceived, StateEstablished, StateCloseWait:
		return true
	}
	return false
}

// Read reads received data. It returns ErrWouldBlock when there is none
// yet, io.EOF after the peer's FIN once all data is read, and ErrReset,
// ErrRefused or ErrTimeout after the connection failed (ErrClosed after
// Close). Read(nil) returns the failure, if any.
func (c *Conn) Read(b []byte) (int, error) {
	c.touch()
	if c.err != nil {
		return 0, c.err
	}
	if c.closed {
		return 0, ErrClosed
	}
	if len(b) == 0 {
		return 0, nil
	}
	if c.rcvBuf.n == 0 {
		if c.finRcvd {
			return 0, io.EOF
		}
		if c.state == StateClosed {
			return 0, ErrClosed
		}
		return 0, ErrWouldBlock
	}
	n := c.rcvBuf.read(b)
	if c.rcvBuf.n == 0 && c.nooo == 0 {
		c.rcvBuf.idle()
	}
	if c.idx < 0 {
		return n, nil
	}
	// Window update once the window can grow by enough (receiver-side
	// silly window avoidance, RFC 9293 §3.8.6.2.2). Read has no time, so
	// the ACK goes out on the next Tick, which NextTimer makes immediate.
	if c.windowUpdateDue() {
		c.ackNow = true
		c.delackAt = c.p.now
	}
	return n, nil
}

// Write queues what of b fits in the send buffer and sends what the
// windows allow. It returns ErrWouldBlock if nothing fits, ErrClosed
// after CloseWrite or Close, or the connection's failure.
func (c *Conn) Write(now time.Duration, b []byte) (int, error) {
	c.touch()
	c.p.advance(now)
	if c.err != nil {
		return 0, c.err
	}
	if !c.canWrite() {
		return 0, ErrClosed
	}
	if len(b) == 0 {
		return 0, nil
	}
	n := c.sndBuf.write(b)
	if n == 0 {
		return 0, ErrWouldBlock
	}
	c.output(now)
	return n, nil
}

// CloseWrite queues a FIN after the data already written (a half close);
// reading goes on.
func (c *Conn) CloseWrite(now time.Duration) error {
	c.touch()
	c.p.advance(now)
	if c.err != nil {
		return c.err
	}
	if c.finQueued || c.closed {
		return ErrClosed
	}
	return c.closeWrite(now)
}

func (c *Conn) closeWrite(now time.Duration) error {
	switch c.state {
	case StateSynSent, StateSynReceived:
		c.finQueued = true // sent once established
	case StateEstablished:
		c.finQueued = true
		c.state = StateFinWait1
		c.output(now)
	case StateCloseWait:
		c.finQueued = true
		c.state = StateLastAck
		c.output(now)
	default:
		return ErrClosed
	}
	return nil
}

// Close closes the connection: queued data is sent, then a FIN; if
// received data is left unread (or arrives later) a RST is sent instead
// (RFC 9293 §3.6, RFC 1122 §4.2.2.13). The protocol finishes the close;
// the caller may forget c.
func (c *Conn) Close(now time.Duration) error {
	c.touch()
	c.p.advance(now)
	if c.closed {
		return ErrClosed
	}
	c.closed = true
	if c.idx < 0 {
		c.rcvBuf.n, c.nooo = 0, 0
		c.rcvBuf.idle()
		return nil
	}
	if c.rcvBuf.n > 0 || (c.state == StateSynSent) {
		c.Abort(now)
		return nil
	}
	if c.err != nil {
		return nil
	}
	switch c.state {
	case StateSynReceived, StateEstablished, StateCloseWait:
		if !c.finQueued {
			_ = c.closeWrite(now)
		}
	case StateFinWait2:
		c.twAt = now + c.p.cfg.TimeWait
	}
	return nil
}

// Abort resets the connection (a RST if the peer knows of it) and
// releases it at once.
func (c *Conn) Abort(now time.Duration) {
	c.touch()
	c.p.advance(now)
	if c.idx < 0 {
		c.closed = true
		return
	}
	switch c.state {
	case StateSynReceived, StateEstablished, StateFinWait1, StateFinWait2, StateCloseWait, StateClosing, StateLastAck:
		c.p.sendRST(now, c.key, c.sndNxt, 0, flagRST)
	}
	c.closed = true
	if c.err == nil {
		c.err = ErrClosed
	}
	c.release()
}

// fail ends the connection with err (ErrReset, ErrRefused, ErrTimeout).
func (c *Conn) fail(err error) {
	if c.err == nil {
		c.err = err
	}
	if err == ErrTimeout {
		c.p.stats.ConnTimeouts++
	}
	c.release()
}

// release removes c from the protocol: CLOSED.
func (c *Conn) release() {
	if c.idx < 0 {
		return
	}
	p := c.p
	c.state = StateClosed
	c.freeBuffers()
	if c.listener != nil {
		if !c.estab {
			c.listener.synRcvd--
		} else {
			c.listener.remove(c)
		}
		c.listener = nil
	}
	last := p.list[len(p.list)-1]
	p.list[c.idx] = last
	last.idx = c.idx
	p.list[len(p.list)-1] = nil
	p.list = p.list[:len(p.list)-1]
	c.idx = -1
	delete(p.conns, c.key)
	port := c.key.local.Port()
	p.ports[port]--
	if p.ports[port] == 0 {
		delete(p.ports, port)
	}
	c.rtoAt, c.delackAt, c.twAt = noTimer, noTimer, noTimer
}

// freeBuffers returns the buffers' memory once no more data will move:
// the receive ring is kept while it holds data the user may still read.
func (c *Conn) freeBuffers() {
	if c.charged {
		c.p.memUsed -= c.p.cfg.SendBuffer + c.p.cfg.ReceiveBuffer
		c.charged = false
	}
	c.sndBuf.n = 0
	c.sndBuf.idle()
	c.nooo = 0
	if c.rcvBuf.n == 0 || c.closed || c.err != nil {
		c.rcvBuf.n = 0
		c.rcvBuf.idle()
	}
	c.sb.n = 0
}
