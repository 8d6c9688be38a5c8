// Package wire parses and builds the headers the stack speaks: Ethernet
// II, ARP (RFC 826, Ethernet and IPv4 only), IPv4 (RFC 791), ICMP
// (RFC 792) and UDP (RFC 768).
//
// Parsers take hostile input: they check every length before they index,
// verify checksums, and return the payload as a sub-slice of their input
// (no copy). Builders write into a caller's buffer; they panic, as
// encoding/binary does, when the buffer is too short, which is a
// programming error and never a matter of received data.
package wire

import (
	"errors"
	"fmt"
	"net/netip"
)

// ErrChecksum is wrapped by every error a parser returns for a checksum
// that does not verify; test for it with errors.Is.
var ErrChecksum = errors.New("bad checksum")

// Errors the parsers return. They are fixed values (a parser allocates
// nothing, even on hostile input); those about checksums wrap ErrChecksum.
var (
	ErrEthernetShort = errors.New("wire: Ethernet frame shorter than its 14-byte header")

	ErrARPShort     = errors.New("wire: ARP packet shorter than 28 bytes")
	ErrARPHardware  = errors.New("wire: ARP hardware type or length is not Ethernet's (1, 6)")
	ErrARPProtocol  = errors.New("wire: ARP protocol type or length is not IPv4's (0x0800, 4)")
	ErrARPOperation = errors.New("wire: ARP operation is neither request (1) nor reply (2)")

	ErrIPv4Short      = errors.New("wire: IPv4 packet shorter than its header")
	ErrIPv4Version    = errors.New("wire: IPv4 version is not 4")
	ErrIPv4IHL        = errors.New("wire: IPv4 header length (IHL) below 5 words")
	ErrIPv4TotalLen   = errors.New("wire: IPv4 total length below the header length or beyond the packet")
	ErrIPv4Checksum   = fmt.Errorf("wire: IPv4 header: %w", ErrChecksum)
	ErrICMPShort      = errors.New("wire: ICMP message shorter than its 8-byte header")
	ErrICMPChecksum   = fmt.Errorf("wire: ICMP message: %w", ErrChecksum)
	ErrUDPShort       = errors.New("wire: UDP datagram shorter than its 8-byte header")
	ErrUDPLength      = errors.New("wire: UDP length field below 8 or beyond the IP payload")
	ErrUDPChecksum    = fmt.Errorf("wire: UDP datagram: %w", ErrChecksum)
	ErrUDPAddress     = errors.New("wire: UDP pseudo-header addresses are not IPv4")
	ErrNotEchoRequest = errors.New("wire: ICMP message is not an echo request")
)

// addr4 returns a's four bytes, zero if a is not an IPv4 address (or an
// IPv4-mapped IPv6 one).
func addr4(a netip.Addr) [4]byte {
	a = a.Unmap()
	if !a.Is4() {
		return [4]byte{}
	}
	return a.As4()
}

// addrFrom returns the IPv4 address in b[:4].
func addrFrom(b []byte) netip.Addr {
	return netip.AddrFrom4([4]byte{b[0], b[1], b[2], b[3]})
}
