package stack

import (
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/exo-os/exo/libos/net/wire"
)

func TestNewValidates(t *testing.T) {
	good := cfgA
	tests := []struct {
		name string
		mod  func(*Config, *endpoint)
	}{
		{"no address", func(c *Config, _ *endpoint) { c.Addr = netip.Prefix{} }},
		{"IPv6", func(c *Config, _ *endpoint) { c.Addr = netip.MustParsePrefix("fd00::1/64") }},
		{"network address", func(c *Config, _ *endpoint) { c.Addr = netip.MustParsePrefix("198.18.0.0/24") }},
		{"broadcast address", func(c *Config, _ *endpoint) { c.Addr = netip.MustParsePrefix("198.18.0.255/24") }},
		{"loopback", func(c *Config, _ *endpoint) { c.Addr = netip.MustParsePrefix("127.0.0.1/8") }},
		{"multicast", func(c *Config, _ *endpoint) { c.Addr = netip.MustParsePrefix("224.0.0.1/24") }},
		{"gateway off subnet", func(c *Config, _ *endpoint) { c.Gateway = netip.MustParseAddr("10.0.0.1") }},
		{"gateway is us", func(c *Config, _ *endpoint) { c.Gateway = addrA }},
		{"negative timeout", func(c *Config, _ *endpoint) { c.ARPTimeout = -1 }},
		{"negative queue", func(c *Config, _ *endpoint) { c.UDPQueue = -1 }},
		{"ARPQueue over total", func(c *Config, _ *endpoint) { c.ARPQueue = MaxARPQueued + 1 }},
		{"port range", func(c *Config, _ *endpoint) { c.UDPPorts = [2]uint16{100, 50} }},
		{"zero MAC", func(_ *Config, e *endpoint) { e.mac = [6]byte{} }},
		{"group MAC", func(_ *Config, e *endpoint) { e.mac[0] |= 1 }},
		{"tiny MTU", func(_ *Config, e *endpoint) { e.mtu = 67 }},
	}
	for _, tt := range tests {
		c, e := good, &endpoint{mac: macA, mtu: 1500}
		tt.mod(&c, e)
		if _, err := New(c, e); err == nil {
			t.Errorf("%s: New succeeded", tt.name)
		}
	}
	if _, err := New(good, nil); err == nil {
		t.Error("nil endpoint accepted")
	}
	s, _ := newStack(t, good, macA)
	want := Config{Addr: good.Addr, ARPTimeout: 60 * time.Second, ARPRetry: time.Second, ARPQueue: 16,
		ARPEntries: 256, ReassemblyTimeout: 30 * time.Second, ReassemblyMemory: 256 << 10,
		ReassemblyPackets: 64, UDPQueue: 64, UDPMemory: 4 << 20, UDPPorts: [2]uint16{49152, 65535}, TTL: 64}
	if s.cfg != want {
		t.Errorf("defaults = %+v, want %+v", s.cfg, want)
	}
	if s.Addr() != addrA || s.MTU() != 1500 {
		t.Errorf("Addr, MTU = %v, %d", s.Addr(), s.MTU())
	}
}

func TestStartAnnounces(t *testing.T) {
	s, ep := newStack(t, cfgA, macA)
	if _, ok := s.NextTimer(); ok {
		t.Fatal("a timer before Start")
	}
	s.Start(5 * time.Second)
	check := func() {
		t.Helper()
		out := ep.take()
		if len(out) != 1 {
			t.Fatalf("%d frames, want one announcement", len(out))
		}
		p := parseFrame(t, out[0])
		want := wire.ARP{Op: wire.ARPRequest, SHA: macA, SPA: addrA, TPA: addrA}
		if p.eth.Dst != wire.Broadcast || p.arp != want {
			t.Fatalf("announcement %+v to %x, want %+v to broadcast", p.arp, p.eth.Dst, want)
		}
	}
	check()
	if next, ok := s.NextTimer(); !ok || next != 7*time.Second {
		t.Fatalf("NextTimer = %v %v, want the second announcement at 7s", next, ok)
	}
	s.Tick(6 * time.Second)
	if len(ep.out) != 0 {
		t.Fatal("second announcement early")
	}
	s.Tick(7 * time.Second)
	check()
	if _, ok := s.NextTimer(); ok {
		t.Fatal("a timer after the announcements")
	}
}

func TestARPResolutionAndQueue(t *testing.T) {
	p := newPair(t, cfgA, cfgB)
	got := &recorder{}
	p.b.Register(200, got)
	for i := range 3 {
		if err := p.a.WriteIP(0, 200, addrB, []byte{byte(i)}, []byte("data")); err != nil {
			t.Fatal(err)
		}
	}
	if len(p.ea.out) != 1 || p.a.queued != 3 {
		t.Fatalf("%d frames sent, %d queued; want one request and 3 queued", len(p.ea.out), p.a.queued)
	}
	p.pump(t)
	if len(got.got) != 3 {
		t.Fatalf("B got %d datagrams, want 3", len(got.got))
	}
	for i, d := range got.got {
		if d.src != addrA || d.dst != addrB || string(d.payload) != string([]byte{byte(i)})+"data" {
			t.Errorf("datagram %d = %+v (out of order or wrong)", i, d)
		}
	}
	if p.a.queued != 0 || p.a.arp[addrB] == nil || !p.a.arp[addrB].resolved || p.a.arp[addrB].mac != macB {
		t.Fatalf("A's entry for B = %+v", p.a.arp[addrB])
	}
	// B learned A from the request addressed to it: its reply needed no request.
	if e := p.b.arp[addrA]; e == nil || e.mac != macA || p.b.Stats().ARPRequestsSent != 0 {
		t.Fatalf("B's entry for A = %+v, B sent %d requests", e, p.b.Stats().ARPRequestsSent)
	}
	// Resolved: straight out.
	if err := p.a.WriteIP(0, 200, addrB, nil, []byte("x")); err != nil || len(p.ea.out) != 1 {
		t.Fatalf("resolved send: %v, %d frames", err, len(p.ea.out))
	}
}

func TestARPQueueBounds(t *testing.T) {
	s, ep := newStack(t, cfgA, macA)
	for i := range 16 {
		if err := s.WriteIP(0, 200, addrB, nil, []byte{byte(i)}); err != nil {
			t.Fatalf("datagram %d: %v", i, err)
		}
	}
	if err := s.WriteIP(0, 200, addrB, nil, []byte{16}); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("17th datagram: %v, want ErrQueueFull", err)
	}
	// A datagram of 3 fragments does not fit another's queue of ARPQueue 2.
	s2, _ := newStack(t, Config{Addr: cfgA.Addr, ARPQueue: 2}, macA)
	if err := s2.WriteIP(0, 200, addrB, nil, make([]byte, 3000)); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("3 fragments in a queue of 2: %v", err)
	}
	// The total: 256 over many addresses.
	for i := range 20 {
		dst := netip.AddrFrom4([4]byte{198, 18, 0, byte(10 + i)})
		for range 16 {
			s.WriteIP(0, 200, dst, nil, []byte{1})
		}
	}
	if s.queued != MaxARPQueued || s.Stats().ARPQueueFull != 1+20*16+16-MaxARPQueued {
		t.Fatalf("queued %d, %d refused", s.queued, s.Stats().ARPQueueFull)
	}
	// A reply delivers B's queue, in order.
	ep.take()
	s.Input(0, arpFrame(macA, wire.ARP{Op: wire.ARPReply, SHA: macB, SPA: addrB, THA: macA, TPA: addrA}))
	out := ep.take()
	if len(out) != 16 {
		t.Fatalf("%d frames after the reply, want 16", len(out))
	}
	for i, f := range out {
		p := parseFrame(t, f)
		if p.eth.Dst != macB || p.ip.Dst != addrB || p.payload[0] != byte(i) {
			t.Fatalf("frame %d: %+v %+v %x", i, p.eth, p.ip, p.payload)
		}
	}
}

func TestARPRetryAndFailure(t *testing.T) {
	s, ep := newStack(t, cfgA, macA)
	if err := s.WriteIP(0, 200, addrB, nil, []byte("x")); err != nil {
		t.Fatal(err)
	}
	if len(ep.take()) != 1 {
		t.Fatal("WriteIP sent no request")
	}
	for i, now := range []time.Duration{time.Second, 2 * time.Second, 3 * time.Second} {
		if next, ok := s.NextTimer(); !ok || next != now {
			t.Fatalf("retry %d: NextTimer = %v %v, want %v", i, next, ok, now)
		}
		s.Tick(now - time.Millisecond)
		if len(ep.out) != 0 {
			t.Fatalf("retry %d early", i)
		}
		if i == 2 {
			break
		}
		s.Tick(now)
		out := ep.take()
		if len(out) != 1 {
			t.Fatalf("retry %d: %d frames, want a request", i, len(out))
		}
		p := parseFrame(t, out[0])
		if p.arp.Op != wire.ARPRequest || p.arp.TPA != addrB || p.eth.Dst != wire.Broadcast {
			t.Fatalf("retry %d: %+v", i, p.arp)
		}
	}
	s.Tick(3 * time.Second)
	st := s.Stats()
	if len(ep.out) != 0 || st.ARPFailed != 1 || st.ARPQueueDropped != 1 || st.ARPRequestsSent != 3 || s.queued != 0 || len(s.arp) != 0 {
		t.Fatalf("after 3 tries: %d frames, stats %+v, %d entries", len(ep.out), st, len(s.arp))
	}
	if _, ok := s.NextTimer(); ok {
		t.Fatal("a timer after the failure")
	}
}

func TestARPExpiry(t *testing.T) {
	p := newPair(t, Config{Addr: cfgA.Addr, ARPTimeout: 10 * time.Second}, cfgB)
	p.resolve(t)
	if next, ok := p.a.NextTimer(); !ok || next != 10*time.Second {
		t.Fatalf("NextTimer = %v %v, want the expiry at 10s", next, ok)
	}
	p.now = 10 * time.Second
	p.a.Tick(p.now)
	if len(p.a.arp) != 0 || p.a.Stats().ARPExpired != 1 {
		t.Fatalf("entries %d, expired %d", len(p.a.arp), p.a.Stats().ARPExpired)
	}
	sent := p.a.Stats().ARPRequestsSent
	p.resolve(t)
	if p.a.Stats().ARPRequestsSent != sent+1 {
		t.Fatal("no new request after expiry")
	}
}

func TestARPCacheBound(t *testing.T) {
	s, ep := newStack(t, Config{Addr: cfgA.Addr, ARPEntries: 4}, macA)
	for i := range 10 {
		mac := [6]byte{2, 0, 0, 0, 1, byte(i)}
		spa := netip.AddrFrom4([4]byte{198, 18, 0, byte(100 + i)})
		s.Input(time.Duration(i)*time.Millisecond, arpFrame(wire.Broadcast, wire.ARP{Op: wire.ARPRequest, SHA: mac, SPA: spa, TPA: addrA}))
	}
	if len(s.arp) != 4 || s.Stats().ARPEvicted != 6 || len(ep.out) != 10 {
		t.Fatalf("%d entries, %d evicted, %d replies", len(s.arp), s.Stats().ARPEvicted, len(ep.out))
	}
	for i := 6; i < 10; i++ {
		if s.arp[netip.AddrFrom4([4]byte{198, 18, 0, byte(100 + i)})] == nil {
			t.Errorf("newest entry %d evicted", i)
		}
	}
}

func TestARPInput(t *testing.T) {
	req := func(sha [6]byte, spa, tpa netip.Addr) []byte {
		return arpFrame(wire.Broadcast, wire.ARP{Op: wire.ARPRequest, SHA: sha, SPA: spa, TPA: tpa})
	}
	tests := []struct {
		name      string
		frame     []byte
		reply     bool
		learned   bool
		conflicts uint64
	}{
		{"request for us", req(macB, addrB, addrA), true, true, 0},
		{"request for another", req(macB, addrB, addrX), false, false, 0},
		{"probe (sender 0.0.0.0)", req(macB, netip.IPv4Unspecified(), addrA), true, false, 0},
		{"sender off subnet", req(macB, netip.MustParseAddr("10.1.1.1"), addrA), true, false, 0},
		{"someone claims our address", req(macB, addrA, addrA), false, false, 1},
		{"group sender MAC", arpFrame(wire.Broadcast, wire.ARP{Op: 1, SHA: [6]byte{3}, SPA: addrB, TPA: addrA}), false, false, 0},
		{"reply to us", arpFrame(macA, wire.ARP{Op: wire.ARPReply, SHA: macB, SPA: addrB, THA: macA, TPA: addrA}), false, true, 0},
		{"malformed", arpFrame(wire.Broadcast, wire.ARP{Op: 9, SHA: macB, SPA: addrB, TPA: addrA}), false, false, 0},
	}
	for _, tt := range tests {
		s, ep := newStack(t, cfgA, macA)
		s.Input(0, tt.frame)
		out := ep.take()
		if tt.reply != (len(out) == 1) || len(out) > 1 {
			t.Errorf("%s: %d frames sent, reply %v", tt.name, len(out), tt.reply)
		}
		if len(out) == 1 {
			p := parseFrame(t, out[0])
			a, _ := wire.ParseARP(tt.frame[wire.EthernetLen:])
			want := wire.ARP{Op: wire.ARPReply, SHA: macA, SPA: addrA, THA: a.SHA, TPA: a.SPA}
			if p.arp != want || p.eth.Dst != a.SHA {
				t.Errorf("%s: reply %+v to %x, want %+v", tt.name, p.arp, p.eth.Dst, want)
			}
		}
		if learned := len(s.arp) == 1; learned != tt.learned {
			t.Errorf("%s: learned %v", tt.name, learned)
		}
		if s.Stats().ARPConflicts != tt.conflicts {
			t.Errorf("%s: %d conflicts", tt.name, s.Stats().ARPConflicts)
		}
	}
	// An existing entry is refreshed by any ARP from its address (RFC
	// 826's merge), e.g. a gratuitous one.
	s, _ := newStack(t, cfgA, macA)
	s.Input(0, req(macB, addrB, addrA))
	s.Input(time.Second, req(macX, addrB, addrB))
	if e := s.arp[addrB]; e.mac != macX || e.deadline != time.Second+60*time.Second {
		t.Fatalf("entry after gratuitous ARP: %+v", e)
	}
}
