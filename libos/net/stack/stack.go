// Package stack is the library OS's IPv4 host stack over a link.Endpoint:
// ARP (RFC 826, with RFC 5227's announcement), IPv4 (RFC 791, with
// reassembly and fragmentation), ICMP (RFC 792: echo, and the errors a
// host sends per RFC 1122 §3.2.2) and UDP (RFC 768) sockets. Other
// protocols (TCP) plug in as a Transport.
//
// The stack has no goroutines, no locks and no clock: the caller
// serialises every call, hands it each received frame (Input) and runs
// its timers (Tick, when NextTimer says), passing the time, a
// monotonic duration from an origin the caller fixes. Every queue and
// table is bounded by Config.
//
// The stack is a host: it never forwards. Sending to the stack's own
// address (loopback) is refused.
package stack

import (
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/exo-os/exo/libos/net/link"
	"github.com/exo-os/exo/libos/net/wire"
)

// Config configures a Stack; zero fields take the defaults given.
type Config struct {
	// Addr is our address and subnet, e.g. 198.18.0.2/24.
	Addr netip.Prefix
	// Gateway is the next hop for destinations off the subnet; invalid
	// (the zero value): none, and sending off the subnet fails.
	Gateway netip.Addr

	// ARPTimeout is a cache entry's lifetime (default 60s).
	ARPTimeout time.Duration
	// ARPRetry is the interval between ARP requests for an unresolved
	// address (default 1s); after 3 requests unanswered the address's
	// queue is dropped.
	ARPRetry time.Duration
	// ARPQueue is the most frames waiting for one unresolved address
	// (default 16); at most MaxARPQueued wait in all.
	ARPQueue int
	// ARPEntries is the most cache entries, resolved or not (default
	// 256); the oldest is evicted for a new one.
	ARPEntries int

	// ReassemblyTimeout is how long a datagram's fragments are held
	// waiting for the rest (default 30s, RFC 791's suggestion).
	ReassemblyTimeout time.Duration
	// ReassemblyMemory bounds the bytes held for reassembly (default
	// 256 KiB; each fragment is charged its data plus fragmentOverhead);
	// over it, the oldest datagrams are dropped.
	ReassemblyMemory int
	// ReassemblyPackets is the most datagrams reassembled at once
	// (default 64); a new one past it drops the oldest.
	ReassemblyPackets int

	// UDPQueue is the most datagrams queued on one UDP socket (default
	// 64); more are dropped and counted.
	UDPQueue int
	// UDPMemory bounds the data bytes queued on all UDP sockets together
	// (default 4 MiB); datagrams past it are dropped and counted.
	UDPMemory int
	// UDPPorts is the ephemeral port range, inclusive, for BindUDP with
	// port 0 (default 49152..65535, RFC 6335).
	UDPPorts [2]uint16

	// TTL is the time to live of the datagrams sent (default 64).
	TTL uint8

	// LearnFromIP makes the stack learn a neighbour's MAC from every
	// valid IPv4 datagram addressed to us whose source is on the subnet
	// (the frame's source MAC), as well as from ARP. In Exo only one
	// environment holds the machine's ARP guard; the others never see
	// ARP replies, and learn their peers this way (gVisor's libOS does
	// the same). It trusts the sender's claim as ARP does: no more.
	LearnFromIP bool

	// NoUDPFragments refuses, with ErrNeedsFragments, a UDP datagram
	// that would need fragments, rather than sending fragments the link
	// drops: Exo's kernel sends a fragment after the first only for an
	// environment holding the whole UDP guard, since a later fragment
	// names no port.
	NoUDPFragments bool
}

// MaxARPQueued is the most frames waiting for ARP resolution over all
// addresses together.
const MaxARPQueued = 256

// ICMPErrorsPerSecond is the most ICMP error messages (port and protocol
// unreachable) the stack sends in any one-second window (RFC 1122
// §3.2.2: a host should limit them); more are counted and not sent.
const ICMPErrorsPerSecond = 10

// arpTries is how many ARP requests are sent for an address before its
// queue is dropped.
const arpTries = 3

// announceInterval is the time between the two ARP announcements of RFC
// 5227 §2.3 (ANNOUNCE_INTERVAL).
const announceInterval = 2 * time.Second

// Transport is a protocol above IPv4 (TCP, or a ping client for ICMP).
type Transport interface {
	// Deliver hands the transport a datagram's payload, from src to dst
	// (our address), that arrived at now. payload is valid only during the
	// call; the transport may call the stack's WriteIP from within it.
	Deliver(now time.Duration, src, dst netip.Addr, payload []byte)
}

// Errors of WriteIP and UDPSocket.WriteTo that a caller may test for.
var (
	// ErrQueueFull: the next hop is being resolved by ARP and its queue
	// (or the stack's) is full; the datagram was not sent.
	ErrQueueFull = errors.New("stack: ARP queue full, datagram dropped")
	// ErrNoRoute: the destination is off the subnet and there is no
	// gateway.
	ErrNoRoute = errors.New("stack: no route (destination off the subnet and no gateway)")
	// ErrTooLong: the datagram exceeds IPv4's 65535 bytes.
	ErrTooLong = errors.New("stack: datagram longer than IPv4's 65535 bytes")
	// ErrNeedsFragments: a UDP datagram longer than the MTU allows, with
	// Config.NoUDPFragments set.
	ErrNeedsFragments = errors.New("stack: datagram needs fragmenting")
)

// Stack is an IPv4 host stack on one link. Its methods must not be called
// concurrently.
type Stack struct {
	cfg    Config
	ep     link.Endpoint
	mac    [6]byte
	addr   netip.Addr
	bcast  netip.Addr // subnet broadcast; invalid for /31 and /32
	mtu    int
	now    time.Duration
	ipID   uint16
	protos [256]Transport

	arp       map[netip.Addr]*arpEntry
	queued    int      // frames waiting for ARP, all entries
	spare     [][]byte // free frame buffers for the ARP queues
	announce  time.Duration
	announced bool // the second announcement is done (or Start never ran)

	reasm      []*datagram // oldest first
	reasmBytes int
	reasmBuf   []byte // the reassembled payload, during its delivery

	udp      map[uint16]*UDPSocket
	udpBytes int
	nextPort uint16

	icmpWindow time.Duration
	icmpSent   int

	tx       []byte // the frame being built (14+MTU, and padding)
	scr      []byte // scratch for an ICMP header or error
	udpHdr   [wire.UDPLen]byte
	timerOK  bool
	timer    time.Duration
	timerSet bool

	stats Stats
}

// New returns a stack with address cfg.Addr on ep, checking cfg and
// filling in its defaults.
func New(cfg Config, ep link.Endpoint) (*Stack, error) {
	if ep == nil {
		return nil, errors.New("stack: no link endpoint")
	}
	if !cfg.Addr.IsValid() || !cfg.Addr.Addr().Is4() {
		return nil, fmt.Errorf("stack: address %v is not an IPv4 prefix (e.g. 198.18.0.2/24)", cfg.Addr)
	}
	a := cfg.Addr.Addr()
	if !isUnicast(a) {
		return nil, fmt.Errorf("stack: address %v is not a unicast host address", a)
	}
	p := cfg.Addr.Masked()
	var bcast netip.Addr
	if cfg.Addr.Bits() < 31 {
		bcast = broadcastOf(cfg.Addr)
		if a == p.Addr() || a == bcast {
			return nil, fmt.Errorf("stack: address %v is the network or broadcast address of %v", a, p)
		}
	}
	if cfg.Gateway.IsValid() {
		g := cfg.Gateway
		if !g.Is4() || !isUnicast(g) || g == a || g == bcast || !p.Contains(g) {
			return nil, fmt.Errorf("stack: gateway %v is not another unicast host on %v", g, p)
		}
	}
	mac := ep.MAC()
	if mac == [6]byte{} || wire.IsMulticastMAC(mac) {
		return nil, fmt.Errorf("stack: link MAC %x is zero or a group address", mac)
	}
	mtu := ep.MTU()
	if mtu < 68 || mtu > wire.IPv4MaxLen {
		return nil, fmt.Errorf("stack: link MTU %d outside 68..65535 (RFC 791 §3.2)", mtu)
	}
	for _, d := range []struct {
		name string
		v    *time.Duration
		def  time.Duration
	}{
		{"ARPTimeout", &cfg.ARPTimeout, 60 * time.Second},
		{"ARPRetry", &cfg.ARPRetry, time.Second},
		{"ReassemblyTimeout", &cfg.ReassemblyTimeout, 30 * time.Second},
	} {
		if *d.v < 0 {
			return nil, fmt.Errorf("stack: %s %v is negative", d.name, *d.v)
		}
		if *d.v == 0 {
			*d.v = d.def
		}
	}
	for _, d := range []struct {
		name     string
		v        *int
		def, max int
	}{
		{"ARPQueue", &cfg.ARPQueue, 16, MaxARPQueued},
		{"ARPEntries", &cfg.ARPEntries, 256, 1 << 20},
		{"ReassemblyMemory", &cfg.ReassemblyMemory, 256 << 10, 1 << 30},
		{"ReassemblyPackets", &cfg.ReassemblyPackets, 64, 1 << 16},
		{"UDPQueue", &cfg.UDPQueue, 64, 1 << 20},
		{"UDPMemory", &cfg.UDPMemory, 4 << 20, 1 << 30},
	} {
		if *d.v < 0 || *d.v > d.max {
			return nil, fmt.Errorf("stack: %s %d outside 0..%d", d.name, *d.v, d.max)
		}
		if *d.v == 0 {
			*d.v = d.def
		}
	}
	if cfg.UDPPorts == [2]uint16{} {
		cfg.UDPPorts = [2]uint16{49152, 65535}
	}
	if cfg.UDPPorts[0] == 0 || cfg.UDPPorts[0] > cfg.UDPPorts[1] {
		return nil, fmt.Errorf("stack: UDPPorts %d..%d is not a range of nonzero ports", cfg.UDPPorts[0], cfg.UDPPorts[1])
	}
	if cfg.TTL == 0 {
		cfg.TTL = 64
	}
	s := &Stack{
		cfg: cfg, ep: ep, mac: mac, addr: a, bcast: bcast, mtu: mtu,
		arp:       make(map[netip.Addr]*arpEntry),
		udp:       make(map[uint16]*UDPSocket),
		nextPort:  cfg.UDPPorts[0],
		tx:        make([]byte, max(wire.EthernetLen+mtu, wire.EthernetMinLen)),
		scr:       make([]byte, 0, wire.ICMPLen+60+8),
		announced: true,
		ipID:      uint16(mac[4])<<8 | uint16(mac[5]),
	}
	return s, nil
}

// Addr returns the stack's IPv4 address.
func (s *Stack) Addr() netip.Addr { return s.addr }

// MTU returns the largest IP datagram the link carries unfragmented.
func (s *Stack) MTU() int { return s.mtu }

// Stats returns the stack's counters.
func (s *Stack) Stats() Stats { return s.stats }

// Register makes t the receiver of protocol proto's datagrams addressed
// to our unicast address (nil: none, and such datagrams draw a protocol
// unreachable). Registering ProtoICMP (1) gives t every valid ICMP
// message but echo requests, which the stack answers itself. UDP (17)
// is the stack's own: registering it panics.
func (s *Stack) Register(proto uint8, t Transport) {
	if proto == wire.ProtoUDP {
		panic("stack: Register: UDP (17) is served by the stack's own sockets")
	}
	s.protos[proto] = t
}

// Start announces our address with a gratuitous ARP request (RFC 5227
// §2.3), and a second one ANNOUNCE_INTERVAL (2 s) later from Tick.
func (s *Stack) Start(now time.Duration) {
	s.setNow(now)
	s.sendARP(wire.ARPRequest, wire.Broadcast, [6]byte{}, s.addr)
	s.announce = now + announceInterval
	s.announced = false
	s.timerOK = false
}

// Tick runs what is due at now: ARP retransmissions and expiries, the
// second ARP announcement and reassembly timeouts.
func (s *Stack) Tick(now time.Duration) {
	s.setNow(now)
	if !s.announced && now >= s.announce {
		s.announced = true
		s.sendARP(wire.ARPRequest, wire.Broadcast, [6]byte{}, s.addr)
	}
	s.arpTick(now)
	s.reasmTick(now)
	s.timerOK = false
}

// NextTimer returns the earliest time Tick has work to do, and false if
// it has none.
func (s *Stack) NextTimer() (time.Duration, bool) {
	if !s.timerOK {
		s.timer, s.timerSet = 0, false
		add := func(t time.Duration) {
			if !s.timerSet || t < s.timer {
				s.timer, s.timerSet = t, true
			}
		}
		if !s.announced {
			add(s.announce)
		}
		for _, e := range s.arp {
			add(e.deadline)
		}
		for _, d := range s.reasm {
			add(d.deadline)
		}
		s.timerOK = true
	}
	return s.timer, s.timerSet
}

func (s *Stack) setNow(now time.Duration) {
	if now > s.now {
		s.now = now
	}
}

// Input handles one received frame (link.Receiver). frame is not kept.
func (s *Stack) Input(now time.Duration, frame []byte) {
	s.setNow(now)
	s.stats.FramesIn++
	eth, payload, err := wire.ParseEthernet(frame)
	if err != nil {
		s.stats.EthBad++
		return
	}
	linkBcast := eth.Dst == wire.Broadcast
	if eth.Dst != s.mac && !linkBcast {
		s.stats.EthNotForUs++
		return
	}
	if wire.IsMulticastMAC(eth.Src) || eth.Src == [6]byte{} {
		s.stats.EthBad++
		return
	}
	switch eth.Type {
	case wire.EtherARP:
		s.arpInput(now, payload)
	case wire.EtherIPv4:
		s.ipInput(now, payload, linkBcast, eth.Src)
	default:
		s.stats.EthUnknownType++
	}
}

// isUnicast reports whether a is an IPv4 address a host may have: not
// unspecified, loopback, multicast, limited broadcast or class E
// (RFC 1122 §3.2.1.3).
func isUnicast(a netip.Addr) bool {
	if !a.Is4() {
		return false
	}
	b := a.As4()
	return !a.IsUnspecified() && !a.IsLoopback() && b[0] < 224 && b[0] != 0
}

// broadcastOf returns p's directed broadcast address.
func broadcastOf(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().As4()
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	v |= 1<<(32-p.Bits()) - 1
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

var limitedBroadcast = netip.AddrFrom4([4]byte{255, 255, 255, 255})

// isBroadcast reports whether a is the limited or our subnet's broadcast.
func (s *Stack) isBroadcast(a netip.Addr) bool {
	return a == limitedBroadcast || (s.bcast.IsValid() && a == s.bcast)
}

// transmit sends frame (at least 14 bytes), padded to Ethernet's minimum
// inside s.tx's capacity when it is s.tx.
func (s *Stack) transmit(frame []byte) {
	if len(frame) < wire.EthernetMinLen && cap(frame) >= wire.EthernetMinLen {
		n := len(frame)
		frame = frame[:wire.EthernetMinLen]
		clear(frame[n:])
	}
	if err := s.ep.Transmit(frame); err != nil {
		s.stats.LinkErrors++
		return
	}
	s.stats.FramesOut++
}
