package stack

import (
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/exo-os/exo/libos/net/wire"
)

// keepBuffer is the largest datagram buffer a socket's queue slot keeps
// for reuse once read; larger ones are released.
const keepBuffer = 2048

// UDPSocket is a UDP socket bound to a local port. Received datagrams
// wait in its queue (Config.UDPQueue) until read.
type UDPSocket struct {
	s      *Stack
	local  netip.AddrPort
	any    bool // bound to 0.0.0.0: takes broadcasts too
	q      []udpDatagram
	head   int
	n      int
	closed bool
}

type udpDatagram struct {
	from netip.AddrPort
	data []byte
}

// BindUDP opens a UDP socket on local: our address, or the unspecified
// address (or none) to take broadcasts too; port 0 picks a free
// ephemeral port (in order through Config.UDPPorts: not randomised as
// RFC 6056 recommends). A port in use is an error.
func (s *Stack) BindUDP(local netip.AddrPort) (*UDPSocket, error) {
	a := local.Addr().Unmap()
	any := !a.IsValid() || a.IsUnspecified()
	if !any && a != s.addr {
		return nil, fmt.Errorf("stack: BindUDP %v: not this host's address %v", local, s.addr)
	}
	if any {
		a = netip.IPv4Unspecified()
	}
	port := local.Port()
	if port == 0 {
		lo, hi := s.cfg.UDPPorts[0], s.cfg.UDPPorts[1]
		for range int(hi-lo) + 1 {
			p := s.nextPort
			if p < lo || p > hi {
				p = lo
			}
			if p == hi {
				s.nextPort = lo
			} else {
				s.nextPort = p + 1
			}
			if s.udp[p] == nil {
				port = p
				break
			}
		}
		if port == 0 {
			return nil, fmt.Errorf("stack: BindUDP %v: every ephemeral port %d..%d is in use", local, lo, hi)
		}
	} else if s.udp[port] != nil {
		return nil, fmt.Errorf("stack: BindUDP %v: port %d in use", local, port)
	}
	u := &UDPSocket{s: s, local: netip.AddrPortFrom(a, port), any: any, q: make([]udpDatagram, s.cfg.UDPQueue)}
	s.udp[port] = u
	return u, nil
}

// LocalAddr returns the address the socket is bound to (its address is
// 0.0.0.0 if it was bound to none).
func (u *UDPSocket) LocalAddr() netip.AddrPort { return u.local }

// Pending returns the number of datagrams queued.
func (u *UDPSocket) Pending() int { return u.n }

// ReadFrom copies the oldest queued datagram into b and returns its full
// length n (greater than len(b) if it was truncated: the rest is lost)
// and its source; ok is false if none is queued (or the socket is
// closed).
func (u *UDPSocket) ReadFrom(b []byte) (n int, from netip.AddrPort, ok bool) {
	if u.closed || u.n == 0 {
		return 0, netip.AddrPort{}, false
	}
	d := &u.q[u.head]
	copy(b, d.data)
	n, from = len(d.data), d.from
	u.s.udpBytes -= n
	d.data = d.data[:0]
	if cap(d.data) > keepBuffer {
		d.data = nil
	}
	u.head = (u.head + 1) % len(u.q)
	u.n--
	return n, from, true
}

// WriteTo sends b as one datagram to to, at the time of the stack's
// latest Input, Tick, Start or WriteIP call. Errors are WriteIP's, or
// about the socket or address.
func (u *UDPSocket) WriteTo(b []byte, to netip.AddrPort) error {
	if u.closed {
		return fmt.Errorf("stack: WriteTo on closed UDP socket %v", u.local)
	}
	dst := to.Addr().Unmap()
	if !dst.Is4() || to.Port() == 0 {
		return fmt.Errorf("stack: UDP WriteTo %v: not an IPv4 address and nonzero port", to)
	}
	if len(b) > wire.IPv4MaxLen-wire.IPv4Len-wire.UDPLen {
		return ErrTooLong
	}
	s := u.s
	hdr := s.udpHdr[:]
	wire.UDP{Src: u.local.Port(), Dst: to.Port()}.Put(hdr, s.addr, dst, b)
	if err := s.output(s.now, wire.ProtoUDP, dst, hdr, b); err != nil {
		return err
	}
	s.stats.UDPOut++
	return nil
}

// Close unbinds the socket and drops its queue.
func (u *UDPSocket) Close() error {
	if u.closed {
		return fmt.Errorf("stack: UDP socket %v already closed", u.local)
	}
	u.closed = true
	for u.n > 0 {
		u.s.udpBytes -= len(u.q[u.head].data)
		u.q[u.head] = udpDatagram{}
		u.head = (u.head + 1) % len(u.q)
		u.n--
	}
	u.q = nil
	delete(u.s.udp, u.local.Port())
	return nil
}

// udpInput handles a UDP datagram (h, orig from its header, payload the
// UDP header on): it is queued on the socket bound to its port, or,
// with none, answered by a port unreachable (RFC 1122 §4.1.3.1).
func (s *Stack) udpInput(now time.Duration, h *wire.IPv4, orig, payload []byte, linkBcast bool) {
	u, data, err := wire.ParseUDP(payload, h.Src, h.Dst)
	if err != nil {
		if errors.Is(err, wire.ErrChecksum) {
			s.stats.UDPBadChecksum++
		} else {
			s.stats.UDPBad++
		}
		return
	}
	s.stats.UDPIn++
	sock := s.udp[u.Dst]
	if sock == nil || (h.Dst != s.addr && !sock.any) {
		s.stats.UDPNoPort++
		s.sendUnreachable(now, h, orig, wire.ICMPPortUnreachable, linkBcast)
		return
	}
	if sock.n >= len(sock.q) || s.udpBytes+len(data) > s.cfg.UDPMemory {
		s.stats.UDPQueueFull++
		return
	}
	d := &sock.q[(sock.head+sock.n)%len(sock.q)]
	d.from = netip.AddrPortFrom(h.Src, u.Src)
	d.data = append(d.data[:0], data...)
	sock.n++
	s.udpBytes += len(data)
	s.stats.UDPDelivered++
}
