package wire

import (
	"encoding/binary"

	"github.com/exo-os/exo/libos/net/checksum"
)

// ICMP sizes, types and codes (RFC 792) the stack uses.
const (
	ICMPLen = 8

	ICMPEchoReply       = 0
	ICMPDestUnreachable = 3
	ICMPSourceQuench    = 4
	ICMPRedirect        = 5
	ICMPEchoRequest     = 8
	ICMPTimeExceeded    = 11
	ICMPParameterProb   = 12
	ICMPTimestamp       = 13
	ICMPTimestampReply  = 14

	// Destination unreachable codes.
	ICMPNetUnreachable   = 0
	ICMPHostUnreachable  = 1
	ICMPProtoUnreachable = 2
	ICMPPortUnreachable  = 3
	ICMPFragNeeded       = 4
)

// ICMP is an ICMP message's header: type, code and the 32 bits after the
// checksum (identifier and sequence number of an echo, unused in a
// destination unreachable).
type ICMP struct {
	Type, Code uint8
	Rest       uint32
}

// IsError reports whether t is an ICMP error message type (RFC 1122
// §3.2.2: destination unreachable, source quench, redirect, time
// exceeded, parameter problem), about which no ICMP error is sent.
func IsError(t uint8) bool {
	switch t {
	case ICMPDestUnreachable, ICMPSourceQuench, ICMPRedirect, ICMPTimeExceeded, ICMPParameterProb:
		return true
	}
	return false
}

// ParseICMP parses b, a whole ICMP message (the IP payload), verifying
// its checksum, and returns the header and the body after it.
func ParseICMP(b []byte) (ICMP, []byte, error) {
	if len(b) < ICMPLen {
		return ICMP{}, nil, ErrICMPShort
	}
	if checksum.Checksum(b) != 0 {
		return ICMP{}, nil, ErrICMPChecksum
	}
	return ICMP{Type: b[0], Code: b[1], Rest: binary.BigEndian.Uint32(b[4:8])}, b[ICMPLen:], nil
}

// Put writes the header into b[:8], with the checksum over it and body
// (the message's bytes after the header, which may be b[8:] itself), and
// returns 8.
func (h ICMP) Put(b []byte, body []byte) int {
	_ = b[ICMPLen-1]
	b[0], b[1], b[2], b[3] = h.Type, h.Code, 0, 0
	binary.BigEndian.PutUint32(b[4:8], h.Rest)
	s := checksum.Sum(0, b[:ICMPLen])
	s = checksum.Sum(s, body)
	binary.BigEndian.PutUint16(b[2:4], checksum.Finish(s))
	return ICMPLen
}

// AppendEchoReply appends to dst the echo reply (RFC 792) to req, a whole
// echo request message: type 0, the same identifier, sequence number and
// data.
func AppendEchoReply(dst, req []byte) ([]byte, error) {
	h, body, err := ParseICMP(req)
	if err != nil {
		return dst, err
	}
	if h.Type != ICMPEchoRequest {
		return dst, ErrNotEchoRequest
	}
	n := len(dst)
	dst = append(dst, req...)
	ICMP{Type: ICMPEchoReply, Rest: h.Rest}.Put(dst[n:], body)
	return dst, nil
}

// QuoteLen returns how much of datagram orig an ICMP error quotes: its IP
// header and the first 8 bytes of its payload (RFC 792; RFC 1122
// §3.2.2), within len(orig).
func QuoteLen(orig []byte) int {
	if len(orig) == 0 {
		return 0
	}
	hl := int(orig[0]&0x0f) * 4
	return min(len(orig), max(hl, IPv4Len)+8)
}

// AppendUnreachable appends to dst a destination unreachable message
// (type 3) with code (ICMPProtoUnreachable, ICMPPortUnreachable, ...)
// about orig, the offending IP datagram from its header on, quoting
// QuoteLen(orig) bytes of it.
func AppendUnreachable(dst []byte, code uint8, orig []byte) []byte {
	n := len(dst)
	dst = append(dst, make([]byte, ICMPLen)...)
	dst = append(dst, orig[:QuoteLen(orig)]...)
	ICMP{Type: ICMPDestUnreachable, Code: code}.Put(dst[n:], dst[n+ICMPLen:])
	return dst
}
