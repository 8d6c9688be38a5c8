package socket

import (
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/exo-os/exo/libos/net/stack"
)

// PacketConn is a UDP socket: a net.PacketConn, and, when it has a remote
// address (net.Dial("udp", ...), as the DNS resolver uses), a net.Conn
// whose Read takes only the remote's datagrams.
type PacketConn struct {
	s      *Stack
	u      *stack.UDPSocket
	closed bool
	dl     deadlines
	local  *net.UDPAddr
	remote netip.AddrPort // zero: not connected
}

// TruncatedError reports a datagram longer than the buffer it was read
// into: the buffer holds its first bytes, the rest are lost. (Go's net on
// Linux truncates silently; Exo says so.)
type TruncatedError struct{ Len, Buffer int }

func (e *TruncatedError) Error() string {
	return fmt.Sprintf("socket: a datagram of %d bytes truncated to the %d-byte buffer", e.Len, e.Buffer)
}

// VectorSource is a ring of datagrams that a handler in the kernel fills
// straight from the NIC (message vectoring: vector.Ring, filled by
// netash.UDPVector): the socket bound to its port reads from it before
// the stack's own queue, so such a datagram is copied once, into the
// reader's buffer.
type VectorSource interface {
	// Next returns the oldest datagram's payload and source; it stays
	// valid until Done.
	Next() (payload []byte, from netip.AddrPort, ok bool)
	// Done releases the datagram Next returned.
	Done()
}

// SetVector makes v the first source of the UDP socket bound to port
// (nil: none).
func (s *Stack) SetVector(port uint16, v VectorSource) {
	s.mu.Lock()
	if s.vectors == nil {
		s.vectors = make(map[uint16]VectorSource)
	}
	if v == nil {
		delete(s.vectors, port)
	} else {
		s.vectors[port] = v
	}
	s.mu.Unlock()
}

// Vectored returns how many datagrams sockets have read from vector
// sources.
func (s *Stack) Vectored() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.vectored
}

// ListenUDP opens a UDP socket on local (port 0: an ephemeral port),
// connected to remote unless remote is the zero value.
func (s *Stack) ListenUDP(local, remote netip.AddrPort) (*PacketConn, error) {
	s.mu.Lock()
	u, err := s.ip.BindUDP(local)
	s.unlock()
	if err != nil {
		return nil, err
	}
	return &PacketConn{s: s, u: u, dl: newDeadlines(), local: net.UDPAddrFromAddrPort(u.LocalAddr()), remote: remote}, nil
}

// ReadFrom reads the oldest datagram into b, blocking until one arrives or
// the read deadline passes, and returns its source as a *net.UDPAddr (what
// Go's net on TamaGo requires). A datagram longer than b is truncated and
// reported with a *TruncatedError.
func (p *PacketConn) ReadFrom(b []byte) (int, net.Addr, error) {
	n, from, err := p.read(b, false)
	if err != nil && n == 0 {
		return 0, nil, err
	}
	return n, net.UDPAddrFromAddrPort(from), err
}

// read takes the oldest datagram (from the remote only, if connected is
// set and the socket has one), blocking.
func (p *PacketConn) read(b []byte, connected bool) (int, netip.AddrPort, error) {
	s := p.s
	s.mu.Lock()
	defer s.unlock()
	for {
		if p.closed {
			return 0, netip.AddrPort{}, net.ErrClosed
		}
		n, from, ok := 0, netip.AddrPort{}, false
		if v := s.vectors[p.local.AddrPort().Port()]; v != nil {
			var payload []byte
			if payload, from, ok = v.Next(); ok {
				n = len(payload)
				copy(b, payload)
				v.Done()
				s.vectored++
			}
		}
		if !ok {
			n, from, ok = p.u.ReadFrom(b)
		}
		if ok {
			if connected && p.remote.IsValid() && from != p.remote {
				continue // not the peer's: dropped, as a connected socket does
			}
			if n > len(b) {
				return len(b), from, &TruncatedError{Len: n, Buffer: len(b)}
			}
			return n, from, nil
		}
		if err := s.block(p.dl.rd, &p.closed, &p.dl.read, nil); err != nil {
			return 0, netip.AddrPort{}, err
		}
	}
}

// WriteTo sends b to addr (a *net.UDPAddr) as one datagram.
func (p *PacketConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	a, ok := addr.(*net.UDPAddr)
	if !ok {
		return 0, fmt.Errorf("socket: WriteTo %T: not a UDP address", addr)
	}
	to, err := p.s.addrPort(a.IP, a.Port, "UDP")
	if err != nil {
		return 0, err
	}
	return p.write(b, to)
}

func (p *PacketConn) write(b []byte, to netip.AddrPort) (int, error) {
	s := p.s
	s.mu.Lock()
	defer s.unlock()
	if p.closed {
		return 0, net.ErrClosed
	}
	if !p.dl.write.IsZero() && !time.Now().Before(p.dl.write) {
		return 0, errDeadline
	}
	if err := p.u.WriteTo(b, to); err != nil {
		return 0, err
	}
	return len(b), nil
}

// Read reads a datagram from the connected remote.
func (p *PacketConn) Read(b []byte) (int, error) {
	if !p.remote.IsValid() {
		return 0, fmt.Errorf("socket: Read on an unconnected UDP socket %v (use ReadFrom)", p.local)
	}
	n, _, err := p.read(b, true)
	return n, err
}

// Write sends b to the connected remote as one datagram.
func (p *PacketConn) Write(b []byte) (int, error) {
	if !p.remote.IsValid() {
		return 0, fmt.Errorf("socket: Write on an unconnected UDP socket %v (use WriteTo)", p.local)
	}
	return p.write(b, p.remote)
}

// Close closes the socket; a blocked read returns net.ErrClosed.
func (p *PacketConn) Close() error {
	s := p.s
	s.mu.Lock()
	if p.closed {
		s.unlock()
		return net.ErrClosed
	}
	p.closed = true
	err := p.u.Close()
	s.unlock()
	poke(p.dl.rd)
	return err
}

// LocalAddr returns the socket's address (*net.UDPAddr).
func (p *PacketConn) LocalAddr() net.Addr { return p.local }

// RemoteAddr returns the connected remote (*net.UDPAddr), or nil.
func (p *PacketConn) RemoteAddr() net.Addr {
	if !p.remote.IsValid() {
		return nil
	}
	return net.UDPAddrFromAddrPort(p.remote)
}

// SetDeadline sets the read and write deadlines.
func (p *PacketConn) SetDeadline(t time.Time) error { return p.dl.set(p.s, true, true, t) }

// SetReadDeadline sets the read deadline; a blocked read sees it at once.
func (p *PacketConn) SetReadDeadline(t time.Time) error { return p.dl.set(p.s, true, false, t) }

// SetWriteDeadline sets the write deadline (a write never blocks; past
// the deadline it fails).
func (p *PacketConn) SetWriteDeadline(t time.Time) error { return p.dl.set(p.s, false, true, t) }
