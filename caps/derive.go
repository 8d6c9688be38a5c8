package caps

import "encoding/binary"

// Derive returns a weaker capability: c restricted to the rights in mask and
// to the names [lo, hi]. It needs no key, so any holder can derive and hand
// the result on, by memory or IPC, without asking the kernel.
//
// Derive refuses to amplify: mask must hold only rights c effectively has
// (ErrRights) and [lo, hi] must lie inside c's effective range (ErrRange). It
// refuses a capability whose chain is full (ErrChainFull) and malformed bytes
// (a *FormatError). It does not check c's MAC, which it cannot: deriving from
// a forged capability gives a forged capability.
//
// Derive does not allocate, except for the *FormatError when c is malformed.
func Derive(c Cap, mask Rights, lo, hi uint64) (Cap, error) {
	if fe, ok := check(c[:]); !ok {
		return Cap{}, fe.alloc()
	}
	n := c.Depth()
	if n == MaxRecords {
		return Cap{}, ErrChainFull
	}
	r, elo, ehi, ok := c.Effective()
	if mask&^r != 0 {
		return Cap{}, ErrRights
	}
	if !ok || lo > hi || lo < elo || hi > ehi {
		return Cap{}, ErrRange
	}
	prev := [TagSize]byte(c[offMAC:])
	rec := c[offRecords+n*recordSize : offRecords+(n+1)*recordSize]
	putRecord(rec, mask, lo, hi)
	c[offCount] = byte(n + 1)
	tag := chain(&prev, rec, n+1)
	copy(c[offMAC:], tag[:])
	return c, nil
}

// putRecord writes a derivation record into its slot.
func putRecord(rec []byte, mask Rights, lo, hi uint64) {
	le := binary.LittleEndian
	le.PutUint32(rec[recMask:], uint32(mask))
	le.PutUint32(rec[recReserved:], 0)
	le.PutUint64(rec[recLo:], lo)
	le.PutUint64(rec[recHi:], hi)
}
