package ping

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// progressEvery is the least time between two progress lines.
const progressEvery = 500 * time.Millisecond

// Run measures round trips to cfg.Target over t: it opens t, sends
// cfg.Count probes, one every cfg.Interval after the previous one, and
// waits for each probe's reply up to cfg.Timeout after it was sent.
//
// ICMP replies are matched with probes by identifier and sequence number,
// UDP replies by the probe header at the start of their payload
// (UDPHeaderLen). A probe's RTT runs from just before Send to just after
// the transport read the reply. A first reply whose payload differs from
// the probe's, or that the transport found a bad checksum in, makes the
// probe corrupt rather than good. A probe that fails to send counts as
// lost.
//
// Run keeps O(Count) state: the probe records, and the good RTTs for the
// progress line. It returns when every probe has been answered or has
// timed out, or when ctx is done or t fails: then the result covers the
// probes sent so far, those still waiting counted lost, along with the
// error (ctx.Err() for a cancelled run). Run returns a nil Result only
// if cfg is invalid or t.Open fails.
func Run(ctx context.Context, cfg Config, t Transport) (*Result, error) {
	cfg, err := cfg.normalize()
	if err != nil {
		return nil, err
	}
	if err := t.Open(ctx, cfg); err != nil {
		return nil, err
	}
	r := &runner{
		cfg:     cfg,
		probes:  make([]Probe, 0, cfg.Count),
		state:   make([]probeState, 0, cfg.Count),
		payload: make([]byte, cfg.Size),
		want:    make([]byte, cfg.Size),
		res: &Result{
			Proto:    cfg.Proto,
			Target:   cfg.Target,
			Size:     cfg.Size,
			Interval: cfg.Interval,
			Timeout:  cfg.Timeout,
		},
	}
	if cfg.Proto == "udp" {
		r.res.Port = cfg.Port
	}
	err = r.run(ctx, t)
	return r.res, err
}

type probeState uint8

const (
	pending  probeState = iota
	answered            // good or corrupt
	lost
)

// runner is one Run's state, owned by Run's goroutine.
type runner struct {
	cfg     Config
	res     *Result
	probes  []Probe
	state   []probeState
	head    int // probes before head are settled
	pending int
	lost    int
	rtts    []time.Duration // good RTTs, for the progress line
	payload []byte          // the probe being sent
	want    []byte          // a probe's payload, rebuilt to check a reply
	shown   time.Time       // when the last progress line was written
}

func (r *runner) run(ctx context.Context, t Transport) error {
	rctx, cancel := context.WithCancel(ctx)
	replies := make(chan Reply, 256)
	recvErr := make(chan error, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			rep, err := t.Receive(rctx)
			if err != nil {
				if rctx.Err() == nil {
					recvErr <- err
				}
				return
			}
			select {
			case replies <- rep:
			case <-rctx.Done():
				return
			}
		}
	}()
	defer func() {
		cancel()
		<-done
	}()

	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	drain := func() {
		for {
			select {
			case rep := <-replies:
				r.handle(rep)
			default:
				return
			}
		}
	}
	r.res.Start = time.Now()
	next := r.res.Start
	var err error
	for {
		now := time.Now()
		if len(r.probes) < r.cfg.Count && !now.Before(next) {
			r.send(t)
			next = r.probes[len(r.probes)-1].Sent.Add(r.cfg.Interval)
		}
		drain()
		now = time.Now()
		r.expire(now)
		r.progress(now, false)
		if len(r.probes) == r.cfg.Count && r.pending == 0 {
			break
		}
		var wake time.Time
		if len(r.probes) < r.cfg.Count {
			wake = next
		}
		if r.pending > 0 {
			if exp := r.probes[r.head].Sent.Add(r.cfg.Timeout); wake.IsZero() || exp.Before(wake) {
				wake = exp
			}
		}
		timer.Reset(time.Until(wake))
		select {
		case <-ctx.Done():
			err = ctx.Err()
		case err = <-recvErr:
		case rep := <-replies:
			r.handle(rep)
		case <-timer.C:
		}
		if err != nil {
			break
		}
	}
	drain()
	if err != nil {
		for i := r.head; i < len(r.probes); i++ {
			if r.state[i] == pending {
				r.lose(i, "the run stopped before its timeout")
			}
		}
	}
	r.progress(time.Now(), true)
	r.res.Probes = r.probes
	r.res.Summary = Summarize(r.probes)
	return err
}

// fillPayload writes probe seq's payload into b: for UDP the probe header
// first (see UDPHeaderLen), then bytes that depend on seq, so that a reply
// matched with the wrong probe shows as corrupt.
func fillPayload(b []byte, proto string, id uint16, seq int) {
	i := 0
	if proto == "udp" {
		b[0], b[1] = 'x', 'p'
		be.PutUint16(b[2:4], id)
		be.PutUint32(b[4:8], uint32(seq))
		i = UDPHeaderLen
	}
	for ; i < len(b); i++ {
		b[i] = byte(i + seq)
	}
}

func (r *runner) send(t Transport) {
	seq := len(r.probes)
	fillPayload(r.payload, r.cfg.Proto, r.cfg.ID, seq)
	r.probes = append(r.probes, Probe{Seq: seq})
	r.state = append(r.state, pending)
	r.pending++
	p := &r.probes[seq]
	p.Sent = time.Now()
	if err := t.Send(uint16(seq), r.payload); err != nil {
		r.lose(seq, err.Error())
	}
}

// expire settles as lost every probe whose timeout has passed by now.
func (r *runner) expire(now time.Time) {
	for ; r.head < len(r.probes); r.head++ {
		if r.state[r.head] == pending {
			if now.Before(r.probes[r.head].Sent.Add(r.cfg.Timeout)) {
				return
			}
			r.lose(r.head, "")
		}
	}
}

func (r *runner) lose(i int, reason string) {
	p := &r.probes[i]
	r.state[i] = lost
	r.pending--
	r.lost++
	p.Lost, p.Reason = true, reason
	r.trace(Event{Kind: EventLost, Probe: *p})
}

// match returns the number of the probe that rep answers.
func (r *runner) match(rep Reply) (int, bool) {
	sent := len(r.probes)
	if r.cfg.Proto == "udp" {
		b := rep.Payload
		if len(b) < UDPHeaderLen || b[0] != 'x' || b[1] != 'p' || be.Uint16(b[2:4]) != r.cfg.ID {
			return 0, false
		}
		i := be.Uint32(b[4:8])
		return int(i), uint64(i) < uint64(sent)
	}
	if rep.ID != r.cfg.ID || sent == 0 {
		return 0, false
	}
	// The latest probe sent with this 16-bit sequence number.
	last := sent - 1
	i := last - int(uint16(last)-rep.Seq)
	return i, i >= 0
}

func (r *runner) handle(rep Reply) {
	i, ok := r.match(rep)
	if !ok {
		r.res.Unmatched++
		return
	}
	p := &r.probes[i]
	ev := Event{From: rep.From, Bytes: len(rep.Payload), RTT: rep.At.Sub(p.Sent)}
	if r.cfg.Proto == "icmp" {
		ev.Bytes += icmpHeaderLen
	}
	if r.state[i] == lost && p.Reason == "" && ev.RTT < r.cfg.Timeout {
		// Read in time but handled after the timeout fired: not lost.
		r.state[i], p.Lost = pending, false
		r.pending++
		r.lost--
	}
	switch r.state[i] {
	case answered:
		p.Dups++
		ev.Kind = EventDuplicate
	case lost:
		p.Late++
		ev.Kind = EventLate
	case pending:
		r.state[i] = answered
		r.pending--
		p.RTT = ev.RTT
		if reason := r.check(rep, i); reason != "" {
			p.Corrupt, p.Reason = true, reason
			ev.Kind = EventCorrupt
		} else {
			r.rtts = append(r.rtts, p.RTT)
			ev.Kind = EventReply
		}
	}
	ev.Probe = *p
	r.trace(ev)
}

// check returns why rep, a reply to probe i, is corrupt, or "".
func (r *runner) check(rep Reply, i int) string {
	if rep.Corrupt != nil {
		return rep.Corrupt.Error()
	}
	fillPayload(r.want, r.cfg.Proto, r.cfg.ID, i)
	if len(rep.Payload) != len(r.want) {
		return fmt.Sprintf("reply payload is %d bytes, sent %d", len(rep.Payload), len(r.want))
	}
	for j, c := range rep.Payload {
		if c != r.want[j] {
			return fmt.Sprintf("reply payload byte %d is 0x%02x, sent 0x%02x", j, c, r.want[j])
		}
	}
	return ""
}

func (r *runner) trace(ev Event) {
	if r.cfg.Trace != nil {
		r.cfg.Trace(ev)
	}
}

// progress writes the progress line if it is due, or final.
func (r *runner) progress(now time.Time, final bool) {
	w := r.cfg.Progress
	if w == nil || !final && now.Sub(r.shown) < progressEvery {
		return
	}
	r.shown = now
	p50 := "-"
	if len(r.rtts) > 0 {
		s := slices.Clone(r.rtts)
		slices.Sort(s)
		p50 = roundRTT(Percentile(s, 50)).String()
	}
	n := len(fmt.Sprint(r.cfg.Count))
	fmt.Fprintf(w, "\r %*d/%d sent, %d lost, p50 %s   ", n, len(r.probes), r.cfg.Count, r.lost, p50)
	if final {
		fmt.Fprintln(w)
	}
}

// roundRTT rounds d to a microsecond, or a nanosecond below one, for
// display.
func roundRTT(d time.Duration) time.Duration {
	if d < time.Microsecond {
		return d
	}
	return d.Round(time.Microsecond)
}
