package ping

import (
	"bytes"
	"errors"
	"net/netip"
	"reflect"
	"testing"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
)

var (
	hostMAC  = MAC{0x02, 0, 0, 0, 0, 0x01}
	guestMAC = MAC{0x02, 0, 0, 0, 0, 0x02}
	hostIP   = netip.MustParseAddr("198.18.0.1")
	guestIP  = netip.MustParseAddr("198.18.0.2")
)

func icmpFrame(payload []byte) Frame {
	return Frame{
		Dst: guestMAC, Src: hostMAC, EtherType: EtherTypeIPv4,
		IP:      IPv4{ID: 7, DontFragment: true, TTL: 64, Protocol: ProtoICMP, Src: hostIP, Dst: guestIP},
		ICMP:    ICMP{Type: ICMPEchoRequest, ID: 0x1234, Seq: 1},
		Payload: payload,
	}
}

func udpFrame(payload []byte) Frame {
	return Frame{
		Dst: guestMAC, Src: hostMAC, EtherType: EtherTypeIPv4,
		IP:      IPv4{ID: 8, TTL: 64, Protocol: ProtoUDP, Src: hostIP, Dst: guestIP},
		UDP:     UDP{SrcPort: 50000, DstPort: 7},
		Payload: payload,
	}
}

func arpFrame() Frame {
	return Frame{
		Dst: Broadcast, Src: hostMAC, EtherType: EtherTypeARP,
		ARP: ARP{Op: ARPRequest, SenderMAC: hostMAC, SenderIP: hostIP, TargetIP: guestIP},
	}
}

func mustMarshal(t testing.TB, f Frame) []byte {
	t.Helper()
	b, err := f.Marshal()
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	return b
}

// sameFrame compares frames, their slices by content.
func sameFrame(a, b Frame) bool {
	if !bytes.Equal(a.Payload, b.Payload) || !bytes.Equal(a.IP.Options, b.IP.Options) {
		return false
	}
	a.Payload, b.Payload, a.IP.Options, b.IP.Options = nil, nil, nil, nil
	return reflect.DeepEqual(a, b)
}

func TestFrameRoundTrip(t *testing.T) {
	withOptions := icmpFrame([]byte("options"))
	withOptions.IP.Options = []byte{1, 1, 1, 0} // NOP, NOP, NOP, end of options
	tcp := udpFrame([]byte("not parsed"))
	tcp.IP.Protocol = 6
	tcp.UDP = UDP{}
	reply := arpFrame()
	reply.ARP.Op, reply.ARP.TargetMAC = ARPReply, guestMAC
	for _, tc := range []struct {
		name string
		f    Frame
		size int
	}{
		{"icmp", icmpFrame([]byte("hello, exo")), 14 + 20 + 8 + 10},
		{"icmp empty", icmpFrame(nil), 14 + 20 + 8},
		{"icmp large", icmpFrame(bytes.Repeat([]byte{0xa5}, 1472)), 1514},
		{"icmp options", withOptions, 14 + 24 + 8 + 7},
		{"udp", udpFrame([]byte("xp\x00\x01\x00\x00\x00\x05pattern")), 14 + 20 + 8 + 15},
		{"udp odd", udpFrame([]byte{1, 2, 3}), 14 + 20 + 8 + 3},
		{"other protocol", tcp, 14 + 20 + 10},
		{"arp request", arpFrame(), 14 + 28},
		{"arp reply", reply, 14 + 28},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := mustMarshal(t, tc.f)
			if len(b) != tc.size {
				t.Errorf("frame is %d bytes, want %d", len(b), tc.size)
			}
			got, err := ParseFrame(b)
			if err != nil {
				t.Fatalf("ParseFrame: %v", err)
			}
			if !sameFrame(got, tc.f) {
				t.Errorf("ParseFrame(Marshal(f)) = %+v, want %+v", got, tc.f)
			}
			if again := mustMarshal(t, got); !bytes.Equal(again, b) {
				t.Errorf("Marshal(ParseFrame(b)) differs from b:\n%x\n%x", again, b)
			}
			// Ethernet padding after the packet is ignored.
			padded, err := ParseFrame(append(b, make([]byte, 20)...))
			if err != nil || !sameFrame(padded, tc.f) {
				t.Errorf("padded frame: %+v, %v", padded, err)
			}
		})
	}
}

// TestChecksumKnownAnswers checks the checksums against values computed
// independently: the IPv4 header example often used to explain the
// algorithm (checksum 0xb861), golang.org/x/net/icmp's encoder, and a UDP
// datagram whose checksum was computed by hand with a separate program.
func TestChecksumKnownAnswers(t *testing.T) {
	f := Frame{EtherType: EtherTypeIPv4, IP: IPv4{DontFragment: true, TTL: 64, Protocol: ProtoUDP,
		Src: netip.MustParseAddr("192.168.0.1"), Dst: netip.MustParseAddr("192.168.0.199")},
		Payload: make([]byte, 0x73-28)}
	b := mustMarshal(t, f)
	if got := be.Uint16(b[14+10:]); got != 0xb861 {
		t.Errorf("IPv4 header checksum 0x%04x, want 0xb861 (header % x)", got, b[14:34])
	}

	msg := icmp.Message{Type: ipv4.ICMPTypeEcho, Body: &icmp.Echo{ID: 0x1234, Seq: 1, Data: []byte("abc")}}
	want, err := msg.Marshal(nil)
	if err != nil {
		t.Fatal(err)
	}
	got := appendICMP(nil, ICMP{Type: ICMPEchoRequest, ID: 0x1234, Seq: 1}, []byte("abc"))
	if !bytes.Equal(got, want) || be.Uint16(got[2:]) != 0x2168 {
		t.Errorf("ICMP echo % x, x/net/icmp gives % x (checksum 0x2168)", got, want)
	}

	u := udpFrame([]byte("exo!"))
	b = mustMarshal(t, u)
	if got := be.Uint16(b[14+20+6:]); got != 0xdbbc {
		t.Errorf("UDP checksum 0x%04x, want 0xdbbc", got)
	}
}

func TestParseFrameErrors(t *testing.T) {
	icmpBytes := mustMarshal(t, icmpFrame([]byte("payload!")))
	udpBytes := mustMarshal(t, udpFrame([]byte("payload!")))
	arpBytes := mustMarshal(t, arpFrame())
	// edit copies b and applies f to the copy; fix recomputes the IPv4
	// header checksum afterwards, so that only the intended fault remains.
	edit := func(b []byte, fix bool, f func(b []byte) []byte) []byte {
		b = f(append([]byte(nil), b...))
		if fix && len(b) >= 34 {
			ihl := int(b[14]&0xf) * 4
			if 14+ihl <= len(b) && ihl >= 20 {
				be.PutUint16(b[24:], 0)
				be.PutUint16(b[24:], fold(sum(0, b[14:14+ihl])))
			}
		}
		return b
	}
	set16 := func(off int, v uint16) func([]byte) []byte {
		return func(b []byte) []byte { be.PutUint16(b[off:], v); return b }
	}
	setByte := func(off int, v byte) func([]byte) []byte {
		return func(b []byte) []byte { b[off] = v; return b }
	}
	for _, tc := range []struct {
		name     string
		frame    []byte
		kind     error  // ErrMalformed or ErrUnsupported
		checksum string // ChecksumError.Layer
		offset   int    // ChecksumError.Offset
	}{
		{name: "empty", frame: nil, kind: ErrMalformed},
		{name: "short Ethernet header", frame: icmpBytes[:13], kind: ErrMalformed},
		{name: "VLAN tag", frame: edit(icmpBytes, false, set16(12, 0x8100)), kind: ErrUnsupported},
		{name: "IPv6", frame: edit(icmpBytes, false, set16(12, 0x86dd)), kind: ErrUnsupported},
		{name: "not IPv4 inside", frame: edit(icmpBytes, true, setByte(14, 0x65)), kind: ErrMalformed},
		{name: "short IPv4 header", frame: icmpBytes[:14+19], kind: ErrMalformed},
		{name: "IHL below 5", frame: edit(icmpBytes, false, setByte(14, 0x44)), kind: ErrMalformed},
		{name: "IHL beyond frame", frame: edit(icmpBytes, false, func(b []byte) []byte { b[14] = 0x4f; return b[:14+40] }), kind: ErrMalformed},
		{name: "truncated packet", frame: icmpBytes[:len(icmpBytes)-1], kind: ErrMalformed},
		{name: "total length below IHL", frame: edit(icmpBytes, true, set16(16, 19)), kind: ErrMalformed},
		{name: "total length beyond frame", frame: edit(icmpBytes, true, set16(16, uint16(len(icmpBytes)-14+1))), kind: ErrMalformed},
		{name: "more fragments", frame: edit(icmpBytes, true, set16(20, 0x2000)), kind: ErrUnsupported},
		{name: "fragment offset", frame: edit(icmpBytes, true, set16(20, 0x0001)), kind: ErrUnsupported},
		{name: "reserved flag", frame: edit(icmpBytes, true, set16(20, 0x8000)), kind: ErrMalformed},
		{name: "short ICMP", frame: edit(icmpBytes, true, func(b []byte) []byte { be.PutUint16(b[16:], 27); return b[:14+27] }), kind: ErrMalformed},
		{name: "short UDP", frame: edit(udpBytes, true, func(b []byte) []byte { be.PutUint16(b[16:], 27); return b[:14+27] }), kind: ErrMalformed},
		{name: "UDP length below 8", frame: edit(udpBytes, false, set16(38, 7)), kind: ErrMalformed},
		{name: "UDP length beyond packet", frame: edit(udpBytes, false, set16(38, 17)), kind: ErrMalformed},
		{name: "short ARP", frame: arpBytes[:14+27], kind: ErrMalformed},
		{name: "ARP not Ethernet", frame: edit(arpBytes, false, set16(14, 6)), kind: ErrUnsupported},
		{name: "ARP not IPv4", frame: edit(arpBytes, false, set16(16, 0x86dd)), kind: ErrUnsupported},
		{name: "ARP address lengths", frame: edit(arpBytes, false, setByte(18, 8)), kind: ErrMalformed},
		{name: "bad IPv4 checksum", frame: edit(icmpBytes, false, setByte(25, icmpBytes[25]^1)), checksum: "IPv4 header", offset: 24},
		{name: "IPv4 header changed", frame: edit(icmpBytes, false, setByte(22, 1)), checksum: "IPv4 header", offset: 24},
		{name: "bad ICMP checksum", frame: edit(icmpBytes, false, setByte(36, icmpBytes[36]^0x80)), checksum: "ICMP", offset: 36},
		{name: "ICMP payload changed", frame: edit(icmpBytes, false, setByte(len(icmpBytes)-1, '?')), checksum: "ICMP", offset: 36},
		{name: "bad UDP checksum", frame: edit(udpBytes, false, setByte(41, udpBytes[41]^1)), checksum: "UDP", offset: 40},
		{name: "UDP payload changed", frame: edit(udpBytes, false, setByte(len(udpBytes)-1, '?')), checksum: "UDP", offset: 40},
		{name: "UDP without checksum", frame: edit(udpBytes, false, set16(40, 0))},
		{name: "IP options with their checksum", frame: mustMarshal(t, func() Frame {
			f := icmpFrame([]byte("x"))
			f.IP.Options = []byte{0x94, 4, 0, 0} // router alert
			return f
		}())},
		{name: "IP options without", frame: func() []byte {
			f := icmpFrame([]byte("x"))
			f.IP.Options = []byte{0x94, 4, 0, 0}
			b := mustMarshal(t, f)
			b[14+21] = 5 // an option byte changed, not the checksum
			return b
		}(), checksum: "IPv4 header", offset: 24},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := ParseFrame(tc.frame)
			var ce *ChecksumError
			switch {
			case tc.kind != nil:
				if !errors.Is(err, tc.kind) {
					t.Fatalf("ParseFrame: %v, want an error wrapping %q", err, tc.kind)
				}
			case tc.checksum != "":
				if !errors.As(err, &ce) || ce.Layer != tc.checksum || ce.Offset != tc.offset {
					t.Fatalf("ParseFrame: %v, want a %s checksum error at byte %d", err, tc.checksum, tc.offset)
				}
				if ce.Got == ce.Want {
					t.Errorf("%v: got and want agree", ce)
				}
				// The frame is parsed all the same.
				if f.IP.Src != hostIP || f.IP.Dst != guestIP || len(f.Payload) == 0 {
					t.Errorf("frame with a checksum error: %+v", f)
				}
				// Writing the wanted value in makes the frame good.
				fixed := append([]byte(nil), tc.frame...)
				be.PutUint16(fixed[ce.Offset:], ce.Want)
				if _, err := ParseFrame(fixed); err != nil {
					t.Errorf("with checksum 0x%04x: %v", ce.Want, err)
				}
			default:
				if err != nil {
					t.Fatalf("ParseFrame: %v", err)
				}
			}
			if err != nil && !errors.As(err, &ce) && tc.name != "empty" {
				t.Logf("%v", err) // the message says what and where
			}
		})
	}
}

func TestMarshalErrors(t *testing.T) {
	noAddr := icmpFrame(nil)
	noAddr.IP.Src = netip.Addr{}
	v6 := udpFrame(nil)
	v6.IP.Dst = netip.MustParseAddr("::1")
	badOpt := icmpFrame(nil)
	badOpt.IP.Options = []byte{1, 1, 1}
	huge := udpFrame(make([]byte, MaxSize+1))
	arp := arpFrame()
	arp.ARP.TargetIP = netip.Addr{}
	other := icmpFrame(nil)
	other.EtherType = 0x86dd
	for name, f := range map[string]Frame{"no source": noAddr, "IPv6 destination": v6, "options": badOpt, "too long": huge, "ARP": arp, "EtherType": other} {
		if _, err := f.Marshal(); err == nil {
			t.Errorf("%s: Marshal succeeded", name)
		}
	}
	if _, err := udpFrame(make([]byte, MaxSize)).Marshal(); err != nil {
		t.Errorf("largest UDP payload: %v", err)
	}
}

func TestParseMAC(t *testing.T) {
	m, err := ParseMAC("02:00:00:00:00:01")
	if err != nil || m != DefaultMAC || m.String() != "02:00:00:00:00:01" {
		t.Errorf("ParseMAC = %v, %v", m, err)
	}
	for _, s := range []string{"", "02:00:00:00:00", "00:00:00:00:fe:80:00:00:00:00:00:00:02:00:5e:10:00:00:00:01"} {
		if _, err := ParseMAC(s); err == nil {
			t.Errorf("ParseMAC(%q) succeeded", s)
		}
	}
}
