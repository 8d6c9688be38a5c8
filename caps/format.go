package caps

import (
	"encoding/binary"
	"fmt"
)

// The format, version 1. A capability is always Size bytes, little-endian:
//
//	offset  size  field
//	     0     1  version (1)
//	     1     1  kind
//	     2     1  number of derivation records in use, 0..MaxRecords
//	     3     1  reserved, zero
//	     4     4  rights
//	     8     8  lo: first name
//	    16     8  hi: last name (a single resource has lo == hi)
//	    24     8  epoch
//	    32    24  record 1: rights mask (4), reserved zero (4), lo (8), hi (8)
//	    56    24  record 2
//	    80    24  record 3
//	   104    24  record 4
//	   128    16  MAC: the last tag of the chain (mac.go)
//
// Record slots past the count are all zero. Fixed size keeps parsing trivial
// and lets a capability travel without a length.
const (
	Version    = 1                // the format version this package reads and writes
	MaxRecords = 4                // derivations a capability can carry
	TagSize    = 16               // bytes of MAC kept: see mac.go
	Size       = offMAC + TagSize // bytes in a capability: 144

	offVersion  = 0
	offKind     = 1
	offCount    = 2
	offReserved = 3
	offRights   = 4
	offLo       = 8
	offHi       = 16
	offEpoch    = 24
	headerSize  = 32
	offRecords  = headerSize
	recordSize  = 24
	offMAC      = offRecords + MaxRecords*recordSize

	// Field offsets inside a record.
	recMask     = 0
	recReserved = 4
	recLo       = 8
	recHi       = 16
)

// Cap is a capability in its wire format. Its methods read fields without
// checking them; a Cap from Parse, Mint or Derive is well formed.
type Cap [Size]byte

// Parse checks that raw is a well-formed capability and returns a copy. It
// checks the format only, not the MAC: only the kernel (Authority.Verify) can
// tell a genuine capability from a forged one.
func Parse(raw []byte) (Cap, error) {
	var c Cap
	if fe, ok := check(raw); !ok {
		return c, fe.alloc()
	}
	copy(c[:], raw)
	return c, nil
}

// check is the strict parser: it returns the first thing wrong with raw, in
// byte order. It returns the error by value so that callers on the kernel's
// system call path can keep it without allocating.
func check(raw []byte) (FormatError, bool) {
	if len(raw) != Size {
		return FormatError{min(len(raw), Size), "length is not 144 bytes", uint64(len(raw))}, false
	}
	le := binary.LittleEndian
	if raw[offVersion] != Version {
		return FormatError{offVersion, "unknown version", uint64(raw[offVersion])}, false
	}
	k := Kind(raw[offKind])
	if !k.Valid() {
		return FormatError{offKind, "unknown kind", uint64(k)}, false
	}
	n := int(raw[offCount])
	if n > MaxRecords {
		return FormatError{offCount, "more derivation records than slots", uint64(n)}, false
	}
	if raw[offReserved] != 0 {
		return FormatError{offReserved, "reserved byte is not zero", uint64(raw[offReserved])}, false
	}
	if r := le.Uint32(raw[offRights:]); Rights(r)&^k.All() != 0 {
		return FormatError{offRights, "rights bits the kind does not have", uint64(r)}, false
	}
	if fe, ok := checkRange(raw, offLo, offHi, k); !ok {
		return fe, false
	}
	for i := range MaxRecords {
		off := offRecords + i*recordSize
		rec := raw[off : off+recordSize]
		if i >= n {
			for j, b := range rec {
				if b != 0 {
					return FormatError{off + j, "record slot past the count is not zero", uint64(b)}, false
				}
			}
			continue
		}
		if m := le.Uint32(rec[recMask:]); Rights(m)&^k.All() != 0 {
			return FormatError{off + recMask, "record mask has bits the kind does not have", uint64(m)}, false
		}
		if r := le.Uint32(rec[recReserved:]); r != 0 {
			return FormatError{off + recReserved, "record reserved bytes are not zero", uint64(r)}, false
		}
		if fe, ok := checkRange(raw, off+recLo, off+recHi, k); !ok {
			return fe, false
		}
	}
	return FormatError{}, true
}

// alloc returns the error on the heap. Being a function of its own keeps the
// allocation on the error path: taking the address of check's result in the
// caller would move it to the heap on every call.
func (fe FormatError) alloc() error { return &fe }

// checkRange checks the [lo, hi] pair stored at offsets lo and hi.
func checkRange(raw []byte, lo, hi int, k Kind) (FormatError, bool) {
	l, h := binary.LittleEndian.Uint64(raw[lo:]), binary.LittleEndian.Uint64(raw[hi:])
	if h > k.MaxName() {
		return FormatError{hi, "name beyond the kind's names", h}, false
	}
	if l > h {
		return FormatError{lo, "range starts after its end", l}, false
	}
	return FormatError{}, true
}

// MarshalBinary returns a copy of the capability's bytes.
func (c *Cap) MarshalBinary() ([]byte, error) { return append([]byte(nil), c[:]...), nil }

// UnmarshalBinary is Parse into c; c is unchanged on error.
func (c *Cap) UnmarshalBinary(raw []byte) error {
	p, err := Parse(raw)
	if err == nil {
		*c = p
	}
	return err
}

// Kind returns the kind of resource.
func (c *Cap) Kind() Kind { return Kind(c[offKind]) }

// Rights returns the rights the capability was minted with; Effective says
// what derivations left of them.
func (c *Cap) Rights() Rights { return Rights(binary.LittleEndian.Uint32(c[offRights:])) }

// Range returns the names the capability was minted for.
func (c *Cap) Range() (lo, hi uint64) {
	return binary.LittleEndian.Uint64(c[offLo:]), binary.LittleEndian.Uint64(c[offHi:])
}

// Epoch returns the revocation epoch the capability was minted in.
func (c *Cap) Epoch() uint64 { return binary.LittleEndian.Uint64(c[offEpoch:]) }

// Depth returns the number of derivation records in use.
func (c *Cap) Depth() int { return int(c[offCount]) }

// Record returns derivation record i (0-based, i < Depth): the rights mask
// and the range it narrows to; zeros for an i beyond the room for records.
func (c *Cap) Record(i int) (mask Rights, lo, hi uint64) {
	if i < 0 || i >= MaxRecords {
		return 0, 0, 0
	}
	rec := c[offRecords+i*recordSize:]
	le := binary.LittleEndian
	return Rights(le.Uint32(rec[recMask:])), le.Uint64(rec[recLo:]), le.Uint64(rec[recHi:])
}

// Effective returns what the capability grants once every derivation record
// is applied: the minted rights and range intersected with each record's
// mask and range. Intersection, not replacement, is what makes amplification
// impossible even for a record crafted by hand (docs/CAPABILITIES.md). ok is
// false if the intersection of the ranges is empty, or if the bytes claim
// more records than a capability has room for (they are not a capability:
// Parse and Verify refuse them; Effective only reads, and must not fault on
// bytes anyone could have written).
func (c *Cap) Effective() (r Rights, lo, hi uint64, ok bool) {
	r = c.Rights()
	lo, hi = c.Range()
	if c.Depth() > MaxRecords {
		return 0, lo, hi, false
	}
	for i := range c.Depth() {
		m, l, h := c.Record(i)
		r &= m
		lo, hi = max(lo, l), min(hi, h)
	}
	return r, lo, hi, lo <= hi
}

// String describes the capability's effective grant, for people.
func (c *Cap) String() string {
	r, lo, hi, ok := c.Effective()
	rng := "empty range"
	if ok {
		rng = fmt.Sprintf("[%#x, %#x]", lo, hi)
	}
	return fmt.Sprintf("%s %s %s, epoch %d, %d derivations", c.Kind(), rng, r.Format(c.Kind()), c.Epoch(), c.Depth())
}
