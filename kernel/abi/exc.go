package abi

// Exceptions reflected to the environment (docs/ABI.md, "Exceptions"). An
// environment registers a handler: an entry point in its own executable
// memory and a save area in its own writable memory. Every User-mode
// exception other than a system call, and other than those the kernel
// completes silently (an emulated time read, a stale translation), is then
// delivered there: the kernel writes an ExceptionFrame into the save area,
// sets pc to the entry point and a0 to the save area's address, leaves every
// other register as it was at the exception, and resumes the environment.
// From then until SysExcResume the environment is "in its handler": a
// second exception there, or a save area the kernel cannot write, kills it
// with the usual report.

// Exception system calls.
const (
	// SysExcHandler registers the exception handler: entry point a0 (a
	// user address in a page mapped User-executable, 2-byte aligned) and
	// save area a1 (ExceptionFrameSize bytes at an 8-byte-aligned user
	// address, every byte in a User-writable page). a0 = 0 unregisters
	// (a1 is then not looked at). A refusal changes nothing: ErrInval for
	// a misaligned address, ErrFault with a0 = the address at fault for
	// an entry that is not User-executable or a save area that is not
	// User-writable.
	SysExcHandler = 19
	// SysExcResume loads the integer registers x1..x31 and the pc from
	// the ExceptionFrame at user address a0 (8-byte aligned, User
	// readable) and resumes there; the environment is no longer in its
	// handler. Only the frame's PC and X are read: Cause and Tval are
	// ignored, and no privileged state comes from user memory. The pc
	// must be a 2-byte-aligned user address (below 2^38): otherwise
	// ErrInval, and nothing changes. It does not return on success.
	SysExcResume = 20
)

// ExceptionFrame is what the kernel writes into the save area when it
// delivers an exception, and what SysExcResume reads back (PC and X only).
type ExceptionFrame struct {
	// Cause is mcause: the exception code (never an interrupt).
	Cause uint64
	// Tval is mtval: the faulting address for address-related causes,
	// the instruction's encoding (or 0) for an illegal instruction.
	Tval uint64
	// PC is the pc of the instruction that caused the exception.
	PC uint64
	// X holds the integer registers x0..x31 at the exception; X[0] is
	// written as 0 and never read.
	X [32]uint64
	// Reserved is written as zero; room for later fields.
	Reserved [5]uint64
}

// ExceptionFrameSize is the size of an ExceptionFrame, the save area's.
const ExceptionFrameSize = 320

// Offsets of the ExceptionFrame's fields, for assembly handlers.
const (
	ExcFrameCause = 0
	ExcFrameTval  = 8
	ExcFramePC    = 16
	ExcFrameX     = 24 // X[i] at ExcFrameX + 8*i
)
