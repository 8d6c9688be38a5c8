package sys

import (
	"unsafe"

	"github.com/exo-os/exo/caps"
	"github.com/exo-os/exo/kernel/abi"
)

// NetBind binds the guard r names (abi.SysNetBind) and returns the
// binding's handle.
func NetBind(r *abi.NetBind) (uint32, error) {
	v, e := Syscall(abi.SysNetBind, ptr(r), 0, 0, 0, 0, 0)
	return uint32(v), bindErr(v, e)
}

// NetUnbind undoes binding id.
func NetUnbind(id uint32) error {
	_, e := Syscall(abi.SysNetUnbind, uint64(id), 0, 0, 0, 0, 0)
	return errno(e)
}

// NetRing registers ring (abi.NetRingBytes(n) bytes, page aligned, in one
// run of the environment's memory) as its receive ring, on showing c, a
// page capability with the write right over its pages.
func NetRing(ring []byte, c *caps.Cap) error {
	return bindErr(Syscall(abi.SysNetRing, uint64(uintptr(unsafe.Pointer(&ring[0]))), uint64(len(ring)), ptr(c), 0, 0, 0))
}

// NetWait blocks until the receive ring holds a frame or the time counter
// reaches deadline (0: none) and returns how many frames are waiting.
func NetWait(deadline uint64) (int, error) {
	v, e := Syscall(abi.SysNetWait, deadline, 0, 0, 0, 0, 0)
	return int(v), errno(e)
}

// NetSend transmits frame, whose source the environment's bound guards
// must allow.
func NetSend(frame []byte) error {
	if len(frame) == 0 {
		return ErrInval
	}
	_, e := Syscall(abi.SysNetSend, uint64(uintptr(unsafe.Pointer(&frame[0]))), uint64(len(frame)), 0, 0, 0, 0)
	return errno(e)
}

// NetStats reads binding id's counters.
func NetStats(id uint32) (abi.NetStats, error) {
	var s abi.NetStats
	_, e := Syscall(abi.SysNetStats, uint64(id), ptr(&s), 0, 0, 0, 0)
	return s, errno(e)
}
