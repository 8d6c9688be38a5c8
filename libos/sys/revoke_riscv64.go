package sys

import (
	"github.com/exo-os/exo/caps"
	"github.com/exo-os/exo/kernel/abi"
)

// Visible revocation (docs/ABI.md, "Visible revocation").

// RevokeRequest asks the environment target names (an env capability with
// the control right) to give back count instances of kind
// (abi.RevokePages: spare frames; abi.RevokeSlots: slots) by deadline, in
// ticks of the time counter. When it asks for more than the target holds
// (ErrInval), held is how many it could give.
func RevokeRequest(target *caps.Cap, kind, count, deadline uint64) (held uint64, err error) {
	v, e := Syscall(abi.SysRevokeRequest, ptr(target), kind, count, deadline, 0, 0)
	return v, bindErr(v, e)
}

// RevokeHandler registers the revocation handler: the kernel delivers a
// request by writing an abi.ExceptionFrame at save (kind in Cause, count in
// Tval, deadline in Reserved[0]) and entering entry with a0 = save, as for
// an exception. entry is an assembly routine that ends with RevokeDone.
// entry = 0 unregisters. A refused address comes back as ErrFault with bad
// set to it.
func RevokeHandler(entry, save uintptr) (bad uint64, err error) {
	v, e := Syscall(abi.SysRevokeAnswer, abi.RevokeHandler, uint64(entry), uint64(save), 0, 0, 0)
	return v, errno(e)
}

// RevokeGive gives back count instances of the pending request's kind from
// name first (spare frames within one run, or slots) and returns how many
// the request still asks for.
func RevokeGive(first, count uint64) (owed uint64, err error) {
	v, e := Syscall(abi.SysRevokeAnswer, abi.RevokeGive, first, count, 0, 0, 0)
	return v, errno(e)
}

// RevokeDone acknowledges the pending request: what it still asks for is
// taken at once. With frame != 0 it resumes from that frame and returns
// only if the kernel refused it.
func RevokeDone(frame uintptr) error {
	_, e := Syscall(abi.SysRevokeAnswer, abi.RevokeDone, uint64(frame), 0, 0, 0, 0)
	return errno(e)
}
