// Package pingtest provides a stand-in for an Exo guest behind QEMU's
// -netdev dgram, for testing ping.Dgram and the tools built on it without
// QEMU: a goroutine on a 127.0.0.1 UDP socket that speaks raw Ethernet
// frames, one per datagram, answers ARP for its address and echoes ICMP
// echo requests and UDP datagrams to its echo port, with faults on
// request.
//
// Unlike QEMU, which sends to a fixed remote address, a Peer sends each
// reply to the address the request came from, so that a test can bind
// both ends to port 0.
package pingtest

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"

	"github.com/exo-os/exo/internal/ping"
)

// Default identity of a Peer.
var (
	DefaultIP  = netip.MustParseAddr("198.18.0.2") // the Exo guest's usual address
	DefaultMAC = ping.MAC{0x02, 0, 0, 0, 0, 0x02}  // locally administered, unicast
)

// Fault is a way for a Peer to misbehave.
type Fault int

// The faults. Each applies to the echo requests that Options.Every picks.
const (
	None              Fault = iota // a good reply
	Drop                           // no reply
	CorruptPayload                 // flip the last payload byte, checksums recomputed
	CorruptIPChecksum              // a wrong IPv4 header checksum
	CorruptL4Checksum              // a wrong ICMP or UDP checksum
	// Duplicate sends the previous request's reply again just before this
	// one's, so that every duplicate arrives while the prober still waits.
	Duplicate
)

// Options configure a Peer. The zero value is a well-behaved guest at
// DefaultIP and DefaultMAC with a UDP echo service on port 7.
type Options struct {
	IP   netip.Addr // the guest's address (DefaultIP)
	MAC  ping.MAC   // the guest's Ethernet address (DefaultMAC)
	Port uint16     // UDP echo port (0: 7)
	// NoARP makes the peer ignore ARP requests.
	NoARP bool
	// AskARP makes the peer, like a stack that does not learn addresses
	// from requests, hold its first echo reply until it has asked for the
	// prober's MAC by ARP and been answered.
	AskARP bool
	// Decoys makes the peer precede every reply with two look-alikes that
	// a prober must ignore: one to another MAC address, one to another IP
	// address, both with the reply's payload corrupted.
	Decoys bool
	// Fault applies to every Every-th echo request, counting from 1
	// (Every ≤ 1: all of them).
	Fault Fault
	Every int // see Fault
}

// Stats counts what a Peer has seen and done.
type Stats struct {
	Requests   int // echo requests (ICMP or UDP) addressed to the peer
	Replies    int // echo replies sent, duplicates included
	ARPAnswers int // ARP replies the peer sent
	ARPLearned int // ARP replies the peer received for its own questions
}

// Peer is a fake guest. Start one with Start; stop it with Close.
type Peer struct {
	o    Options
	conn *net.UDPConn
	done chan struct{}

	mu      sync.Mutex
	stats   Stats
	learned map[netip.Addr]ping.MAC
	held    [][]byte // replies waiting for an ARP answer (AskARP)
	prev    []byte   // the previous reply, for Duplicate
}

// Start binds 127.0.0.1 on a free port and serves until Close.
func Start(o Options) (*Peer, error) {
	if !o.IP.IsValid() {
		o.IP = DefaultIP
	}
	if o.MAC == (ping.MAC{}) {
		o.MAC = DefaultMAC
	}
	if o.Port == 0 {
		o.Port = 7
	}
	if o.Every < 1 {
		o.Every = 1
	}
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, fmt.Errorf("pingtest: %w", err)
	}
	p := &Peer{o: o, conn: conn, done: make(chan struct{}), learned: map[netip.Addr]ping.MAC{}}
	go p.serve()
	return p, nil
}

// Addr returns the peer's address: where a Dgram sends (its Remote).
func (p *Peer) Addr() netip.AddrPort { return p.conn.LocalAddr().(*net.UDPAddr).AddrPort() }

// Stats returns the counts so far.
func (p *Peer) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stats
}

// Close stops the peer and waits for its goroutine.
func (p *Peer) Close() error {
	err := p.conn.Close()
	<-p.done
	return err
}

func (p *Peer) serve() {
	defer close(p.done)
	buf := make([]byte, 64<<10)
	for {
		n, from, err := p.conn.ReadFromUDPAddrPort(buf)
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			continue
		}
		p.mu.Lock()
		out := p.handle(buf[:n])
		p.mu.Unlock()
		for _, b := range out {
			p.conn.WriteToUDPAddrPort(b, from)
		}
	}
}

// handle returns the frames to send in answer to frame b.
func (p *Peer) handle(b []byte) [][]byte {
	f, err := ping.ParseFrame(b)
	if err != nil || f.Dst != p.o.MAC && f.Dst != ping.Broadcast {
		return nil
	}
	if f.EtherType == ping.EtherTypeARP {
		return p.handleARP(&f.ARP)
	}
	if f.IP.Dst != p.o.IP {
		return nil
	}
	reply := f
	reply.Dst, reply.Src = f.Src, p.o.MAC
	reply.IP.Src, reply.IP.Dst = p.o.IP, f.IP.Src
	reply.IP.TTL = 64
	switch {
	case f.IP.Protocol == ping.ProtoICMP && f.ICMP.Type == ping.ICMPEchoRequest:
		reply.ICMP.Type = ping.ICMPEchoReply
	case f.IP.Protocol == ping.ProtoUDP && f.UDP.DstPort == p.o.Port:
		reply.UDP.SrcPort, reply.UDP.DstPort = f.UDP.DstPort, f.UDP.SrcPort
	default:
		return nil
	}
	reply.Payload = append([]byte(nil), f.Payload...)
	p.stats.Requests++
	fault := None
	if p.stats.Requests%p.o.Every == 0 {
		fault = p.o.Fault
	}
	if fault == Drop {
		return nil
	}
	if fault == CorruptPayload && len(reply.Payload) > 0 {
		reply.Payload[len(reply.Payload)-1] ^= 0xff
	}
	frame, err := reply.Marshal()
	if err != nil {
		return nil
	}
	switch fault {
	case CorruptIPChecksum:
		breakChecksum(frame, 14+10)
	case CorruptL4Checksum:
		off := 14 + 20 + 2 // ICMP
		if reply.IP.Protocol == ping.ProtoUDP {
			off = 14 + 20 + 6
		}
		breakChecksum(frame, off+len(reply.IP.Options))
	}
	var out [][]byte
	if p.o.Decoys {
		out = append(out, p.decoys(reply)...)
	}
	if fault == Duplicate && p.prev != nil {
		out = append(out, p.prev)
	}
	p.prev = frame
	out = append(out, frame)
	if p.o.AskARP {
		if _, ok := p.learned[f.IP.Src]; !ok {
			p.held = append(p.held, out...)
			return [][]byte{p.arpFrame(ping.ARPRequest, ping.Broadcast, ping.MAC{}, f.IP.Src)}
		}
	}
	p.stats.Replies += len(out)
	return out
}

// breakChecksum changes the 16-bit checksum at off to a wrong value that
// is not zero (which would mean "none" for UDP) and not the ones'
// complement alias of the right one.
func breakChecksum(frame []byte, off int) {
	frame[off] ^= 0x01
	frame[off+1] ^= 0x01
	if frame[off] == 0 && frame[off+1] == 0 {
		frame[off], frame[off+1] = 0x02, 0x02
	}
}

// decoys returns reply with a corrupted payload, once to a MAC address and
// once to an IP address that are not the prober's.
func (p *Peer) decoys(reply ping.Frame) [][]byte {
	reply.Payload = append([]byte(nil), reply.Payload...)
	if len(reply.Payload) > 0 {
		reply.Payload[len(reply.Payload)-1] ^= 0x55
	}
	var out [][]byte
	wrongMAC := reply
	wrongMAC.Dst[5] ^= 0x80
	wrongIP := reply
	wrongIP.IP.Dst = wrongIP.IP.Dst.Next()
	for _, f := range []ping.Frame{wrongMAC, wrongIP} {
		if b, err := f.Marshal(); err == nil {
			out = append(out, b)
		}
	}
	return out
}

func (p *Peer) handleARP(a *ping.ARP) [][]byte {
	if a.TargetIP != p.o.IP {
		return nil
	}
	switch a.Op {
	case ping.ARPRequest:
		if p.o.NoARP {
			return nil
		}
		p.stats.ARPAnswers++
		return [][]byte{p.arpFrame(ping.ARPReply, a.SenderMAC, a.SenderMAC, a.SenderIP)}
	case ping.ARPReply:
		p.stats.ARPLearned++
		p.learned[a.SenderIP] = a.SenderMAC
		out := p.held
		p.held = nil
		p.stats.Replies += len(out)
		return out
	}
	return nil
}

func (p *Peer) arpFrame(op uint16, dst, targetMAC ping.MAC, targetIP netip.Addr) []byte {
	f := ping.Frame{
		Dst:       dst,
		Src:       p.o.MAC,
		EtherType: ping.EtherTypeARP,
		ARP: ping.ARP{
			Op:        op,
			SenderMAC: p.o.MAC,
			SenderIP:  p.o.IP,
			TargetMAC: targetMAC,
			TargetIP:  targetIP,
		},
	}
	b, _ := f.Marshal() // cannot fail: all addresses are IPv4
	return b
}
