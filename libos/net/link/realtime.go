package link

import (
	"math"
	"sync"
	"time"
)

// RealTime runs a Wire against the wall clock, for tests whose stacks
// have goroutines of their own (the socket layer with net/http, gVisor's
// netstack). While it runs, the wire's Now is the wall-clock time since
// NewRealTime plus the virtual time the wire had then; frames are due
// Delay (plus jitter) after the wall-clock time they were sent, and one
// goroutine, the pump, calls each end's Receiver with them, and calls the
// timers when they are due. Impairments still come from the seeded
// generator, but which frame meets which draw depends on the goroutines'
// scheduling: a real-time run is not reproducible as a virtual one is.
type RealTime struct {
	w       *Wire
	timers  []Timer
	kick    chan struct{} // a frame was sent
	wake    chan struct{} // a timer may have moved earlier
	done    chan struct{}
	stopped chan struct{}
	once    sync.Once
}

// NewRealTime starts the pump for w, driving timers too (see Timer; each
// is called once at the start, after every delivered frame, and at its
// next time). Do not call w.Step or w.RunUntil until Close.
func NewRealTime(w *Wire, timers ...Timer) *RealTime {
	rt := &RealTime{
		w:       w,
		timers:  timers,
		kick:    make(chan struct{}, 1),
		wake:    make(chan struct{}, 1),
		done:    make(chan struct{}),
		stopped: make(chan struct{}),
	}
	w.mu.Lock()
	base, start := w.now, time.Now()
	w.clock = func() time.Duration { return base + time.Since(start) }
	w.kick = func() { signal(rt.kick) }
	w.mu.Unlock()
	go rt.pump()
	return rt
}

// Wake makes the pump call every timer again at once: for a driver whose
// timer has moved earlier than the time it last returned (the socket
// layer's SetWake).
func (rt *RealTime) Wake() { signal(rt.wake) }

// Now returns the wire's (wall-clock) time.
func (rt *RealTime) Now() time.Duration { return rt.w.Now() }

// Close stops the pump and waits for it: frames in flight stay in flight,
// and the wire goes back to virtual time, its clock where the wall clock
// left it. Close may be called more than once.
func (rt *RealTime) Close() {
	rt.once.Do(func() {
		close(rt.done)
		<-rt.stopped
		w := rt.w
		w.mu.Lock()
		w.now = max(w.now, w.clock())
		w.clock, w.kick = nil, nil
		w.mu.Unlock()
	})
}

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

func (rt *RealTime) pump() {
	defer close(rt.stopped)
	w := rt.w
	next := make([]time.Duration, len(rt.timers))
	armed := make([]bool, len(rt.timers))
	call := func(i int, now time.Duration) {
		n, ok := rt.timers[i](now)
		next[i], armed[i] = max(n, now+1), ok
	}
	for i := range rt.timers {
		call(i, w.Now())
	}
	sleep := time.NewTimer(time.Hour)
	defer sleep.Stop()
	for {
		select {
		case <-rt.done:
			return
		default:
		}
		w.mu.Lock()
		now := w.time()
		f := w.pop(now)
		if f != nil {
			w.deliver(f, now)
		}
		due, ok := time.Duration(math.MaxInt64), false
		if len(w.queue) > 0 {
			due, ok = w.queue[0].due, true
		}
		w.mu.Unlock()
		for i := range rt.timers {
			if f != nil || (armed[i] && next[i] <= now) {
				call(i, now)
			}
		}
		if f != nil {
			continue
		}
		for i := range rt.timers {
			if armed[i] && next[i] < due {
				due, ok = next[i], true
			}
		}
		d := time.Hour
		if ok {
			d = max(due-now, 0)
		}
		if d == 0 {
			continue
		}
		sleep.Reset(d)
		select {
		case <-rt.done:
			return
		case <-rt.kick:
		case <-rt.wake:
			now := w.Now()
			for i := range rt.timers {
				call(i, now)
			}
		case <-sleep.C:
		}
	}
}
