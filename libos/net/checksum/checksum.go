// Package checksum computes the Internet checksum (RFC 1071): the ones'
// complement of the ones' complement sum of 16-bit big-endian words. Sums
// are kept unfolded in a uint32 (or uint64) so that they can be carried
// across pieces of a packet and combined, as integrated layer processing
// does while copying.
package checksum

import "encoding/binary"

// Sum adds b's 16-bit big-endian words to sum; an odd final byte is the
// high byte of a word padded with zero (RFC 1071 §4.1). Sum over pieces
// is the sum of the whole only when every piece but the last has even
// length.
func Sum(sum uint32, b []byte) uint32 {
	s := uint64(sum)
	for len(b) >= 8 {
		s += uint64(binary.BigEndian.Uint32(b)) + uint64(binary.BigEndian.Uint32(b[4:]))
		b = b[8:]
	}
	for len(b) >= 2 {
		s += uint64(binary.BigEndian.Uint16(b))
		b = b[2:]
	}
	if len(b) == 1 {
		s += uint64(b[0]) << 8
	}
	return fold64(s)
}

// fold64 reduces a 64-bit accumulator of 16-bit words to at most 17 bits
// without changing it modulo 0xffff.
func fold64(s uint64) uint32 {
	s = (s >> 32) + (s & 0xffffffff)
	s = (s >> 32) + (s & 0xffffffff)
	s = (s >> 16) + (s & 0xffff)
	s = (s >> 16) + (s & 0xffff)
	return uint32(s)
}

// Fold folds sum to 16 bits (the ones' complement sum, not yet
// complemented).
func Fold(sum uint32) uint16 {
	for sum > 0xffff {
		sum = (sum >> 16) + (sum & 0xffff)
	}
	return uint16(sum)
}

// Checksum returns the checksum of b: the complement of its folded sum.
// Over a header whose checksum field holds the right value it is zero.
func Checksum(b []byte) uint16 { return ^Fold(Sum(0, b)) }

// Finish returns the checksum field's value for a running sum.
func Finish(sum uint32) uint16 { return ^Fold(sum) }

// Pseudo returns the sum of the IPv4 pseudo-header (RFC 768, RFC 9293
// §3.1) for protocol proto and a transport length of length bytes, to be
// the starting sum of a UDP or TCP checksum.
func Pseudo(src, dst [4]byte, proto uint8, length int) uint32 {
	s := uint32(binary.BigEndian.Uint16(src[:])) + uint32(binary.BigEndian.Uint16(src[2:]))
	s += uint32(binary.BigEndian.Uint16(dst[:])) + uint32(binary.BigEndian.Uint16(dst[2:]))
	s += uint32(proto) + uint32(length&0xffff) + uint32(length>>16)
	return s
}

// Update returns the checksum field's new value when a 16-bit word
// covered by it changes from old to new, without summing the rest again
// (RFC 1624, eqn. 3: HC' = ~(~HC + ~m + m')).
func Update(field, old, new uint16) uint16 {
	s := uint32(^field) + uint32(^old) + uint32(new)
	return ^Fold(s)
}
