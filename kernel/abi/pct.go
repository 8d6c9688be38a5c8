package abi

// Protected control transfers (docs/ABI.md, "Protected control
// transfers"): the Aegis primitive of Engler et al. (SOSP'95 §5.3). An
// environment registers an entry point and a transfer frame; another
// environment holding an env capability for it with the send right
// transfers control there, with arguments in registers, and donates CPU
// time: the rest of the current slot (asynchronous) or the current slot and
// its future instances until the callee returns (synchronous). The kernel
// saves only what it overwrites in the callee (pc, a0..a7) in the callee's
// own frame and keeps no other policy: what the entry code does, how long it
// keeps the time, and whom it calls next are the callee's business.
//
// At the entry point the callee's registers are: pc = the entry point,
// a0..a5 = the caller's a0..a5, a6 = the caller's env id, a7 = PCTSync or
// 0 (asynchronous); every other register is the callee's own, as it was
// when it last left the CPU. From the transfer until SysPCTReturn the
// callee is "in its entry": transfers to it are refused (ErrBusy).

// Protected control transfer system calls.
const (
	// SysPCTEntry registers the entry point a0 (a user address in a page
	// mapped User-executable, 2-byte aligned) and the transfer frame a1
	// (PCTFrameSize bytes at an 8-byte-aligned user address, every byte
	// User-writable). a0 = 0 unregisters (a1 is then not looked at); the
	// environment then takes no transfers. A refusal changes nothing:
	// ErrInval for a misaligned address, ErrFault with a0 = the address
	// at fault.
	SysPCTEntry = 23
	// SysPCTCall transfers control synchronously to the environment named
	// by the env capability at user address a6, which must carry the send
	// right, carrying a0..a5. The caller's slots, the current one and
	// every later instance, run the callee until it returns with
	// SysPCTReturn: then the call returns with the callee's a0 in a0,
	// OK in a1 and the callee's a2..a5 in a2..a5, in the rest of the slot
	// the callee returned in. If the callee ends first, the call returns
	// (callee id, ErrFinished). Refusals return at once and change
	// nothing: ErrFault (capability not readable, or the callee's frame
	// not writable), ErrCapMalformed, ErrCapForged, ErrCapKind,
	// ErrCapRights (no send right), ErrCapRange, ErrCapRevoked (a0 = the
	// env id), ErrInval (to itself), ErrFinished (the target is dying or
	// a zombie), ErrNotFound (no entry point registered), ErrBusy (the
	// target is stopped, being built, in its entry, or itself in a
	// synchronous call).
	SysPCTCall = 24
	// SysPCTAsync is SysPCTCall, but donates only the rest of the current
	// slot: the call returns (0, OK) the next time the caller runs, and
	// the callee's a7 is 0. Its refusals are SysPCTCall's.
	SysPCTAsync = 25
	// SysPCTReturn leaves the entry: the kernel loads pc and a0..a7 from
	// the transfer frame (so the callee later resumes what the transfer
	// interrupted; the entry code restores the other registers it used
	// itself), and, if a synchronous caller waits, returns to it with a0,
	// a2..a5 as its results, giving it the rest of the current slot and
	// its own slots back. Refusals change nothing: ErrInval (not in its
	// entry, or a frame pc that is not a 2-byte-aligned user address),
	// ErrFault (the frame is not readable). It does not return on
	// success.
	SysPCTReturn = 26
)

// PCTSync is the callee's a7 at the entry point of a synchronous transfer.
const PCTSync = 1

// ErrFinished: the environment named has ended (it is dying or a zombie),
// or ended during the synchronous transfer to it.
const ErrFinished = 17

// PCTFrame is what the kernel writes into the transfer frame when it
// enters the callee (the pc and a0..a7 it overwrites) and what
// SysPCTReturn loads back.
type PCTFrame struct {
	// PC is where the callee was when the transfer came.
	PC uint64
	// A holds a0..a7 as they were.
	A [8]uint64
}

// PCTFrameSize is the size of a PCTFrame.
const PCTFrameSize = 72

// Offsets of the PCTFrame's fields, for assembly entry points.
const (
	PCTFramePC = 0
	PCTFrameA  = 8 // a_i at PCTFrameA + 8*i
)
