package ash

import "encoding/binary"

// HelperID numbers a helper function, called with "call ID". Arguments are in
// R1-R5, the result in R0; R1-R5 are clobbered. Every helper is implemented
// by the interpreter itself over the regions of the current run, so the
// kernel implements none of them directly; see each for what the kernel does
// with the outcome.
type HelperID int32

const (
	// HelperSendReply (ASH): send_reply(len). Records that the first len
	// bytes of the reply buffer are to be transmitted; the kernel sends
	// Reply[:Result.ReplyLen] after the run returns. The verifier proves
	// len <= the reply buffer size. A later call replaces the length.
	// Returns 0.
	HelperSendReply HelperID = 1
	// HelperPacketCopy (ASH): pkt_copy(pkt_off, dst, len). Copies packet
	// bytes [pkt_off, pkt_off+len) to dst, a pointer into the reply or
	// message buffer that the verifier proves writable for len bytes. The
	// packet side is checked at run time: returns 0 on success, or -1 and
	// copies nothing if the range is not within the captured packet.
	HelperPacketCopy HelperID = 2
	// HelperCsum (all types): csum(ptr, len, seed). Internet checksum (RFC
	// 1071) over len bytes at ptr, which the verifier proves readable,
	// starting from the 32-bit one's-complement partial sum seed (e.g. a
	// pseudo-header sum). Returns the complemented 16-bit checksum as a
	// number; store it with be16 to put it in a header.
	HelperCsum HelperID = 3
	// HelperCsumUpdate (all types): csum_update(csum, old, new). Incremental
	// update of a 16-bit checksum field when one 16-bit word changes from old
	// to new, by RFC 1624 equation 3: HC' = ~(~HC + ~m + m'). All three are
	// host-order numbers (load with be16). Returns the new checksum.
	HelperCsumUpdate HelperID = 4
	// HelperPacketCopyCsum (ASH): pkt_copy_csum(pkt_off, dst, len, seed).
	// Copies packet bytes [pkt_off, pkt_off+len) to dst as pkt_copy does
	// (the verifier proves dst writable for len bytes, in the reply or
	// message buffer) and, in the same pass, computes their Internet
	// checksum (RFC 1071) from the 32-bit one's-complement partial sum
	// seed, as csum would over the copy: integrated layer processing
	// (Clark and Tennenhouse, SIGCOMM'90). Returns the complemented 16-bit
	// checksum, a number in [0, 0xffff] (0 when the bytes and the seed sum
	// to 0xffff: a received checksum verifies), or PacketCopyCsumFailed,
	// above every checksum, and copies nothing if the range is not within
	// the captured packet.
	HelperPacketCopyCsum HelperID = 5
)

// PacketCopyCsumFailed is what pkt_copy_csum returns when the packet
// range is not within the captured packet: -1 as a 64-bit number, greater
// than every checksum, so that "r0 != 0" rejects both a bad checksum and
// a failed copy, and "r0 > 0xffff" the failed copy alone.
const PacketCopyCsumFailed = ^uint64(0)

// helperSpec lists which program types may call a helper.
type helperSpec struct {
	name  string
	args  int // number of argument registers read, from r1
	types []ProgType
}

var helperSpecs = map[HelperID]helperSpec{
	HelperSendReply:  {"send_reply", 1, []ProgType{TypeASH}},
	HelperPacketCopy: {"pkt_copy", 3, []ProgType{TypeASH}},
	HelperCsum:       {"csum", 3, []ProgType{TypeFilter, TypeASH, TypePredicate}},
	HelperCsumUpdate: {"csum_update", 3, []ProgType{TypeFilter, TypeASH, TypePredicate}},
	// pkt_copy_csum is pkt_copy's sibling: the ASH type alone.
	HelperPacketCopyCsum: {"pkt_copy_csum", 4, []ProgType{TypeASH}},
}

// maxHelperLen bounds the length argument of pkt_copy, pkt_copy_csum and
// csum.
const maxHelperLen = MaxPacketLen

// csumAdd adds b to a one's-complement partial sum (RFC 1071), big-endian
// 16-bit words, an odd final byte padded with zero.
func csumAdd(sum uint64, b []byte) uint64 {
	n := len(b) &^ 1
	for i := 0; i < n; i += 2 {
		sum += uint64(b[i])<<8 | uint64(b[i+1])
	}
	if len(b)&1 != 0 {
		sum += uint64(b[len(b)-1]) << 8
	}
	return sum
}

// csumFold folds a partial sum to 16 bits.
func csumFold(sum uint64) uint16 {
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return uint16(sum)
}

// csumUpdate applies RFC 1624 equation 3.
func csumUpdate(hc, m, m2 uint16) uint16 {
	sum := uint64(^hc) + uint64(^m) + uint64(m2)
	return ^csumFold(sum)
}

// copyCsum copies src to dst (which must be at least as long) and returns
// sum plus the one's-complement sum of src, in one pass over the bytes:
// eight bytes at a time, added as two 32-bit big-endian words into the
// 64-bit accumulator (RFC 1071 section 2(B): the sum may be computed in
// wider words and folded, since 2^16 is 1 modulo 0xffff), then the tail as
// csumAdd does. The words are read from src and written to dst as they are
// summed, so each byte is touched once. len(src) is at most MaxPacketLen,
// so the accumulator cannot overflow.
func copyCsum(dst, src []byte, sum uint64) uint64 {
	dst = dst[:len(src)]
	i := 0
	for ; i+8 <= len(src); i += 8 {
		w := binary.BigEndian.Uint64(src[i:])
		binary.BigEndian.PutUint64(dst[i:], w)
		sum += w>>32 + w&0xffffffff
	}
	copy(dst[i:], src[i:])
	return csumAdd(sum, src[i:])
}
