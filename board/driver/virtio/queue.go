package virtio

import (
	"encoding/binary"
	"fmt"
	"sync/atomic"
	"unsafe"
)

// Descriptor flags (§2.7.5).
const (
	DescNext  = 1 // the buffer continues in the descriptor in Next
	DescWrite = 2 // the device writes this buffer (else it reads it)
)

// availNoInterrupt (VIRTQ_AVAIL_F_NO_INTERRUPT, §2.7.6) in the available
// ring's flags asks the device not to interrupt when it uses a buffer of
// this queue. It is a hint: the device may interrupt anyway (§2.7.7).
const availNoInterrupt = 1

// Queue is a split virtqueue in driver memory: the descriptor table, the
// available ring (driver to device) and the used ring (device to driver),
// laid out one after another in a buffer the device reaches at a known
// physical address.
type Queue struct {
	mem                     []byte
	size                    uint16
	descPA, availPA, usedPA uint64
	availOff, usedOff       int
	nextAvail, lastUsed     uint16
	availFlags              uint16
}

// QueueBytes returns the memory a queue of size entries needs.
func QueueBytes(size int) int {
	return align(align(16*size, 2)+6+2*size, 4) + 6 + 8*size
}

func align(n, a int) int { return (n + a - 1) &^ (a - 1) }

// NewQueue lays out a queue of size entries (a power of two, at most
// 32768) in mem, which the device sees at physical address pa (16-byte
// aligned).
func NewQueue(mem []byte, pa uint64, size int) (*Queue, error) {
	if size <= 0 || size > 32768 || size&(size-1) != 0 {
		return nil, fmt.Errorf("virtio: queue size %d is not a power of two up to 32768", size)
	}
	if pa%16 != 0 || uintptr(unsafe.Pointer(&mem[0]))%16 != 0 {
		return nil, fmt.Errorf("virtio: queue memory at %#x is not 16-byte aligned", pa)
	}
	if len(mem) < QueueBytes(size) {
		return nil, fmt.Errorf("virtio: queue of %d entries needs %d bytes, got %d", size, QueueBytes(size), len(mem))
	}
	q := &Queue{mem: mem[:QueueBytes(size)], size: uint16(size)}
	clear(q.mem)
	q.availOff = align(16*size, 2)
	q.usedOff = align(q.availOff+6+2*size, 4)
	q.descPA, q.availPA, q.usedPA = pa, pa+uint64(q.availOff), pa+uint64(q.usedOff)
	return q, nil
}

// Size returns the number of entries.
func (q *Queue) Size() int { return int(q.size) }

// SetDesc fills descriptor i: a buffer of n bytes at physical address pa.
func (q *Queue) SetDesc(i int, pa uint64, n uint32, flags, next uint16) {
	d := q.mem[16*i : 16*i+16]
	binary.LittleEndian.PutUint64(d[0:], pa)
	binary.LittleEndian.PutUint32(d[8:], n)
	binary.LittleEndian.PutUint16(d[12:], flags)
	binary.LittleEndian.PutUint16(d[14:], next)
}

// word returns the 32-bit word at off, for atomic access. The rings'
// (flags, idx) headers are one aligned word each, so the index is published
// with a single atomic store, ordered after the ring entry it covers.
func (q *Queue) word(off int) *uint32 { return (*uint32)(unsafe.Pointer(&q.mem[off])) }

// Offer makes the chain starting at descriptor head available to the
// device. The caller then calls Device.Notify.
//
// The index is published with one atomic store (on riscv64 an
// amoswap.w.aqrl), which orders the descriptor and ring entry written
// before it ahead of it: the barrier §2.7.13.3.1 requires before the idx
// update. Device.Notify's register store is itself preceded by a full
// fence (mmio.Direct's fence iorw,iorw), so the device sees the index
// before the notification (§2.7.13.4).
func (q *Queue) Offer(head uint16) {
	slot := q.availOff + 4 + 2*int(q.nextAvail%q.size)
	binary.LittleEndian.PutUint16(q.mem[slot:], head)
	q.nextAvail++ // wraps at 65536, a multiple of size: slots stay in step
	q.publish()
}

// SetNoInterrupt sets or clears VIRTQ_AVAIL_F_NO_INTERRUPT in the
// available ring's flags, for a queue the driver polls.
func (q *Queue) SetNoInterrupt(on bool) {
	q.availFlags = 0
	if on {
		q.availFlags = availNoInterrupt
	}
	q.publish()
}

// publish stores the available ring's (flags, idx) word.
func (q *Queue) publish() {
	atomic.StoreUint32(q.word(q.availOff), uint32(q.nextAvail)<<16|uint32(q.availFlags))
}

// Used returns the next element of the used ring: the id of the chain
// the device has finished with and how many bytes it says it wrote, or
// ok=false if there is none yet. Both come from the device unchecked: the
// caller must check that id names a chain it gave the device, and n
// against that chain's length. The index is read with an atomic load,
// which orders the element's reads after it (§2.7.14).
func (q *Queue) Used() (id uint32, n uint32, ok bool) {
	idx := uint16(atomic.LoadUint32(q.word(q.usedOff)) >> 16)
	if idx == q.lastUsed {
		return 0, 0, false
	}
	e := q.mem[q.usedOff+4+8*int(q.lastUsed%q.size):]
	q.lastUsed++
	return binary.LittleEndian.Uint32(e[0:]), binary.LittleEndian.Uint32(e[4:]), true
}
