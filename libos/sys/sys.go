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
	ErrNoSys        error = Errno(abi.ErrNoSys)
	ErrFault        error = Errno(abi.ErrFault)
	ErrTooBig       error = Errno(abi.ErrTooBig)
	ErrInval        error = Errno(abi.ErrInval)
	ErrExist        error = Errno(abi.ErrExist)
	ErrNoMem        error = Errno(abi.ErrNoMem)
	ErrNotFound     error = Errno(abi.ErrNotFound)
	ErrCapMalformed error = Errno(abi.ErrCapMalformed)
	ErrCapForged    error = Errno(abi.ErrCapForged)
	ErrCapKind      error = Errno(abi.ErrCapKind)
	ErrCapRights    error = Errno(abi.ErrCapRights)
	ErrCapRange     error = Errno(abi.ErrCapRange)
	ErrCapRevoked   error = Errno(abi.ErrCapRevoked)
	ErrBusy         error = Errno(abi.ErrBusy)
	ErrAgain        error = Errno(abi.ErrAgain)
	ErrProgram      error = Errno(abi.ErrProgram)
)

// RevokedError is ErrCapRevoked with the name the kernel said was revoked
// (a page number, slot or env id): what the environment lost.
type RevokedError struct{ Name uint64 }

func (e *RevokedError) Error() string {
	return fmt.Sprintf("exo: ECAPREVOKED (%d): name %#x was revoked", abi.ErrCapRevoked, e.Name)
}

// Is makes errors.Is(err, ErrCapRevoked) hold.
func (e *RevokedError) Is(target error) bool { return target == ErrCapRevoked }

// bindErr converts a binding call's a0/a1 to an error.
func bindErr(val, e uint64) error {
	if e == abi.ErrCapRevoked {
		return &RevokedError{Name: val}
	}
	return errno(e)
}

// errno converts a1 to an error.
func errno(e uint64) error {
	if e == abi.OK {
		return nil
	}
	return Errno(e)
}
