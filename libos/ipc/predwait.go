package ipc

import (
	"unsafe"

	"github.com/exo-os/exo/ash"
)

// Wakeup predicates over a ring's page (docs/ABI.md, "Wakeup
// predicates"): instead of yielding while the ring is empty or full, a
// side blocks in the kernel on a predicate over the ring's two counts,
// which the scheduler evaluates when the side's slot comes up. The window
// a predicate reads is the start of the ring's page, up to and including
// the read count (PredWindow bytes); both predicates are constant, so the
// kernel verifies each once and keeps it.

// PredWindow is the size of the window a ring predicate reads: the page
// up to the end of the read count.
const PredWindow = offRead + 8

// ringPred builds "written - read" compared with k: for data, wake when
// it is at least k; for room, wake when it is at most RingSize - k.
func ringPred(data bool, k uint64) []byte {
	b := ash.NewBuilder()
	b.LoadContext(ash.R2, ash.CtxMem)
	b.Load(ash.SizeDW, ash.R0, ash.R2, offWritten)
	b.Load(ash.SizeDW, ash.R3, ash.R2, offRead)
	b.ALUReg(ash.ALUSub, ash.R0, ash.R3)
	if data {
		b.JumpIf(ash.JumpGE, ash.R0, int32(k), "wake")
	} else {
		b.JumpIf(ash.JumpLE, ash.R0, int32(RingSize-k), "wake")
	}
	b.Return(0)
	b.Label("wake")
	b.Return(1)
	insns, err := b.Build()
	if err != nil {
		panic("ipc: ring predicate: " + err.Error()) // a bug in this file
	}
	return ash.Encode(insns)
}

var (
	// dataPred holds when the ring holds a byte, roomPred when it has
	// room for a word.
	dataPred = ringPred(true, 1)
	roomPred = ringPred(false, 8)
)

// DataPredicate returns the encoded wakeup predicate that holds when the
// ring whose page starts the window holds at least one byte (the reader's
// wait). It is shared: do not modify it.
func DataPredicate() []byte { return dataPred }

// RoomPredicate returns the encoded wakeup predicate that holds when the
// ring has room for a word (the writer's wait: at least 8 bytes free). It
// is shared: do not modify it.
func RoomPredicate() []byte { return roomPred }

// Window returns the part of the ring's page its predicates read.
func (r *Ring) Window() []byte {
	return unsafe.Slice((*byte)(unsafe.Pointer(r.written)), PredWindow)
}
