package stack

import (
	"bytes"
	"net/netip"
	"testing"
	"time"

	"github.com/exo-os/exo/libos/net/wire"
)

func TestUDPBothWays(t *testing.T) {
	p := newPair(t, cfgA, cfgB)
	srv, err := p.b.BindUDP(netip.AddrPortFrom(addrB, 7))
	if err != nil {
		t.Fatal(err)
	}
	cli, err := p.a.BindUDP(netip.AddrPort{})
	if err != nil {
		t.Fatal(err)
	}
	if cli.LocalAddr() != netip.AddrPortFrom(netip.IPv4Unspecified(), 49152) {
		t.Fatalf("ephemeral LocalAddr %v", cli.LocalAddr())
	}
	if _, err := p.b.BindUDP(netip.AddrPortFrom(netip.IPv4Unspecified(), 7)); err == nil {
		t.Fatal("port 7 bound twice")
	}
	if _, err := p.b.BindUDP(netip.AddrPortFrom(addrX, 8)); err == nil {
		t.Fatal("bound to another host's address")
	}
	for _, n := range []int{0, 100, 1472, 1473, 9000} {
		msg := bytes.Repeat([]byte{byte(n)}, n)
		if err := cli.WriteTo(msg, netip.AddrPortFrom(addrB, 7)); err != nil {
			t.Fatal(err)
		}
		p.pump(t)
		buf := make([]byte, 10000)
		got, from, ok := srv.ReadFrom(buf)
		if !ok || got != n || !bytes.Equal(buf[:got], msg) || from != netip.AddrPortFrom(addrA, 49152) {
			t.Fatalf("%d bytes: got %d from %v, ok %v", n, got, from, ok)
		}
		if err := srv.WriteTo(buf[:got], from); err != nil {
			t.Fatal(err)
		}
		p.pump(t)
		got, from, ok = cli.ReadFrom(buf)
		if !ok || got != n || !bytes.Equal(buf[:got], msg) || from != netip.AddrPortFrom(addrB, 7) {
			t.Fatalf("%d bytes back: got %d from %v", n, got, from)
		}
	}
	if _, _, ok := cli.ReadFrom(nil); ok {
		t.Fatal("ReadFrom on an empty queue")
	}
	// Truncation: n is the datagram's full length.
	cli.WriteTo([]byte("0123456789"), netip.AddrPortFrom(addrB, 7))
	p.pump(t)
	small := make([]byte, 4)
	if n, _, ok := srv.ReadFrom(small); !ok || n != 10 || string(small) != "0123" {
		t.Fatalf("truncated read: %d %q", n, small)
	}
	if p.b.udpBytes != 0 || p.a.udpBytes != 0 {
		t.Fatal("queued bytes left charged")
	}
	if err := srv.Close(); err != nil || srv.Close() == nil {
		t.Fatal("Close twice")
	}
	if srv.WriteTo([]byte("x"), netip.AddrPortFrom(addrA, 9)) == nil {
		t.Fatal("WriteTo on a closed socket")
	}
	if _, err := p.b.BindUDP(netip.AddrPortFrom(addrB, 7)); err != nil {
		t.Fatalf("port 7 after Close: %v", err)
	}
}

func TestUDPQueueFullAndChecksum(t *testing.T) {
	s, ep := newStack(t, Config{Addr: cfgB.Addr, UDPQueue: 2}, macB)
	u, _ := s.BindUDP(netip.AddrPortFrom(addrB, 7))
	for i := range 3 {
		s.Input(0, ipFrame(macB, macA, wire.IPv4{Proto: 17, Src: addrA, Dst: addrB}, udpMsg(addrA, addrB, 1000, 7, []byte{byte(i)})))
	}
	if u.Pending() != 2 || s.Stats().UDPQueueFull != 1 || s.Stats().UDPDelivered != 2 {
		t.Fatalf("pending %d, stats %+v", u.Pending(), s.Stats())
	}
	b := make([]byte, 1)
	for i := range 2 {
		if n, _, ok := u.ReadFrom(b); !ok || n != 1 || b[0] != byte(i) {
			t.Fatalf("datagram %d: %d %v %x", i, n, ok, b)
		}
	}
	bad := udpMsg(addrA, addrB, 1000, 7, []byte("payload"))
	bad[len(bad)-1] ^= 1
	s.Input(0, ipFrame(macB, macA, wire.IPv4{Proto: 17, Src: addrA, Dst: addrB}, bad))
	short := udpMsg(addrA, addrB, 1000, 7, []byte("payload"))
	short[5] = 99
	s.Input(0, ipFrame(macB, macA, wire.IPv4{Proto: 17, Src: addrA, Dst: addrB}, short))
	none := udpMsg(addrA, addrB, 1000, 7, []byte("nosum"))
	none[6], none[7] = 0, 0
	s.Input(0, ipFrame(macB, macA, wire.IPv4{Proto: 17, Src: addrA, Dst: addrB}, none))
	if st := s.Stats(); st.UDPBadChecksum != 1 || st.UDPBad != 1 || u.Pending() != 1 || len(ep.out) != 0 {
		t.Fatalf("pending %d, stats %+v", u.Pending(), st)
	}
	// Broadcast: taken by a socket bound to 0.0.0.0 only.
	any, _ := s.BindUDP(netip.AddrPortFrom(netip.IPv4Unspecified(), 67))
	for _, port := range []uint16{67, 7} {
		s.Input(0, ipFrame(wire.Broadcast, macA, wire.IPv4{Proto: 17, Src: addrA, Dst: netip.MustParseAddr("255.255.255.255")},
			udpMsg(addrA, netip.MustParseAddr("255.255.255.255"), 68, port, []byte("bc"))))
	}
	if any.Pending() != 1 || u.Pending() != 1 || len(ep.out) != 0 {
		t.Fatalf("broadcast: %d and %d pending, %d frames out", any.Pending(), u.Pending(), len(ep.out))
	}
}

func TestUDPMemoryBound(t *testing.T) {
	s, _ := newStack(t, Config{Addr: cfgB.Addr, UDPMemory: 3000}, macB)
	u, _ := s.BindUDP(netip.AddrPortFrom(addrB, 7))
	for range 5 {
		s.Input(0, ipFrame(macB, macA, wire.IPv4{Proto: 17, Src: addrA, Dst: addrB}, udpMsg(addrA, addrB, 1, 7, make([]byte, 1000))))
	}
	if u.Pending() != 3 || s.udpBytes != 3000 || s.Stats().UDPQueueFull != 2 {
		t.Fatalf("pending %d, %d bytes", u.Pending(), s.udpBytes)
	}
	u.Close()
	if s.udpBytes != 0 {
		t.Fatal("Close left bytes charged")
	}
}

func TestEphemeralPorts(t *testing.T) {
	s, _ := newStack(t, Config{Addr: cfgA.Addr, UDPPorts: [2]uint16{5000, 5002}}, macA)
	var socks []*UDPSocket
	for i := range 3 {
		u, err := s.BindUDP(netip.AddrPort{})
		if err != nil || u.LocalAddr().Port() != uint16(5000+i) {
			t.Fatalf("bind %d: %v %v", i, u, err)
		}
		socks = append(socks, u)
	}
	if _, err := s.BindUDP(netip.AddrPort{}); err == nil {
		t.Fatal("bound with every port in use")
	}
	socks[1].Close()
	if u, err := s.BindUDP(netip.AddrPort{}); err != nil || u.LocalAddr().Port() != 5001 {
		t.Fatalf("after a close: %v %v", u, err)
	}
}

// errorsFrom returns the destination unreachable messages in frames.
func unreachables(t *testing.T, frames [][]byte) []wire.ICMP {
	var out []wire.ICMP
	for _, f := range frames {
		p := parseFrame(t, f)
		if p.eth.Type != wire.EtherIPv4 || p.ip.Proto != wire.ProtoICMP {
			continue
		}
		h, _, err := wire.ParseICMP(p.payload)
		if err == nil && h.Type == wire.ICMPDestUnreachable {
			out = append(out, h)
		}
	}
	return out
}

func TestPortUnreachable(t *testing.T) {
	p := newPair(t, cfgA, cfgB)
	icmp := &recorder{}
	p.a.Register(wire.ProtoICMP, icmp)
	cli, _ := p.a.BindUDP(netip.AddrPort{})
	cli.WriteTo([]byte("anyone?"), netip.AddrPortFrom(addrB, 9))
	p.pump(t)
	if len(icmp.got) != 1 {
		t.Fatalf("%d ICMP messages, want a port unreachable", len(icmp.got))
	}
	h, body, err := wire.ParseICMP(icmp.got[0].payload)
	if err != nil || h.Type != wire.ICMPDestUnreachable || h.Code != wire.ICMPPortUnreachable {
		t.Fatalf("%+v %v", h, err)
	}
	if len(body) != 28 || body[9] != wire.ProtoUDP || netip.AddrFrom4([4]byte(body[16:20])) != addrB ||
		body[20+2] != 0 || body[20+3] != 9 {
		t.Fatalf("quote %x: want the IP header and the UDP header", body)
	}
	// Rate limit: ICMPErrorsPerSecond in a second, then more the next.
	for range 15 {
		cli.WriteTo([]byte("x"), netip.AddrPortFrom(addrB, 9))
	}
	p.pump(t)
	if st := p.b.Stats(); st.ICMPErrorsSent != ICMPErrorsPerSecond || st.ICMPRateLimited != 6 {
		t.Fatalf("sent %d, limited %d", st.ICMPErrorsSent, st.ICMPRateLimited)
	}
	p.now = time.Second
	cli.WriteTo([]byte("x"), netip.AddrPortFrom(addrB, 9))
	p.pump(t)
	if p.b.Stats().ICMPErrorsSent != ICMPErrorsPerSecond+1 {
		t.Fatal("no ICMP error in the next second")
	}
}

func TestICMPErrorRules(t *testing.T) {
	bcast := netip.MustParseAddr("198.18.0.255")
	udpTo := func(dst netip.Addr) []byte { return udpMsg(addrA, dst, 1000, 9, []byte("x")) }
	tests := []struct {
		name  string
		frame []byte
		code  int // -1: no error expected
	}{
		{"UDP to a closed port", ipFrame(macB, macA, wire.IPv4{Proto: 17, Src: addrA, Dst: addrB}, udpTo(addrB)), wire.ICMPPortUnreachable},
		{"unknown protocol", ipFrame(macB, macA, wire.IPv4{Proto: 99, Src: addrA, Dst: addrB}, []byte("x")), wire.ICMPProtoUnreachable},
		{"UDP to the subnet broadcast", ipFrame(wire.Broadcast, macA, wire.IPv4{Proto: 17, Src: addrA, Dst: bcast}, udpTo(bcast)), -1},
		{"unknown protocol to broadcast", ipFrame(wire.Broadcast, macA, wire.IPv4{Proto: 99, Src: addrA, Dst: bcast}, []byte("x")), -1},
		{"in a link broadcast", ipFrame(wire.Broadcast, macA, wire.IPv4{Proto: 17, Src: addrA, Dst: addrB}, udpTo(addrB)), -1},
		{"from 0.0.0.0", ipFrame(macB, macA, wire.IPv4{Proto: 17, Src: netip.IPv4Unspecified(), Dst: addrB}, udpMsg(netip.IPv4Unspecified(), addrB, 68, 9, nil)), -1},
		{"from a multicast source", ipFrame(macB, macA, wire.IPv4{Proto: 99, Src: netip.MustParseAddr("224.0.0.9"), Dst: addrB}, nil), -1},
		{"an ICMP error", ipFrame(macB, macA, wire.IPv4{Proto: 1, Src: addrA, Dst: addrB}, icmpMsg(3, 3, 0, make([]byte, 28))), -1},
		{"a later fragment alone", ipFrame(macB, macA, wire.IPv4{Proto: 99, Src: addrA, Dst: addrB, FragOff: 8}, []byte("x")), -1},
	}
	for _, tt := range tests {
		s, ep := newStack(t, cfgB, macB)
		s.Input(0, arpFrame(wire.Broadcast, wire.ARP{Op: wire.ARPRequest, SHA: macA, SPA: addrA, TPA: addrB}))
		ep.take()
		s.Input(0, tt.frame)
		u := unreachables(t, ep.out)
		if tt.code < 0 && len(u) != 0 || tt.code >= 0 && (len(u) != 1 || int(u[0].Code) != tt.code) {
			t.Errorf("%s: ICMP errors %+v, want code %d", tt.name, u, tt.code)
		}
	}
}
