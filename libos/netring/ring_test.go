package netring

import (
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/exo-os/exo/kernel/abi"
)

// produce writes frame into r's memory as the kernel does, unless the
// ring is full by the tail the environment published.
func produce(mem []byte, slots uint32, head *uint32, frame []byte, id uint32) bool {
	le := binary.LittleEndian
	if *head-le.Uint32(mem[4:]) >= slots {
		le.PutUint64(mem[16:], le.Uint64(mem[16:])+1)
		return false
	}
	s := mem[abi.RingHeaderSize+int(*head%slots)*abi.RingSlotSize:]
	le.PutUint32(s[0:], uint32(len(frame)))
	le.PutUint32(s[4:], id)
	copy(s[abi.NetSlotHeader:], frame)
	*head++
	le.PutUint32(mem[0:], *head)
	return true
}

func TestRing(t *testing.T) {
	const slots = 4
	mem := make([]byte, abi.NetRingBytes(slots))
	r, err := New(mem, slots)
	require.NoError(t, err)
	var head uint32
	_, _, ok := r.Next()
	require.False(t, ok)
	// Wrap the 32-bit counters too.
	head = 0xfffffffe
	r.tail = head
	binary.LittleEndian.PutUint32(mem[0:], head)
	binary.LittleEndian.PutUint32(mem[4:], head)
	for round := 0; round < 3; round++ {
		for i := 0; i < slots; i++ {
			require.True(t, produce(mem, slots, &head, []byte{byte(round), byte(i)}, 7))
		}
		require.False(t, produce(mem, slots, &head, []byte{9}, 7), "full")
		require.Equal(t, slots, r.Pending())
		for i := 0; i < slots; i++ {
			f, s, ok := r.Next()
			require.True(t, ok)
			require.Equal(t, []byte{byte(round), byte(i)}, f)
			require.Equal(t, uint32(7), s.Binding)
			r.Done()
		}
		_, _, ok = r.Next()
		require.False(t, ok)
	}
	require.Equal(t, uint64(3), r.Dropped())
	r.Done() // nothing to give back: no effect
	require.Equal(t, 0, r.Pending())
}

func TestRingLies(t *testing.T) {
	mem := make([]byte, abi.NetRingBytes(2))
	r, err := New(mem, 2)
	require.NoError(t, err)
	// A head far ahead reads as a full ring, and a length beyond the slot
	// is cut to the slot.
	binary.LittleEndian.PutUint32(mem[0:], 1000)
	binary.LittleEndian.PutUint32(mem[abi.RingHeaderSize:], 1<<30)
	require.Equal(t, 2, r.Pending())
	f, _, ok := r.Next()
	require.True(t, ok)
	require.Len(t, f, abi.RingSlotSize-abi.NetSlotHeader)
}

func TestNewRefuses(t *testing.T) {
	_, err := New(make([]byte, abi.NetRingBytes(3)), 3)
	require.ErrorContains(t, err, "power of two")
	_, err = New(make([]byte, 100), 2)
	require.ErrorContains(t, err, "want")
}
