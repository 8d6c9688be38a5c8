package ping

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"
	"time"

	"golang.org/x/net/icmp"
)

// Raw is a Transport through the host's network stack. ICMP goes through
// a raw ICMP socket, which needs root or CAP_NET_RAW; failing that, through
// Linux's unprivileged ICMP datagram socket, which the sysctl
// net.ipv4.ping_group_range must allow for the caller's group. UDP goes
// through an ordinary connected UDP socket. The host's stack verifies and
// drops bad IPv4 and UDP checksums itself, so through Raw a corrupted
// checksum shows as a lost probe rather than a corrupt one; payloads and
// ICMP checksums are still checked.
//
// The zero value is ready to use; Open opens the sockets, Close closes
// them.
type Raw struct {
	cfg        Config
	icmp       *icmp.PacketConn
	privileged bool // icmp is a raw socket, not a datagram one
	udp        *net.UDPConn
	sendBuf    []byte
	readBuf    []byte
}

// Open opens the socket cfg.Proto needs, closing any left from an earlier
// run.
func (r *Raw) Open(ctx context.Context, cfg Config) error {
	r.Close()
	r.cfg = cfg
	if r.readBuf == nil {
		r.readBuf = make([]byte, 64<<10)
	}
	if cfg.Proto == "udp" {
		var d net.Dialer
		c, err := d.DialContext(ctx, "udp4", netip.AddrPortFrom(cfg.Target, cfg.Port).String())
		if err != nil {
			return fmt.Errorf("ping: raw: opening a UDP socket to %v port %d: %w", cfg.Target, cfg.Port, err)
		}
		r.udp = c.(*net.UDPConn)
		return nil
	}
	c, err := icmp.ListenPacket("ip4:icmp", "0.0.0.0")
	if err == nil {
		r.icmp, r.privileged = c, true
		return nil
	}
	c, err2 := icmp.ListenPacket("udp4", "0.0.0.0")
	if err2 == nil {
		r.icmp, r.privileged = c, false
		return nil
	}
	return fmt.Errorf("ping: raw: no ICMP socket: a raw one needs root or CAP_NET_RAW (%v), an unprivileged one needs net.ipv4.ping_group_range to include your group (%v); -via dgram needs neither", err, err2)
}

// Close closes the sockets Open opened.
func (r *Raw) Close() error {
	var err error
	if r.icmp != nil {
		err = r.icmp.Close()
		r.icmp = nil
	}
	if r.udp != nil {
		err = errors.Join(err, r.udp.Close())
		r.udp = nil
	}
	return err
}

// Send sends one probe.
func (r *Raw) Send(seq uint16, payload []byte) error {
	if r.udp != nil {
		if _, err := r.udp.Write(payload); err != nil && !errors.Is(err, syscall.ECONNREFUSED) {
			return fmt.Errorf("ping: raw: sending UDP to %v: %w", r.udp.RemoteAddr(), err)
		}
		return nil
	}
	if r.icmp == nil {
		return errors.New("ping: raw: Send before Open")
	}
	// An unprivileged socket replaces the identifier with its own and
	// delivers only replies that carry it.
	r.sendBuf = appendICMP(r.sendBuf[:0], ICMP{Type: ICMPEchoRequest, ID: r.cfg.ID, Seq: seq}, payload)
	var to net.Addr = &net.IPAddr{IP: r.cfg.Target.AsSlice()}
	if !r.privileged {
		to = &net.UDPAddr{IP: r.cfg.Target.AsSlice()}
	}
	if _, err := r.icmp.WriteTo(r.sendBuf, to); err != nil {
		return fmt.Errorf("ping: raw: sending ICMP echo to %v: %w", r.cfg.Target, err)
	}
	return nil
}

// Receive returns the next echo reply from the target.
func (r *Raw) Receive(ctx context.Context) (Reply, error) {
	if r.udp != nil {
		return r.receiveUDP(ctx)
	}
	if r.icmp == nil {
		return Reply{}, errors.New("ping: raw: Receive before Open")
	}
	for {
		var (
			n    int
			from net.Addr
			at   time.Time
		)
		err := readContext(ctx, r.icmp, time.Time{}, func() error {
			var err error
			n, from, err = r.icmp.ReadFrom(r.readBuf)
			at = time.Now()
			return err
		})
		if err != nil {
			if ctx.Err() != nil {
				return Reply{}, err
			}
			return Reply{}, fmt.Errorf("ping: raw: reading ICMP: %w", err)
		}
		src, ok := addrOf(from)
		if !ok || src != r.cfg.Target {
			continue
		}
		h, payload, err := parseICMP(r.readBuf[:n], 0)
		var ce *ChecksumError
		if err != nil && !errors.As(err, &ce) || h.Type != ICMPEchoReply || h.Code != 0 {
			continue
		}
		rep := Reply{From: src, ID: h.ID, Seq: h.Seq, Payload: append([]byte(nil), payload...), At: at}
		if !r.privileged {
			rep.ID = r.cfg.ID // the kernel matched it to this socket
		}
		if ce != nil {
			rep.Corrupt = ce
		}
		return rep, nil
	}
}

func (r *Raw) receiveUDP(ctx context.Context) (Reply, error) {
	for {
		var (
			n  int
			at time.Time
		)
		err := readContext(ctx, r.udp, time.Time{}, func() error {
			var err error
			n, err = r.udp.Read(r.readBuf)
			at = time.Now()
			return err
		})
		if errors.Is(err, syscall.ECONNREFUSED) {
			continue // an ICMP port unreachable for an earlier probe
		}
		if err != nil {
			if ctx.Err() != nil {
				return Reply{}, err
			}
			return Reply{}, fmt.Errorf("ping: raw: reading UDP from %v: %w", r.udp.RemoteAddr(), err)
		}
		return Reply{From: r.cfg.Target, Payload: append([]byte(nil), r.readBuf[:n]...), At: at}, nil
	}
}

// addrOf returns the IPv4 address of a socket address.
func addrOf(a net.Addr) (netip.Addr, bool) {
	var ip net.IP
	switch a := a.(type) {
	case *net.IPAddr:
		ip = a.IP
	case *net.UDPAddr:
		ip = a.IP
	default:
		return netip.Addr{}, false
	}
	addr, ok := netip.AddrFromSlice(ip)
	return addr.Unmap(), ok
}
