package ping

// The Internet checksum (RFC 1071): the ones' complement of the ones'
// complement sum of the data taken as big-endian 16-bit words, an odd
// final byte padded with zero.

// sum adds b to the running 32-bit sum s, word by word.
func sum(s uint32, b []byte) uint32 {
	for len(b) >= 2 {
		s += uint32(b[0])<<8 | uint32(b[1])
		b = b[2:]
	}
	if len(b) == 1 {
		s += uint32(b[0]) << 8
	}
	return s
}

// fold reduces a running sum to 16 bits with end-around carry and
// complements it: the value to store in a checksum field. Data that
// includes a correct checksum folds to zero.
func fold(s uint32) uint16 {
	for s > 0xffff {
		s = s&0xffff + s>>16
	}
	return ^uint16(s)
}

// pseudoHeader is the running sum of the IPv4 pseudo-header that UDP's
// checksum covers (RFC 768): source, destination, protocol and UDP length.
func pseudoHeader(src, dst [4]byte, proto uint8, length int) uint32 {
	s := sum(0, src[:])
	s = sum(s, dst[:])
	return s + uint32(proto) + uint32(length)
}
