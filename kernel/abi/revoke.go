package abi

// Visible revocation (docs/ABI.md, "Visible revocation"): an authority over
// an environment (an env capability naming it with the control right) asks
// it to give back a number of pages (spare frames) or slots by a deadline;
// the environment chooses which. What it has not given back at the
// deadline the kernel takes by force, and logs each in its Lost log.

// Visible revocation system calls.
const (
	// SysRevokeRequest asks the environment named by the env capability
	// at user address a0 (control right) to give back a2 instances of
	// kind a1 (RevokePages: spare frames; RevokeSlots: slots, never its
	// last) by time-counter tick a3. At most one request per environment
	// is pending (EEXIST). Returns 0.
	SysRevokeRequest = 29
	// SysRevokeAnswer is the target's side, by operation a0:
	// RevokeHandler, RevokeGive, RevokeDone.
	SysRevokeAnswer = 30
)

// Kinds of SysRevokeRequest (a1): the capability kinds of what is taken.
const (
	RevokePages = 1 // caps.KindPage
	RevokeSlots = 2 // caps.KindSlot
)

// Operations of SysRevokeAnswer (a0).
const (
	// RevokeHandler registers the revocation handler: entry a1 (2-byte
	// aligned, User-executable), save area a2 (ExceptionFrameSize bytes,
	// 8-byte aligned, User-writable); a1 = 0 unregisters.
	RevokeHandler = 1
	// RevokeGive gives back a2 instances of the pending request's kind
	// starting at name a1: spare frames [a1, a1+a2) within one spare run
	// (they go to the environment's heir, as at its end), or slots
	// [a1, a1+a2), all the caller's and not its last. At most what the
	// request still asks for. Returns what it still asks for.
	RevokeGive = 2
	// RevokeDone acknowledges the request: what it still asks for is
	// taken at once, as at the deadline. With a1 != 0 it then leaves the
	// handler, loading x1..x31 and the pc from the frame at a1 as
	// SysExcResume does (it does not return); with a1 = 0 it returns 0.
	RevokeDone = 3
)

// MaxRevokeCount bounds a request's count, so that taking the remainder at
// the deadline is one bounded step.
const MaxRevokeCount = 64

// Fields of the ExceptionFrame the kernel writes into the revocation save
// area when it delivers a request: Cause holds the kind, Tval the count,
// Reserved[0] the deadline; PC and X are the interrupted context.
const (
	RevFrameKind     = ExcFrameCause
	RevFrameCount    = ExcFrameTval
	RevFrameDeadline = ExcFrameX + 8*32
)
