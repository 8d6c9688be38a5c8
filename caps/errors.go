package caps

import (
	"errors"
	"fmt"
)

// The errors Verify, Derive and Mint return, for errors.Is. Each refusal
// wraps exactly one of them.
var (
	// ErrMalformed: the bytes are not a capability of this format. The error
	// is a *FormatError saying what is wrong and at which byte.
	ErrMalformed = errors.New("caps: malformed capability")
	// ErrForged: the MAC does not match. This is also what a capability
	// minted under another key (another boot) gives.
	ErrForged = errors.New("caps: forged capability (MAC mismatch)")
	// ErrWrongKind: a genuine capability for another kind of resource.
	ErrWrongKind = errors.New("caps: wrong kind of capability")
	// ErrRights: the capability does not hold the rights asked for (Verify),
	// or a derivation asks for rights its parent does not hold (Derive).
	ErrRights = errors.New("caps: rights not held")
	// ErrRange: the names asked for are not all inside the capability's
	// range (Verify), a derivation would widen the range (Derive), or a
	// range is empty or outside the kind's or the kernel's names (Mint).
	ErrRange = errors.New("caps: name outside the capability's range")
	// ErrChainFull: the capability already carries MaxRecords derivations.
	ErrChainFull = errors.New("caps: derivation chain full")
	// ErrRevoked: the resource's epoch moved past the capability's. The error
	// is a *RevokedError naming the resource.
	ErrRevoked = errors.New("caps: capability revoked")
)

// FormatError says why bytes are not a capability: the byte offset of the
// first field found wrong, what is wrong with it, and the offending value.
type FormatError struct {
	Offset int    // byte offset of the field
	What   string // what is wrong, a constant phrase
	Value  uint64 // the value found there
}

// Error says what is wrong and where.
func (e *FormatError) Error() string {
	return fmt.Sprintf("caps: malformed capability: byte %d: %s (%#x)", e.Offset, e.What, e.Value)
}

// Unwrap makes errors.Is(err, ErrMalformed) hold.
func (e *FormatError) Unwrap() error { return ErrMalformed }

// RevokedError names the resource whose revocation made a capability stale:
// the first name, in the range the kernel asked for, whose epoch is newer
// than the capability's.
type RevokedError struct {
	Kind      Kind
	Name      uint64
	RevokedAt uint64 // the resource's epoch
	Minted    uint64 // the capability's epoch
}

// Error names the resource lost and the two epochs.
func (e *RevokedError) Error() string {
	return fmt.Sprintf("caps: capability revoked: %s %#x was revoked at epoch %d, capability is of epoch %d",
		e.Kind, e.Name, e.RevokedAt, e.Minted)
}

// Unwrap makes errors.Is(err, ErrRevoked) hold.
func (e *RevokedError) Unwrap() error { return ErrRevoked }
