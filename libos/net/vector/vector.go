// Package vector is the layout of a message buffer used as a ring of UDP
// datagrams, and the environment's side of it: message vectoring, where a
// handler in the kernel (netash.UDPVector) copies each datagram's payload
// straight into a slot of the ring, verifying the UDP checksum during the
// copy, and the environment's socket reads it from there without copying
// it again.
//
// The buffer is a header of HeaderSize bytes and then Slots slots of
// SlotSize bytes, Slots a power of two up to MaxSlots. All numbers are
// little-endian unless said otherwise.
//
//	header
//	   0 Prod  u32   datagrams written (handler-written)
//	   4 Cons  u32   datagrams consumed (env-written)
//	   8 Slots u32   the slot count (env-written by New; informational)
//	  12 Size  u32   SlotSize (env-written by New; informational)
//	  16 Full  u32   datagrams the handler passed to the stack because the
//	                 ring was full (handler-written)
//	  20 ...   zero to HeaderSize
//	slot i at HeaderSize + i*SlotSize, datagram n in slot n % Slots
//	   0 Len   u16   payload length, at most MaxPayload
//	   2 Port  u16   source port, big-endian (as on the wire)
//	   4 Addr  [4]   source IPv4 address, network order
//	   8 ...   zero to SlotHeader
//	  16 the payload, Len bytes
//
// The handler writes a slot, then advances Prod; it writes only when
// Prod-Cons < Slots. The ring is the environment's own memory, which the
// handler writes between any two of its instructions: Prod is read with
// an atomic load and Cons written with an atomic store, and nothing read
// from the buffer is trusted, Ring keeps its own consumer index and slot
// count and bounds every length.
//
// The package is plain Go, tested on the host with the handler run in the
// bytecode interpreter.
package vector

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"sync/atomic"
	"unsafe"
)

// Layout.
const (
	// HeaderSize is the size of the ring's header.
	HeaderSize = 64
	// SlotSize is the size of one slot.
	SlotSize = 2048
	// SlotHeader is the size of a slot's header; the payload follows.
	SlotHeader = 16
	// MaxPayload is the largest payload a slot holds: a 1500-byte IPv4
	// packet without options, less the IP and UDP headers.
	MaxPayload = 1472
	// MaxSlots is the largest ring: Size(MaxSlots) is within a message
	// buffer (abi.MaxMsg) and a bytecode region (ash.MaxPacketLen).
	MaxSlots = 16
)

// Offsets of the header's fields and of a slot's.
const (
	OffProd  = 0
	OffCons  = 4
	OffSlots = 8
	OffSize  = 12
	OffFull  = 16

	SlotOffLen     = 0
	SlotOffPort    = 2
	SlotOffAddr    = 4
	SlotOffPayload = SlotHeader
)

// Size returns the size of a ring of slots slots: the message buffer's
// length to register.
func Size(slots int) int { return HeaderSize + slots*SlotSize }

// Ring is the consumer's side of a ring of datagrams. It is not safe for
// concurrent use.
type Ring struct {
	mem   []byte
	slots uint32
	cons  uint32
	// cur is set while Next's datagram is outstanding (until Done).
	cur bool
	// bad counts slots skipped for a length out of range; resyncs the
	// times Prod was found more than a ring ahead.
	bad, resyncs uint64
}

// New returns a ring of slots slots (a power of two, 1 to MaxSlots) over
// mem, at least Size(slots) bytes and 8-byte aligned, and initialises its
// header: empty, with the slot count and size. Call it before the handler
// is bound; the handler's slot count must be the same.
func New(mem []byte, slots int) (*Ring, error) {
	if slots <= 0 || slots > MaxSlots || slots&(slots-1) != 0 {
		return nil, fmt.Errorf("vector: %d slots: want a power of two from 1 to %d", slots, MaxSlots)
	}
	if len(mem) < Size(slots) || uintptr(unsafe.Pointer(unsafe.SliceData(mem)))%8 != 0 {
		return nil, fmt.Errorf("vector: %d bytes of memory for %d slots: want at least %d, 8-byte aligned", len(mem), slots, Size(slots))
	}
	r := &Ring{mem: mem[:Size(slots)], slots: uint32(slots)}
	clear(r.mem[:HeaderSize])
	le := binary.LittleEndian
	le.PutUint32(r.mem[OffSlots:], uint32(slots))
	le.PutUint32(r.mem[OffSize:], SlotSize)
	return r, nil
}

// Bytes returns the ring's memory, to register as the message buffer.
func (r *Ring) Bytes() []byte { return r.mem }

// Slots returns the ring's slot count.
func (r *Ring) Slots() int { return int(r.slots) }

func (r *Ring) word(off int) *uint32 { return (*uint32)(unsafe.Pointer(&r.mem[off])) }

// pending returns Prod - cons as the handler left it, resynchronising
// when it is more than a ring ahead: the header was overwritten (the
// handler never writes more than a ring ahead of Cons), and the last
// Slots datagrams are the most that can be read.
func (r *Ring) pending() uint32 {
	prod := atomic.LoadUint32(r.word(OffProd))
	n := prod - r.cons
	if n > r.slots {
		r.resyncs++
		r.cons = prod - r.slots
		atomic.StoreUint32(r.word(OffCons), r.cons)
		n = r.slots
	}
	return n
}

// Pending returns how many datagrams are waiting (at most the slot
// count, whatever the header says).
func (r *Ring) Pending() int { return int(r.pending()) }

// Next returns the oldest waiting datagram's payload and source, and ok
// false if none waits. The payload is the ring's memory, valid until
// Done; Next before Done returns the same datagram. Slots whose length is
// out of range are skipped (and consumed, and counted: Bad).
func (r *Ring) Next() (payload []byte, from netip.AddrPort, ok bool) {
	for r.pending() > 0 {
		at := HeaderSize + int(r.cons&(r.slots-1))*SlotSize
		slot := r.mem[at : at+SlotSize : at+SlotSize]
		n := int(binary.LittleEndian.Uint16(slot[SlotOffLen:]))
		if n > MaxPayload {
			r.bad++
			r.advance()
			continue
		}
		port := binary.BigEndian.Uint16(slot[SlotOffPort:])
		addr := netip.AddrFrom4([4]byte(slot[SlotOffAddr : SlotOffAddr+4]))
		r.cur = true
		return slot[SlotOffPayload : SlotOffPayload+n : SlotOffPayload+n], netip.AddrPortFrom(addr, port), true
	}
	r.cur = false
	return nil, netip.AddrPort{}, false
}

// Done gives the datagram Next returned back to the handler; without one
// outstanding it does nothing.
func (r *Ring) Done() {
	if !r.cur {
		return
	}
	r.cur = false
	r.advance()
}

func (r *Ring) advance() {
	r.cons++
	atomic.StoreUint32(r.word(OffCons), r.cons)
}

// Full returns how many datagrams the handler passed to the stack because
// the ring was full, as the handler counted them.
func (r *Ring) Full() uint32 { return atomic.LoadUint32(r.word(OffFull)) }

// Bad returns how many slots Next skipped for a length out of range: zero
// unless something other than the handler wrote the buffer.
func (r *Ring) Bad() uint64 { return r.bad }

// Resyncs returns how often the producer index was found more than a ring
// ahead of the consumer's (and the consumer moved up to a ring behind
// it): zero unless something other than the handler wrote the header.
func (r *Ring) Resyncs() uint64 { return r.resyncs }
