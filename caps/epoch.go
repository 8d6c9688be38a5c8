package caps

import (
	"errors"
	"fmt"
	"math"
)

// Epochs is the kernel's revocation state. The kernel keeps no record of who
// holds which capability (they are plain bytes, copied freely); it keeps one
// counter and, for every name it can revoke, the epoch of its last
// revocation:
//
//   - Mint stamps a capability with the counter's current value.
//   - Revoking a name sets its epoch to the counter, incremented first.
//   - A capability is current for a name iff the name's epoch <= its own.
//
// So a revocation invalidates every capability for the name minted before it,
// however derived and wherever copied, and none minted after it. Verify
// checks the names the kernel is about to bind, not the capability's whole
// range: the cost stays bounded by what the kernel binds rather than by a
// range the holder chose (the kernel runs with interrupts masked), and
// revoking one page does not take the rest of a range away with it.
//
// Names are tracked per kind in tables the kernel sizes (Track), up to
// maxTables disjoint ranges a kind (the port namespace is sparse: ARP and
// a few IPv4 protocols of a 40-bit space); a name that is not tracked
// cannot be revoked, so Mint refuses it, and a range is tracked only
// inside one table.
//
// The zero value is ready for Track. Epochs is not safe for concurrent use.
type Epochs struct {
	now    uint64
	tables [numKinds][maxTables]epochTable
}

// maxTables bounds the disjoint ranges of names tracked for one kind.
const maxTables = 4

// epochTable holds the epochs of names [base, base+len(e)) of one kind;
// zero means never revoked. block[i] is the largest epoch of names
// [i·blockNames, (i+1)·blockNames), so that checking a range costs one
// comparison per block that holds no newer revocation, instead of one per
// name: the kernel verifies ranges of up to a whole memory run with
// interrupts masked.
type epochTable struct {
	base  uint64
	e     []uint64
	block []uint64
}

// blockNames is how many names share one block maximum.
const blockNames = 1024

// Track makes names [base, base+n) of kind k revocable. A kind may be
// tracked in up to maxTables disjoint ranges; each costs 8 bytes a name.
func (e *Epochs) Track(k Kind, base, n uint64) error {
	switch {
	case !k.Valid():
		return fmt.Errorf("caps: track %s: unknown kind", k)
	case n == 0 || base > k.MaxName() || n-1 > k.MaxName()-base:
		return fmt.Errorf("caps: track %s names [%#x, +%#x): %w", k, base, n, ErrRange)
	}
	free := -1
	for i := range e.tables[k] {
		t := &e.tables[k][i]
		if t.e == nil {
			if free < 0 {
				free = i
			}
			continue
		}
		if base < t.base+uint64(len(t.e)) && t.base < base+n {
			return fmt.Errorf("caps: track %s names [%#x, +%#x): already tracked", k, base, n)
		}
	}
	if free < 0 {
		return fmt.Errorf("caps: track %s names [%#x, +%#x): %d ranges already tracked", k, base, n, maxTables)
	}
	e.tables[k][free] = epochTable{base: base, e: make([]uint64, n), block: make([]uint64, (n+blockNames-1)/blockNames)}
	return nil
}

// table returns the table tracking every name in [lo, hi] of kind k, or
// nil if no one table does.
func (e *Epochs) table(k Kind, lo, hi uint64) *epochTable {
	if !k.Valid() || lo > hi {
		return nil
	}
	for i := range e.tables[k] {
		t := &e.tables[k][i]
		if t.e != nil && lo >= t.base && hi-t.base < uint64(len(t.e)) {
			return t
		}
	}
	return nil
}

// Tracks reports whether every name in [lo, hi] of kind k is tracked (in
// one table).
func (e *Epochs) Tracks(k Kind, lo, hi uint64) bool { return e.table(k, lo, hi) != nil }

// Now returns the current epoch: what Mint stamps.
func (e *Epochs) Now() uint64 { return e.now }

// Epoch returns the epoch at which name was last revoked, zero if never (or
// if it is not tracked).
func (e *Epochs) Epoch(k Kind, name uint64) uint64 {
	t := e.table(k, name, name)
	if t == nil {
		return 0
	}
	return t.e[name-t.base]
}

// Revoke revokes one name: every capability for it minted so far stops
// verifying for it. It returns the new epoch.
func (e *Epochs) Revoke(k Kind, name uint64) (uint64, error) { return e.RevokeRange(k, name, name) }

// RevokeRange revokes names [lo, hi] in one epoch.
func (e *Epochs) RevokeRange(k Kind, lo, hi uint64) (uint64, error) {
	t := e.table(k, lo, hi)
	if t == nil {
		return 0, fmt.Errorf("caps: revoke %s [%#x, %#x]: names not tracked: %w", k, lo, hi, ErrRange)
	}
	if e.now == math.MaxUint64 {
		return 0, errors.New("caps: revoke: epoch counter exhausted")
	}
	e.now++
	names := t.e[lo-t.base : hi-t.base+1]
	for i := range names {
		names[i] = e.now
	}
	for b := (lo - t.base) / blockNames; b <= (hi-t.base)/blockNames; b++ {
		t.block[b] = e.now
	}
	return e.now, nil
}

// Check returns a *RevokedError naming the first name in [lo, hi] revoked
// after epoch, or nil if there is none. The names must be tracked.
func (e *Epochs) Check(k Kind, lo, hi, epoch uint64) error {
	t := e.table(k, lo, hi)
	if t == nil {
		return fmt.Errorf("caps: check %s [%#x, %#x]: names not tracked: %w", k, lo, hi, ErrRange)
	}
	if name, at, stale := t.stale(lo, hi, epoch); stale {
		return &RevokedError{Kind: k, Name: name, RevokedAt: at, Minted: epoch}
	}
	return nil
}

// stale finds the first name in [lo, hi] (tracked) revoked after epoch.
// It skips every block whose newest revocation is not after epoch, and
// stops in the first that holds one: at most two partial blocks and one
// comparison per whole block.
func (t *epochTable) stale(lo, hi, epoch uint64) (name, at uint64, found bool) {
	for i := lo - t.base; i <= hi-t.base; {
		b := i / blockNames
		if t.block[b] <= epoch {
			i = (b + 1) * blockNames
			continue
		}
		if t.e[i] > epoch {
			return t.base + i, t.e[i], true
		}
		i++
	}
	return 0, 0, false
}
