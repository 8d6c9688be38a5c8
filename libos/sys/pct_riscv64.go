package sys

import (
	"github.com/exo-os/exo/caps"
	"github.com/exo-os/exo/kernel/abi"
)

// PCTEntry registers the entry point other environments' protected
// control transfers enter this one at, and the transfer frame
// (abi.PCTFrame) where the kernel saves the pc and a0..a7 it overwrites
// (docs/ABI.md, "Protected control transfers"). entry is an assembly
// routine: it runs with a0..a5 the caller's arguments, a6 its id, a7
// abi.PCTSync or 0, and every other register as the interrupted code left
// it, not as a Go call; it leaves with SysPCTReturn. entry = 0
// unregisters. A refused address comes back as ErrFault with bad set to it.
func PCTEntry(entry, frame uintptr) (bad uint64, err error) {
	v, e := Syscall(abi.SysPCTEntry, uint64(entry), uint64(frame), 0, 0, 0, 0)
	return v, errno(e)
}

// pct makes transfer n with the env capability at c, a0..a5 from *a; it
// puts a0..a5 after the call back into *a and returns a1.
//
//go:noescape
func pct(n uint64, c *caps.Cap, a *[6]uint64) uint64

// PCTCall transfers control synchronously to the environment c names (an
// env capability with the send right), carrying a: it donates this
// environment's slots until the callee returns, and returns the callee's
// a0 and a2..a5 in a[0] and a[2:] (a[1] is 0). A refusal, or the callee's
// end before it returned (ErrFinished), comes back as the error, with a[0]
// the kernel's value.
func PCTCall(c *caps.Cap, a *[6]uint64) error {
	return errno(pct(abi.SysPCTCall, c, a))
}

// PCTAsync transfers control asynchronously: the callee gets the rest of
// the current slot, and the call returns when this environment next runs.
func PCTAsync(c *caps.Cap, a *[6]uint64) error {
	return errno(pct(abi.SysPCTAsync, c, a))
}
