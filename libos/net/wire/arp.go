package wire

import (
	"encoding/binary"
	"net/netip"
)

// ARP sizes and operations (RFC 826) for Ethernet and IPv4.
const (
	ARPLen     = 28
	ARPRequest = 1
	ARPReply   = 2
)

// ARP is an ARP packet for Ethernet hardware (type 1) and IPv4 (0x0800).
type ARP struct {
	Op  uint16     // ARPRequest or ARPReply
	SHA [6]byte    // sender hardware address
	SPA netip.Addr // sender protocol address (IPv4)
	THA [6]byte    // target hardware address (zero in a request)
	TPA netip.Addr // target protocol address (IPv4)
}

// ParseARP parses an ARP packet (b may be longer: Ethernet padding). It
// refuses any hardware but Ethernet, any protocol but IPv4 and any
// operation but request and reply.
func ParseARP(b []byte) (ARP, error) {
	if len(b) < ARPLen {
		return ARP{}, ErrARPShort
	}
	if binary.BigEndian.Uint16(b[0:2]) != 1 || b[4] != 6 {
		return ARP{}, ErrARPHardware
	}
	if binary.BigEndian.Uint16(b[2:4]) != EtherIPv4 || b[5] != 4 {
		return ARP{}, ErrARPProtocol
	}
	var a ARP
	a.Op = binary.BigEndian.Uint16(b[6:8])
	if a.Op != ARPRequest && a.Op != ARPReply {
		return ARP{}, ErrARPOperation
	}
	copy(a.SHA[:], b[8:14])
	a.SPA = addrFrom(b[14:18])
	copy(a.THA[:], b[18:24])
	a.TPA = addrFrom(b[24:28])
	return a, nil
}

// Put writes the packet into b[:28] and returns 28. An address that is
// not IPv4 is written as 0.0.0.0.
func (a ARP) Put(b []byte) int {
	_ = b[ARPLen-1]
	binary.BigEndian.PutUint16(b[0:2], 1)
	binary.BigEndian.PutUint16(b[2:4], EtherIPv4)
	b[4], b[5] = 6, 4
	binary.BigEndian.PutUint16(b[6:8], a.Op)
	copy(b[8:14], a.SHA[:])
	spa, tpa := addr4(a.SPA), addr4(a.TPA)
	copy(b[14:18], spa[:])
	copy(b[18:24], a.THA[:])
	copy(b[24:28], tpa[:])
	return ARPLen
}
