package socket

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"time"

	"github.com/exo-os/exo/libos/net/tcp"
)

// Conn is a TCP connection as a net.Conn.
type Conn struct {
	s      *Stack
	c      *tcp.Conn
	closed bool
	dl     deadlines
	local  *net.TCPAddr
	remote *net.TCPAddr
}

func (s *Stack) newConn(c *tcp.Conn) *Conn {
	return &Conn{s: s, c: c, dl: newDeadlines(),
		local:  net.TCPAddrFromAddrPort(c.LocalAddr()),
		remote: net.TCPAddrFromAddrPort(c.RemoteAddr())}
}

// Dial opens a connection from local (port 0: an ephemeral port) to
// remote and waits until it is established, refused, timed out or ctx is
// done (the connection is then aborted).
func (s *Stack) Dial(ctx context.Context, local, remote netip.AddrPort) (*Conn, error) {
	s.mu.Lock()
	c, err := s.tcp.Dial(s.clock(), local, remote)
	if err != nil {
		s.unlock()
		return nil, tcpError(err)
	}
	conn := s.newConn(c)
	var done <-chan struct{}
	if ctx != nil {
		done = ctx.Done()
	}
	var deadline *time.Time
	if ctx != nil {
		if d, ok := ctx.Deadline(); ok {
			deadline = &d
		}
	}
	for err == nil && !c.Established() && c.State() != tcp.StateClosed {
		err = s.block(conn.dl.wr, &conn.closed, deadline, done)
	}
	if err == nil && !c.Established() {
		_, err = c.Read(nil)
		if err == nil || errors.Is(err, tcp.ErrWouldBlock) {
			err = tcp.ErrRefused
		}
		err = tcpError(err)
	}
	if err != nil {
		c.Abort(s.clock())
		s.unlock()
		return nil, err
	}
	s.unlock()
	return conn, nil
}

// Read reads what has arrived, blocking until something has, the peer
// has closed (io.EOF), the connection failed, or the read deadline passed.
func (c *Conn) Read(b []byte) (int, error) {
	s := c.s
	s.mu.Lock()
	for {
		if c.closed {
			s.unlock()
			return 0, net.ErrClosed
		}
		n, err := c.c.Read(b)
		if !errors.Is(err, tcp.ErrWouldBlock) {
			s.unlock()
			return n, tcpError(err)
		}
		if err := s.block(c.dl.rd, &c.closed, &c.dl.read, nil); err != nil {
			s.unlock()
			return 0, err
		}
	}
}

// Write writes all of b, blocking while the send buffer is full, until
// the connection fails or the write deadline passes.
func (c *Conn) Write(b []byte) (int, error) {
	s := c.s
	s.mu.Lock()
	done := 0
	for {
		if c.closed {
			s.unlock()
			return done, net.ErrClosed
		}
		n, err := c.c.Write(s.clock(), b[done:])
		done += n
		if done == len(b) && (err == nil || errors.Is(err, tcp.ErrWouldBlock)) {
			s.unlock()
			return done, nil
		}
		if err != nil && !errors.Is(err, tcp.ErrWouldBlock) {
			s.unlock()
			return done, tcpError(err)
		}
		if err := s.block(c.dl.wr, &c.closed, &c.dl.write, nil); err != nil {
			s.unlock()
			return done, err
		}
	}
}

// Close closes the connection: queued data is sent, then a FIN (or a RST
// if received data was left unread, RFC 9293 §3.6).
func (c *Conn) Close() error {
	s := c.s
	s.mu.Lock()
	if c.closed {
		s.unlock()
		return net.ErrClosed
	}
	c.closed = true
	err := c.c.Close(s.clock())
	s.unlock()
	return tcpError(err)
}

// CloseWrite sends a FIN after the queued data; reads go on.
func (c *Conn) CloseWrite() error {
	s := c.s
	s.mu.Lock()
	err := c.c.CloseWrite(s.clock())
	s.unlock()
	return tcpError(err)
}

// SetNoDelay turns Nagle's algorithm off (true) or on.
func (c *Conn) SetNoDelay(on bool) error {
	c.s.mu.Lock()
	c.c.SetNoDelay(on)
	c.s.unlock()
	return nil
}

// SetKeepAlive turns keep-alive probes on or off.
func (c *Conn) SetKeepAlive(on bool) error {
	c.s.mu.Lock()
	c.c.SetKeepAlive(on)
	c.s.unlock()
	return nil
}

// LocalAddr returns the connection's local address (*net.TCPAddr).
func (c *Conn) LocalAddr() net.Addr { return c.local }

// RemoteAddr returns the peer's address (*net.TCPAddr).
func (c *Conn) RemoteAddr() net.Addr { return c.remote }

// SetDeadline sets the read and write deadlines.
func (c *Conn) SetDeadline(t time.Time) error { return c.dl.set(c.s, true, true, t) }

// SetReadDeadline sets the read deadline; a blocked Read sees it at once.
func (c *Conn) SetReadDeadline(t time.Time) error { return c.dl.set(c.s, true, false, t) }

// SetWriteDeadline sets the write deadline; a blocked Write sees it at once.
func (c *Conn) SetWriteDeadline(t time.Time) error { return c.dl.set(c.s, false, true, t) }

// Listener is a listening TCP socket as a net.Listener.
type Listener struct {
	s      *Stack
	l      *tcp.Listener
	closed bool
	dl     deadlines
	addr   *net.TCPAddr
}

// DefaultBacklog is the backlog a listener gets when none is given.
const DefaultBacklog = 128

// Listen listens on local with a backlog of established connections not
// yet accepted (0: DefaultBacklog).
func (s *Stack) Listen(local netip.AddrPort, backlog int) (*Listener, error) {
	if backlog <= 0 {
		backlog = DefaultBacklog
	}
	s.mu.Lock()
	l, err := s.tcp.Listen(local, backlog)
	s.unlock()
	if err != nil {
		return nil, err
	}
	return &Listener{s: s, l: l, dl: newDeadlines(), addr: net.TCPAddrFromAddrPort(l.Addr())}, nil
}

// Accept waits for an established connection and returns it (a *Conn).
func (l *Listener) Accept() (net.Conn, error) {
	s := l.s
	s.mu.Lock()
	for {
		if l.closed {
			s.unlock()
			return nil, net.ErrClosed
		}
		c, err := l.l.Accept()
		if err == nil {
			s.unlock()
			return s.newConn(c), nil
		}
		if !errors.Is(err, tcp.ErrWouldBlock) {
			s.unlock()
			return nil, tcpError(err)
		}
		if err := s.block(l.dl.rd, &l.closed, &l.dl.read, nil); err != nil {
			s.unlock()
			return nil, err
		}
	}
}

// Close stops listening; connections in the backlog are reset.
func (l *Listener) Close() error {
	s := l.s
	s.mu.Lock()
	if l.closed {
		s.unlock()
		return net.ErrClosed
	}
	l.closed = true
	err := l.l.Close(s.clock())
	s.unlock()
	return err
}

// Addr returns the listening address (*net.TCPAddr).
func (l *Listener) Addr() net.Addr { return l.addr }

// SetDeadline sets the deadline for Accept.
func (l *Listener) SetDeadline(t time.Time) error { return l.dl.set(l.s, true, true, t) }

// SetReadDeadline sets the deadline for Accept.
func (l *Listener) SetReadDeadline(t time.Time) error { return l.dl.set(l.s, true, false, t) }

// SetWriteDeadline is accepted and has no effect (a listener never writes).
func (l *Listener) SetWriteDeadline(t time.Time) error { return nil }
