package vector

import (
	"encoding/binary"
	"net/netip"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"
)

// produce writes datagram n (payload p from src) as the handler does: the
// slot, then the producer index.
func produce(mem []byte, slots int, n uint32, src netip.AddrPort, p []byte) {
	at := HeaderSize + int(n%uint32(slots))*SlotSize
	s := mem[at : at+SlotSize]
	binary.LittleEndian.PutUint16(s[SlotOffLen:], uint16(len(p)))
	binary.BigEndian.PutUint16(s[SlotOffPort:], src.Port())
	a := src.Addr().As4()
	copy(s[SlotOffAddr:], a[:])
	copy(s[SlotOffPayload:], p)
	binary.LittleEndian.PutUint32(mem[OffProd:], n+1)
}

func cons(mem []byte) uint32 { return binary.LittleEndian.Uint32(mem[OffCons:]) }

func TestNew(t *testing.T) {
	mem := make([]byte, Size(MaxSlots)+8)
	for _, tc := range []struct {
		name  string
		mem   []byte
		slots int
		ok    bool
	}{
		{"one slot", mem[:Size(1)], 1, true},
		{"largest", mem[:Size(MaxSlots)], MaxSlots, true},
		{"larger buffer", mem, 4, true},
		{"zero slots", mem, 0, false},
		{"negative", mem, -4, false},
		{"not a power of two", mem, 3, false},
		{"too many", make([]byte, Size(2*MaxSlots)), 2 * MaxSlots, false},
		{"short buffer", mem[:Size(4)-1], 4, false},
		{"empty buffer", nil, 1, false},
		{"misaligned", mem[4 : 4+Size(2)], 2, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for i := range tc.mem {
				tc.mem[i] = 0xee
			}
			r, err := New(tc.mem, tc.slots)
			if !tc.ok {
				require.Error(t, err)
				require.Contains(t, err.Error(), "vector: ")
				return
			}
			require.NoError(t, err)
			require.Equal(t, Size(tc.slots), len(r.Bytes()))
			require.Equal(t, tc.slots, r.Slots())
			le := binary.LittleEndian
			h := tc.mem[:HeaderSize]
			require.Equal(t, uint32(0), le.Uint32(h[OffProd:]))
			require.Equal(t, uint32(0), le.Uint32(h[OffCons:]))
			require.Equal(t, uint32(tc.slots), le.Uint32(h[OffSlots:]))
			require.Equal(t, uint32(SlotSize), le.Uint32(h[OffSize:]))
			require.Equal(t, make([]byte, HeaderSize-OffFull), h[OffFull:], "the rest of the header is zero")
			require.Zero(t, r.Pending())
		})
	}
	require.LessOrEqual(t, SlotHeader+MaxPayload, SlotSize)
	require.LessOrEqual(t, Size(MaxSlots), 65535, "within a bytecode region")
}

// TestRing: datagrams are read in order with their sources, past the
// slot count and the 32-bit index wrap; Next before Done repeats; Done
// without a datagram does nothing; the consumer index is published.
func TestRing(t *testing.T) {
	const slots = 4
	mem := make([]byte, Size(slots))
	r, err := New(mem, slots)
	require.NoError(t, err)
	src := func(i uint32) netip.AddrPort {
		return netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}), uint16(i*7))
	}
	payload := func(i uint32) []byte { return []byte{byte(i), byte(i >> 8), 0xab}[:i%4] }
	r.Done() // nothing outstanding
	require.Zero(t, cons(mem))
	var n uint32
	for round := 0; round < 7; round++ {
		k := uint32(round%slots + 1)
		for i := uint32(0); i < k; i++ {
			produce(mem, slots, n+i, src(n+i), payload(n+i))
		}
		require.Equal(t, int(k), r.Pending())
		for i := uint32(0); i < k; i++ {
			p, from, ok := r.Next()
			require.True(t, ok)
			p2, _, _ := r.Next()
			require.Equal(t, p, p2, "Next before Done repeats")
			require.Equal(t, payload(n+i), p)
			require.Equal(t, src(n+i), from)
			r.Done()
			require.Equal(t, n+i+1, cons(mem))
		}
		_, _, ok := r.Next()
		require.False(t, ok)
		r.Done()
		n += k
		require.Equal(t, n, cons(mem))
	}
	require.Zero(t, r.Bad())
	require.Zero(t, r.Resyncs())

	// Across the wrap of the 32-bit indices.
	r.cons = 0xfffffffe
	binary.LittleEndian.PutUint32(mem[OffProd:], r.cons)
	for i := uint32(0); i < 3; i++ {
		produce(mem, slots, 0xfffffffe+i, src(i), payload(3))
	}
	for i := uint32(0); i < 3; i++ {
		p, from, ok := r.Next()
		require.True(t, ok)
		require.Equal(t, payload(3), p)
		require.Equal(t, src(i), from)
		r.Done()
	}
	require.Equal(t, uint32(1), cons(mem))
}

// TestRingHostile: the reader bounds what the buffer says: a producer
// index more than a ring ahead (or behind) resynchronises, a slot length
// over MaxPayload is skipped, and payloads never leave their slot.
func TestRingHostile(t *testing.T) {
	const slots = 2
	mem := make([]byte, Size(slots))
	r, err := New(mem, slots)
	require.NoError(t, err)
	le := binary.LittleEndian

	// Prod far ahead: a ring's worth is pending, the oldest dropped.
	le.PutUint32(mem[OffProd:], 1000)
	require.Equal(t, slots, r.Pending())
	require.Equal(t, uint64(1), r.Resyncs())
	require.Equal(t, uint32(1000-slots), cons(mem))
	for range slots {
		_, _, ok := r.Next()
		require.True(t, ok)
		r.Done()
	}
	_, _, ok := r.Next()
	require.False(t, ok)

	// Prod behind the consumer reads as far ahead, the same way.
	le.PutUint32(mem[OffProd:], 5)
	require.Equal(t, slots, r.Pending())
	require.Equal(t, uint64(2), r.Resyncs())

	// A slot whose length is too long is skipped and consumed.
	r, err = New(mem, slots)
	require.NoError(t, err)
	produce(mem, slots, 0, netip.MustParseAddrPort("1.2.3.4:5"), []byte("x"))
	le.PutUint16(mem[HeaderSize+SlotOffLen:], MaxPayload+1)
	produce(mem, slots, 1, netip.MustParseAddrPort("1.2.3.4:6"), []byte("good"))
	p, from, ok := r.Next()
	require.True(t, ok)
	require.Equal(t, []byte("good"), p)
	require.Equal(t, uint16(6), from.Port())
	require.Equal(t, uint64(1), r.Bad())
	require.Equal(t, len(p), cap(p), "the payload's capacity is its length")
	r.Done()

	// The largest length stays inside its slot, and its capacity too.
	produce(mem, slots, 2, netip.MustParseAddrPort("0.0.0.0:0"), make([]byte, MaxPayload))
	p, _, ok = r.Next()
	require.True(t, ok)
	require.Len(t, p, MaxPayload)
	require.Equal(t, MaxPayload, cap(p), "appending cannot reach the next slot")
	start := int(uintptr(unsafe.Pointer(unsafe.SliceData(p))) - uintptr(unsafe.Pointer(&mem[0])))
	require.Equal(t, HeaderSize+0*SlotSize+SlotOffPayload, start, "slot 2 %% 2 = 0")
}

// TestRingNoAllocs: reading does not allocate.
func TestRingNoAllocs(t *testing.T) {
	mem := make([]byte, Size(4))
	r, err := New(mem, 4)
	require.NoError(t, err)
	var n uint32
	allocs := testing.AllocsPerRun(100, func() {
		produce(mem, 4, n, netip.MustParseAddrPort("10.0.0.1:9"), []byte("abc"))
		n++
		if _, _, ok := r.Next(); !ok {
			t.Fatal("no datagram")
		}
		r.Done()
	})
	require.Zero(t, allocs)
}

// FuzzRing: whatever the buffer holds and however the producer index
// moves, the reader never panics, never reports more than a ring pending,
// and returns payloads within their slots.
func FuzzRing(f *testing.F) {
	f.Add([]byte{}, []byte{1, 2, 3})
	f.Add(make([]byte, 64), []byte{0xff, 0xff, 0xff, 0xff, 4})
	f.Add([]byte{0xff, 0x05, 0x10, 0, 1, 2, 3, 4}, []byte{7, 0, 0, 0x80, 200, 9})
	const slots = 4
	mem := make([]byte, Size(slots))
	f.Fuzz(func(t *testing.T, fill, ops []byte) {
		r, err := New(mem, slots)
		require.NoError(t, err)
		// Fill the slots with the fuzz bytes, repeated.
		if len(fill) > 0 {
			for i := HeaderSize; i < len(mem); i++ {
				mem[i] = fill[i%len(fill)]
			}
		}
		for i, op := range ops {
			if i > 256 {
				break
			}
			switch op % 4 {
			case 0:
				binary.LittleEndian.PutUint32(mem[OffProd:], uint32(op)<<24|uint32(i))
			case 1:
				binary.LittleEndian.PutUint32(mem[OffProd:], binary.LittleEndian.Uint32(mem[OffProd:])+uint32(op>>2))
			case 2:
				r.Done()
			case 3:
				p, _, ok := r.Next()
				if ok {
					require.LessOrEqual(t, len(p), MaxPayload)
					require.LessOrEqual(t, cap(p), MaxPayload)
				}
			}
			require.LessOrEqual(t, r.Pending(), slots)
		}
	})
}
