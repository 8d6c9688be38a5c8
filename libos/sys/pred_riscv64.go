package sys

import (
	"unsafe"

	"github.com/exo-os/exo/kernel/abi"
)

// PredWait blocks until the wakeup predicate prog (encoded instructions,
// 8 bytes each) holds over window, or the time counter reaches deadline
// (0: none) (abi.SysPredWait). It reports whether the predicate held
// (false: the deadline passed). ErrAgain means a protected control
// transfer interrupted the wait; call again.
func PredWait(prog, window []byte, deadline uint64) (bool, error) {
	if len(prog) == 0 || len(window) == 0 {
		return false, ErrInval
	}
	v, e := Syscall(abi.SysPredWait, uint64(uintptr(unsafe.Pointer(&prog[0]))), uint64(len(prog)/8),
		uint64(uintptr(unsafe.Pointer(&window[0]))), uint64(len(window)), deadline, 0)
	return v == 1, errno(e)
}

// PredStats returns the kernel's counters of this environment's wakeup
// predicates (abi.SysPredStats).
func PredStats() (abi.PredStats, error) {
	var s abi.PredStats
	_, e := Syscall(abi.SysPredStats, ptr(&s), 0, 0, 0, 0, 0)
	return s, errno(e)
}
