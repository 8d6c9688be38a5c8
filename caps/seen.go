package caps

import "encoding/binary"

// The cache of genuine capabilities. Recomputing a MAC chain costs two
// SHA-256 compressions for a root and four more per derivation record; an
// environment that binds with the same capability again and again (a libOS
// mapping and unmapping its pages) would pay that every time. So the
// Authority remembers the last capabilities whose chain verified, by their
// exact bytes: bytes identical to a genuine capability are that genuine
// capability, whoever presents them, and need no second MAC check.
//
// Only the MAC check is skipped. Kind, rights, range and — what makes
// revocation take effect on the very next use — the epochs are checked on
// every Verify, hit or miss. Only capabilities that verified are ever
// entered, so a forgery can at most evict entries (costing time, never
// granting anything), and a hit tells the presenter nothing it did not
// know: it holds those bytes.
//
// The cache is direct-mapped, indexed by the low bits of the MAC (uniform
// for genuine capabilities; a forger cannot place entries where it likes
// without forging MACs).

const seenEntries = 64

type seenCache struct {
	entry        [seenEntries]Cap
	used         [seenEntries]bool
	off          bool // tests: measure and check the uncached path
	hits, misses uint64
}

func seenIndex(c *Cap) int {
	return int(binary.LittleEndian.Uint32(c[offMAC:]) % seenEntries)
}

// genuine reports whether c's MAC chain verifies under the Authority's key,
// from the cache if these bytes verified before.
func (a *Authority) genuine(c *Cap) bool {
	i := seenIndex(c)
	if !a.seen.off && a.seen.used[i] && a.seen.entry[i] == *c {
		a.seen.hits++
		return true
	}
	a.seen.misses++
	tag := tail(a.seal.root(c), c)
	if !constantTimeEqual(tag[:], c[offMAC:]) {
		return false
	}
	a.seen.entry[i], a.seen.used[i] = *c, true
	return true
}

// CacheStats returns how many Verify calls found the capability's bytes in
// the cache of genuine capabilities (and skipped the MAC computation), and
// how many computed the MAC chain.
func (a *Authority) CacheStats() (hits, misses uint64) { return a.seen.hits, a.seen.misses }
