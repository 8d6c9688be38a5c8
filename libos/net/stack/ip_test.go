package stack

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"github.com/exo-os/exo/libos/net/checksum"
	"github.com/exo-os/exo/libos/net/wire"
)

// ping sends an echo request of n data bytes from p.a to p.b and returns
// the echo replies p.a's ICMP transport received.
func ping(t *testing.T, p *pair, n int, seq uint16) []delivery {
	t.Helper()
	icmp := &recorder{}
	p.a.Register(wire.ProtoICMP, icmp)
	data := make([]byte, n)
	for i := range data {
		data[i] = byte(i*7 + int(seq))
	}
	hdr := make([]byte, wire.ICMPLen)
	wire.ICMP{Type: wire.ICMPEchoRequest, Rest: 0x4242<<16 | uint32(seq)}.Put(hdr, data)
	if err := p.a.WriteIP(p.now, wire.ProtoICMP, addrB, hdr, data); err != nil {
		t.Fatal(err)
	}
	p.pump(t)
	for _, d := range icmp.got {
		h, body, err := wire.ParseICMP(d.payload)
		if err != nil || h.Type != wire.ICMPEchoReply || h.Rest != 0x4242<<16|uint32(seq) || !bytes.Equal(body, data) {
			t.Fatalf("reply to %d bytes: %+v, %d bytes, %v", n, h, len(body), err)
		}
	}
	return icmp.got
}

func TestPing(t *testing.T) {
	p := newPair(t, cfgA, cfgB)
	for i, n := range []int{0, 56, 1472, 1473, 5000, 65507} {
		out := p.a.Stats().FragmentsOut
		if got := ping(t, p, n, uint16(i)); len(got) != 1 {
			t.Fatalf("%d bytes: %d replies", n, len(got))
		}
		if frag := n > 1472; frag != (p.a.Stats().FragmentsOut > out) {
			t.Errorf("%d bytes: fragmented %v", n, !frag)
		}
	}
	if st := p.b.Stats(); st.ICMPEchoReplied != 6 || st.Reassembled != 3 {
		t.Fatalf("B: %d replied, %d reassembled", st.ICMPEchoReplied, st.Reassembled)
	}
	if len(p.a.reasm)+len(p.b.reasm) != 0 || p.a.reasmBytes+p.b.reasmBytes != 0 {
		t.Fatal("reassembly state left over")
	}
	// An echo to a broadcast address is ignored (RFC 1122 §3.2.2.6).
	req := icmpMsg(wire.ICMPEchoRequest, 0, 1, []byte("x"))
	p.b.Input(0, ipFrame(wire.Broadcast, macA, wire.IPv4{Proto: 1, Src: addrA, Dst: netip.MustParseAddr("198.18.0.255")}, req))
	if len(p.eb.out) != 0 || p.b.Stats().ICMPEchoIgnored != 1 {
		t.Fatal("echo to broadcast answered")
	}
}

func TestFragmentsOnTheWire(t *testing.T) {
	s, ep := newStack(t, cfgA, macA)
	s.Input(0, arpFrame(macA, wire.ARP{Op: wire.ARPReply, SHA: macB, SPA: addrB, THA: macA, TPA: addrA}))
	payload := make([]byte, 3000)
	r := rand.New(rand.NewPCG(1, 1))
	for i := range payload {
		payload[i] = byte(r.Uint32())
	}
	if err := s.WriteIP(0, 200, addrB, []byte("HDR"), payload); err != nil {
		t.Fatal(err)
	}
	out := ep.take()
	var whole []byte
	for i, f := range out {
		p := parseFrame(t, f)
		if int(p.ip.FragOff) != len(whole) || p.ip.MF != (i < len(out)-1) || p.ip.DF || len(f) > 1514 {
			t.Fatalf("fragment %d: %+v, %d bytes", i, p.ip, len(f))
		}
		if p.ip.MF && len(p.payload)%8 != 0 {
			t.Fatalf("fragment %d carries %d bytes", i, len(p.payload))
		}
		whole = append(whole, p.payload...)
	}
	if len(out) != 3 || !bytes.Equal(whole, append([]byte("HDR"), payload...)) {
		t.Fatalf("%d fragments reassemble to %d bytes", len(out), len(whole))
	}
}

func TestWriteIPErrors(t *testing.T) {
	s, ep := newStack(t, cfgA, macA)
	for _, dst := range []netip.Addr{addrA, netip.MustParseAddr("127.0.0.1"), {}, netip.IPv6Loopback(), netip.IPv4Unspecified()} {
		if err := s.WriteIP(0, 200, dst, nil, nil); err == nil {
			t.Errorf("WriteIP to %v succeeded", dst)
		}
	}
	if err := s.WriteIP(0, 200, netip.MustParseAddr("10.0.0.1"), nil, nil); !errors.Is(err, ErrNoRoute) {
		t.Errorf("off subnet without gateway: %v", err)
	}
	if err := s.WriteIP(0, 200, addrB, make([]byte, 100), make([]byte, 65416)); !errors.Is(err, ErrTooLong) {
		t.Errorf("65516-byte payload: %v", err)
	}
	if len(ep.out) != 0 {
		t.Fatal("frames sent")
	}
	// Broadcast goes straight out; off subnet goes by the gateway.
	g, gep := newStack(t, Config{Addr: cfgA.Addr, Gateway: addrX}, macA)
	if err := g.WriteIP(0, 17, netip.MustParseAddr("198.18.0.255"), nil, nil); err != nil {
		t.Fatal(err)
	}
	if err := g.WriteIP(0, 200, netip.MustParseAddr("8.8.8.8"), nil, nil); err != nil {
		t.Fatal(err)
	}
	out := gep.take()
	if len(out) != 2 || parseFrame(t, out[0]).eth.Dst != wire.Broadcast || parseFrame(t, out[1]).arp.TPA != addrX {
		t.Fatalf("broadcast and gateway request: %d frames", len(out))
	}
	// A link that refuses frames is counted, not an error.
	ep.fail = true
	if err := s.WriteIP(0, 200, netip.MustParseAddr("198.18.0.255"), nil, nil); err != nil || s.Stats().LinkErrors != 1 {
		t.Fatalf("refused frame: %v, %d link errors", err, s.Stats().LinkErrors)
	}
}

func TestInputFilters(t *testing.T) {
	udp := udpMsg(addrA, addrB, 1000, 7, []byte("x"))
	good := wire.IPv4{Proto: 17, Src: addrA, Dst: addrB}
	tests := []struct {
		name  string
		frame []byte
		stat  func(Stats) uint64
	}{
		{"short frame", make([]byte, 10), func(s Stats) uint64 { return s.EthBad }},
		{"other MAC", ipFrame(macX, macA, good, udp), func(s Stats) uint64 { return s.EthNotForUs }},
		{"multicast MAC", ipFrame([6]byte{1, 0, 0x5e, 0, 0, 1}, macA, good, udp), func(s Stats) uint64 { return s.EthNotForUs }},
		{"group source MAC", ipFrame(macB, [6]byte{1, 2, 3, 4, 5, 6}, good, udp), func(s Stats) uint64 { return s.EthBad }},
		{"IPv6 ethertype", func() []byte { f := ipFrame(macB, macA, good, udp); f[12], f[13] = 0x86, 0xdd; return f }(), func(s Stats) uint64 { return s.EthUnknownType }},
		{"bad IP checksum", func() []byte { f := ipFrame(macB, macA, good, udp); f[14+8]++; return f }(), func(s Stats) uint64 { return s.IPBadChecksum }},
		{"bad IP version", func() []byte { f := ipFrame(macB, macA, good, udp); f[14] = 0x55; return f }(), func(s Stats) uint64 { return s.IPBad }},
		{"IP not for us", ipFrame(macB, macA, wire.IPv4{Proto: 17, Src: addrA, Dst: addrX}, udp), func(s Stats) uint64 { return s.IPNotForUs }},
		{"broadcast source", ipFrame(macB, macA, wire.IPv4{Proto: 17, Src: netip.MustParseAddr("255.255.255.255"), Dst: addrB}, udp), func(s Stats) uint64 { return s.IPBadSource }},
		{"our own source", ipFrame(macB, macA, wire.IPv4{Proto: 17, Src: addrB, Dst: addrB}, udp), func(s Stats) uint64 { return s.IPBadSource }},
		{"TCP to broadcast", ipFrame(wire.Broadcast, macA, wire.IPv4{Proto: 6, Src: addrA, Dst: netip.MustParseAddr("255.255.255.255")}, udp), func(s Stats) uint64 { return s.IPNotForUs }},
	}
	for _, tt := range tests {
		s, ep := newStack(t, cfgB, macB)
		tcp := &recorder{}
		s.Register(6, tcp)
		s.Input(0, tt.frame)
		if tt.stat(s.Stats()) != 1 || s.Stats().UDPIn != 0 || len(tcp.got) != 0 || len(ep.out) != 0 {
			t.Errorf("%s: not dropped as counted: %+v", tt.name, s.Stats())
		}
	}
}

func TestTransportDelivery(t *testing.T) {
	s, _ := newStack(t, cfgB, macB)
	tcp := &recorder{}
	s.Register(6, tcp)
	// Ethernet padding after the datagram is cut off.
	f := append(ipFrame(macB, macA, wire.IPv4{Proto: 6, Src: addrA, Dst: addrB}, []byte("seg")), make([]byte, 40)...)
	s.Input(0, f)
	if len(tcp.got) != 1 {
		t.Fatalf("delivered %+v", tcp.got)
	}
	if tcp.got[0].src != addrA || tcp.got[0].dst != addrB || string(tcp.got[0].payload) != "seg" {
		t.Fatalf("delivered %+v", tcp.got[0])
	}
	defer func() {
		if recover() == nil {
			t.Fatal("Register(17) did not panic")
		}
	}()
	s.Register(17, tcp)
}

// frags splits an IP payload into fragments [off, end) of datagram id.
func fragFrame(id uint16, proto uint8, off, end int, mf bool, payload []byte) []byte {
	return ipFrame(macB, macA, wire.IPv4{ID: id, Proto: proto, Src: addrA, Dst: addrB, FragOff: uint16(off), MF: mf}, payload[off:end])
}

func TestReassembly(t *testing.T) {
	data := make([]byte, 64)
	for i := range data {
		data[i] = byte(i)
	}
	msg := icmpMsg(wire.ICMPEchoRequest, 0, 7, data[:64-8]) // 64 bytes of ICMP
	type fr struct {
		off, end int
		mf       bool
	}
	tests := []struct {
		name  string
		frags []fr
		reply bool
		stat  func(Stats) uint64
		held  int // datagrams left held
	}{
		{"in order", []fr{{0, 16, true}, {16, 32, true}, {32, 64, false}}, true, func(s Stats) uint64 { return s.Reassembled }, 0},
		{"reversed", []fr{{32, 64, false}, {16, 32, true}, {0, 16, true}}, true, func(s Stats) uint64 { return s.Reassembled }, 0},
		{"duplicates ignored", []fr{{0, 16, true}, {0, 16, true}, {32, 64, false}, {32, 64, false}, {16, 32, true}}, true, func(s Stats) uint64 { return s.Reassembled }, 0},
		// After the drop the last fragment starts a datagram anew.
		{"overlap", []fr{{0, 24, true}, {16, 32, true}, {32, 64, false}}, false, func(s Stats) uint64 { return s.ReassemblyOverlap }, 1},
		{"overlap same start", []fr{{0, 16, true}, {0, 24, true}}, false, func(s Stats) uint64 { return s.ReassemblyOverlap }, 0},
		{"overlap inside", []fr{{0, 32, true}, {8, 16, true}}, false, func(s Stats) uint64 { return s.ReassemblyOverlap }, 0},
		{"two ends", []fr{{32, 64, false}, {32, 48, false}}, false, func(s Stats) uint64 { return s.ReassemblyBad }, 0},
		{"data past the end", []fr{{32, 48, false}, {48, 64, true}}, false, func(s Stats) uint64 { return s.ReassemblyBad }, 0},
		{"odd middle fragment", []fr{{0, 12, true}}, false, func(s Stats) uint64 { return s.ReassemblyBad }, 0},
		{"missing middle", []fr{{0, 16, true}, {32, 64, false}}, false, func(s Stats) uint64 { return s.FragmentsIn / 2 }, 1},
	}
	for _, tt := range tests {
		s, ep := newStack(t, cfgB, macB)
		s.Input(0, arpFrame(wire.Broadcast, wire.ARP{Op: wire.ARPRequest, SHA: macA, SPA: addrA, TPA: addrB}))
		ep.take()
		for _, f := range tt.frags {
			s.Input(0, fragFrame(9, 1, f.off, f.end, f.mf, msg))
		}
		out := ep.take()
		if tt.reply != (len(out) == 1) {
			t.Errorf("%s: %d frames out", tt.name, len(out))
		}
		if tt.reply {
			p := parseFrame(t, out[0])
			h, body, err := wire.ParseICMP(p.payload)
			if err != nil || h.Type != wire.ICMPEchoReply || !bytes.Equal(body, msg[8:]) {
				t.Errorf("%s: reply %+v %v", tt.name, h, err)
			}
		}
		if tt.stat(s.Stats()) != 1 || len(s.reasm) != tt.held {
			t.Errorf("%s: stats %+v, %d held", tt.name, s.Stats(), len(s.reasm))
		}
		if tt.held == 0 && s.reasmBytes != 0 {
			t.Errorf("%s: %d bytes still charged", tt.name, s.reasmBytes)
		}
	}
}

func TestReassemblyTimeout(t *testing.T) {
	s, _ := newStack(t, cfgB, macB)
	msg := make([]byte, 64)
	s.Input(time.Second, fragFrame(1, 200, 0, 16, true, msg))
	if next, ok := s.NextTimer(); !ok || next != 31*time.Second {
		t.Fatalf("NextTimer = %v %v", next, ok)
	}
	s.Tick(31*time.Second - 1)
	if len(s.reasm) != 1 {
		t.Fatal("dropped early")
	}
	s.Tick(31 * time.Second)
	if len(s.reasm) != 0 || s.reasmBytes != 0 || s.Stats().ReassemblyTimeout != 1 {
		t.Fatalf("%d held, %d bytes, stats %+v", len(s.reasm), s.reasmBytes, s.Stats())
	}
	if _, ok := s.NextTimer(); ok {
		t.Fatal("timer left")
	}
}

func TestReassemblyLimits(t *testing.T) {
	big := make([]byte, 65536+100)
	// Memory: each datagram holds a 1024-byte first fragment.
	s, _ := newStack(t, Config{Addr: cfgB.Addr, ReassemblyMemory: 4096}, macB)
	for id := range 20 {
		s.Input(0, fragFrame(uint16(id), 200, 0, 1024, true, big))
		if s.reasmBytes > 4096 {
			t.Fatalf("%d bytes held, limit 4096", s.reasmBytes)
		}
	}
	if len(s.reasm) != 3 || s.reasm[0].id != 17 || s.Stats().ReassemblyOverflow != 17 {
		t.Fatalf("%d held (oldest %d), %d overflows", len(s.reasm), s.reasm[0].id, s.Stats().ReassemblyOverflow)
	}
	// A single datagram bigger than the memory is dropped.
	for off := 0; off < 8192; off += 1024 {
		s.Input(0, fragFrame(99, 200, off, off+1024, true, big))
	}
	for _, d := range s.reasm {
		if d.id == 99 && d.charged > 4096 {
			t.Fatal("datagram over the memory limit held")
		}
	}
	// Datagrams at once.
	s, _ = newStack(t, Config{Addr: cfgB.Addr, ReassemblyPackets: 5}, macB)
	for id := range 8 {
		s.Input(0, fragFrame(uint16(id), 200, 0, 8, true, big))
	}
	if len(s.reasm) != 5 || s.reasm[0].id != 3 || s.Stats().ReassemblyOverflow != 3 {
		t.Fatalf("%d held, oldest %d", len(s.reasm), s.reasm[0].id)
	}
	// Too many tiny fragments.
	s, _ = newStack(t, cfgB, macB)
	for i := range maxFragments + 1 {
		s.Input(0, fragFrame(1, 200, i*16, i*16+8, true, big))
	}
	if len(s.reasm) != 0 || s.Stats().ReassemblyOverflow != 1 {
		t.Fatalf("%d held after %d fragments", len(s.reasm), maxFragments+1)
	}
	// Past 65535 bytes (the ping of death).
	s, _ = newStack(t, cfgB, macB)
	s.Input(0, fragFrame(1, 1, 0, 8, true, big))
	s.Input(0, fragFrame(1, 1, 65512, 65512+8+8, false, big)) // 20+65528 > 65535
	if len(s.reasm) != 0 || s.Stats().ReassemblyBad != 1 {
		t.Fatalf("%d held, stats %+v", len(s.reasm), s.Stats())
	}
}

// TestReassemblyOptionsTooLong: a first fragment with 40 bytes of options
// and later ones that fit a 20-byte header add up to over 65535 bytes.
func TestReassemblyOptionsTooLong(t *testing.T) {
	s, _ := newStack(t, cfgB, macB)
	first := fragFrame(5, 200, 0, 8, true, make([]byte, 8))
	ip := first[wire.EthernetLen:]
	withOpts := make([]byte, 0, len(first)+40)
	withOpts = append(withOpts, first[:wire.EthernetLen]...)
	withOpts = append(withOpts, ip[:20]...)
	withOpts = append(withOpts, make([]byte, 40)...) // options: end of list
	withOpts = append(withOpts, ip[20:]...)
	h := withOpts[wire.EthernetLen:]
	h[0] = 0x4f
	h[2], h[3] = 0, 68
	h[10], h[11] = 0, 0
	c := checksum.Checksum(h[:60])
	h[10], h[11] = byte(c>>8), byte(c)
	s.Input(0, withOpts)
	big := make([]byte, 65536)
	for off := 8; off < 65512; off += 1480 {
		end := min(off+1480, 65512)
		s.Input(0, fragFrame(5, 200, off, end, end < 65512, big))
	}
	if s.Stats().Reassembled != 0 || s.Stats().ReassemblyBad != 1 || len(s.reasm) != 0 {
		t.Fatalf("stats %+v, %d held", s.Stats(), len(s.reasm))
	}
}
