package ipc

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"
)

// newPage returns a zeroed, 8-byte-aligned page.
func newPage() []byte {
	w := make([]uint64, PageSize/8)
	return unsafe.Slice((*byte)(unsafe.Pointer(&w[0])), PageSize)
}

func TestNewRingRefusals(t *testing.T) {
	p := newPage()
	two := append(newPage(), newPage()...)
	for _, tc := range []struct {
		name string
		b    []byte
	}{
		{"short", p[:PageSize-1]},
		{"misaligned", two[1 : 1+PageSize]},
		{"empty", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewRing(tc.b)
			require.ErrorIs(t, err, ErrPage)
		})
	}
	_, err := NewWord(p[1:], nil)
	require.Error(t, err)
}

// Writes and reads of every size across the wrap point come out in
// order, and the ring never takes more than it holds.
func TestRingOrder(t *testing.T) {
	for _, tc := range []struct {
		name       string
		wmax, rmax int
	}{
		{"bytes", 1, 1},
		{"small writes, big reads", 7, 4000},
		{"big writes, small reads", 3000, 13},
		{"ring-sized", RingSize, RingSize},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, uint64(tc.wmax)))
			page := newPage()
			w, err := NewRing(page)
			require.NoError(t, err)
			r, err := NewRing(page) // the other side's view of the same page
			require.NoError(t, err)
			src := make([]byte, 50_000)
			for i := range src {
				src[i] = byte(rng.Uint32())
			}
			var got []byte
			buf := make([]byte, tc.rmax)
			sent := 0
			for len(got) < len(src) {
				if sent < len(src) {
					n := w.Write(src[sent:min(len(src), sent+1+rng.IntN(tc.wmax))])
					sent += n
					require.LessOrEqual(t, w.Len(), RingSize)
				}
				n := r.Read(buf[:1+rng.IntN(tc.rmax)])
				got = append(got, buf[:n]...)
			}
			require.True(t, bytes.Equal(src, got))
			require.Zero(t, r.Len())
		})
	}
}

// A full ring takes nothing more; an empty one gives nothing.
func TestRingFullEmpty(t *testing.T) {
	r, _ := NewRing(newPage())
	require.Equal(t, 0, r.Read(make([]byte, 10)))
	_, ok := r.GetWord()
	require.False(t, ok)
	require.Equal(t, RingSize, r.Write(make([]byte, RingSize+100)))
	require.Equal(t, 0, r.Write([]byte{1}))
	require.False(t, r.PutWord(1))
}

// Words (pipe') go through in order, across the wrap point, and fill the
// ring exactly.
func TestRingWords(t *testing.T) {
	r, _ := NewRing(newPage())
	next, want := uint64(0), uint64(0)
	for round := 0; round < 5; round++ {
		for r.PutWord(next) {
			next++
		}
		require.Equal(t, RingSize, r.Len())
		for {
			v, ok := r.GetWord()
			if !ok {
				break
			}
			require.Equal(t, want, v)
			want++
		}
	}
	require.Equal(t, next, want)
	require.Equal(t, uint64(5*RingSize/8), next)
}

// Two sides of a pipe, each the other's Wait: a byte stream and words
// between them, in one goroutine, as two environments yielding to each
// other would run.
func TestPipeBetweenTwoSides(t *testing.T) {
	ab, ba := newPage(), newPage()
	r1, _ := NewRing(ab)
	r2, _ := NewRing(ba)
	// The server echoes each 8-byte message +1; it runs when the client
	// waits.
	srvIn, srvOut := Pipe{Ring: r1}, Pipe{Ring: r2}
	serve := func() {
		var m [8]byte
		for srvIn.Len() >= 8 && RingSize-srvOut.Len() >= 8 {
			srvIn.Read(m[:])
			binary.LittleEndian.PutUint64(m[:], binary.LittleEndian.Uint64(m[:])+1)
			srvOut.Write(m[:])
		}
	}
	out, in := Pipe{Ring: r1, Wait: serve}, Pipe{Ring: r2, Wait: serve}
	var m [8]byte
	for v := uint64(0); v < 1000; v++ {
		binary.LittleEndian.PutUint64(m[:], v)
		out.WriteAll(m[:])
		in.ReadFull(m[:])
		require.Equal(t, v+1, binary.LittleEndian.Uint64(m[:]))
	}
	// A write bigger than the ring waits for the reader.
	big := bytes.Repeat([]byte("0123456789abcdef"), RingSize/8)
	var got []byte
	drain := func() {
		b := make([]byte, 100)
		got = append(got, b[:r1.Read(b)]...)
	}
	Pipe{Ring: r1, Wait: drain}.WriteAll(big)
	for r1.Len() > 0 {
		drain()
	}
	require.Equal(t, big, got)
	// Words.
	wsrv := func() {
		if v, ok := r1.GetWord(); ok {
			r2.PutWord(v * 2)
		}
	}
	wout, win := Pipe{Ring: r1, Wait: wsrv}, Pipe{Ring: r2, Wait: wsrv}
	for v := uint64(1); v < 1000; v++ {
		wout.Send(v)
		require.Equal(t, 2*v, win.Receive())
	}
}

// A shared word: AwaitNot waits (runs Wait) until the other side stores.
func TestWordPingPong(t *testing.T) {
	p := newPage()
	var a, b Word
	waits := 0
	a, _ = NewWord(p[0:], func() { waits++; b.Store(a.Load() + 1) })
	b, _ = NewWord(p[8:], nil)
	last := uint64(0)
	for v := uint64(1); v < 100; v++ {
		a.Store(2 * v)
		got := b.AwaitNotFrom(a, last)
		require.Equal(t, 2*v+1, got)
		last = got
	}
	require.Equal(t, 99, waits)
}

// AwaitNotFrom is AwaitNot on b with a's Wait.
func (b Word) AwaitNotFrom(a Word, old uint64) uint64 {
	b.Wait = a.Wait
	return b.AwaitNot(old)
}

// Counts the other side corrupted never make a ring index outside its
// page or panic: every operation stays bounded.
func FuzzRing(f *testing.F) {
	f.Add(uint64(0), uint64(0), []byte{1, 2, 3})
	f.Add(uint64(1<<63), uint64(5), []byte{0xff})
	f.Add(uint64(7), uint64(9), bytes.Repeat([]byte{9}, 5000))
	f.Fuzz(func(t *testing.T, written, read uint64, ops []byte) {
		page := newPage()
		binary.LittleEndian.PutUint64(page[offWritten:], written)
		binary.LittleEndian.PutUint64(page[offRead:], read)
		r, err := NewRing(page)
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, RingSize+10)
		for i, op := range ops {
			n := int(op) * 17 % len(buf)
			switch i % 4 {
			case 0:
				if r.Write(buf[:n]) > n {
					t.Fatal("wrote more than given")
				}
			case 1:
				if r.Read(buf[:n]) > n {
					t.Fatal("read more than room")
				}
			case 2:
				r.PutWord(uint64(op))
			case 3:
				r.GetWord()
			}
			if r.Len() > RingSize {
				t.Fatal("holds more than its size")
			}
		}
	})
}
