package wire

import "encoding/binary"

// Ethernet II header sizes and the ethertypes the stack handles.
const (
	EthernetLen = 14     // destination, source, type
	EtherIPv4   = 0x0800 // IPv4 (RFC 894)
	EtherARP    = 0x0806 // ARP (RFC 826)
	// EthernetMinLen is the shortest frame Ethernet carries, without the
	// FCS (IEEE 802.3: 64 bytes with it); senders pad up to it.
	EthernetMinLen = 60
)

// Broadcast is the Ethernet broadcast address.
var Broadcast = [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

// IsMulticastMAC reports whether mac is a group address (broadcast
// included): the I/G bit, the least significant bit of the first octet.
func IsMulticastMAC(mac [6]byte) bool { return mac[0]&1 != 0 }

// Ethernet is an Ethernet II header.
type Ethernet struct {
	Dst, Src [6]byte
	Type     uint16 // ethertype (values below 0x0600 are 802.3 lengths, kept as read)
}

// ParseEthernet parses b's Ethernet II header and returns it with the
// rest of the frame (which may carry padding after the payload's end).
func ParseEthernet(b []byte) (Ethernet, []byte, error) {
	if len(b) < EthernetLen {
		return Ethernet{}, nil, ErrEthernetShort
	}
	var e Ethernet
	copy(e.Dst[:], b[0:6])
	copy(e.Src[:], b[6:12])
	e.Type = binary.BigEndian.Uint16(b[12:14])
	return e, b[EthernetLen:], nil
}

// Put writes the header into b[:14] and returns 14.
func (e Ethernet) Put(b []byte) int {
	_ = b[EthernetLen-1]
	copy(b[0:6], e.Dst[:])
	copy(b[6:12], e.Src[:])
	binary.BigEndian.PutUint16(b[12:14], e.Type)
	return EthernetLen
}
