// Package abi is the contract between the Exo kernel and the programs it
// runs: system call numbers and error codes, the user address-space layout,
// and the layout of the read-only pages the kernel maps into every
// environment. docs/ABI.md describes the same contract for people.
//
// A system call is an ecall from User mode with the call number in a7 and
// arguments in a0..a5; the kernel returns a value in a0 and an error code in
// a1 (0 = success) and resumes the environment after the ecall.
package abi

// System call numbers (a7).
const (
	// SysNull does nothing and returns (0, OK): the measurable cost of a
	// system call through the kernel's full trap path.
	SysNull = 0
	// SysWrite writes a1 bytes at user address a0 to the console and
	// returns the count. At most MaxWrite bytes per call.
	SysWrite = 1
	// SysYield gives up the rest of the current time slot.
	SysYield = 2
	// SysExit ends the environment with status a0 (a 32-bit value); it
	// does not return.
	SysExit = 3
	// SysSleep blocks until the time counter reaches a0 ticks (the time
	// CSR, at the timebase in the start-up block), or returns at once if
	// it already has.
	SysSleep = 4
	// SysRandom fills a1 bytes at user address a0 with bytes from the
	// machine's entropy source. At most MaxRandom bytes per call.
	SysRandom = 5
	// SysFloor is answered by the trap entry in assembly without saving
	// any state; it exists to measure the hardware trap round trip.
	SysFloor = 0x7ff
)

// Error codes (a1).
const (
	OK = 0
	// ErrNoSys: no system call with that number.
	ErrNoSys = 1
	// ErrFault: a buffer is not mapped in the environment with the access
	// the call needs (readable for SysWrite, writable for SysRandom).
	ErrFault = 2
	// ErrTooBig: a length is above the call's limit; nothing was done.
	ErrTooBig = 3
	// ErrInval: an argument is out of range.
	ErrInval = 4
)

// Limits.
const (
	MaxWrite  = 4096
	MaxRandom = 256
)

// ErrorName returns the symbolic name of an error code.
func ErrorName(code uint64) string {
	switch code {
	case OK:
		return "OK"
	case ErrNoSys:
		return "ENOSYS"
	case ErrFault:
		return "EFAULT"
	case ErrTooBig:
		return "E2BIG"
	case ErrInval:
		return "EINVAL"
	}
	return "E?"
}
