package stack

import (
	"encoding/binary"
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"github.com/exo-os/exo/libos/net/checksum"
	"github.com/exo-os/exo/libos/net/wire"
)

// fixup makes a random frame likelier to go deep: to our MAC, and with
// the IPv4 header checksum (and an ICMP or UDP checksum) made right.
func fixup(f []byte, mode byte) {
	if len(f) < wire.EthernetLen {
		return
	}
	if mode&1 != 0 {
		copy(f[0:6], macB[:])
	}
	ip := f[wire.EthernetLen:]
	if mode&2 == 0 || len(ip) < 20 {
		return
	}
	f[12], f[13] = 0x08, 0x00
	ip[0] = 0x45
	copy(ip[16:20], addrB.AsSlice())
	total := int(binary.BigEndian.Uint16(ip[2:4]))
	if total < 20 || total > len(ip) {
		total = len(ip)
		binary.BigEndian.PutUint16(ip[2:4], uint16(total))
	}
	ip[10], ip[11] = 0, 0
	binary.BigEndian.PutUint16(ip[10:12], checksum.Checksum(ip[:20]))
	p := ip[20:total]
	switch {
	case ip[9] == wire.ProtoICMP && len(p) >= 8 && mode&4 != 0:
		p[2], p[3] = 0, 0
		binary.BigEndian.PutUint16(p[2:4], checksum.Checksum(p))
	case ip[9] == wire.ProtoUDP && len(p) >= 8 && mode&4 != 0:
		binary.BigEndian.PutUint16(p[4:6], uint16(len(p)))
		p[6], p[7] = 0, 0
		s := checksum.Pseudo([4]byte(ip[12:16]), [4]byte(ip[16:20]), wire.ProtoUDP, len(p))
		binary.BigEndian.PutUint16(p[6:8], checksum.Finish(checksum.Sum(s, p)))
	}
}

// checkBounds fails if any table or queue exceeds its Config limit.
func checkBounds(t testing.TB, s *Stack) {
	t.Helper()
	c := s.cfg
	if len(s.arp) > c.ARPEntries || s.queued > MaxARPQueued || len(s.reasm) > c.ReassemblyPackets ||
		s.reasmBytes > c.ReassemblyMemory || s.udpBytes > c.UDPMemory {
		t.Fatalf("bounds: %d ARP entries, %d queued, %d datagrams, %d reassembly bytes, %d UDP bytes",
			len(s.arp), s.queued, len(s.reasm), s.reasmBytes, s.udpBytes)
	}
	n, bytes := 0, 0
	for _, e := range s.arp {
		n += len(e.queue)
		if len(e.queue) > c.ARPQueue {
			t.Fatalf("ARP queue of %d", len(e.queue))
		}
	}
	for _, d := range s.reasm {
		bytes += d.charged
	}
	if n != s.queued || bytes != s.reasmBytes {
		t.Fatalf("accounting: %d queued (counted %d), %d bytes (counted %d)", n, s.queued, bytes, s.reasmBytes)
	}
}

// fuzzStack is the stack FuzzStackInput feeds: small limits, a UDP
// socket and a transport.
func fuzzStack(t testing.TB) (*Stack, *endpoint, *UDPSocket) {
	s, ep := newStack(t, Config{Addr: cfgB.Addr, Gateway: addrX, ARPEntries: 8, ARPQueue: 4,
		ReassemblyMemory: 8192, ReassemblyPackets: 4, UDPQueue: 4, UDPMemory: 4096}, macB)
	s.Register(6, &recorder{})
	u, _ := s.BindUDP(netip.AddrPortFrom(netip.IPv4Unspecified(), 7))
	return s, ep, u
}

// FuzzStackInput feeds frames (data split at 0xff 0xfe markers, each
// fixed up by mode) into a stack: it must never panic and its tables stay
// within bounds.
func FuzzStackInput(f *testing.F) {
	f.Add(ipFrame(macB, macA, wire.IPv4{Proto: 17, Src: addrA, Dst: addrB}, udpMsg(addrA, addrB, 1, 7, []byte("x"))), byte(0))
	f.Add(ipFrame(macB, macA, wire.IPv4{Proto: 1, Src: addrA, Dst: addrB}, icmpMsg(8, 0, 1, []byte("ping"))), byte(0))
	f.Add(append(append(fragFrame(3, 1, 0, 8, true, make([]byte, 16)), 0xff, 0xfe), fragFrame(3, 1, 8, 16, false, make([]byte, 16))...), byte(1))
	f.Add(arpFrame(wire.Broadcast, wire.ARP{Op: 1, SHA: macA, SPA: addrA, TPA: addrB}), byte(0))
	f.Add([]byte{0xff, 0xfe, 1, 2, 3}, byte(7))
	f.Fuzz(func(t *testing.T, data []byte, mode byte) {
		s, ep, u := fuzzStack(t)
		now := time.Duration(0)
		for len(data) > 0 {
			i := 0
			for i+1 < len(data) && !(data[i] == 0xff && data[i+1] == 0xfe) {
				i++
			}
			if i+1 >= len(data) {
				i = len(data)
			}
			frame := append([]byte(nil), data[:i]...)
			data = data[min(i+2, len(data)):]
			fixup(frame, mode)
			s.Input(now, frame)
			now += 100 * time.Millisecond
			if mode&8 != 0 {
				s.Tick(now)
				s.WriteIP(now, 6, addrA, nil, frame)
			}
			checkBounds(t, s)
			u.ReadFrom(make([]byte, 16))
			ep.take()
		}
		s.Tick(now + time.Hour)
		if len(s.reasm) != 0 || s.reasmBytes != 0 {
			t.Fatal("reassembly state survives its timeout")
		}
	})
}

// TestHostileFragments sends a seeded stream of random fragments,
// overlapping, duplicated and inconsistent, and checks the bounds after
// each, and that memory is all released in the end.
func TestHostileFragments(t *testing.T) {
	r := rand.New(rand.NewPCG(12, 34))
	s, ep, _ := fuzzStack(t)
	buf := make([]byte, 70000)
	now := time.Duration(0)
	for range 20000 {
		off := r.IntN(8192) * 8
		n := r.IntN(1480/8+1) * 8
		if r.IntN(10) == 0 {
			n = r.IntN(1480)
		}
		h := wire.IPv4{ID: uint16(r.IntN(16)), Proto: []uint8{1, 6, 17, 99}[r.IntN(4)], Src: addrA, Dst: addrB,
			FragOff: uint16(min(off, 65528)), MF: r.IntN(4) != 0}
		if r.IntN(8) == 0 {
			h.FragOff = 0
		}
		s.Input(now, ipFrame(macB, macA, h, buf[:n]))
		now += time.Duration(r.IntN(50)) * time.Millisecond
		if r.IntN(100) == 0 {
			s.Tick(now)
		}
		checkBounds(t, s)
		ep.take()
	}
	s.Tick(now + time.Minute)
	if len(s.reasm) != 0 || s.reasmBytes != 0 {
		t.Fatal("state left after the timeout")
	}
}

func TestNoAllocationsOnTheHotPath(t *testing.T) {
	p := newPair(t, cfgA, cfgB)
	p.resolve(t)
	srv, _ := p.b.BindUDP(netip.AddrPortFrom(addrB, 7))
	cli, _ := p.a.BindUDP(netip.AddrPort{})
	frame := ipFrame(macB, macA, wire.IPv4{Proto: 17, Src: addrA, Dst: addrB}, udpMsg(addrA, addrB, 1000, 7, make([]byte, 512)))
	buf := make([]byte, 600)
	to := netip.AddrPortFrom(addrB, 7)
	p.b.Input(0, frame)
	srv.ReadFrom(buf)
	cli.WriteTo(buf[:512], to)
	p.ea.out = make([][]byte, 0, 1000)
	n := testing.AllocsPerRun(200, func() {
		p.b.Input(0, frame)
		srv.ReadFrom(buf)
		p.a.Tick(0)
		p.a.NextTimer()
	})
	if n != 0 {
		t.Fatalf("%v allocations per received datagram", n)
	}
	// Sending allocates only in the fake endpoint's copy.
	ep := &countEP{mac: macA}
	s, _ := New(cfgA, ep)
	s.Input(0, arpFrame(macA, wire.ARP{Op: wire.ARPReply, SHA: macB, SPA: addrB, THA: macA, TPA: addrA}))
	u, _ := s.BindUDP(netip.AddrPort{})
	if n := testing.AllocsPerRun(200, func() { u.WriteTo(buf[:512], to) }); n != 0 || ep.n == 0 {
		t.Fatalf("%v allocations per sent datagram", n)
	}
}

type countEP struct {
	mac [6]byte
	n   int
}

func (e *countEP) MAC() [6]byte          { return e.mac }
func (e *countEP) MTU() int              { return 1500 }
func (e *countEP) Transmit([]byte) error { e.n++; return nil }
