package ash

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
)

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
}

// maxHelperLen bounds the length argument of pkt_copy and csum.
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
