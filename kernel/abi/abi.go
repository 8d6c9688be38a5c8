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
	// SysMap maps the physical page a1 (a page number: the physical
	// address >> 12) at the page-aligned user address a0 with permissions
	// a2 (MapRead|MapWrite|MapExec), on showing the capability at user
	// address a3: a page capability covering the page with every right the
	// permissions need. Returns 0.
	SysMap = 6
	// SysUnmap removes the mapping of the page at a0 (at or above
	// RAMStart) and returns the page number it mapped.
	SysUnmap = 7
	// SysSpawn creates an environment as the SpawnRequest at user address
	// a0 asks, and returns its id.
	SysSpawn = 8
	// SysRevoke revokes the capability at user address a0 (which must
	// carry the revoke right): every capability for the names it covers,
	// derived or not, wherever copied, stops verifying, and every binding
	// other environments made with them is undone. A fresh capability with
	// the same names and rights is written to user address a1.
	SysRevoke = 9
	// SysSlotBind makes the caller the owner of slot a0, which must be free
	// (or already the caller's), on showing the slot capability at a1.
	SysSlotBind = 10
	// SysSlotRelease gives up slot a0, which the caller owns; an
	// environment cannot give up its last slot.
	SysSlotRelease = 11
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
	// ErrExist: the target is taken: the address is already mapped, the
	// slot is owned by another environment.
	ErrExist = 5
	// ErrNoMem: the kernel has no memory (frames, binding records, env
	// ids) for the request; nothing was done.
	ErrNoMem = 6
	// ErrNotFound: no such thing: an unknown image name, a page that is not
	// mapped, a slot the caller does not own.
	ErrNotFound = 7

	// Capability refusals: the capability shown does not allow the
	// binding; nothing was changed. They are distinct so that a program
	// (and a test) can tell why.

	// ErrCapMalformed: the bytes are not a capability (wrong version,
	// kind, count, reserved bytes, ...).
	ErrCapMalformed = 8
	// ErrCapForged: the MAC does not verify under this boot's key: the
	// capability was altered, forged, or minted in another boot.
	ErrCapForged = 9
	// ErrCapKind: a genuine capability of the wrong kind.
	ErrCapKind = 10
	// ErrCapRights: a genuine capability without a right the binding
	// needs (weakened below the need).
	ErrCapRights = 11
	// ErrCapRange: a genuine capability that does not cover the name.
	ErrCapRange = 12
	// ErrCapRevoked: a genuine capability revoked since it was minted.
	// a0 holds the name (page number, slot, env id) that was revoked.
	ErrCapRevoked = 13
)

// maxErrno is the highest error code.
const maxErrno = ErrCapRevoked

// Permission bits of SysMap (a2).
const (
	MapRead  = 1 << 0
	MapWrite = 1 << 1
	MapExec  = 1 << 2
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
	case ErrExist:
		return "EEXIST"
	case ErrNoMem:
		return "ENOMEM"
	case ErrNotFound:
		return "ENOENT"
	case ErrCapMalformed:
		return "ECAPMALFORMED"
	case ErrCapForged:
		return "ECAPFORGED"
	case ErrCapKind:
		return "ECAPKIND"
	case ErrCapRights:
		return "ECAPRIGHTS"
	case ErrCapRange:
		return "ECAPRANGE"
	case ErrCapRevoked:
		return "ECAPREVOKED"
	}
	return "E?"
}
