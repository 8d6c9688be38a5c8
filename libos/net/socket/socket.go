// Package socket is Go's net over Exo's library-OS stack: what
// net.SocketFunc returns in an environment (a net.Conn, a net.Listener
// or a net.PacketConn), so that net.Listen, net.Dial, net.ListenPacket,
// net/http and the DNS resolver run unmodified over libos/net/stack and
// libos/net/tcp.
//
// The protocol layers have no goroutines and no locks; this package adds
// both. One mutex serialises every call into the layers. A driver (the
// environment's receive loop, or a test's) feeds frames with Input and
// runs the timers with Service, and sleeps until the time Service returns
// or a frame arrives; a socket call that arms an earlier timer calls the
// driver's wake function, so the driver never oversleeps a retransmission.
// A goroutine blocked in Read, Write, Accept or Dial waits on its socket's
// channel, poked after every Input and Service, and wakes on its deadline.
//
// Nothing here runs only on GOOS=tamago: the package is tested on the host
// with two stacks over an in-memory wire, and net/http on top.
package socket

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"net/netip"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/exo-os/exo/libos/net/stack"
	"github.com/exo-os/exo/libos/net/tcp"
)

// Stack is one environment's network stack, shared by its sockets.
type Stack struct {
	mu    sync.Mutex
	ip    *stack.Stack
	tcp   *tcp.Protocol
	clock func() time.Duration

	// wake is the driver's: called, without the lock, when a socket call
	// armed a timer earlier than armed, the time the driver sleeps until.
	wake  func()
	armed time.Duration

	// waiting holds the channels of goroutines blocked on a socket, each
	// poked (without blocking) when anything changes.
	waiting []chan struct{}

	// vectors are the UDP ports' vector sources (SetVector); vectored
	// counts the datagrams read from them.
	vectors  map[uint16]VectorSource
	vectored uint64
}

// New returns the sockets' view of an IPv4 stack and its TCP, which the
// caller has created and registered (ip.Register(6, t)). clock gives the
// time the layers run on (monotonic; the same origin as the driver's).
func New(ip *stack.Stack, t *tcp.Protocol, clock func() time.Duration) *Stack {
	return &Stack{ip: ip, tcp: t, clock: clock, armed: math.MaxInt64}
}

// SetWake sets the function a socket call uses to wake the driver when
// it armed a timer earlier than the driver's sleep.
func (s *Stack) SetWake(f func()) {
	s.mu.Lock()
	s.wake = f
	s.mu.Unlock()
}

// Input hands the stack one received frame (link.Receiver, with the time
// taken from the clock).
func (s *Stack) Input(frame []byte) {
	s.mu.Lock()
	s.ip.Input(s.clock(), frame)
	s.poke()
	s.mu.Unlock()
}

// Service runs the layers' timers and returns the time, on the stack's
// clock, the driver should call it again (math.MaxInt64: no timer).
func (s *Stack) Service() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock()
	s.ip.Tick(now)
	s.tcp.Tick(now)
	s.poke()
	s.armed = s.next()
	return s.armed
}

// With runs f with the stack's lock held, for reading counters
// (Stats) consistently.
func (s *Stack) With(f func(ip *stack.Stack, t *tcp.Protocol)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(s.ip, s.tcp)
}

func (s *Stack) next() time.Duration {
	next := time.Duration(math.MaxInt64)
	if t, ok := s.ip.NextTimer(); ok {
		next = min(next, t)
	}
	if t, ok := s.tcp.NextTimer(); ok {
		next = min(next, t)
	}
	return next
}

// poke wakes every waiting goroutine; each rechecks what it waits for.
func (s *Stack) poke() {
	for _, c := range s.waiting {
		poke(c)
	}
}

// poke wakes c's waiter, if any, without blocking.
func poke(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// unlock releases the lock after a socket call, waking the driver first
// if the call armed a timer the driver would oversleep.
func (s *Stack) unlock() {
	var wake func()
	if n := s.next(); n < s.armed {
		s.armed = n
		wake = s.wake
	}
	s.poke()
	s.mu.Unlock()
	if wake != nil {
		wake()
	}
}

// block waits once, with s.mu held on entry and on return, for a poke on
// c (anything changed: the caller checks again), and returns an error if
// the socket is closed, *deadline has passed or done is closed.
func (s *Stack) block(c chan struct{}, closed *bool, deadline *time.Time, done <-chan struct{}) error {
	if *closed {
		return net.ErrClosed
	}
	var timer *time.Timer
	var expired <-chan time.Time
	if deadline != nil && !deadline.IsZero() {
		d := time.Until(*deadline)
		if d <= 0 {
			return errDeadline
		}
		timer = time.NewTimer(d)
		expired = timer.C
	}
	s.waiting = append(s.waiting, c)
	var wake func()
	if n := s.next(); n < s.armed {
		s.armed, wake = n, s.wake
	}
	s.mu.Unlock()
	if wake != nil {
		wake()
	}
	select {
	case <-c:
	case <-expired:
	case <-done:
	}
	if timer != nil {
		timer.Stop()
	}
	s.mu.Lock()
	for i, w := range s.waiting {
		if w == c {
			s.waiting[i] = s.waiting[len(s.waiting)-1]
			s.waiting = s.waiting[:len(s.waiting)-1]
			break
		}
	}
	if done != nil {
		select {
		case <-done:
			return context.Canceled
		default:
		}
	}
	return nil
}

// Socket has net.SocketFunc's signature and contract: for SOCK_STREAM a
// *Listener when laddr is set and raddr is not, else a connected *Conn;
// for SOCK_DGRAM a *PacketConn (a net.PacketConn, and a net.Conn when
// raddr is set). Only IPv4 (syscall.AF_INET) is supported.
func (s *Stack) Socket(ctx context.Context, network string, family, sotype int, laddr, raddr net.Addr) (interface{}, error) {
	if family != syscall.AF_INET {
		return nil, fmt.Errorf("socket: %s: address family %d not supported (IPv4 only)", network, family)
	}
	switch sotype {
	case syscall.SOCK_STREAM:
		local, err := s.tcpAddr(laddr)
		if err != nil {
			return nil, err
		}
		if raddr == nil {
			if laddr == nil {
				return nil, fmt.Errorf("socket: %s: neither a local nor a remote address", network)
			}
			return s.Listen(local, 0)
		}
		remote, err := s.tcpAddr(raddr)
		if err != nil {
			return nil, err
		}
		return s.Dial(ctx, local, remote)
	case syscall.SOCK_DGRAM:
		local, err := s.udpAddr(laddr)
		if err != nil {
			return nil, err
		}
		var remote netip.AddrPort
		if raddr != nil {
			if remote, err = s.udpAddr(raddr); err != nil {
				return nil, err
			}
		}
		return s.ListenUDP(local, remote)
	}
	return nil, fmt.Errorf("socket: %s: socket type %d not supported", network, sotype)
}

// addrPort converts a net address for this stack: unspecified means the
// stack's own address; anything but IPv4 is refused.
func (s *Stack) addrPort(ip net.IP, port int, what string) (netip.AddrPort, error) {
	if port < 0 || port > 65535 {
		return netip.AddrPort{}, fmt.Errorf("socket: %s port %d out of range", what, port)
	}
	a, ok := netip.AddrFromSlice(ip)
	a = a.Unmap()
	if len(ip) == 0 || a.IsUnspecified() {
		return netip.AddrPortFrom(s.ip.Addr(), uint16(port)), nil
	}
	if !ok || !a.Is4() {
		return netip.AddrPort{}, fmt.Errorf("socket: %s address %v is not IPv4", what, ip)
	}
	return netip.AddrPortFrom(a, uint16(port)), nil
}

func (s *Stack) tcpAddr(a net.Addr) (netip.AddrPort, error) {
	switch a := a.(type) {
	case nil:
		return netip.AddrPortFrom(s.ip.Addr(), 0), nil
	case *net.TCPAddr:
		return s.addrPort(a.IP, a.Port, "TCP")
	}
	return netip.AddrPort{}, fmt.Errorf("socket: %T is not a TCP address", a)
}

func (s *Stack) udpAddr(a net.Addr) (netip.AddrPort, error) {
	switch a := a.(type) {
	case nil:
		return netip.AddrPortFrom(s.ip.Addr(), 0), nil
	case *net.UDPAddr:
		return s.addrPort(a.IP, a.Port, "UDP")
	}
	return netip.AddrPort{}, fmt.Errorf("socket: %T is not a UDP address", a)
}

// tcpError turns the TCP layer's errors into the errnos Go programs test
// for (errors.Is(err, syscall.ECONNRESET)).
func tcpError(err error) error {
	switch {
	case errors.Is(err, tcp.ErrReset):
		return syscall.ECONNRESET
	case errors.Is(err, tcp.ErrRefused):
		return syscall.ECONNREFUSED
	case errors.Is(err, tcp.ErrTimeout):
		return syscall.ETIMEDOUT
	case errors.Is(err, tcp.ErrClosed):
		return net.ErrClosed
	}
	return err
}

// deadlines are a socket's read and write deadlines, under the stack's
// lock; setting one pokes the socket's waiters so that a blocked call
// sees it at once (net/http cancels reads this way).
type deadlines struct {
	read, write time.Time
	rd, wr      chan struct{}
}

func newDeadlines() deadlines {
	return deadlines{rd: make(chan struct{}, 1), wr: make(chan struct{}, 1)}
}

func (d *deadlines) set(s *Stack, read, write bool, t time.Time) error {
	s.mu.Lock()
	if read {
		d.read = t
	}
	if write {
		d.write = t
	}
	s.mu.Unlock()
	poke(d.rd)
	poke(d.wr)
	return nil
}

// errDeadline is the error of a call past its deadline: it satisfies
// net.Error with Timeout() true, as Go's own sockets' does.
var errDeadline = os.ErrDeadlineExceeded
