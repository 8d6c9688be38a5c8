package link

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/fnv"
	"math"
	"math/bits"
	"sync"
	"testing"
	"time"
)

// frame returns a test frame of size bytes whose payload starts with the
// sequence number seq (after the Ethernet header).
func frame(seq uint32, size int) []byte {
	b := make([]byte, size)
	copy(b, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 1, 0x88, 0xb5})
	binary.BigEndian.PutUint32(b[EthernetHeader:], seq)
	for i := EthernetHeader + 4; i < size; i++ {
		b[i] = byte(i * 7)
	}
	return b
}

func seqOf(b []byte) uint32 { return binary.BigEndian.Uint32(b[EthernetHeader:]) }

// arrival is one frame as a receiver saw it.
type arrival struct {
	at    time.Duration
	frame []byte
}

// recorder is a Receiver keeping copies of what it gets.
type recorder struct {
	mu  sync.Mutex
	got []arrival
}

func (r *recorder) Input(now time.Duration, frame []byte) {
	r.mu.Lock()
	r.got = append(r.got, arrival{now, bytes.Clone(frame)})
	r.mu.Unlock()
}

func (r *recorder) len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.got)
}

func TestWireDelivery(t *testing.T) {
	tests := []struct {
		name  string
		delay time.Duration
	}{
		{"no delay", 0},
		{"1ms", time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := NewWire(Impairment{Delay: tt.delay})
			var r0, r1 recorder
			w.Attach(0, &r0)
			w.Attach(1, &r1)
			for i := range 10 {
				if err := w.End(0).Transmit(frame(uint32(i), 60+i)); err != nil {
					t.Fatal(err)
				}
			}
			if err := w.End(1).Transmit(frame(100, 60)); err != nil {
				t.Fatal(err)
			}
			n := 0
			for w.Step() {
				n++
			}
			if n != 11 {
				t.Fatalf("Step delivered %d frames, want 11", n)
			}
			if len(r1.got) != 10 || len(r0.got) != 1 {
				t.Fatalf("end 1 got %d, end 0 got %d frames; want 10 and 1", len(r1.got), len(r0.got))
			}
			for i, a := range r1.got {
				if !bytes.Equal(a.frame, frame(uint32(i), 60+i)) {
					t.Errorf("frame %d arrived as %x", i, a.frame)
				}
				if a.at != tt.delay {
					t.Errorf("frame %d arrived at %v, want %v", i, a.at, tt.delay)
				}
			}
			if seqOf(r0.got[0].frame) != 100 {
				t.Errorf("end 0 got frame %d, want 100", seqOf(r0.got[0].frame))
			}
			if w.Now() != tt.delay {
				t.Errorf("Now = %v, want %v", w.Now(), tt.delay)
			}
			st := w.Stats()
			if st.Sent != 11 || st.Delivered != 11 || st.Dropped != 0 {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

func TestWireCopies(t *testing.T) {
	w := NewWire(Impairment{})
	var r recorder
	w.Attach(1, &r)
	b := frame(7, 100)
	want := bytes.Clone(b)
	if err := w.End(0).Transmit(b); err != nil {
		t.Fatal(err)
	}
	for i := range b {
		b[i] = 0xaa
	}
	w.Step()
	if !bytes.Equal(r.got[0].frame, want) {
		t.Fatal("the wire kept the caller's buffer instead of a copy")
	}
}

func TestWireRefuses(t *testing.T) {
	w := NewWire(Impairment{}, WireQueueLimit(2), WireMTU(100))
	tests := []struct {
		name string
		size int
		want error
	}{
		{"short", 13, ErrFrameSize},
		{"longest", 114, nil},
		{"too long", 115, ErrFrameSize},
		{"second", 60, nil},
		{"queue full", 60, ErrQueueFull},
	}
	for _, tt := range tests {
		err := w.End(0).Transmit(make([]byte, tt.size))
		if !errors.Is(err, tt.want) {
			t.Errorf("%s: Transmit(%d bytes) = %v, want %v", tt.name, tt.size, err, tt.want)
		}
	}
	if st := w.Stats(); st.Refused != 3 || st.Sent != 2 {
		t.Errorf("stats %+v, want 3 refused and 2 sent", st)
	}
	if w.End(0).MTU() != 100 {
		t.Errorf("MTU = %d, want 100", w.End(0).MTU())
	}
}

func TestWireMAC(t *testing.T) {
	mac := [6]byte{2, 9, 9, 9, 9, 9}
	w := NewWire(Impairment{}, WireMAC(1, mac))
	if w.End(0).MAC() == w.End(1).MAC() {
		t.Error("the two ends share a MAC")
	}
	if w.End(1).MAC() != mac {
		t.Errorf("end 1 MAC = %x, want %x", w.End(1).MAC(), mac)
	}
	w.End(0).SetMAC(mac)
	if w.End(0).MAC() != mac {
		t.Errorf("SetMAC: end 0 MAC = %x", w.End(0).MAC())
	}
	if w.End(0).MTU() != 1500 {
		t.Errorf("default MTU = %d", w.End(0).MTU())
	}
}

// run sends n frames from end 0, one every 10 µs of virtual time, and
// returns what end 1 received.
func run(t *testing.T, imp Impairment, n int) (*Wire, []arrival) {
	t.Helper()
	w := NewWire(imp)
	var r recorder
	w.Attach(1, &r)
	for i := range n {
		w.RunUntil(time.Duration(i) * 10 * time.Microsecond)
		if err := w.End(0).Transmit(frame(uint32(i), 64)); err != nil {
			t.Fatal(err)
		}
	}
	w.RunUntil(math.MaxInt64)
	if w.Pending() != 0 {
		t.Fatalf("%d frames still pending", w.Pending())
	}
	return w, r.got
}

func TestWireRates(t *testing.T) {
	const n = 20000
	tests := []struct {
		name string
		imp  Impairment
		rate float64
		// count returns the impairment's observed count and its counter.
		count func(got []arrival, st WireStats) (observed, counter uint64)
	}{
		{"drop 10%", Impairment{Drop: 0.1, Seed: 1}, 0.1, func(got []arrival, st WireStats) (uint64, uint64) {
			return uint64(n - len(got)), st.Dropped
		}},
		{"drop 50%", Impairment{Drop: 0.5, Seed: 2}, 0.5, func(got []arrival, st WireStats) (uint64, uint64) {
			return uint64(n - len(got)), st.Dropped
		}},
		{"duplicate 5%", Impairment{Duplicate: 0.05, Seed: 3}, 0.05, func(got []arrival, st WireStats) (uint64, uint64) {
			return uint64(len(got) - n), st.Duplicated
		}},
		{"reorder 10%", Impairment{Reorder: 0.1, Seed: 4}, 0.1, func(got []arrival, st WireStats) (uint64, uint64) {
			late := 0
			for i := 1; i < len(got); i++ {
				if seqOf(got[i].frame) < seqOf(got[i-1].frame) {
					late++
				}
			}
			return uint64(late), st.Reordered
		}},
		{"corrupt 20%", Impairment{Corrupt: 0.2, Seed: 5}, 0.2, func(got []arrival, st WireStats) (uint64, uint64) {
			// Corruption only: the frames arrive in sending order.
			bad := 0
			for i, a := range got {
				if bitDiff(a.frame, frame(uint32(i), 64)) != 0 {
					bad++
				}
			}
			return uint64(bad), st.Corrupted
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, got := run(t, tt.imp, n)
			st := w.Stats()
			observed, counter := tt.count(got, st)
			// Binomial: allow 5 standard deviations.
			mean := tt.rate * n
			tol := 5 * math.Sqrt(n*tt.rate*(1-tt.rate))
			if math.Abs(float64(counter)-mean) > tol {
				t.Errorf("counter %d, want %.0f ± %.0f", counter, mean, tol)
			}
			if observed != counter {
				t.Errorf("observed %d impaired frames, the counter says %d", observed, counter)
			}
			if st.Sent+st.Duplicated != st.Delivered+st.Dropped {
				t.Errorf("stats do not add up: %+v", st)
			}
		})
	}
}

// bitDiff counts the bits that differ between a and b, checking that
// none is in the Ethernet header.
func bitDiff(a, b []byte) int {
	n := 0
	for i := range a {
		d := bits.OnesCount8(a[i] ^ b[i])
		if d > 0 && i < EthernetHeader {
			return -1000
		}
		n += d
	}
	return n
}

func TestWireCorruptOneBit(t *testing.T) {
	_, got := run(t, Impairment{Corrupt: 1, Seed: 9}, 500)
	if len(got) != 500 {
		t.Fatalf("got %d frames, want 500", len(got))
	}
	for i, a := range got {
		if d := bitDiff(a.frame, frame(uint32(i), 64)); d != 1 {
			t.Fatalf("frame %d differs from the original in %d bits (negative: in the header), want 1", i, d)
		}
	}
}

func TestWireReorderPastNext(t *testing.T) {
	w := NewWire(Impairment{Reorder: 1, Delay: time.Millisecond})
	var r recorder
	w.Attach(1, &r)
	for i := range 5 {
		if err := w.End(0).Transmit(frame(uint32(i), 60)); err != nil {
			t.Fatal(err)
		}
	}
	w.RunUntil(math.MaxInt64)
	var order []uint32
	for _, a := range r.got {
		order = append(order, seqOf(a.frame))
	}
	want := []uint32{1, 0, 3, 2, 4}
	if !equal(order, want) {
		t.Fatalf("arrival order %v, want %v", order, want)
	}
	// The last frame had nothing to overtake it: it waits ReorderHold.
	if at := r.got[4].at; at != time.Millisecond+ReorderHold {
		t.Errorf("lone held frame arrived at %v, want %v", at, time.Millisecond+ReorderHold)
	}
	if at := r.got[1].at; at != time.Millisecond {
		t.Errorf("released frame arrived at %v, want %v", at, time.Millisecond)
	}
}

func equal(a, b []uint32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestWireJitterKeepsOrder(t *testing.T) {
	const delay, jitter = 100 * time.Microsecond, 500 * time.Microsecond
	_, got := run(t, Impairment{Delay: delay, Jitter: jitter, Seed: 11}, 2000)
	if len(got) != 2000 {
		t.Fatalf("got %d frames, want 2000", len(got))
	}
	var lo, hi time.Duration = math.MaxInt64, 0
	for i, a := range got {
		if seqOf(a.frame) != uint32(i) {
			t.Fatalf("frame %d arrived in place %d: jitter reordered", seqOf(a.frame), i)
		}
		d := a.at - time.Duration(i)*10*time.Microsecond
		lo, hi = min(lo, d), max(hi, d)
	}
	if lo < delay || hi >= delay+jitter {
		t.Errorf("one-way delays in [%v, %v], want within [%v, %v)", lo, hi, delay, delay+jitter)
	}
	if hi-lo < jitter/4 {
		t.Errorf("delays span only %v of a %v jitter", hi-lo, jitter)
	}
}

// trace is a digest of everything a run delivered, and when.
func trace(got []arrival) uint64 {
	h := fnv.New64a()
	for _, a := range got {
		binary.Write(h, binary.BigEndian, int64(a.at))
		h.Write(a.frame)
	}
	return h.Sum64()
}

func TestWireDeterminism(t *testing.T) {
	imp := Impairment{Drop: 0.1, Duplicate: 0.1, Reorder: 0.1, Corrupt: 0.1,
		Delay: time.Millisecond, Jitter: time.Millisecond, Seed: 42}
	_, a := run(t, imp, 3000)
	_, b := run(t, imp, 3000)
	if trace(a) != trace(b) {
		t.Error("one seed gave two different runs")
	}
	imp.Seed = 43
	_, c := run(t, imp, 3000)
	if trace(a) == trace(c) {
		t.Error("two seeds gave the same run")
	}
}

func TestWireFilter(t *testing.T) {
	w := NewWire(Impairment{})
	var r recorder
	w.Attach(1, &r)
	w.SetFilter(func(from int, f []byte) bool { return seqOf(f)%2 == 0 })
	for i := range 10 {
		w.End(0).Transmit(frame(uint32(i), 60))
	}
	w.RunUntil(math.MaxInt64)
	if len(r.got) != 5 {
		t.Fatalf("got %d frames, want the 5 even ones", len(r.got))
	}
	for _, a := range r.got {
		if seqOf(a.frame)%2 != 0 {
			t.Errorf("filtered frame %d delivered", seqOf(a.frame))
		}
	}
	if st := w.Stats(); st.Dropped != 5 {
		t.Errorf("Dropped = %d, want 5", st.Dropped)
	}
}

// echo is a Receiver that sends every frame back, count times in all.
type echo struct {
	end   *WireEnd
	count int
}

func (e *echo) Input(now time.Duration, f []byte) {
	if e.count > 0 {
		e.count--
		e.end.Transmit(f)
	}
}

func TestRunUntil(t *testing.T) {
	w := NewWire(Impairment{Delay: 3 * time.Millisecond})
	e0, e1 := &echo{end: w.End(0), count: 4}, &echo{end: w.End(1), count: 4}
	w.Attach(0, e0)
	w.Attach(1, e1)
	// A timer every 10 ms, as a stack's would be, recording its calls
	// that were due (calls after a frame are also made, early).
	var ticks []time.Duration
	next := time.Duration(0)
	timer := func(now time.Duration) (time.Duration, bool) {
		if now >= next {
			ticks = append(ticks, now)
			next += 10 * time.Millisecond
		}
		return next, len(ticks) < 4
	}
	w.End(0).Transmit(frame(0, 60))
	w.RunUntil(25*time.Millisecond, timer)
	if w.Now() != 25*time.Millisecond {
		t.Errorf("Now = %v after RunUntil(25ms), want 25ms", w.Now())
	}
	want := []time.Duration{0, 10 * time.Millisecond, 20 * time.Millisecond}
	if len(ticks) != 3 || ticks[1] != want[1] || ticks[2] != want[2] {
		t.Errorf("timer due calls at %v, want %v", ticks, want)
	}
	// Ping-pong: 1 + 4 + 4 frames, 3 ms each; all delivered by 27 ms.
	if st := w.Stats(); st.Delivered != 8 {
		t.Errorf("delivered %d frames by 25ms, want 8", st.Delivered)
	}
	w.RunUntil(math.MaxInt64, timer)
	if st := w.Stats(); st.Delivered != 9 {
		t.Errorf("delivered %d frames, want 9", st.Delivered)
	}
	// The timer disarmed itself after its 4th call, at 30 ms; the clock
	// stays at the last event when nothing is pending.
	if w.Now() != 30*time.Millisecond || len(ticks) != 4 {
		t.Errorf("Now = %v with %d ticks, want 30ms and 4", w.Now(), len(ticks))
	}
}

func TestWireNoAllocs(t *testing.T) {
	w := NewWire(Impairment{Drop: 0.1, Duplicate: 0.1, Reorder: 0.1, Corrupt: 0.1, Jitter: time.Microsecond, Seed: 1})
	w.Attach(1, ReceiverFunc(func(time.Duration, []byte) {}))
	f := frame(1, 1000)
	for range 100 {
		w.End(0).Transmit(f)
	}
	w.RunUntil(math.MaxInt64)
	allocs := testing.AllocsPerRun(1000, func() {
		w.End(0).Transmit(f)
		w.End(0).Transmit(f)
		w.Step()
		w.Step()
	})
	if allocs > 0.05 {
		t.Errorf("%.2f allocations per transmit and delivery, want 0", allocs)
	}
}

func TestRealTime(t *testing.T) {
	w := NewWire(Impairment{Delay: time.Millisecond})
	var r0 recorder
	e1 := &echo{end: w.End(1), count: 100}
	w.Attach(0, &r0)
	w.Attach(1, e1)
	var mu sync.Mutex
	calls := 0
	timer := func(now time.Duration) (time.Duration, bool) {
		mu.Lock()
		defer mu.Unlock()
		calls++
		return now + 5*time.Millisecond, true
	}
	rt := NewRealTime(w, timer)
	defer rt.Close()
	start := rt.Now()
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 10 {
				if err := w.End(0).Transmit(frame(uint32(g*10+i), 60)); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	deadline := time.Now().Add(5 * time.Second)
	for r0.len() < 40 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if n := r0.len(); n != 40 {
		t.Fatalf("echoed %d frames, want 40", n)
	}
	r0.mu.Lock()
	for _, a := range r0.got {
		if a.at-start < 2*time.Millisecond {
			t.Errorf("frame back after %v, before the 2 ms round trip", a.at-start)
		}
	}
	r0.mu.Unlock()
	time.Sleep(20 * time.Millisecond)
	rt.Close()
	mu.Lock()
	if calls < 3 {
		t.Errorf("timer called %d times in ≥20 ms at a 5 ms period", calls)
	}
	mu.Unlock()
	// Back in virtual time: Step works again, and the clock did not jump back.
	now := w.Now()
	w.End(0).Transmit(frame(99, 60))
	if !w.Step() || w.Now() != now+time.Millisecond {
		t.Errorf("after Close: Now = %v, want %v", w.Now(), now+time.Millisecond)
	}
	rt.Close()
}

// FuzzWire drives a wire with a byte program (transmit at either end,
// step, run a while, change filter) under the impairments the first
// bytes choose, and checks that it never panics, never delivers a frame
// of a length that was not sent, and that its counters add up.
func FuzzWire(f *testing.F) {
	f.Add([]byte{10, 20, 30, 40, 5, 0, 1, 2, 3, 0, 0, 4, 1, 2})
	f.Add([]byte{255, 255, 255, 255, 255, 3, 3, 3, 3, 3, 0, 1, 0, 1})
	f.Add([]byte{0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, prog []byte) {
		if len(prog) < 5 {
			return
		}
		p := func(b byte) float64 { return float64(b) / 255 }
		w := NewWire(Impairment{Drop: p(prog[0]), Duplicate: p(prog[1]), Reorder: p(prog[2]),
			Corrupt: p(prog[3]), Delay: time.Duration(prog[4]) * time.Microsecond,
			Jitter: time.Duration(prog[4]%7) * time.Microsecond, Seed: uint64(len(prog))},
			WireQueueLimit(16), WireMTU(200))
		check := ReceiverFunc(func(now time.Duration, fr []byte) {
			if len(fr) < EthernetHeader || len(fr) > 214 {
				t.Fatalf("delivered a %d-byte frame", len(fr))
			}
		})
		w.Attach(0, check)
		w.Attach(1, check)
		buf := make([]byte, 256)
		for i, op := range prog[5:] {
			switch op % 5 {
			case 0, 1:
				w.End(int(op % 2)).Transmit(buf[:int(op)%230])
			case 2:
				w.Step()
			case 3:
				w.RunUntil(w.Now() + time.Duration(op)*time.Microsecond)
			case 4:
				if i%2 == 0 {
					w.SetFilter(func(from int, fr []byte) bool { return from == 0 })
				} else {
					w.SetFilter(nil)
				}
			}
		}
		pending := uint64(w.Pending())
		w.RunUntil(math.MaxInt64)
		st := w.Stats()
		if st.Sent+st.Duplicated != st.Delivered+st.Dropped || w.Pending() != 0 {
			t.Fatalf("counters do not add up (%d were pending): %+v", pending, st)
		}
	})
}
