package caps

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// MinKeySize is the shortest kernel key NewAuthority accepts: 256 bits, the
// output size of SHA-256 (RFC 2104 §3 advises keys no shorter than that).
const MinKeySize = 32

// Authority is the kernel's side of capabilities: it holds the key drawn at
// boot, mints capabilities and verifies them when a binding is made.
//
// An Authority is not safe for concurrent use (the kernel runs on one hart):
// it keeps one HMAC state, and the details of Verify's last refusal.
type Authority struct {
	seal   *sealer
	epochs *Epochs

	// Verify returns pointers to these, so that a refusal does not allocate.
	fault FormatError
	lost  RevokedError

	// seen caches capabilities whose MAC chain verified (seen.go).
	seen seenCache
}

// NewAuthority returns an Authority sealing with key, which must be secret,
// drawn fresh at every boot, and at least MinKeySize bytes; epochs is the
// revocation state its capabilities are checked against. The key is not
// kept: only the HMAC pad blocks derived from it.
func NewAuthority(key []byte, epochs *Epochs) (*Authority, error) {
	if len(key) < MinKeySize {
		return nil, fmt.Errorf("caps: key is %d bytes, want at least %d", len(key), MinKeySize)
	}
	var or byte
	for _, b := range key {
		or |= b
	}
	if or == 0 {
		return nil, errors.New("caps: key is all zeros (is the entropy source working?)")
	}
	if epochs == nil {
		return nil, errors.New("caps: no epochs")
	}
	return &Authority{seal: newSealer(key), epochs: epochs}, nil
}

// Epochs returns the revocation state the Authority checks against.
func (a *Authority) Epochs() *Epochs { return a.epochs }

// Mint returns a new capability for names [lo, hi] of kind k with rights r,
// stamped with the current epoch. The names must be tracked by the
// Authority's Epochs (a capability the kernel could not revoke is refused).
// Mint does not allocate unless it refuses.
func (a *Authority) Mint(k Kind, lo, hi uint64, r Rights) (Cap, error) {
	return a.MintAt(k, lo, hi, r, a.epochs.Now())
}

// MintAt is Mint stamped with an earlier epoch: the capability is current
// only for the names not revoked since then. The kernel uses it for the
// fresh capability a revocation returns, stamped with the revocation's own
// last epoch, so that whatever was revoked after it (by someone else, or
// because the names changed hands) stays revoked for it too. An epoch
// after the current one is refused (ErrRange): it would outlive
// revocations not yet made.
func (a *Authority) MintAt(k Kind, lo, hi uint64, r Rights, epoch uint64) (Cap, error) {
	var c Cap
	if epoch > a.epochs.Now() {
		return c, fmt.Errorf("caps: mint %s at epoch %d, after the current %d: %w", k, epoch, a.epochs.Now(), ErrRange)
	}
	switch {
	case !k.Valid():
		return c, fmt.Errorf("caps: mint: %s: %w", k, ErrWrongKind)
	case r == 0 || r&^k.All() != 0:
		return c, fmt.Errorf("caps: mint %s: rights %s: %w", k, r.Format(k), ErrRights)
	case lo > hi || hi > k.MaxName():
		return c, fmt.Errorf("caps: mint %s [%#x, %#x]: not a range of %s names: %w", k, lo, hi, k, ErrRange)
	case !a.epochs.Tracks(k, lo, hi):
		return c, fmt.Errorf("caps: mint %s [%#x, %#x]: names not tracked for revocation: %w", k, lo, hi, ErrRange)
	}
	le := binary.LittleEndian
	c[offVersion] = Version
	c[offKind] = byte(k)
	le.PutUint32(c[offRights:], uint32(r))
	le.PutUint64(c[offLo:], lo)
	le.PutUint64(c[offHi:], hi)
	le.PutUint64(c[offEpoch:], epoch)
	tag := a.seal.root(&c)
	copy(c[offMAC:], tag[:])
	return c, nil
}

// Need is what the kernel is about to bind: names [Lo, Hi] of a kind, with
// the rights the binding requires.
type Need struct {
	Kind   Kind
	Lo, Hi uint64
	Rights Rights
}

// Verified is what a verified capability grants: its effective rights and
// range (what the derivation records left of the minted ones), epoch and
// depth. The kernel should bind only what it asked for in Need.
type Verified struct {
	Kind   Kind
	Rights Rights
	Lo, Hi uint64
	Epoch  uint64
	Depth  int
}

// Verify checks that raw is a genuine, current capability granting need, in
// this order, and returns the first refusal:
//
//   - the format (a *FormatError, errors.Is ErrMalformed);
//   - the MAC chain, recomputed from the key and compared in constant time
//     (ErrForged) — unless these very bytes verified recently (seen.go);
//   - the kind (ErrWrongKind), the effective rights (ErrRights) and the
//     effective range (ErrRange) against need;
//   - the epochs of need's names (a *RevokedError, errors.Is ErrRevoked).
//
// The MAC is checked before anything about the contents is reported, so a
// forger learns nothing from the refusal but "forged".
//
// Verify does not allocate, whether it accepts or refuses. A *FormatError or
// *RevokedError it returns belongs to the Authority and is overwritten by the
// next Verify: inspect it (errors.As) before verifying again, or copy it.
func (a *Authority) Verify(raw []byte, need Need) (Verified, error) {
	var c Cap
	if err := a.authentic(raw, &c); err != nil {
		return Verified{}, err
	}
	r, lo, hi, ok := c.Effective()
	switch {
	case c.Kind() != need.Kind:
		return Verified{}, ErrWrongKind
	case need.Rights&^r != 0:
		return Verified{}, ErrRights
	case !ok || need.Lo > need.Hi || need.Lo < lo || need.Hi > hi:
		return Verified{}, ErrRange
	}
	t := a.epochs.table(need.Kind, need.Lo, need.Hi)
	if t == nil {
		// A need across tables, or beyond them: refuse rather than pass
		// what cannot be checked.
		return Verified{}, ErrRange
	}
	if name, at, stale := t.stale(need.Lo, need.Hi, c.Epoch()); stale {
		a.lost = RevokedError{Kind: need.Kind, Name: name, RevokedAt: at, Minted: c.Epoch()}
		return Verified{}, &a.lost
	}
	return Verified{Kind: c.Kind(), Rights: r, Lo: lo, Hi: hi, Epoch: c.Epoch(), Depth: c.Depth()}, nil
}

// Authenticate checks that raw is a well-formed capability sealed by this
// Authority's key (the format, then the MAC chain, as Verify does first)
// and returns what it grants, without checking it against any need or
// epoch. The kernel uses it where the kind decides what to check next
// (revoke: which right a kind's revocation needs), so that a forgery is
// refused as forged before anything about its contents is reported.
// Like Verify, it does not allocate.
func (a *Authority) Authenticate(raw []byte) (Verified, error) {
	var c Cap
	if err := a.authentic(raw, &c); err != nil {
		return Verified{}, err
	}
	r, lo, hi, ok := c.Effective()
	if !ok {
		// Every record narrowed the range to nothing: genuine, and good
		// for nothing.
		return Verified{}, ErrRange
	}
	return Verified{Kind: c.Kind(), Rights: r, Lo: lo, Hi: hi, Epoch: c.Epoch(), Depth: c.Depth()}, nil
}

// authentic checks raw's format and MAC chain and leaves a private copy of
// it in c, so that nothing can change the bytes between the check and the
// use.
func (a *Authority) authentic(raw []byte, c *Cap) error {
	in := raw
	if len(raw) == Size {
		*c = Cap(raw)
		in = c[:]
	}
	if fe, ok := check(in); !ok {
		a.fault = fe
		return &a.fault
	}
	if !a.genuine(c) {
		return ErrForged
	}
	return nil
}
