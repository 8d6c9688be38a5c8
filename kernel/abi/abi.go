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
	// SysWrite writes up to a1 bytes at user address a0 to the console and
	// returns how many it took: all of them, or fewer when the console's
	// buffer is nearly full (the caller writes the rest again). When the
	// buffer is full the caller waits, inside the call, until the serial
	// line drains it. At most MaxWrite bytes per call; a length of 0
	// returns 0 without looking at a0.
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
	// SysRandom fills up to a1 bytes at user address a0 with bytes from
	// the machine's entropy source and returns how many: what the kernel
	// has gathered, at least one byte; when it has none the caller waits,
	// inside the call, until the device delivers more. At most MaxRandom
	// bytes per call; a length of 0 returns 0 without looking at a0.
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
	// a0 asks, out of frames and a slot the caller holds, writes the new
	// environment's env capability (control|send|revoke) to the 144 bytes
	// at user address a1, and returns its id. The environment builds
	// itself (the kernel fills its memory) in its own slots before its
	// first instruction.
	SysSpawn = 8
	// SysRevoke revokes the capability at user address a0 (which must
	// carry the revoke right): every capability for the names it covers,
	// derived or not, wherever copied, stops verifying, and every binding
	// other environments made with them is undone. A fresh capability with
	// the same names and rights is written to user address a1.
	SysRevoke = 9
	// SysSlotBind makes the caller the owner of slot a0, which must be free
	// (or already the caller's), on showing the capability at a1: a slot
	// capability naming the slot with the use right, or, for a free slot,
	// the caller's own env capability with the spawn right.
	SysSlotBind = 10
	// SysSlotRelease gives up slot a0, which the caller owns; an
	// environment cannot give up its last slot.
	SysSlotRelease = 11
	// SysEnvControl applies operation a0 (EnvStop, EnvResume, EnvDestroy,
	// EnvStatus, EnvReap) to the environment named by the env capability
	// at user address a1, which must carry the control right.
	SysEnvControl = 12
	// SysFloor is answered by the measurement build's trap entry (make
	// bench) in assembly without saving any state; it exists to measure
	// the hardware trap round trip. Other builds answer ErrNoSys.
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
	// ErrNoMem: the caller has not enough of what the request is charged
	// to (frames, page-table frames, binding records, env ids);
	// nothing was done.
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
const maxErrno = ErrFinished

// Operations of SysEnvControl (a0).
const (
	// EnvStop takes a running, sleeping or waiting environment off the
	// CPU until EnvResume; it keeps everything it holds.
	EnvStop = 1
	// EnvResume lets a stopped environment run again.
	EnvResume = 2
	// EnvDestroy ends the environment as if it had been killed; its
	// frames go back to its parent (or the free pool), its slots are
	// freed. The teardown runs in the environment's own slots.
	EnvDestroy = 3
	// EnvStatus returns the environment's state (EnvState*).
	EnvStatus = 4
	// EnvReap ends the record of a finished child (EnvStateZombie) and
	// returns its exit status, with bit 32 set if it was killed; its id
	// may then name a new environment (capabilities for the old one no
	// longer verify).
	EnvReap = 5
)

// Environment states, as EnvStatus reports them.
const (
	EnvStateBuilding = 1 // the kernel is filling its memory
	EnvStateRunnable = 2
	EnvStateSleeping = 3 // until a deadline
	EnvStateWaiting  = 4 // for a device: console space or entropy
	EnvStateStopped  = 5
	EnvStateDying    = 6 // the kernel is taking its resources back
	EnvStateZombie   = 7 // finished, not yet reaped
)

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
	case ErrBusy:
		return "EBUSY"
	case ErrAgain:
		return "EAGAIN"
	case ErrProgram:
		return "EPROGRAM"
	case ErrFinished:
		return "EFINISHED"
	}
	return "E?"
}
