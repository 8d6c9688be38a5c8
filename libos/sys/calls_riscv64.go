package sys

import (
	"unsafe"

	"github.com/exo-os/exo/caps"
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

// Random fills p with bytes from the machine's entropy source. The kernel
// gives what it has (at least one byte a call, waiting for the device when
// it has none); Random asks until p is full.
func Random(p []byte) error {
	for len(p) > 0 {
		chunk := min(len(p), abi.MaxRandom)
		n, e := Syscall(abi.SysRandom, uint64(uintptr(unsafe.Pointer(&p[0]))), uint64(chunk), 0, 0, 0, 0)
		if e != abi.OK {
			return errno(e)
		}
		p = p[n:]
	}
	return nil
}

func ptr[T any](p *T) uint64 { return uint64(uintptr(unsafe.Pointer(p))) }

// Map maps physical page ppn at va with perm (abi.MapRead, MapWrite,
// MapExec) on showing c, a page capability covering ppn with the rights
// perm needs.
func Map(va, ppn, perm uint64, c *caps.Cap) error {
	return bindErr(Syscall(abi.SysMap, va, ppn, perm, ptr(c), 0, 0))
}

// Unmap removes the mapping at va and returns the page number it mapped.
func Unmap(va uint64) (uint64, error) {
	v, e := Syscall(abi.SysUnmap, va, 0, 0, 0, 0, 0)
	return v, errno(e)
}

// Spawn creates an environment as r asks, writes its env capability to
// child, and returns its id.
func Spawn(r *abi.SpawnRequest, child *caps.Cap) (uint32, error) {
	v, e := Syscall(abi.SysSpawn, ptr(r), ptr(child), 0, 0, 0, 0)
	return uint32(v), bindErr(v, e)
}

// EnvControl applies op (abi.EnvStop, EnvResume, EnvDestroy, EnvStatus,
// EnvReap) to the environment c names and returns the call's value.
func EnvControl(op uint64, c *caps.Cap) (uint64, error) {
	v, e := Syscall(abi.SysEnvControl, op, ptr(c), 0, 0, 0, 0)
	return v, bindErr(v, e)
}

// Revoke revokes c (which must carry its kind's revoke right) and returns a
// fresh capability for the same names and rights.
func Revoke(c *caps.Cap) (caps.Cap, error) {
	var fresh caps.Cap
	err := bindErr(Syscall(abi.SysRevoke, ptr(c), ptr(&fresh), 0, 0, 0, 0))
	return fresh, err
}

// SlotBind takes slot on showing c, a slot capability for it.
func SlotBind(slot uint32, c *caps.Cap) error {
	return bindErr(Syscall(abi.SysSlotBind, uint64(slot), ptr(c), 0, 0, 0, 0))
}

// SlotRelease gives up slot.
func SlotRelease(slot uint32) error {
	_, e := Syscall(abi.SysSlotRelease, uint64(slot), 0, 0, 0, 0, 0)
	return errno(e)
}
