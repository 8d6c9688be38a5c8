package wire

import (
	"bytes"
	"errors"
	"net/netip"
	"testing"

	"github.com/exo-os/exo/libos/net/checksum"
)

var (
	ipA = netip.MustParseAddr("198.18.0.1")
	ipB = netip.MustParseAddr("198.18.0.2")
)

func TestEthernet(t *testing.T) {
	e := Ethernet{Dst: Broadcast, Src: [6]byte{2, 0, 0, 0, 0, 1}, Type: EtherARP}
	b := make([]byte, 20)
	if n := e.Put(b); n != EthernetLen {
		t.Fatalf("Put = %d", n)
	}
	got, p, err := ParseEthernet(b)
	if err != nil || got != e || len(p) != 6 {
		t.Fatalf("ParseEthernet = %+v, %d bytes, %v", got, len(p), err)
	}
	if _, _, err := ParseEthernet(b[:13]); err != ErrEthernetShort {
		t.Fatalf("short frame: %v", err)
	}
	if !IsMulticastMAC(Broadcast) || IsMulticastMAC(e.Src) {
		t.Fatal("IsMulticastMAC")
	}
}

func TestARP(t *testing.T) {
	a := ARP{Op: ARPRequest, SHA: [6]byte{2, 0, 0, 0, 0, 1}, SPA: ipA, TPA: ipB}
	b := make([]byte, 60) // padded
	a.Put(b)
	got, err := ParseARP(b)
	if err != nil || got != a {
		t.Fatalf("ParseARP = %+v, %v", got, err)
	}
	tests := []struct {
		name string
		mod  func([]byte)
		want error
	}{
		{"short", nil, ErrARPShort},
		{"hardware type", func(b []byte) { b[1] = 6 }, ErrARPHardware},
		{"hardware length", func(b []byte) { b[4] = 8 }, ErrARPHardware},
		{"protocol type", func(b []byte) { b[2] = 0x86 }, ErrARPProtocol},
		{"protocol length", func(b []byte) { b[5] = 16 }, ErrARPProtocol},
		{"operation", func(b []byte) { b[7] = 3 }, ErrARPOperation},
	}
	for _, tt := range tests {
		c := bytes.Clone(b)
		if tt.mod == nil {
			c = c[:27]
		} else {
			tt.mod(c)
		}
		if _, err := ParseARP(c); err != tt.want {
			t.Errorf("%s: err = %v, want %v", tt.name, err, tt.want)
		}
	}
}

func ipPacket(h IPv4, payload []byte) []byte {
	b := make([]byte, IPv4Len+len(payload))
	h.Put(b, len(payload))
	copy(b[IPv4Len:], payload)
	return b
}

func TestIPv4(t *testing.T) {
	h := IPv4{TOS: 0x10, ID: 77, MF: true, FragOff: 1480, TTL: 64, Proto: ProtoUDP, Src: ipA, Dst: ipB}
	b := append(ipPacket(h, []byte("hello")), 0, 0, 0) // trailing padding
	got, p, err := ParseIPv4(b)
	if err != nil {
		t.Fatal(err)
	}
	h.TotalLen, h.HeaderLen = 25, 20
	if got != h || string(p) != "hello" {
		t.Fatalf("ParseIPv4 = %+v %q", got, p)
	}

	// Options: IHL 15, 40 bytes of options skipped.
	opt := make([]byte, 60+3)
	copy(opt, b[:20])
	opt[0] = 0x4f
	opt[3] = 63
	copy(opt[60:], "abc")
	opt[10], opt[11] = 0, 0
	c := checksum.Checksum(opt[:60])
	opt[10], opt[11] = byte(c>>8), byte(c)
	got, p, err = ParseIPv4(opt)
	if err != nil || got.HeaderLen != 60 || string(p) != "abc" {
		t.Fatalf("with options: %+v %q %v", got, p, err)
	}

	tests := []struct {
		name string
		mod  func([]byte) []byte
		want error
	}{
		{"short", func(b []byte) []byte { return b[:19] }, ErrIPv4Short},
		{"version", func(b []byte) []byte { b[0] = 0x65; return b }, ErrIPv4Version},
		{"ihl", func(b []byte) []byte { b[0] = 0x44; return b }, ErrIPv4IHL},
		{"ihl beyond", func(b []byte) []byte { b[0] = 0x4f; return b }, ErrIPv4Short},
		{"total beyond", func(b []byte) []byte { b[3] = 200; return b }, ErrIPv4TotalLen},
		{"total below header", func(b []byte) []byte { b[3] = 10; return b }, ErrIPv4TotalLen},
		{"checksum", func(b []byte) []byte { b[8]++; return b }, ErrIPv4Checksum},
	}
	for _, tt := range tests {
		_, _, err := ParseIPv4(tt.mod(bytes.Clone(b)))
		if err != tt.want {
			t.Errorf("%s: err = %v, want %v", tt.name, err, tt.want)
		}
	}
	if !errors.Is(ErrIPv4Checksum, ErrChecksum) {
		t.Error("ErrIPv4Checksum does not wrap ErrChecksum")
	}
}

func TestICMPEchoAndUnreachable(t *testing.T) {
	req := make([]byte, 8+5)
	copy(req[8:], "ping!")
	ICMP{Type: ICMPEchoRequest, Rest: 0x12340001}.Put(req, req[8:])
	h, body, err := ParseICMP(req)
	if err != nil || h.Type != ICMPEchoRequest || string(body) != "ping!" {
		t.Fatalf("ParseICMP = %+v %q %v", h, body, err)
	}
	rep, err := AppendEchoReply(nil, req)
	if err != nil {
		t.Fatal(err)
	}
	h, body, err = ParseICMP(rep)
	if err != nil || h != (ICMP{Type: ICMPEchoReply, Rest: 0x12340001}) || string(body) != "ping!" {
		t.Fatalf("reply = %+v %q %v", h, body, err)
	}
	if _, err := AppendEchoReply(nil, rep); err != ErrNotEchoRequest {
		t.Fatalf("reply to a reply: %v", err)
	}
	req[9]++
	if _, _, err := ParseICMP(req); err != ErrICMPChecksum {
		t.Fatalf("bad checksum: %v", err)
	}
	if _, _, err := ParseICMP(req[:7]); err != ErrICMPShort {
		t.Fatalf("short: %v", err)
	}

	orig := ipPacket(IPv4{TTL: 64, Proto: ProtoUDP, Src: ipA, Dst: ipB}, []byte("0123456789abcdef"))
	u := AppendUnreachable([]byte{0xee}, ICMPPortUnreachable, orig)
	h, body, err = ParseICMP(u[1:])
	if err != nil || h != (ICMP{Type: ICMPDestUnreachable, Code: ICMPPortUnreachable}) {
		t.Fatalf("unreachable = %+v %v", h, err)
	}
	if !bytes.Equal(body, orig[:28]) {
		t.Fatalf("quote = %x, want the header and 8 bytes", body)
	}
	if !IsError(ICMPDestUnreachable) || IsError(ICMPEchoRequest) {
		t.Fatal("IsError")
	}
	if QuoteLen(orig[:22]) != 22 || QuoteLen(nil) != 0 {
		t.Fatal("QuoteLen does not clip")
	}
}

func TestUDP(t *testing.T) {
	data := []byte("datagram")
	b := make([]byte, 8+len(data)+4)
	copy(b[8:], data)
	UDP{Src: 53, Dst: 40000}.Put(b, ipA, ipB, b[8:8+len(data)])
	h, p, err := ParseUDP(b, ipA, ipB) // 4 bytes of trailing junk ignored
	if err != nil || h.Src != 53 || h.Dst != 40000 || h.Len != 16 || string(p) != "datagram" {
		t.Fatalf("ParseUDP = %+v %q %v", h, p, err)
	}
	if _, _, err := ParseUDP(b, ipB, ipA); err != nil {
		t.Fatalf("swapped addresses have the same sum: %v", err)
	}
	if _, _, err := ParseUDP(b, ipA, netip.MustParseAddr("198.18.0.3")); err != ErrUDPChecksum {
		t.Fatalf("wrong pseudo-header: %v", err)
	}
	noSum := bytes.Clone(b)
	noSum[6], noSum[7] = 0, 0
	noSum[9] ^= 0xff
	if _, _, err := ParseUDP(noSum, ipA, ipB); err != nil {
		t.Fatalf("checksum 0 means none: %v", err)
	}
	short := bytes.Clone(b)
	short[5] = 7
	if _, _, err := ParseUDP(short, ipA, ipB); err != ErrUDPLength {
		t.Fatalf("length 7: %v", err)
	}
	short[5] = 30
	if _, _, err := ParseUDP(short, ipA, ipB); err != ErrUDPLength {
		t.Fatalf("length beyond: %v", err)
	}
	if _, _, err := ParseUDP(b[:7], ipA, ipB); err != ErrUDPShort {
		t.Fatalf("short: %v", err)
	}
	if _, _, err := ParseUDP(b, netip.IPv6Loopback(), ipB); err != ErrUDPAddress {
		t.Fatalf("IPv6: %v", err)
	}
}

// TestUDPZeroChecksumSentAsOnes finds data whose checksum computes to 0
// and checks that Put writes 0xffff (RFC 768) and that it verifies.
func TestUDPZeroChecksumSentAsOnes(t *testing.T) {
	b := make([]byte, 10)
	UDP{Src: 1, Dst: 2}.Put(b, ipA, ipB, b[8:])
	// Choose the data word so the sum becomes 0xffff: the checksum is 0.
	sum := checksum.Fold(checksum.Sum(checksum.Pseudo(ipA.As4(), ipB.As4(), ProtoUDP, 10), []byte{0, 1, 0, 2, 0, 10}))
	w := 0xffff - sum
	b[8], b[9] = byte(w>>8), byte(w)
	UDP{Src: 1, Dst: 2}.Put(b, ipA, ipB, b[8:])
	if b[6] != 0xff || b[7] != 0xff {
		t.Fatalf("checksum = %x, want ffff", b[6:8])
	}
	if _, _, err := ParseUDP(b, ipA, ipB); err != nil {
		t.Fatal(err)
	}
}

func TestParsersAllocateNothing(t *testing.T) {
	ip := ipPacket(IPv4{TTL: 1, Proto: 1, Src: ipA, Dst: ipB}, make([]byte, 8))
	n := testing.AllocsPerRun(100, func() {
		ParseEthernet(ip)
		ParseARP(ip)
		ParseIPv4(ip)
		ParseICMP(ip)
		ParseUDP(ip, ipA, ipB)
		ParseIPv4(ip[:3])
	})
	if n != 0 {
		t.Fatalf("%v allocations per run", n)
	}
}
