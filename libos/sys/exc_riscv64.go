package sys

import "github.com/exo-os/exo/kernel/abi"

// ExcHandler registers the exception handler: the kernel delivers this
// environment's exceptions (page faults, access faults, misaligned
// accesses, illegal instructions, breakpoints) by writing an
// abi.ExceptionFrame at save and entering entry with a0 = save
// (docs/ABI.md, "Exceptions"). entry is an assembly routine: it runs at the
// faulting instruction's place with the faulting goroutine's registers, not
// as a Go call. entry = 0 unregisters. A refused address comes back as
// ErrFault with bad set to it.
func ExcHandler(entry, save uintptr) (bad uint64, err error) {
	v, e := Syscall(abi.SysExcHandler, uint64(entry), uint64(save), 0, 0, 0, 0)
	return v, errno(e)
}

// ExcResume loads the registers and pc of the frame at frame and goes
// there; it returns only if the kernel refused the frame.
func ExcResume(frame uintptr) error {
	_, e := Syscall(abi.SysExcResume, uint64(frame), 0, 0, 0, 0, 0)
	return errno(e)
}
