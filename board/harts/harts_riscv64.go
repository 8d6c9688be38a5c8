//go:build tamago && riscv64

package harts

import (
	"fmt"
	"sync/atomic"

	"github.com/exo-os/exo/board/mmio"
)

// The entry code's state (entry_riscv64.s). Everything it reads before
// writing has a non-zero initial value, which puts it in the image's
// initialised data.
var (
	lottery   uint64 = 1
	bootHart  uint64 = ^uint64(0)
	clint     uint64 = DefaultCLINT
	state            = [MaxHarts]uint64{uint64(Absent), uint64(Absent), uint64(Absent), uint64(Absent), uint64(Absent), uint64(Absent), uint64(Absent), uint64(Absent)}
	mailbox          = [MaxHarts]uint64{stay, stay, stay, stay, stay, stay, stay, stay}
	wakes     [MaxHarts]uint64
	dtbStatus uint64 = dtbNotRunYet
	dtbAddr   uint64
	dtbSize   uint64
	dtb       [MaxDeviceTree]byte
)

// Defined in entry_riscv64.s.
func parkEntry()
func parkLoop()
func parkForever()
func probe()
func probeAddr() uintptr

// BootHart returns the id of the hart that won the draw and runs the
// kernel, or -1 if the entry code did not run.
func BootHart() int { return int(int64(atomic.LoadUint64(&bootHart))) }

// StateOf returns what hart h is doing.
func StateOf(h int) State {
	if h < 0 || h >= MaxHarts {
		return Absent
	}
	return State(atomic.LoadUint64(&state[h]))
}

// Wakes returns how many times hart h ran the test probe (ProbeEntry).
func Wakes(h int) uint64 {
	if h < 0 || h >= MaxHarts {
		return 0
	}
	return atomic.LoadUint64(&wakes[h])
}

// DeviceTree returns the copy of the device tree the boot loader passed,
// or why there is none.
func DeviceTree() ([]byte, error) {
	status := atomic.LoadUint64(&dtbStatus)
	if status != dtbCopied {
		return nil, &DeviceTreeError{Addr: dtbAddr, Size: dtbSize, Reason: dtbReason(status)}
	}
	return dtb[:dtbSize], nil
}

// ProbeEntry returns the address of a Release target that only counts the
// wake-up (Wakes) and parks the hart again: the tests use it to show that
// a parked hart can be started.
func ProbeEntry() uintptr { return probeAddr() }

// Release sends parked hart h to pc, which it enters in Machine mode with
// a0 = h, no stack, interrupts masked and mtvec at the park loop. pc must
// be integer-only code unless the hart has an FPU.
func Release(h int, pc uintptr) error {
	switch {
	case h < 0 || h >= MaxHarts:
		return fmt.Errorf("harts: hart %d out of range", h)
	case pc%2 != 0:
		return fmt.Errorf("harts: entry %#x is not an instruction address", pc)
	case StateOf(h) != Parked:
		return fmt.Errorf("harts: hart %d is %v, not parked", h, StateOf(h))
	}
	atomic.StoreUint64(&mailbox[h], uint64(pc))
	mmio.Direct{}.Write32(uintptr(clint)+4*uintptr(h), 1)
	return nil
}
