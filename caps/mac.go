package caps

import (
	"crypto/hmac"
	"crypto/sha256"
	"hash"
)

// The MAC chain, after macaroons (Birgisson et al., "Macaroons: Cookies with
// Contextual Caveats for Decentralized Authorization in the Cloud", NDSS
// 2014, §II and §V): each derivation record is sealed with a key that is the
// tag before it, so anyone holding a capability can add a record, and no one
// without the kernel key can take one away.
//
//	tag_0 = Trunc(HMAC-SHA256(kernel key, header with the count byte zero))
//	tag_i = Trunc(HMAC-SHA256(tag_{i-1}, record i's 24 bytes || byte i))
//
// and the MAC field holds tag_n for n records. The header covers version,
// kind, rights, range and epoch exactly as Mint wrote them; the count is left
// out of it because deriving changes it, and the chain authenticates it: a
// shorter chain needs a tag only an earlier holder had, and a longer one is a
// derivation anyone may make. The record's index is in its message as well,
// which costs nothing and pins each record to its place.
//
// Trunc keeps the first 128 bits. RFC 2104 §5 recommends keeping at least half
// the hash's output (the birthday bound) and at least 80 bits. A forger
// cannot test guesses offline (the key never leaves the kernel), so each
// guess is one system call with odds of 2^-128. 128 bits is also the strength
// of the chained keys (tag_i keys the next HMAC), and it keeps a capability
// at 144 bytes.

// sealer computes tag_0 under the kernel key. It keeps one crypto/hmac state,
// which after its first Reset restores the precomputed inner and outer pad
// blocks (FIPS 198-1 §6) instead of hashing them again, and Sums into a buffer
// it owns: no allocation, and half the compressions of a fresh HMAC. Not safe
// for concurrent use.
type sealer struct {
	h   hash.Hash
	msg [headerSize]byte
	sum [sha256.Size]byte
}

func newSealer(key []byte) *sealer {
	s := &sealer{h: hmac.New(sha256.New, key)}
	s.h.Reset() // precompute the pad states now, not on the first Verify
	return s
}

// root returns tag_0 for the capability c.
func (s *sealer) root(c *Cap) [TagSize]byte {
	copy(s.msg[:], c[:headerSize])
	s.msg[offCount] = 0
	s.h.Reset()
	s.h.Write(s.msg[:])
	s.h.Sum(s.sum[:0])
	return [TagSize]byte(s.sum[:TagSize])
}

// chain returns tag_i, for i = 1..MaxRecords, from tag_{i-1} and the record.
// Each step has its own key, so there are no pad states to keep; this is
// RFC 2104 §2 written out over stack buffers with sha256.Sum256, which does
// not allocate (crypto/hmac.New does, five times). TestChainIsHMAC checks it
// against crypto/hmac.
func chain(prev *[TagSize]byte, rec []byte, i int) [TagSize]byte {
	const (
		block = sha256.BlockSize
		ipad  = 0x36
		opad  = 0x5c
	)
	// Large enough for the inner message (block + record + index) and the
	// outer one (block + inner hash).
	var b [block + sha256.Size]byte
	for j := range block {
		b[j] = ipad
	}
	for j, k := range prev {
		b[j] ^= k
	}
	copy(b[block:], rec[:recordSize])
	b[block+recordSize] = byte(i)
	inner := sha256.Sum256(b[:block+recordSize+1])
	for j := range block {
		b[j] = opad
	}
	for j, k := range prev {
		b[j] ^= k
	}
	copy(b[block:], inner[:])
	outer := sha256.Sum256(b[:])
	return [TagSize]byte(outer[:TagSize])
}

// tail runs the chain from tag_0 over c's records and returns tag_n.
func tail(tag [TagSize]byte, c *Cap) [TagSize]byte {
	for i := range c.Depth() {
		off := offRecords + i*recordSize
		tag = chain(&tag, c[off:off+recordSize], i+1)
	}
	return tag
}
