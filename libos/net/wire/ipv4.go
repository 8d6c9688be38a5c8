package wire

import (
	"encoding/binary"
	"net/netip"

	"github.com/exo-os/exo/libos/net/checksum"
)

// IPv4 sizes and the protocol numbers the stack knows.
const (
	IPv4Len    = 20    // header without options
	IPv4MaxLen = 65535 // largest total length
	ProtoICMP  = 1
	ProtoTCP   = 6
	ProtoUDP   = 17
)

// IPv4 is an IPv4 header (RFC 791 §3.1). Options are skipped on parsing
// and never written.
type IPv4 struct {
	TOS      uint8
	TotalLen uint16 // header and payload, bytes
	ID       uint16
	DF, MF   bool   // don't fragment, more fragments
	FragOff  uint16 // fragment offset in bytes (a multiple of 8)
	TTL      uint8
	Proto    uint8
	Src, Dst netip.Addr
	// HeaderLen is the header's length in bytes (IHL*4, 20 to 60) as
	// parsed; Put ignores it and writes 20.
	HeaderLen int
}

// ParseIPv4 parses and verifies b's IPv4 header: version 4, IHL of at
// least 5, a header checksum that verifies, and a total length within b.
// It returns the payload, b[HeaderLen:TotalLen]: bytes past the total
// length (Ethernet padding) are cut off.
func ParseIPv4(b []byte) (IPv4, []byte, error) {
	if len(b) < IPv4Len {
		return IPv4{}, nil, ErrIPv4Short
	}
	if b[0]>>4 != 4 {
		return IPv4{}, nil, ErrIPv4Version
	}
	hl := int(b[0]&0x0f) * 4
	if hl < IPv4Len {
		return IPv4{}, nil, ErrIPv4IHL
	}
	if hl > len(b) {
		return IPv4{}, nil, ErrIPv4Short
	}
	total := int(binary.BigEndian.Uint16(b[2:4]))
	if total < hl || total > len(b) {
		return IPv4{}, nil, ErrIPv4TotalLen
	}
	if checksum.Checksum(b[:hl]) != 0 {
		return IPv4{}, nil, ErrIPv4Checksum
	}
	flags := binary.BigEndian.Uint16(b[6:8])
	h := IPv4{
		TOS:       b[1],
		TotalLen:  uint16(total),
		ID:        binary.BigEndian.Uint16(b[4:6]),
		DF:        flags&0x4000 != 0,
		MF:        flags&0x2000 != 0,
		FragOff:   (flags & 0x1fff) * 8,
		TTL:       b[8],
		Proto:     b[9],
		Src:       addrFrom(b[12:16]),
		Dst:       addrFrom(b[16:20]),
		HeaderLen: hl,
	}
	return h, b[hl:total], nil
}

// Put writes a 20-byte header for a payload of payloadLen bytes into
// b[:20], with TotalLen = 20+payloadLen and the header checksum, and
// returns 20. It panics if payloadLen is negative or above 65515, or
// FragOff is not a multiple of 8 below 65536 (programming errors).
func (h IPv4) Put(b []byte, payloadLen int) int {
	if payloadLen < 0 || payloadLen > IPv4MaxLen-IPv4Len {
		panic("wire: IPv4 payload length out of range")
	}
	if h.FragOff%8 != 0 {
		panic("wire: IPv4 fragment offset is not a multiple of 8")
	}
	_ = b[IPv4Len-1]
	b[0] = 4<<4 | IPv4Len/4
	b[1] = h.TOS
	binary.BigEndian.PutUint16(b[2:4], uint16(IPv4Len+payloadLen))
	binary.BigEndian.PutUint16(b[4:6], h.ID)
	flags := h.FragOff / 8
	if h.DF {
		flags |= 0x4000
	}
	if h.MF {
		flags |= 0x2000
	}
	binary.BigEndian.PutUint16(b[6:8], flags)
	b[8] = h.TTL
	b[9] = h.Proto
	b[10], b[11] = 0, 0
	src, dst := addr4(h.Src), addr4(h.Dst)
	copy(b[12:16], src[:])
	copy(b[16:20], dst[:])
	binary.BigEndian.PutUint16(b[10:12], checksum.Checksum(b[:IPv4Len]))
	return IPv4Len
}
