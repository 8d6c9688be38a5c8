// Package sys is the environment's side of the Exo system call ABI
// (docs/ABI.md): one stub per call, the raw ecall for anything else, and the
// kernel's error codes as Go errors.
package sys

import (
	"fmt"

	"github.com/exo-os/exo/kernel/abi"
)

// Errno is an error code returned by the kernel in a1.
type Errno uint64

func (e Errno) Error() string {
	return fmt.Sprintf("exo: %s (%d)", abi.ErrorName(uint64(e)), uint64(e))
}

// Errors the kernel returns.
var (
	ErrNoSys  error = Errno(abi.ErrNoSys)
	ErrFault  error = Errno(abi.ErrFault)
	ErrTooBig error = Errno(abi.ErrTooBig)
	ErrInval  error = Errno(abi.ErrInval)
)

// errno converts a1 to an error.
func errno(e uint64) error {
	if e == abi.OK {
		return nil
	}
	return Errno(e)
}
