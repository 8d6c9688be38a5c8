package wire

import (
	"encoding/binary"
	"net/netip"

	"github.com/exo-os/exo/libos/net/checksum"
)

// UDPLen is the UDP header's length (RFC 768).
const UDPLen = 8

// UDP is a UDP header.
type UDP struct {
	Src, Dst uint16 // ports
	Len      uint16 // header and data, bytes
	Checksum uint16 // 0: none (IPv4 only)
}

// ParseUDP parses b, the IP payload carrying a UDP datagram from src to
// dst (IPv4 addresses, for the pseudo-header). The length field must be
// at least 8 and within b (bytes after it are ignored); a nonzero
// checksum must verify (zero means the sender computed none, RFC 768).
// It returns the header and the data.
func ParseUDP(b []byte, src, dst netip.Addr) (UDP, []byte, error) {
	if len(b) < UDPLen {
		return UDP{}, nil, ErrUDPShort
	}
	src, dst = src.Unmap(), dst.Unmap()
	if !src.Is4() || !dst.Is4() {
		return UDP{}, nil, ErrUDPAddress
	}
	h := UDP{
		Src:      binary.BigEndian.Uint16(b[0:2]),
		Dst:      binary.BigEndian.Uint16(b[2:4]),
		Len:      binary.BigEndian.Uint16(b[4:6]),
		Checksum: binary.BigEndian.Uint16(b[6:8]),
	}
	if h.Len < UDPLen || int(h.Len) > len(b) {
		return UDP{}, nil, ErrUDPLength
	}
	b = b[:h.Len]
	if h.Checksum != 0 {
		s := checksum.Pseudo(src.As4(), dst.As4(), ProtoUDP, len(b))
		if checksum.Finish(checksum.Sum(s, b)) != 0 {
			return UDP{}, nil, ErrUDPChecksum
		}
	}
	return h, b[UDPLen:], nil
}

// Put writes the header for data (which may be b[8:] itself) from src to
// dst into b[:8], with Len = 8+len(data) and the checksum over the
// pseudo-header, header and data (a computed 0 is sent as 0xffff, RFC
// 768); h.Len and h.Checksum are ignored. It returns 8, and panics if
// the datagram would exceed 65535 bytes.
func (h UDP) Put(b []byte, src, dst netip.Addr, data []byte) int {
	n := UDPLen + len(data)
	if n > 0xffff {
		panic("wire: UDP datagram longer than 65535 bytes")
	}
	_ = b[UDPLen-1]
	binary.BigEndian.PutUint16(b[0:2], h.Src)
	binary.BigEndian.PutUint16(b[2:4], h.Dst)
	binary.BigEndian.PutUint16(b[4:6], uint16(n))
	b[6], b[7] = 0, 0
	s := checksum.Pseudo(addr4(src), addr4(dst), ProtoUDP, n)
	s = checksum.Sum(s, b[:UDPLen])
	s = checksum.Sum(s, data)
	c := checksum.Finish(s)
	if c == 0 {
		c = 0xffff
	}
	binary.BigEndian.PutUint16(b[6:8], c)
	return UDPLen
}
