// Package gvisor is Exo's second library-OS network stack: gVisor's
// netstack (IPv4, ARP, ICMP, UDP, TCP) over a link.Endpoint, giving the
// same net.SocketFunc contract as libos/net/socket, so that an
// environment links either stack and net.Listen, net.Dial, net/http and
// the DNS resolver run unmodified over it. It is also the peer Exo's own
// stack is tested and benchmarked against.
//
// Unlike the libOS's own layers, gVisor runs goroutines of its own and
// keeps its own (wall) clock: Input needs no driver but the link's
// receive loop, and there is nothing to tick.
//
// The link is a NIC written here (see nic): frames go out through the
// link.Endpoint's Transmit, come in through Input, and the NIC learns
// neighbors from received IPv4 frames because an Exo environment may
// never see ARP (only one environment holds the ARP guard).
package gvisor

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"syscall"
	"time"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/network/arp"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/tcpip/transport/icmp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/udp"

	"github.com/exo-os/exo/libos/net/link"
)

// Config is a stack's interface configuration.
type Config struct {
	// Addr is the interface's IPv4 address and subnet (10.0.0.2/24).
	Addr netip.Prefix
	// Gateway is the default router's address; the zero Addr means none
	// (only the subnet is reachable).
	Gateway netip.Addr
	// MAC is the interface's Ethernet address; zero means the link's.
	MAC [6]byte
	// MTU is the largest IP packet sent; 0 means the link's, and it may
	// not exceed the link's.
	MTU int
	// Ports is the ephemeral port range, inclusive, for TCP and UDP alike
	// (gVisor has one range for both); zero means gVisor's default. In
	// Exo it must lie inside the environment's guards, or the kernel
	// refuses what is sent from outside them.
	Ports [2]uint16
}

// nicID is the one NIC's id in the gVisor stack.
const nicID tcpip.NICID = 1

// Stack is gVisor's netstack on one link.
type Stack struct {
	st    *stack.Stack
	nic   *nic
	addr  netip.Addr
	close sync.Once
}

// New returns a gVisor stack with IPv4, ARP, ICMP, UDP and TCP (SACK
// enabled) whose one NIC sends on ep; the caller feeds it received frames
// with Input. Routes: the subnet on the link, and the default route via
// cfg.Gateway if set.
func New(cfg Config, ep link.Endpoint) (*Stack, error) {
	if ep == nil {
		return nil, errors.New("gvisor: New: nil link endpoint")
	}
	if !cfg.Addr.IsValid() || !cfg.Addr.Addr().Is4() {
		return nil, fmt.Errorf("gvisor: New: address %v is not an IPv4 prefix (IPv4 only)", cfg.Addr)
	}
	if cfg.Gateway.IsValid() && !cfg.Gateway.Is4() {
		return nil, fmt.Errorf("gvisor: New: gateway %v is not IPv4", cfg.Gateway)
	}
	linkMTU := ep.MTU()
	if cfg.MTU == 0 {
		cfg.MTU = linkMTU
	}
	// RFC 791 §3.2: every internet module must forward a 68-byte datagram
	// without fragmenting it.
	if cfg.MTU < 68 || cfg.MTU > linkMTU {
		return nil, fmt.Errorf("gvisor: New: MTU %d outside [68, %d] (the link's MTU)", cfg.MTU, linkMTU)
	}
	if cfg.MAC == ([6]byte{}) {
		cfg.MAC = ep.MAC()
	}
	if cfg.MAC[0]&1 != 0 {
		return nil, fmt.Errorf("gvisor: New: MAC %x is a multicast address", cfg.MAC)
	}

	st := stack.New(stack.Options{
		NetworkProtocols:   []stack.NetworkProtocolFactory{ipv4.NewProtocol, arp.NewProtocol},
		TransportProtocols: []stack.TransportProtocolFactory{tcp.NewProtocol, udp.NewProtocol, icmp.NewProtocol4},
		HandleLocal:        true,
	})
	sack := tcpip.TCPSACKEnabled(true)
	if err := st.SetTransportProtocolOption(tcp.ProtocolNumber, &sack); err != nil {
		st.Destroy()
		return nil, fmt.Errorf("gvisor: New: enabling SACK: %s", err)
	}
	if cfg.Ports != [2]uint16{} {
		if cfg.Ports[0] == 0 || cfg.Ports[0] > cfg.Ports[1] {
			st.Destroy()
			return nil, fmt.Errorf("gvisor: New: Ports %d..%d is not a range of nonzero ports", cfg.Ports[0], cfg.Ports[1])
		}
		if err := st.SetPortRange(cfg.Ports[0], cfg.Ports[1]); err != nil {
			st.Destroy()
			return nil, fmt.Errorf("gvisor: New: port range %d..%d: %s", cfg.Ports[0], cfg.Ports[1], err)
		}
	}
	n := newNIC(ep, cfg.MAC, cfg.MTU)
	if err := st.CreateNIC(nicID, n); err != nil {
		st.Destroy()
		return nil, fmt.Errorf("gvisor: New: creating the NIC: %s", err)
	}
	pa := tcpip.ProtocolAddress{
		Protocol: ipv4.ProtocolNumber,
		AddressWithPrefix: tcpip.AddressWithPrefix{
			Address:   tcpip.AddrFrom4(cfg.Addr.Addr().As4()),
			PrefixLen: cfg.Addr.Bits(),
		},
	}
	if err := st.AddProtocolAddress(nicID, pa, stack.AddressProperties{}); err != nil {
		st.Destroy()
		return nil, fmt.Errorf("gvisor: New: adding address %v: %s", cfg.Addr, err)
	}
	routes := []tcpip.Route{{Destination: pa.AddressWithPrefix.Subnet(), NIC: nicID}}
	if cfg.Gateway.IsValid() {
		routes = append(routes, tcpip.Route{
			Destination: header.IPv4EmptySubnet,
			Gateway:     tcpip.AddrFrom4(cfg.Gateway.As4()),
			NIC:         nicID,
		})
	}
	st.SetRouteTable(routes)
	n.st, n.id, n.subnet, n.gateway = st, nicID, cfg.Addr, cfg.Gateway
	return &Stack{st: st, nic: n, addr: cfg.Addr.Addr()}, nil
}

// Input hands the stack one received Ethernet frame; it implements
// link.Receiver. now is ignored: gVisor keeps its own clock. The frame is
// copied, so the caller may reuse it.
func (s *Stack) Input(now time.Duration, frame []byte) { s.nic.input(frame) }

// InputFrame is Input without a time, for receive loops that have none.
func (s *Stack) InputFrame(frame []byte) { s.nic.input(frame) }

var _ link.Receiver = (*Stack)(nil)

// Addr returns the stack's IPv4 address.
func (s *Stack) Addr() netip.Addr { return s.addr }

// AddNeighbor installs a static neighbor entry: ip is at mac. It is what
// a host without ARP needs to reach a peer that has not sent to it yet.
func (s *Stack) AddNeighbor(ip netip.Addr, mac [6]byte) error {
	if !ip.Is4() {
		return fmt.Errorf("gvisor: AddNeighbor: %v is not IPv4", ip)
	}
	if err := s.st.AddStaticNeighbor(nicID, ipv4.ProtocolNumber, tcpip.AddrFrom4(ip.As4()), tcpip.LinkAddress(mac[:])); err != nil {
		return fmt.Errorf("gvisor: AddNeighbor %v: %s", ip, err)
	}
	return nil
}

// Neighbors returns gVisor's neighbor table: each IPv4 address with the
// Ethernet address it resolved (or was learned) to.
func (s *Stack) Neighbors() map[netip.Addr][6]byte {
	entries, err := s.st.Neighbors(nicID, ipv4.ProtocolNumber)
	out := make(map[netip.Addr][6]byte, len(entries))
	if err != nil {
		return out
	}
	for _, e := range entries {
		if len(e.LinkAddr) != 6 || e.Addr.Len() != 4 {
			continue
		}
		out[netip.AddrFrom4(e.Addr.As4())] = [6]byte([]byte(e.LinkAddr))
	}
	return out
}

// Socket has net.SocketFunc's signature and contract: for SOCK_STREAM a
// net.Listener when laddr is set and raddr is not (its Accept returns a
// net.Conn), else a net.Conn connected to raddr (from laddr, if given);
// for SOCK_DGRAM a net.PacketConn whose ReadFrom returns *net.UDPAddr,
// and which is a net.Conn too (connected when raddr is set). Only IPv4
// (syscall.AF_INET) is supported.
func (s *Stack) Socket(ctx context.Context, network string, family, sotype int, laddr, raddr net.Addr) (interface{}, error) {
	if family != syscall.AF_INET {
		return nil, fmt.Errorf("gvisor: %s: address family %d not supported (IPv4 only)", network, family)
	}
	if ctx == nil {
		ctx = context.Background()
	}
	switch sotype {
	case syscall.SOCK_STREAM:
		local, err := s.tcpAddr(laddr, "local")
		if err != nil {
			return nil, err
		}
		if raddr == nil {
			if laddr == nil {
				return nil, fmt.Errorf("gvisor: %s: neither a local nor a remote address", network)
			}
			l, err := gonet.ListenTCP(s.st, local, ipv4.ProtocolNumber)
			if err != nil {
				return nil, fmt.Errorf("gvisor: listen %s %v: %w", network, laddr, err)
			}
			return &listener{l}, nil
		}
		remote, err := s.tcpAddr(raddr, "remote")
		if err != nil {
			return nil, err
		}
		if remote.Addr.Unspecified() {
			remote.Addr = tcpip.AddrFrom4(s.addr.As4())
		}
		c, err := gonet.DialTCPWithBind(ctx, s.st, local, remote, ipv4.ProtocolNumber)
		if err != nil {
			return nil, errnoError(err)
		}
		return &tcpConn{c}, nil
	case syscall.SOCK_DGRAM:
		var local, remote *tcpip.FullAddress
		if laddr != nil {
			a, err := s.udpAddr(laddr, "local")
			if err != nil {
				return nil, err
			}
			local = &a
		}
		if raddr != nil {
			a, err := s.udpAddr(raddr, "remote")
			if err != nil {
				return nil, err
			}
			remote = &a
		}
		c, err := gonet.DialUDP(s.st, local, remote, ipv4.ProtocolNumber)
		if err != nil {
			return nil, fmt.Errorf("gvisor: %s: %w", network, err)
		}
		return &packetConn{c}, nil
	}
	return nil, fmt.Errorf("gvisor: %s: socket type %d not supported", network, sotype)
}

// fullAddr converts an IP and port for gVisor: an empty or unspecified IP
// is gVisor's "any" (the empty address); anything but IPv4 is refused.
func fullAddr(ip net.IP, port int, what string) (tcpip.FullAddress, error) {
	if port < 0 || port > 65535 {
		return tcpip.FullAddress{}, fmt.Errorf("gvisor: %s port %d out of range", what, port)
	}
	if len(ip) == 0 || ip.IsUnspecified() && ip.To4() != nil {
		return tcpip.FullAddress{Port: uint16(port)}, nil
	}
	ip4 := ip.To4()
	if ip4 == nil {
		return tcpip.FullAddress{}, fmt.Errorf("gvisor: %s address %v is not IPv4", what, ip)
	}
	return tcpip.FullAddress{Addr: tcpip.AddrFrom4([4]byte(ip4)), Port: uint16(port)}, nil
}

func (s *Stack) tcpAddr(a net.Addr, what string) (tcpip.FullAddress, error) {
	switch a := a.(type) {
	case nil:
		return tcpip.FullAddress{}, nil
	case *net.TCPAddr:
		return fullAddr(a.IP, a.Port, "TCP "+what)
	}
	return tcpip.FullAddress{}, fmt.Errorf("gvisor: %s address %v (%T) is not a *net.TCPAddr", what, a, a)
}

func (s *Stack) udpAddr(a net.Addr, what string) (tcpip.FullAddress, error) {
	if u, ok := a.(*net.UDPAddr); ok {
		return fullAddr(u.IP, u.Port, "UDP "+what)
	}
	return tcpip.FullAddress{}, fmt.Errorf("gvisor: %s address %v (%T) is not a *net.UDPAddr", what, a, a)
}

// errnoError turns gonet's errors, which carry gVisor's error only as
// text, into the errnos Go programs test for (errors.Is(err,
// syscall.ECONNREFUSED)), keeping the *net.OpError around them.
func errnoError(err error) error {
	if err == nil {
		return nil
	}
	var op *net.OpError
	if !errors.As(err, &op) || op.Err == nil {
		return err
	}
	msg := op.Err.Error()
	for _, m := range []struct {
		e     tcpip.Error
		errno syscall.Errno
	}{
		{&tcpip.ErrConnectionRefused{}, syscall.ECONNREFUSED},
		{&tcpip.ErrConnectionReset{}, syscall.ECONNRESET},
		{&tcpip.ErrTimeout{}, syscall.ETIMEDOUT},
		{&tcpip.ErrHostUnreachable{}, syscall.EHOSTUNREACH},
		{&tcpip.ErrNetworkUnreachable{}, syscall.ENETUNREACH},
		{&tcpip.ErrPortInUse{}, syscall.EADDRINUSE},
		{&tcpip.ErrConnectionAborted{}, syscall.ECONNABORTED},
	} {
		if strings.Contains(msg, m.e.String()) {
			e := *op
			e.Err = m.errno
			return &e
		}
	}
	return err
}

// listener is gonet's TCP listener, with a Close that also wakes a
// blocked Accept, and an Accept whose connections map their errors.
type listener struct{ *gonet.TCPListener }

// Accept waits for a connection and returns it (a net.Conn).
func (l *listener) Accept() (net.Conn, error) {
	c, err := l.TCPListener.Accept()
	if err != nil {
		return nil, err
	}
	if tc, ok := c.(*gonet.TCPConn); ok {
		return &tcpConn{tc}, nil
	}
	return c, nil
}

// tcpConn is gonet's TCP connection with its Read and Write errors, which
// carry gVisor's error only as text, turned into the errnos Go programs
// test for (errors.Is(err, syscall.ECONNRESET)), as Exo's socket layer
// gives them.
type tcpConn struct{ *gonet.TCPConn }

// Read reads from the connection.
func (c *tcpConn) Read(b []byte) (int, error) {
	n, err := c.TCPConn.Read(b)
	return n, errnoError(err)
}

// Write writes to the connection.
func (c *tcpConn) Write(b []byte) (int, error) {
	n, err := c.TCPConn.Write(b)
	return n, errnoError(err)
}

// Close stops the listener: pending and later Accepts fail.
func (l *listener) Close() error {
	l.TCPListener.Shutdown()
	return l.TCPListener.Close()
}

// packetConn is gonet's UDP socket, with a WriteTo that refuses (rather
// than panics on) addresses other than *net.UDPAddr and sends to the
// IPv4 form of IPv4-mapped ones (net.ParseIP's 16-byte form).
type packetConn struct{ *gonet.UDPConn }

// WriteTo sends b to addr.
func (p *packetConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	u, ok := addr.(*net.UDPAddr)
	if !ok {
		return 0, &net.OpError{Op: "write", Net: "udp", Source: p.LocalAddr(), Addr: addr,
			Err: fmt.Errorf("gvisor: %T is not a *net.UDPAddr", addr)}
	}
	if ip4 := u.IP.To4(); ip4 != nil && len(u.IP) != 4 {
		u = &net.UDPAddr{IP: ip4, Port: u.Port}
	} else if ip4 == nil {
		return 0, &net.OpError{Op: "write", Net: "udp", Source: p.LocalAddr(), Addr: addr,
			Err: fmt.Errorf("gvisor: %v is not an IPv4 address", u.IP)}
	}
	return p.UDPConn.WriteTo(b, u)
}

// Stats returns a few of gVisor's counters and the NIC's, by name:
// ip.*, tcp.*, udp.*, icmp.*, arp.*, dropped, and nic.* (frames in and
// out, transmit errors, short frames, neighbors learned).
func (s *Stack) Stats() map[string]uint64 {
	st := s.st.Stats()
	m := map[string]uint64{
		"dropped":                     st.DroppedPackets.Value(),
		"ip.packets_received":         st.IP.PacketsReceived.Value(),
		"ip.packets_delivered":        st.IP.PacketsDelivered.Value(),
		"ip.packets_sent":             st.IP.PacketsSent.Value(),
		"ip.malformed_received":       st.IP.MalformedPacketsReceived.Value(),
		"ip.invalid_destination":      st.IP.InvalidDestinationAddressesReceived.Value(),
		"ip.outgoing_errors":          st.IP.OutgoingPacketErrors.Value(),
		"tcp.segments_sent":           st.TCP.SegmentsSent.Value(),
		"tcp.segments_received":       st.TCP.ValidSegmentsReceived.Value(),
		"tcp.invalid_segments":        st.TCP.InvalidSegmentsReceived.Value(),
		"tcp.checksum_errors":         st.TCP.ChecksumErrors.Value(),
		"tcp.retransmits":             st.TCP.Retransmits.Value(),
		"tcp.timeouts":                st.TCP.Timeouts.Value(),
		"tcp.resets_sent":             st.TCP.ResetsSent.Value(),
		"tcp.resets_received":         st.TCP.ResetsReceived.Value(),
		"tcp.connections_failed":      st.TCP.FailedConnectionAttempts.Value(),
		"udp.packets_received":        st.UDP.PacketsReceived.Value(),
		"udp.packets_sent":            st.UDP.PacketsSent.Value(),
		"udp.checksum_errors":         st.UDP.ChecksumErrors.Value(),
		"udp.unknown_port":            st.UDP.UnknownPortErrors.Value(),
		"udp.receive_buffer_drops":    st.UDP.ReceiveBufferErrors.Value(),
		"icmp.echo_requests_received": st.ICMP.V4.PacketsReceived.EchoRequest.Value(),
		"arp.packets_received":        st.ARP.PacketsReceived.Value(),
		"arp.requests_sent":           st.ARP.OutgoingRequestsSent.Value(),
	}
	s.nic.mu.Lock()
	c := s.nic.counters
	s.nic.mu.Unlock()
	m["nic.rx_frames"] = c.rxFrames
	m["nic.rx_short"] = c.rxShort
	m["nic.tx_frames"] = c.txFrames
	m["nic.tx_errors"] = c.txErrors
	m["nic.learned"] = c.learned
	return m
}

// Close aborts every connection and stops gVisor's goroutines. Close may
// be called more than once.
func (s *Stack) Close() {
	s.close.Do(s.st.Destroy)
}
