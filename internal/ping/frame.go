package ping

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
)

// EtherType values that ParseFrame and Frame.Append understand.
const (
	EtherTypeIPv4 uint16 = 0x0800
	EtherTypeARP  uint16 = 0x0806
)

// IP protocol numbers with a parsed transport header.
const (
	ProtoICMP uint8 = 1
	ProtoUDP  uint8 = 17
)

// ICMP message types for echo (RFC 792).
const (
	ICMPEchoReply   uint8 = 0
	ICMPEchoRequest uint8 = 8
)

// ARP operations (RFC 826).
const (
	ARPRequest uint16 = 1
	ARPReply   uint16 = 2
)

// Header sizes in bytes.
const (
	ethHeaderLen  = 14 // destination, source, EtherType; no FCS on -netdev dgram
	arpLen        = 28 // Ethernet/IPv4 ARP
	ipv4HeaderLen = 20 // without options
	icmpHeaderLen = 8  // type, code, checksum, identifier, sequence
	udpHeaderLen  = 8
	maxIPv4Len    = 0xffff
)

// Errors that ParseFrame wraps: test for them with errors.Is.
var (
	// ErrMalformed marks a frame whose headers contradict themselves or the
	// bytes present: truncated, impossible lengths, not IPv4 inside an IPv4
	// EtherType.
	ErrMalformed = errors.New("malformed frame")
	// ErrUnsupported marks a well-formed frame this package does not parse:
	// other EtherTypes (VLAN tags, IPv6), ARP for other hardware or
	// protocols, IPv4 fragments.
	ErrUnsupported = errors.New("unsupported frame")
)

// A ChecksumError reports a checksum field that does not match the data it
// covers. ParseFrame returns it together with the fully parsed frame, so
// that a reply can still be matched with its probe and counted corrupt.
type ChecksumError struct {
	Layer  string // "IPv4 header", "ICMP" or "UDP"
	Offset int    // byte offset of the checksum field in the frame
	Got    uint16 // the field's value
	Want   uint16 // the value that matches the data
}

// Error says which checksum is wrong, where, and what it should be.
func (e *ChecksumError) Error() string {
	return fmt.Sprintf("%s checksum at byte %d is 0x%04x, want 0x%04x", e.Layer, e.Offset, e.Got, e.Want)
}

// MAC is an Ethernet (EUI-48) address.
type MAC [6]byte

// Broadcast is the Ethernet broadcast address.
var Broadcast = MAC{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

// ParseMAC parses a 6-byte hardware address in any form net.ParseMAC
// accepts, such as "02:00:00:00:00:01".
func ParseMAC(s string) (MAC, error) {
	hw, err := net.ParseMAC(s)
	if err != nil {
		return MAC{}, err
	}
	if len(hw) != len(MAC{}) {
		return MAC{}, fmt.Errorf("MAC address %q: %d bytes, want 6", s, len(hw))
	}
	return MAC(hw), nil
}

// String formats m as six colon-separated hexadecimal bytes.
func (m MAC) String() string { return net.HardwareAddr(m[:]).String() }

// Frame is an Ethernet frame carrying ARP or IPv4, the latter with an
// ICMP or UDP header parsed. Which fields mean something depends on
// EtherType and IP.Protocol; the others are zero. Slices returned by
// ParseFrame alias its input.
type Frame struct {
	Dst, Src  MAC    // destination and source Ethernet addresses
	EtherType uint16 // EtherTypeARP or EtherTypeIPv4

	ARP ARP  // EtherType == EtherTypeARP
	IP  IPv4 // EtherType == EtherTypeIPv4

	ICMP ICMP // IP.Protocol == ProtoICMP
	UDP  UDP  // IP.Protocol == ProtoUDP

	// Payload is the ICMP message after its 8-byte header, the UDP
	// payload, or for any other IP protocol the whole IP payload.
	Payload []byte
}

// ARP is an Ethernet/IPv4 ARP packet.
type ARP struct {
	Op        uint16     // ARPRequest or ARPReply
	SenderMAC MAC        // the asker's (request) or the answer's (reply)
	SenderIP  netip.Addr // the sender's IPv4 address
	TargetMAC MAC        // zero in a request; the asker's in a reply
	TargetIP  netip.Addr // the address asked about (request) or the asker's (reply)
}

// IPv4 is an IPv4 header without the fields that follow from the rest of
// the frame (version, lengths, checksum). Fragments are not supported.
type IPv4 struct {
	TOS          uint8      // type of service (DSCP and ECN)
	ID           uint16     // identification
	DontFragment bool       // the DF flag
	TTL          uint8      // time to live
	Protocol     uint8      // ProtoICMP, ProtoUDP or another protocol number
	Src, Dst     netip.Addr // source and destination IPv4 addresses
	Options      []byte     // nil or a multiple of 4 bytes, at most 40
}

// ICMP is an ICMP header without its checksum. ID and Seq are an echo
// message's identifier and sequence number; for other types they hold the
// four bytes that follow the checksum.
type ICMP struct {
	Type, Code uint8  // ICMPEchoRequest or ICMPEchoReply, code 0, for echo
	ID, Seq    uint16 // identifier and sequence number
}

// UDP is a UDP header without its length and checksum.
type UDP struct {
	SrcPort, DstPort uint16 // source and destination ports
}

var be = binary.BigEndian

// frameErr builds an error that says what kind (ErrMalformed or
// ErrUnsupported), in which layer and where in the frame.
func frameErr(kind error, layer string, off int, format string, args ...any) error {
	return fmt.Errorf("%w: %s at byte %d: %s", kind, layer, off, fmt.Sprintf(format, args...))
}

// ParseFrame parses an Ethernet frame without FCS, as -netdev dgram
// delivers it. Bytes beyond the IPv4 total length (Ethernet padding) and
// beyond the 28 bytes of ARP are ignored. An error wrapping ErrMalformed
// or ErrUnsupported leaves the frame partly filled. A *ChecksumError
// (the first bad checksum found) comes with the whole frame parsed.
func ParseFrame(b []byte) (Frame, error) {
	var f Frame
	if len(b) < ethHeaderLen {
		return f, frameErr(ErrMalformed, "Ethernet header", 0, "frame is %d bytes, need %d", len(b), ethHeaderLen)
	}
	copy(f.Dst[:], b[0:6])
	copy(f.Src[:], b[6:12])
	f.EtherType = be.Uint16(b[12:14])
	body := b[ethHeaderLen:]
	switch f.EtherType {
	case EtherTypeARP:
		return f, f.ARP.parse(body)
	case EtherTypeIPv4:
		return f, f.parseIPv4(body)
	}
	return f, frameErr(ErrUnsupported, "Ethernet header", 12, "EtherType 0x%04x", f.EtherType)
}

func (a *ARP) parse(b []byte) error {
	const layer = "ARP"
	if len(b) < arpLen {
		return frameErr(ErrMalformed, layer, ethHeaderLen, "%d bytes, need %d", len(b), arpLen)
	}
	if htype, ptype := be.Uint16(b[0:2]), be.Uint16(b[2:4]); htype != 1 || ptype != EtherTypeIPv4 {
		return frameErr(ErrUnsupported, layer, ethHeaderLen, "hardware type %d, protocol 0x%04x (want Ethernet/IPv4: 1, 0x0800)", htype, ptype)
	}
	if b[4] != 6 || b[5] != 4 {
		return frameErr(ErrMalformed, layer, ethHeaderLen+4, "address lengths %d and %d for Ethernet/IPv4, want 6 and 4", b[4], b[5])
	}
	a.Op = be.Uint16(b[6:8])
	copy(a.SenderMAC[:], b[8:14])
	a.SenderIP = netip.AddrFrom4([4]byte(b[14:18]))
	copy(a.TargetMAC[:], b[18:24])
	a.TargetIP = netip.AddrFrom4([4]byte(b[24:28]))
	return nil
}

func (f *Frame) parseIPv4(b []byte) error {
	const layer = "IPv4 header"
	const at = ethHeaderLen
	if len(b) < ipv4HeaderLen {
		return frameErr(ErrMalformed, layer, at, "%d bytes, need at least %d", len(b), ipv4HeaderLen)
	}
	if v := b[0] >> 4; v != 4 {
		return frameErr(ErrMalformed, layer, at, "version %d, want 4", v)
	}
	ihl := int(b[0]&0x0f) * 4
	if ihl < ipv4HeaderLen {
		return frameErr(ErrMalformed, layer, at, "header length %d, less than %d", ihl, ipv4HeaderLen)
	}
	if ihl > len(b) {
		return frameErr(ErrMalformed, layer, at, "header length %d exceeds the %d bytes present", ihl, len(b))
	}
	total := int(be.Uint16(b[2:4]))
	if total < ihl {
		return frameErr(ErrMalformed, layer, at+2, "total length %d, less than the header length %d", total, ihl)
	}
	if total > len(b) {
		return frameErr(ErrMalformed, layer, at+2, "total length %d exceeds the %d bytes present", total, len(b))
	}
	flags := be.Uint16(b[6:8])
	if flags&0x8000 != 0 {
		return frameErr(ErrMalformed, layer, at+6, "reserved flag set")
	}
	if flags&0x3fff != 0 {
		return frameErr(ErrUnsupported, layer, at+6, "fragment (more-fragments flag %v, offset %d)", flags&0x2000 != 0, (flags&0x1fff)*8)
	}
	f.IP = IPv4{
		TOS:          b[1],
		ID:           be.Uint16(b[4:6]),
		DontFragment: flags&0x4000 != 0,
		TTL:          b[8],
		Protocol:     b[9],
		Src:          netip.AddrFrom4([4]byte(b[12:16])),
		Dst:          netip.AddrFrom4([4]byte(b[16:20])),
	}
	if ihl > ipv4HeaderLen {
		f.IP.Options = b[ipv4HeaderLen:ihl]
	}
	var bad error
	if s := fold(sum(0, b[:ihl])); s != 0 {
		got := be.Uint16(b[10:12])
		bad = &ChecksumError{Layer: layer, Offset: at + 10, Got: got, Want: fold(sum(0, b[:ihl]) - uint32(got))}
	}
	l4, l4at := b[ihl:total], at+ihl
	var err error
	switch f.IP.Protocol {
	case ProtoICMP:
		f.ICMP, f.Payload, err = parseICMP(l4, l4at)
	case ProtoUDP:
		f.UDP, f.Payload, err = parseUDP(l4, l4at, f.IP.Src.As4(), f.IP.Dst.As4())
	default:
		f.Payload = l4
	}
	var ce *ChecksumError
	if err != nil && !errors.As(err, &ce) {
		return err
	}
	if bad != nil {
		return bad
	}
	return err
}

// parseICMP parses an ICMP message that starts at byte off of its frame
// (off only places errors) and verifies its checksum.
func parseICMP(b []byte, off int) (ICMP, []byte, error) {
	if len(b) < icmpHeaderLen {
		return ICMP{}, nil, frameErr(ErrMalformed, "ICMP header", off, "%d bytes, need %d", len(b), icmpHeaderLen)
	}
	h := ICMP{Type: b[0], Code: b[1], ID: be.Uint16(b[4:6]), Seq: be.Uint16(b[6:8])}
	if fold(sum(0, b)) != 0 {
		got := be.Uint16(b[2:4])
		return h, b[icmpHeaderLen:], &ChecksumError{Layer: "ICMP", Offset: off + 2, Got: got, Want: fold(sum(0, b) - uint32(got))}
	}
	return h, b[icmpHeaderLen:], nil
}

// parseUDP parses a UDP datagram that starts at byte off of its frame and
// verifies its checksum unless the field is zero (none sent, RFC 768).
func parseUDP(b []byte, off int, src, dst [4]byte) (UDP, []byte, error) {
	const layer = "UDP header"
	if len(b) < udpHeaderLen {
		return UDP{}, nil, frameErr(ErrMalformed, layer, off, "%d bytes, need %d", len(b), udpHeaderLen)
	}
	h := UDP{SrcPort: be.Uint16(b[0:2]), DstPort: be.Uint16(b[2:4])}
	n := int(be.Uint16(b[4:6]))
	if n < udpHeaderLen || n > len(b) {
		return h, nil, frameErr(ErrMalformed, layer, off+4, "length %d outside %d..%d (the IPv4 payload)", n, udpHeaderLen, len(b))
	}
	b = b[:n]
	got := be.Uint16(b[6:8])
	if got != 0 {
		if s := pseudoHeader(src, dst, ProtoUDP, n); fold(sum(s, b)) != 0 {
			want := fold(sum(s, b) - uint32(got))
			if want == 0 {
				want = 0xffff
			}
			return h, b[udpHeaderLen:], &ChecksumError{Layer: "UDP", Offset: off + 6, Got: got, Want: want}
		}
	}
	return h, b[udpHeaderLen:], nil
}

// Marshal returns the frame's bytes; see Append.
func (f Frame) Marshal() ([]byte, error) { return f.Append(nil) }

// Append appends the frame's bytes to b, computing lengths and checksums
// (UDP's always, never zero). It fails for EtherTypes other than ARP and
// IPv4, addresses that are not IPv4, bad IP options and frames longer
// than IPv4 allows.
func (f Frame) Append(b []byte) ([]byte, error) {
	switch f.EtherType {
	case EtherTypeARP:
		a := &f.ARP
		if !a.SenderIP.Is4() || !a.TargetIP.Is4() {
			return b, fmt.Errorf("ping: building ARP: sender %v and target %v must be IPv4 addresses", a.SenderIP, a.TargetIP)
		}
		b = appendEthernet(b, &f)
		b = be.AppendUint16(b, 1)
		b = be.AppendUint16(b, EtherTypeIPv4)
		b = append(b, 6, 4)
		b = be.AppendUint16(b, a.Op)
		b = append(b, a.SenderMAC[:]...)
		b = append(b, a.SenderIP.AsSlice()...)
		b = append(b, a.TargetMAC[:]...)
		return append(b, a.TargetIP.AsSlice()...), nil
	case EtherTypeIPv4:
		return f.appendIPv4(b)
	}
	return b, fmt.Errorf("ping: building frame: EtherType 0x%04x is not ARP or IPv4", f.EtherType)
}

func appendEthernet(b []byte, f *Frame) []byte {
	b = append(b, f.Dst[:]...)
	b = append(b, f.Src[:]...)
	return be.AppendUint16(b, f.EtherType)
}

func (f *Frame) appendIPv4(b []byte) ([]byte, error) {
	ip := &f.IP
	if !ip.Src.Is4() || !ip.Dst.Is4() {
		return b, fmt.Errorf("ping: building IPv4: source %v and destination %v must be IPv4 addresses", ip.Src, ip.Dst)
	}
	if len(ip.Options)%4 != 0 || len(ip.Options) > 40 {
		return b, fmt.Errorf("ping: building IPv4: %d bytes of options, want a multiple of 4 up to 40", len(ip.Options))
	}
	ihl := ipv4HeaderLen + len(ip.Options)
	l4 := len(f.Payload)
	switch ip.Protocol {
	case ProtoICMP:
		l4 += icmpHeaderLen
	case ProtoUDP:
		l4 += udpHeaderLen
	}
	total := ihl + l4
	if total > maxIPv4Len {
		return b, fmt.Errorf("ping: building IPv4: %d bytes exceed the IPv4 limit of %d", total, maxIPv4Len)
	}
	b = appendEthernet(b, f)
	h := len(b)
	var flags uint16
	if ip.DontFragment {
		flags = 0x4000
	}
	b = append(b, 0x40|byte(ihl/4), ip.TOS)
	b = be.AppendUint16(b, uint16(total))
	b = be.AppendUint16(b, ip.ID)
	b = be.AppendUint16(b, flags)
	b = append(b, ip.TTL, ip.Protocol, 0, 0)
	b = append(b, ip.Src.AsSlice()...)
	b = append(b, ip.Dst.AsSlice()...)
	b = append(b, ip.Options...)
	be.PutUint16(b[h+10:], fold(sum(0, b[h:])))

	l := len(b)
	switch ip.Protocol {
	case ProtoICMP:
		b = appendICMP(b, f.ICMP, f.Payload)
	case ProtoUDP:
		b = be.AppendUint16(b, f.UDP.SrcPort)
		b = be.AppendUint16(b, f.UDP.DstPort)
		b = be.AppendUint16(b, uint16(l4))
		b = append(b, 0, 0)
		b = append(b, f.Payload...)
		cs := fold(sum(pseudoHeader(ip.Src.As4(), ip.Dst.As4(), ProtoUDP, l4), b[l:]))
		if cs == 0 {
			cs = 0xffff // zero would mean "no checksum"
		}
		be.PutUint16(b[l+6:], cs)
	default:
		b = append(b, f.Payload...)
	}
	return b, nil
}

// appendICMP appends an ICMP message with its checksum.
func appendICMP(b []byte, h ICMP, payload []byte) []byte {
	l := len(b)
	b = append(b, h.Type, h.Code, 0, 0)
	b = be.AppendUint16(b, h.ID)
	b = be.AppendUint16(b, h.Seq)
	b = append(b, payload...)
	be.PutUint16(b[l+2:], fold(sum(0, b[l:])))
	return b
}
