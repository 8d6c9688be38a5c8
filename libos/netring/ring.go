// Package netring is the environment's side of its receive ring
// (abi.NetRing): the kernel produces frames into slots of the ring in the
// environment's memory and advances the head; the environment reads them
// in order and advances the tail. The header fields are read and written
// with atomic operations, since the kernel writes them between any two of
// the environment's instructions (it runs on the same hart, at interrupt
// time).
//
// The package is plain Go, tested on the host against a producer that
// writes the ring as the kernel does.
package netring

import (
	"encoding/binary"
	"fmt"
	"sync/atomic"
	"unsafe"

	"github.com/exo-os/exo/kernel/abi"
)

// Ring is a receive ring over memory the kernel writes.
type Ring struct {
	mem   []byte
	slots uint32
	tail  uint32
}

// New returns a ring over mem, abi.NetRingBytes(slots) bytes for a power
// of two slots, 8-byte aligned, before it is registered.
func New(mem []byte, slots int) (*Ring, error) {
	if slots <= 0 || slots > abi.MaxRingSlots || slots&(slots-1) != 0 {
		return nil, fmt.Errorf("netring: %d slots: want a power of two up to %d", slots, abi.MaxRingSlots)
	}
	if uint64(len(mem)) != abi.NetRingBytes(slots) || uintptr(unsafe.Pointer(&mem[0]))%8 != 0 {
		return nil, fmt.Errorf("netring: %d bytes of memory for %d slots, want %d, 8-byte aligned", len(mem), slots, abi.NetRingBytes(slots))
	}
	return &Ring{mem: mem, slots: uint32(slots)}, nil
}

// Bytes returns the ring's memory, to register.
func (r *Ring) Bytes() []byte { return r.mem }

func (r *Ring) word(off int) *uint32 { return (*uint32)(unsafe.Pointer(&r.mem[off])) }

// Pending returns how many frames are waiting (at most the ring's size,
// whatever the header says).
func (r *Ring) Pending() int {
	return int(min(atomic.LoadUint32(r.word(0))-r.tail, r.slots))
}

// Dropped returns how many frames the kernel dropped because the ring was
// full.
func (r *Ring) Dropped() uint64 {
	return atomic.LoadUint64((*uint64)(unsafe.Pointer(&r.mem[16])))
}

// Next returns the oldest waiting frame and the binding that delivered
// it, and ok false if none waits. The frame is the ring's memory: it is
// valid until Done.
func (r *Ring) Next() (frame []byte, s abi.NetSlot, ok bool) {
	if r.Pending() == 0 {
		return nil, s, false
	}
	at := abi.RingHeaderSize + int(r.tail%r.slots)*abi.RingSlotSize
	slot := r.mem[at : at+abi.RingSlotSize]
	le := binary.LittleEndian
	s = abi.NetSlot{Len: le.Uint32(slot[0:]), Binding: le.Uint32(slot[4:]), Time: le.Uint64(slot[8:])}
	n := min(int(s.Len), abi.RingSlotSize-abi.NetSlotHeader)
	return slot[abi.NetSlotHeader : abi.NetSlotHeader+n], s, true
}

// Done gives the oldest frame's slot back to the kernel.
func (r *Ring) Done() {
	if r.Pending() == 0 {
		return
	}
	r.tail++
	atomic.StoreUint32(r.word(4), r.tail)
}
