package link

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"time"
)

// EthernetHeader is the length of an Ethernet II header: destination,
// source and ethertype (IEEE 802.3 §3.1.1), without preamble or FCS.
const EthernetHeader = 14

// Impairment is what a Wire does to the frames it carries. The rates are
// probabilities per frame in [0, 1] (values outside are clamped, NaN is
// 0); every random choice is drawn from a PCG generator seeded with Seed,
// so that one seed and one sequence of transmissions give one outcome.
type Impairment struct {
	// Drop is the rate of frames lost.
	Drop float64
	// Duplicate is the rate of frames delivered twice (the copy right
	// after the original).
	Duplicate float64
	// Reorder is the rate of frames held back and delivered just after
	// the next frame sent the same way (or, if none follows, at most
	// ReorderHold later than they were due).
	Reorder float64
	// Corrupt is the rate of frames with one bit flipped, anywhere after
	// the Ethernet header, so that only the IP, ICMP, UDP and TCP
	// checksums can catch it.
	Corrupt float64
	// Delay is every frame's one-way latency.
	Delay time.Duration
	// Jitter is the bound of a uniform random delay added to Delay,
	// [0, Jitter). Jitter alone never reorders: a frame is never due
	// before the one sent ahead of it the same way.
	Jitter time.Duration
	// Seed seeds the generator.
	Seed uint64
}

// ReorderHold is how long, past its due time, a frame chosen for
// reordering waits for a later frame to overtake it.
const ReorderHold = time.Millisecond

// WireStats are a Wire's counters, over both directions.
type WireStats struct {
	Sent       uint64 // frames accepted by Transmit
	Delivered  uint64 // frames (copies included) handed to a Receiver
	Dropped    uint64 // frames lost by the Drop rate, a filter, or no Receiver attached
	Duplicated uint64 // extra copies made by the Duplicate rate
	Reordered  uint64 // frames held back by the Reorder rate
	Corrupted  uint64 // frames (copies included) with a bit flipped
	Refused    uint64 // Transmit calls that failed (frame too short or too long, queue full)
}

// WireOption configures a Wire at NewWire.
type WireOption func(*Wire)

// WireMAC sets end i's hardware address (defaults: 02:00:00:00:00:01 for
// end 0, 02:00:00:00:00:02 for end 1, locally administered).
func WireMAC(i int, mac [6]byte) WireOption {
	return func(w *Wire) { w.ends[i&1].mac = mac }
}

// WireMTU sets both ends' MTU (default 1500): Transmit refuses frames
// longer than the MTU plus the Ethernet header.
func WireMTU(mtu int) WireOption {
	return func(w *Wire) {
		if mtu > 0 {
			w.mtu = mtu
		}
	}
}

// WireQueueLimit bounds the frames in flight, both ways together
// (default 4096); Transmit refuses a frame beyond it, as a full queue
// would. It bounds the wire's memory: at most limit buffers of MTU+14.
func WireQueueLimit(n int) WireOption {
	return func(w *Wire) {
		if n > 0 {
			w.limit = n
		}
	}
}

// Wire is a two-ended Ethernet link in memory. A frame transmitted at one
// end arrives at the other end's Receiver when Step, RunUntil or a
// RealTime pump delivers it, after the Impairment has been applied.
//
// Time is virtual: Now advances only to the due time of each frame
// delivered (or to RunUntil's bound), so a test runs as fast as the
// machine allows and gives the same result every time. NewRealTime runs
// the same wire against the wall clock instead, for stacks with
// goroutines.
//
// A Wire is safe for concurrent use; Receivers are called without its
// lock held, and may transmit from within Input.
type Wire struct {
	mu     sync.Mutex
	imp    Impairment
	rng    *rand.Rand
	mtu    int
	limit  int
	ends   [2]WireEnd
	recv   [2]Receiver
	filter func(from int, frame []byte) bool

	now   time.Duration
	clock func() time.Duration // non-nil: real time (RealTime)
	kick  func()               // non-nil: wake the RealTime pump

	seq     uint64
	queue   frameHeap
	free    []*wireFrame // spare frames, each with a buffer of mtu+14
	last    [2]time.Duration
	held    [2]*wireFrame // a frame held for reordering, per direction
	inQueue int
	stats   WireStats
}

// wireFrame is one frame in flight.
type wireFrame struct {
	buf  []byte
	to   int // the end it arrives at
	due  time.Duration
	seq  uint64 // ties at one due time go in sending order
	held bool
	idx  int // position in the heap
}

// NewWire returns a wire with impairment imp and options opts.
func NewWire(imp Impairment, opts ...WireOption) *Wire {
	for _, p := range []*float64{&imp.Drop, &imp.Duplicate, &imp.Reorder, &imp.Corrupt} {
		switch {
		case math.IsNaN(*p) || *p < 0:
			*p = 0
		case *p > 1:
			*p = 1
		}
	}
	imp.Delay = max(imp.Delay, 0)
	imp.Jitter = max(imp.Jitter, 0)
	w := &Wire{
		imp:   imp,
		rng:   rand.New(rand.NewPCG(imp.Seed, imp.Seed^0x9e3779b97f4a7c15)),
		mtu:   1500,
		limit: 4096,
	}
	w.ends[0] = WireEnd{w: w, i: 0, mac: [6]byte{0x02, 0, 0, 0, 0, 0x01}}
	w.ends[1] = WireEnd{w: w, i: 1, mac: [6]byte{0x02, 0, 0, 0, 0, 0x02}}
	for _, o := range opts {
		o(w)
	}
	return w
}

// End returns end i (0 or 1; other values are taken modulo 2).
func (w *Wire) End(i int) *WireEnd { return &w.ends[i&1] }

// Attach makes r the receiver of the frames arriving at end i (nil: they
// are dropped).
func (w *Wire) Attach(i int, r Receiver) {
	w.mu.Lock()
	w.recv[i&1] = r
	w.mu.Unlock()
}

// SetFilter installs f, called under the wire's lock with every frame
// transmitted (from: the sending end); frames for which it returns false
// are dropped before any impairment. f must not call the wire. A test
// uses it to drop, say, every ARP frame.
func (w *Wire) SetFilter(f func(from int, frame []byte) bool) {
	w.mu.Lock()
	w.filter = f
	w.mu.Unlock()
}

// Now returns the wire's time: the virtual clock, or under a RealTime the
// wall-clock time since the origin.
func (w *Wire) Now() time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.time()
}

func (w *Wire) time() time.Duration {
	if w.clock != nil {
		return w.clock()
	}
	return w.now
}

// Stats returns the wire's counters.
func (w *Wire) Stats() WireStats {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.stats
}

// Pending returns the number of frames in flight.
func (w *Wire) Pending() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.inQueue
}

// NextDue returns the due time of the next frame to arrive; ok is false
// if none is in flight.
func (w *Wire) NextDue() (due time.Duration, ok bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.queue) == 0 {
		return 0, false
	}
	return w.queue[0].due, true
}

// WireEnd is one end of a Wire: an Endpoint.
type WireEnd struct {
	w   *Wire
	i   int
	mac [6]byte
}

var _ Endpoint = (*WireEnd)(nil)

// MAC returns the end's hardware address.
func (e *WireEnd) MAC() [6]byte {
	e.w.mu.Lock()
	defer e.w.mu.Unlock()
	return e.mac
}

// SetMAC sets the end's hardware address (the wire does not look at the
// addresses in frames: every frame reaches the other end).
func (e *WireEnd) SetMAC(mac [6]byte) {
	e.w.mu.Lock()
	e.mac = mac
	e.w.mu.Unlock()
}

// MTU returns the wire's MTU.
func (e *WireEnd) MTU() int { return e.w.mtu }

// Errors of WireEnd.Transmit.
var (
	ErrFrameSize = errors.New("link: wire: frame shorter than an Ethernet header or longer than MTU+14")
	ErrQueueFull = errors.New("link: wire: queue full")
)

// Transmit copies frame and sends the copy towards the other end.
func (e *WireEnd) Transmit(frame []byte) error {
	w := e.w
	w.mu.Lock()
	err := w.transmit(e.i, frame)
	kick := w.kick
	w.mu.Unlock()
	if err == nil && kick != nil {
		kick()
	}
	return err
}

func (w *Wire) transmit(from int, frame []byte) error {
	if len(frame) < EthernetHeader || len(frame) > w.mtu+EthernetHeader {
		w.stats.Refused++
		return fmt.Errorf("%w: %d bytes", ErrFrameSize, len(frame))
	}
	if w.inQueue >= w.limit {
		w.stats.Refused++
		return fmt.Errorf("%w: %d frames in flight", ErrQueueFull, w.inQueue)
	}
	w.stats.Sent++
	if w.filter != nil && !w.filter(from, frame) {
		w.stats.Dropped++
		return nil
	}
	if w.chance(w.imp.Drop) {
		w.stats.Dropped++
		return nil
	}
	to := 1 - from
	now := w.time()
	due := now + w.imp.Delay
	if w.imp.Jitter > 0 {
		due += time.Duration(w.rng.Int64N(int64(w.imp.Jitter)))
	}
	f := w.alloc(frame)
	f.to = to
	if w.chance(w.imp.Corrupt) && w.corrupt(f.buf) {
		w.stats.Corrupted++
	}
	reorder := w.chance(w.imp.Reorder)
	dup := w.chance(w.imp.Duplicate) && w.inQueue+1 < w.limit

	// Order: no frame is due before the one sent ahead of it (jitter does
	// not reorder), and a held frame is released just after this one.
	due = max(due, w.last[to])
	w.last[to] = due
	f.due, f.seq = due, w.next()
	switch h := w.held[to]; {
	case h != nil:
		// Release the held frame just after this one.
		w.held[to] = nil
		w.push(f)
		h.due, h.seq, h.held = max(due, h.due-ReorderHold), w.next(), false
		w.queue.fix(h.idx)
	case reorder:
		w.stats.Reordered++
		f.due += ReorderHold
		f.held = true
		w.held[to] = f
		w.push(f)
	default:
		w.push(f)
	}
	if dup {
		w.stats.Duplicated++
		d := w.alloc(frame)
		d.to = to
		if w.chance(w.imp.Corrupt) && w.corrupt(d.buf) {
			w.stats.Corrupted++
		}
		d.due, d.seq = due, w.next()
		w.push(d)
	}
	return nil
}

func (w *Wire) next() uint64 { w.seq++; return w.seq }

// chance reports an event of probability p, drawing from the generator
// only when 0 < p < 1 so that unimpaired wires stay unperturbed.
func (w *Wire) chance(p float64) bool {
	switch {
	case p <= 0:
		return false
	case p >= 1:
		return true
	}
	return w.rng.Float64() < p
}

// corrupt flips one random bit after the Ethernet header; false if the
// frame has no payload.
func (w *Wire) corrupt(b []byte) bool {
	n := len(b) - EthernetHeader
	if n <= 0 {
		return false
	}
	bit := w.rng.IntN(n * 8)
	b[EthernetHeader+bit/8] ^= 1 << (bit % 8)
	return true
}

func (w *Wire) alloc(frame []byte) *wireFrame {
	var f *wireFrame
	if n := len(w.free); n > 0 {
		f = w.free[n-1]
		w.free = w.free[:n-1]
	} else {
		f = &wireFrame{buf: make([]byte, 0, w.mtu+EthernetHeader)}
	}
	f.buf = append(f.buf[:0], frame...)
	f.held = false
	return f
}

func (w *Wire) push(f *wireFrame) {
	w.inQueue++
	w.queue.push(f)
}

// pop removes the next frame if it is due by t.
func (w *Wire) pop(t time.Duration) *wireFrame {
	if len(w.queue) == 0 || w.queue[0].due > t {
		return nil
	}
	f := w.queue.pop()
	w.inQueue--
	if f.held {
		w.held[f.to] = nil // released by its hold time: no frame overtook it
	}
	return f
}

// deliver hands f to its receiver, without the lock, at time now, and
// recycles it. Called with w.mu held; returns with it held.
func (w *Wire) deliver(f *wireFrame, now time.Duration) {
	r := w.recv[f.to]
	if r == nil {
		w.stats.Dropped++
	} else {
		w.stats.Delivered++
		w.mu.Unlock()
		r.Input(now, f.buf)
		w.mu.Lock()
	}
	w.free = append(w.free, f)
}

// Step delivers the next frame in flight, advancing the virtual clock to
// its due time; it returns false if there is none. Under a RealTime, use
// the pump instead.
func (w *Wire) Step() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.queue) == 0 {
		return false
	}
	f := w.pop(math.MaxInt64)
	w.now = max(w.now, f.due)
	w.deliver(f, w.now)
	return true
}

// Timer is an event source RunUntil drives besides the wire: called with
// the current time, it does whatever is due by now and returns when it
// next wants to be called (ok false: not until something changes). A
// stack's Tick and NextTimer make one:
//
//	func(now time.Duration) (time.Duration, bool) { s.Tick(now); return s.NextTimer() }
type Timer = func(now time.Duration) (next time.Duration, ok bool)

// RunUntil is a virtual-time event loop. It calls every timer once at the
// current time, then repeatedly advances the clock to the earliest of the
// next frame's due time and the timers' next times, and delivers the
// frame (frames first, at equal times) or calls the due timers. After
// each delivered frame every timer is called again, since the frame may
// have armed one. A timer's next time not after the time it was called
// at is taken as 1 ns later, so a loop always makes progress.
//
// RunUntil returns when the next event is later than t (the clock is
// then advanced to t) or when nothing is pending (the clock stays at the
// last event).
func (w *Wire) RunUntil(t time.Duration, timers ...Timer) {
	next := make([]time.Duration, len(timers))
	armed := make([]bool, len(timers))
	call := func(i int, now time.Duration) {
		n, ok := timers[i](now)
		next[i], armed[i] = max(n, now+1), ok
	}
	now := w.Now()
	for i := range timers {
		call(i, now)
	}
	for {
		due, ok := w.NextDue()
		for i := range timers {
			if armed[i] && (!ok || next[i] < due) {
				due, ok = next[i], true
			}
		}
		if !ok {
			return
		}
		if due > t {
			w.mu.Lock()
			w.now = max(w.now, t)
			w.mu.Unlock()
			return
		}
		w.mu.Lock()
		w.now = max(w.now, due)
		now = w.now
		f := w.pop(now)
		if f != nil {
			w.deliver(f, now)
		}
		w.mu.Unlock()
		for i := range timers {
			if f != nil || (armed[i] && next[i] <= now) {
				call(i, now)
			}
		}
	}
}

// frameHeap is a binary min-heap of frames by (due, seq).
type frameHeap []*wireFrame

func (h frameHeap) less(i, j int) bool {
	if h[i].due != h[j].due {
		return h[i].due < h[j].due
	}
	return h[i].seq < h[j].seq
}

func (h frameHeap) swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].idx, h[j].idx = i, j
}

func (h *frameHeap) push(f *wireFrame) {
	f.idx = len(*h)
	*h = append(*h, f)
	h.up(f.idx)
}

func (h *frameHeap) pop() *wireFrame {
	old := *h
	n := len(old) - 1
	old.swap(0, n)
	f := old[n]
	old[n] = nil
	*h = old[:n]
	h.down(0)
	return f
}

func (h frameHeap) fix(i int) {
	if !h.down(i) {
		h.up(i)
	}
}

func (h frameHeap) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !h.less(i, p) {
			return
		}
		h.swap(i, p)
		i = p
	}
}

// down sifts i down and reports whether it moved.
func (h frameHeap) down(i int) bool {
	start := i
	for {
		l := 2*i + 1
		if l >= len(h) {
			break
		}
		c := l
		if r := l + 1; r < len(h) && h.less(r, l) {
			c = r
		}
		if !h.less(c, i) {
			break
		}
		h.swap(i, c)
		i = c
	}
	return i > start
}

// ReceiverFunc adapts a function to a Receiver.
type ReceiverFunc func(now time.Duration, frame []byte)

// Input calls f(now, frame).
func (f ReceiverFunc) Input(now time.Duration, frame []byte) { f(now, frame) }
