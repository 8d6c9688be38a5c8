package ash

import "fmt"

// ErrorKind classifies why the verifier rejected a program, so that callers
// and tests can tell reasons apart without parsing text.
type ErrorKind int

// Rejection reasons.
const (
	ErrMalformed        ErrorKind = iota + 1 // not a valid instruction: unknown opcode, bad register, reserved field set
	ErrUnsupported                           // valid eBPF outside this subset (atomics, bpf-to-bpf calls, map loads, ...)
	ErrTooLarge                              // more than MaxInsns slots, or empty
	ErrBadJump                               // jump outside the program or into the second slot of lddw
	ErrLoop                                  // the control-flow graph has a cycle
	ErrFallOff                               // execution can run past the last instruction
	ErrUninitRegister                        // a register is read before it is written
	ErrUninitStack                           // stack bytes are read before they are written
	ErrReadOnlyRegister                      // write to R10
	ErrOutOfBounds                           // memory access not proven inside its region
	ErrNotPointer                            // memory access through a scalar
	ErrPointerArith                          // forbidden or unbounded pointer arithmetic
	ErrPointerLeak                           // pointer stored to memory other than a stack spill, returned, or read partially
	ErrPointerCompare                        // comparison between a pointer and a scalar or across regions
	ErrMisaligned                            // stack access not aligned to its size
	ErrShift                                 // shift amount known to be out of range
	ErrDivByZero                             // division or modulo by a constant zero
	ErrHelper                                // unknown helper, or not allowed for this program type
	ErrHelperArg                             // helper argument of the wrong type or size
	ErrRegion                                // region not available to this program type, or written when read-only
	ErrContext                               // context access of the wrong size, offset or direction
	ErrComplexity                            // the verifier's own budget ran out
	ErrConfig                                // the Config itself is invalid
)

var errorKindNames = [...]string{
	ErrMalformed: "malformed instruction", ErrUnsupported: "unsupported instruction",
	ErrTooLarge: "program size", ErrBadJump: "bad jump", ErrLoop: "loop",
	ErrFallOff: "falls off the end", ErrUninitRegister: "uninitialised register",
	ErrUninitStack: "uninitialised stack", ErrReadOnlyRegister: "read-only register",
	ErrOutOfBounds: "out of bounds", ErrNotPointer: "not a pointer",
	ErrPointerArith: "pointer arithmetic", ErrPointerLeak: "pointer leak",
	ErrPointerCompare: "pointer comparison", ErrMisaligned: "misaligned access",
	ErrShift: "shift out of range", ErrDivByZero: "division by zero",
	ErrHelper: "helper", ErrHelperArg: "helper argument", ErrRegion: "region",
	ErrContext: "context access", ErrComplexity: "complexity", ErrConfig: "config",
}

// String returns the kind in words, as used in error messages.
func (k ErrorKind) String() string {
	if k > 0 && int(k) < len(errorKindNames) {
		return errorKindNames[k]
	}
	return fmt.Sprintf("ErrorKind(%d)", int(k))
}

// VerifyError is a rejection: the instruction index (slot number, -1 when the
// error concerns the whole program) and why.
type VerifyError struct {
	Index  int
	Kind   ErrorKind
	Reason string
}

// Error formats the rejection as "ash: verify: instruction N: kind: reason".
func (e *VerifyError) Error() string {
	if e.Index < 0 {
		return fmt.Sprintf("ash: verify: %s: %s", e.Kind, e.Reason)
	}
	return fmt.Sprintf("ash: verify: instruction %d: %s: %s", e.Index, e.Kind, e.Reason)
}

func verr(pc int, k ErrorKind, format string, args ...any) *VerifyError {
	return &VerifyError{Index: pc, Kind: k, Reason: fmt.Sprintf(format, args...)}
}

// RunError reports a fault the interpreter caught at run time. A verified
// program never faults; the checks exist so that a verifier bug shows up as
// an error instead of memory corruption.
type RunError struct {
	PC     int
	Reason string
}

// Error formats the fault as "ash: run: instruction N: reason".
func (e *RunError) Error() string {
	return fmt.Sprintf("ash: run: instruction %d: %s", e.PC, e.Reason)
}
