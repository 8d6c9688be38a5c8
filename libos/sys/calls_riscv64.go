package sys

import (
	"unsafe"

	"github.com/exo-os/exo/kernel/abi"
)

// Syscall makes system call n with arguments a0..a5 and returns a0 and a1
// as the kernel left them.
func Syscall(n, a0, a1, a2, a3, a4, a5 uint64) (r0, r1 uint64)

// Null makes the null system call: the cost of a round trip through the
// kernel's full trap path.
func Null()

// Floor makes the floor call, answered by the kernel's trap entry in
// assembly: the cost of the hardware round trip alone.
func Floor()

// Nop is an empty assembly procedure, the baseline Null and Floor are
// compared with.
func Nop()

// Time returns the time counter (the time CSR), in ticks of the timebase.
func Time() uint64

// Cycles returns the cycle counter.
func Cycles() uint64

// Write writes p to the console, in calls of at most abi.MaxWrite bytes.
func Write(p []byte) (int, error) {
	done := 0
	for done < len(p) {
		chunk := min(len(p)-done, abi.MaxWrite)
		n, e := Syscall(abi.SysWrite, uint64(uintptr(unsafe.Pointer(&p[done]))), uint64(chunk), 0, 0, 0, 0)
		if e != abi.OK {
			return done, errno(e)
		}
		done += int(n)
	}
	return done, nil
}

// Yield gives up the rest of the time slot.
func Yield() { Syscall(abi.SysYield, 0, 0, 0, 0, 0, 0) }

// Exit ends the environment with status.
func Exit(status uint32) {
	for {
		Syscall(abi.SysExit, uint64(status), 0, 0, 0, 0, 0)
	}
}

// SleepUntil blocks until the time counter reaches ticks.
func SleepUntil(ticks uint64) { Syscall(abi.SysSleep, ticks, 0, 0, 0, 0, 0) }

// Random fills p with bytes from the machine's entropy source.
func Random(p []byte) error {
	for len(p) > 0 {
		chunk := min(len(p), abi.MaxRandom)
		if _, e := Syscall(abi.SysRandom, uint64(uintptr(unsafe.Pointer(&p[0]))), uint64(chunk), 0, 0, 0, 0); e != abi.OK {
			return errno(e)
		}
		p = p[chunk:]
	}
	return nil
}
