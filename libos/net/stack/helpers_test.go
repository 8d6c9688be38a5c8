package stack

import (
	"bytes"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/exo-os/exo/libos/net/wire"
)

var (
	macA  = [6]byte{0x02, 0, 0, 0, 0, 0x0a}
	macB  = [6]byte{0x02, 0, 0, 0, 0, 0x0b}
	macX  = [6]byte{0x02, 0, 0, 0, 0, 0x0c}
	addrA = netip.MustParseAddr("198.18.0.1")
	addrB = netip.MustParseAddr("198.18.0.2")
	addrX = netip.MustParseAddr("198.18.0.3")
	cfgA  = Config{Addr: netip.MustParsePrefix("198.18.0.1/24")}
	cfgB  = Config{Addr: netip.MustParsePrefix("198.18.0.2/24")}
)

// endpoint is a fake link.Endpoint that keeps copies of what is sent.
type endpoint struct {
	mac  [6]byte
	mtu  int
	out  [][]byte
	fail bool
}

func (e *endpoint) MAC() [6]byte { return e.mac }
func (e *endpoint) MTU() int     { return e.mtu }
func (e *endpoint) Transmit(f []byte) error {
	if e.fail {
		return errors.New("endpoint: queue full")
	}
	e.out = append(e.out, bytes.Clone(f))
	return nil
}

// take returns and forgets what was sent.
func (e *endpoint) take() [][]byte {
	o := e.out
	e.out = nil
	return o
}

func newStack(t testing.TB, cfg Config, mac [6]byte) (*Stack, *endpoint) {
	t.Helper()
	ep := &endpoint{mac: mac, mtu: 1500}
	s, err := New(cfg, ep)
	if err != nil {
		t.Fatal(err)
	}
	return s, ep
}

// pair is two stacks joined by an in-memory pipe; pump carries frames
// both ways until none are left. filter, if set, may drop a frame (from
// A when fromA) by returning false.
type pair struct {
	a, b   *Stack
	ea, eb *endpoint
	now    time.Duration
	filter func(fromA bool, f []byte) bool
}

func newPair(t testing.TB, ca, cb Config) *pair {
	a, ea := newStack(t, ca, macA)
	b, eb := newStack(t, cb, macB)
	return &pair{a: a, b: b, ea: ea, eb: eb}
}

func (p *pair) pump(t testing.TB) {
	t.Helper()
	for range 1000 {
		fa, fb := p.ea.take(), p.eb.take()
		if len(fa)+len(fb) == 0 {
			return
		}
		for _, f := range fa {
			if p.filter == nil || p.filter(true, f) {
				p.b.Input(p.now, f)
			}
		}
		for _, f := range fb {
			if p.filter == nil || p.filter(false, f) {
				p.a.Input(p.now, f)
			}
		}
	}
	t.Fatal("pump: frames never stop")
}

// recorder is a Transport that keeps what it is given.
type recorder struct {
	got []delivery
}

type delivery struct {
	src, dst netip.Addr
	payload  []byte
}

func (r *recorder) Deliver(now time.Duration, src, dst netip.Addr, payload []byte) {
	r.got = append(r.got, delivery{src, dst, bytes.Clone(payload)})
}

// ipFrame builds an Ethernet frame carrying an IPv4 packet.
func ipFrame(dst, src [6]byte, h wire.IPv4, payload []byte) []byte {
	f := make([]byte, wire.EthernetLen+wire.IPv4Len+len(payload))
	wire.Ethernet{Dst: dst, Src: src, Type: wire.EtherIPv4}.Put(f)
	if h.TTL == 0 {
		h.TTL = 64
	}
	h.Put(f[wire.EthernetLen:], len(payload))
	copy(f[wire.EthernetLen+wire.IPv4Len:], payload)
	return f
}

// udpMsg builds a UDP datagram (header and data).
func udpMsg(src, dst netip.Addr, sport, dport uint16, data []byte) []byte {
	b := make([]byte, wire.UDPLen+len(data))
	copy(b[wire.UDPLen:], data)
	wire.UDP{Src: sport, Dst: dport}.Put(b, src, dst, b[wire.UDPLen:])
	return b
}

// icmpMsg builds an ICMP message.
func icmpMsg(typ, code uint8, rest uint32, body []byte) []byte {
	b := make([]byte, wire.ICMPLen+len(body))
	copy(b[wire.ICMPLen:], body)
	wire.ICMP{Type: typ, Code: code, Rest: rest}.Put(b, b[wire.ICMPLen:])
	return b
}

// arpFrame builds an Ethernet frame carrying an ARP packet.
func arpFrame(dst [6]byte, a wire.ARP) []byte {
	f := make([]byte, wire.EthernetMinLen)
	wire.Ethernet{Dst: dst, Src: a.SHA, Type: wire.EtherARP}.Put(f)
	a.Put(f[wire.EthernetLen:])
	return f
}

// parseFrame decodes a frame the stack sent, failing the test if it is
// not well formed.
type parsed struct {
	eth     wire.Ethernet
	arp     wire.ARP
	ip      wire.IPv4
	payload []byte // the IP payload
}

func parseFrame(t testing.TB, f []byte) parsed {
	t.Helper()
	if len(f) < wire.EthernetMinLen {
		t.Fatalf("frame of %d bytes: not padded to %d", len(f), wire.EthernetMinLen)
	}
	var p parsed
	var rest []byte
	var err error
	if p.eth, rest, err = wire.ParseEthernet(f); err != nil {
		t.Fatal(err)
	}
	switch p.eth.Type {
	case wire.EtherARP:
		if p.arp, err = wire.ParseARP(rest); err != nil {
			t.Fatal(err)
		}
	case wire.EtherIPv4:
		if p.ip, p.payload, err = wire.ParseIPv4(rest); err != nil {
			t.Fatal(err)
		}
	default:
		t.Fatalf("ethertype %#x", p.eth.Type)
	}
	return p
}

// resolved makes a and b know each other's MAC (one ARP exchange).
func (p *pair) resolve(t testing.TB) {
	t.Helper()
	if p.b.protos[253] == nil {
		p.b.Register(253, &recorder{})
	}
	if err := p.a.WriteIP(p.now, 253, addrB, nil, []byte{1}); err != nil {
		t.Fatal(err)
	}
	p.pump(t)
}
