package stack

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/exo-os/exo/libos/net/wire"
)

// TestLearnFromIP: with LearnFromIP a datagram from a neighbour is enough
// to answer it without ARP; without, the answer waits for ARP; and what is
// learned is only an on-subnet unicast source of a datagram to us.
func TestLearnFromIP(t *testing.T) {
	peer := [6]byte{0x02, 0, 0, 0, 0, 0x99}
	for _, tc := range []struct {
		name  string
		learn bool
		src   netip.Addr
		dst   [6]byte
		want  string // what the reply to the datagram is sent as: "ip" or "arp"
	}{
		{"learned", true, addrA, macB, "ip"},
		{"off", false, addrA, macB, "arp"},
		{"link broadcast not learned", true, addrA, wire.Broadcast, "arp"},
		{"off-subnet not learned", true, netip.MustParseAddr("10.1.2.3"), macB, "none"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := cfgB
			cfg.LearnFromIP = tc.learn
			if tc.src.Is4() && !cfg.Addr.Contains(tc.src) {
				cfg.Gateway = netip.MustParseAddr("198.18.0.254")
			}
			s, ep := newStack(t, cfg, macB)
			u, err := s.BindUDP(netip.AddrPortFrom(addrB, 7))
			if err != nil {
				t.Fatal(err)
			}
			s.Input(0, ipFrame(tc.dst, peer, wire.IPv4{Proto: wire.ProtoUDP, Src: tc.src, Dst: addrB}, udpMsg(tc.src, addrB, 4000, 7, []byte("hi"))))
			buf := make([]byte, 10)
			n, from, ok := u.ReadFrom(buf)
			if !ok || string(buf[:n]) != "hi" {
				t.Fatalf("the datagram was not delivered: %q %v", buf[:n], ok)
			}
			if err := u.WriteTo([]byte("ho"), from); err != nil {
				t.Fatal(err)
			}
			out := ep.take()
			got := "none"
			if len(out) == 1 {
				p := parseFrame(t, out[0])
				switch {
				case p.eth.Type == wire.EtherARP && p.arp.Op == wire.ARPRequest:
					got = "arp"
				case p.eth.Type == wire.EtherIPv4 && p.eth.Dst == peer:
					got = "ip"
				}
			} else if len(out) > 1 {
				got = "many"
			}
			if tc.want != "none" && got != tc.want {
				t.Fatalf("the reply went out as %q, want %q", got, tc.want)
			}
			if tc.want == "none" && got == "ip" {
				t.Fatal("an off-subnet source was learned as a neighbour")
			}
			if learned := s.Stats().IPLearned; (tc.want == "ip") != (learned == 1) {
				t.Fatalf("IPLearned %d", learned)
			}
		})
	}
}

// TestNoUDPFragments: with NoUDPFragments a UDP datagram that needs
// fragments is refused, saying so, and one that fits is sent.
func TestNoUDPFragments(t *testing.T) {
	cfg := cfgB
	cfg.NoUDPFragments = true
	s, ep := newStack(t, cfg, macB)
	s.Input(0, arpFrame(macB, wire.ARP{Op: wire.ARPReply, SHA: macA, SPA: addrA, THA: macB, TPA: addrB}))
	ep.take()
	u, err := s.BindUDP(netip.AddrPortFrom(addrB, 7))
	if err != nil {
		t.Fatal(err)
	}
	to := netip.AddrPortFrom(addrA, 9)
	if err := u.WriteTo(make([]byte, 1473), to); !errors.Is(err, ErrNeedsFragments) {
		t.Fatalf("1473 bytes: %v, want ErrNeedsFragments", err)
	}
	if n := len(ep.take()); n != 0 {
		t.Fatalf("%d frames sent for a refused datagram", n)
	}
	if err := u.WriteTo(make([]byte, 1472), to); err != nil {
		t.Fatalf("1472 bytes: %v", err)
	}
	if n := len(ep.take()); n != 1 {
		t.Fatalf("%d frames for a datagram that fits", n)
	}
}
