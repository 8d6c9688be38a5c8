package ping

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"sync/atomic"
	"time"
)

// Defaults for DgramConfig.
var (
	// DefaultMAC is Dgram's own Ethernet address: locally administered,
	// unicast.
	DefaultMAC = MAC{0x02, 0, 0, 0, 0, 0x01}
	// DefaultPrefix is Dgram's own IPv4 address and the subnet it reaches
	// without a router, in the RFC 2544 benchmarking range.
	DefaultPrefix = netip.MustParsePrefix("198.18.0.1/24")
)

// Defaults for DgramConfig's ARP fields.
const (
	DefaultARPTries = 5                      // ARP requests before giving up
	DefaultARPWait  = 500 * time.Millisecond // wait after each
)

// ethMTU is the largest IPv4 packet an Ethernet frame carries.
const ethMTU = 1500

// DgramConfig says where a Dgram meets QEMU and who it is on the guest's
// Ethernet. Local and Remote are required; the zero value of each other
// field means its default.
//
// For QEMU started with
//
//	-netdev dgram,id=n0,local.type=inet,local.host=127.0.0.1,local.port=QPORT,remote.type=inet,remote.host=127.0.0.1,remote.port=PPORT
//
// Local is 127.0.0.1:PPORT and Remote is 127.0.0.1:QPORT.
type DgramConfig struct {
	Local  netip.AddrPort // the address Dgram binds: QEMU's remote
	Remote netip.AddrPort // the address QEMU binds: QEMU's local
	MAC    MAC            // Dgram's Ethernet address (DefaultMAC)
	Prefix netip.Prefix   // Dgram's IPv4 address and subnet (DefaultPrefix)
	// UDPPort is the source port of UDP probes (0: a random port from
	// 49152 to 65535, chosen once).
	UDPPort uint16
	// ARPTries is how many ARP requests Open sends before it gives up
	// (DefaultARPTries), waiting ARPWait (DefaultARPWait) after each.
	ARPTries int
	ARPWait  time.Duration // see ARPTries
}

// Dgram is a Transport that needs no privilege: a host on the Ethernet of
// a QEMU guest started with -netdev dgram, whose frames it builds and
// parses itself. It answers ARP requests for its own address and ignores
// frames that are not for it, and datagrams that are not from Remote.
// Replies whose checksums are wrong are delivered with Reply.Corrupt set.
type Dgram struct {
	conn    *net.UDPConn
	local   netip.AddrPort
	remote  netip.AddrPort
	mac     MAC
	prefix  netip.Prefix
	udpPort uint16
	tries   int
	wait    time.Duration

	// Set by Open; read by Send and Receive.
	cfg       Config
	targetMAC MAC

	// resolving is the address Open is asking for; Receive's frame handler
	// records its MAC from any ARP packet it sends.
	resolving netip.Addr
	resolved  bool
	found     MAC

	ipID    atomic.Uint32
	sendBuf []byte // Send's, which Run calls from one goroutine
	readBuf []byte // the reader's: Open's, then Receive's
}

// ListenDgram binds c.Local and returns a Dgram that sends frames to
// c.Remote.
func ListenDgram(c DgramConfig) (*Dgram, error) {
	if !c.Local.IsValid() || !c.Remote.IsValid() {
		return nil, fmt.Errorf("ping: dgram: local address %v and remote address %v must both be set (host:port)", c.Local, c.Remote)
	}
	if c.MAC == (MAC{}) {
		c.MAC = DefaultMAC
	}
	if c.MAC[0]&1 != 0 {
		return nil, fmt.Errorf("ping: dgram: MAC %v is a multicast address", c.MAC)
	}
	if !c.Prefix.IsValid() {
		c.Prefix = DefaultPrefix
	}
	if !c.Prefix.Addr().Is4() {
		return nil, fmt.Errorf("ping: dgram: own address %v is not IPv4", c.Prefix)
	}
	if c.UDPPort == 0 {
		c.UDPPort = uint16(49152 + rand.IntN(65536-49152))
	}
	if c.ARPTries <= 0 {
		c.ARPTries = DefaultARPTries
	}
	if c.ARPWait <= 0 {
		c.ARPWait = DefaultARPWait
	}
	conn, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(c.Local))
	if err != nil {
		return nil, fmt.Errorf("ping: dgram: binding QEMU's peer address: %w", err)
	}
	return &Dgram{
		conn:    conn,
		local:   conn.LocalAddr().(*net.UDPAddr).AddrPort(),
		remote:  netip.AddrPortFrom(c.Remote.Addr().Unmap(), c.Remote.Port()),
		mac:     c.MAC,
		prefix:  c.Prefix,
		udpPort: c.UDPPort,
		tries:   c.ARPTries,
		wait:    c.ARPWait,
		readBuf: make([]byte, 64<<10),
	}, nil
}

// LocalAddr returns the address Dgram is bound to (useful when
// DgramConfig.Local had port 0).
func (d *Dgram) LocalAddr() netip.AddrPort { return d.local }

// Close releases the socket.
func (d *Dgram) Close() error { return d.conn.Close() }

// Open checks that cfg.Target is on Dgram's subnet and that its frames fit
// Ethernet's MTU, and resolves the target's MAC address by ARP.
func (d *Dgram) Open(ctx context.Context, cfg Config) error {
	if !d.prefix.Contains(cfg.Target) {
		return fmt.Errorf("ping: dgram: target %v is not on the guest Ethernet %v (Dgram has no router)", cfg.Target, d.prefix.Masked())
	}
	if cfg.Target == d.prefix.Addr() {
		return fmt.Errorf("ping: dgram: target %v is Dgram's own address", cfg.Target)
	}
	if n := ipv4HeaderLen + 8 + cfg.Size; n > ethMTU {
		return fmt.Errorf("ping: dgram: size %d makes %d-byte IPv4 packets, more than Ethernet's %d (at most %d)", cfg.Size, n, ethMTU, ethMTU-ipv4HeaderLen-8)
	}
	mac, err := d.resolve(ctx, cfg.Target)
	if err != nil {
		return err
	}
	d.cfg, d.targetMAC = cfg, mac
	return nil
}

// Send sends one probe frame to QEMU.
func (d *Dgram) Send(seq uint16, payload []byte) error {
	f := Frame{
		Dst:       d.targetMAC,
		Src:       d.mac,
		EtherType: EtherTypeIPv4,
		IP: IPv4{
			ID:           uint16(d.ipID.Add(1)),
			DontFragment: true,
			TTL:          64,
			Src:          d.prefix.Addr(),
			Dst:          d.cfg.Target,
		},
		Payload: payload,
	}
	if d.cfg.Proto == "udp" {
		f.IP.Protocol = ProtoUDP
		f.UDP = UDP{SrcPort: d.udpPort, DstPort: d.cfg.Port}
	} else {
		f.IP.Protocol = ProtoICMP
		f.ICMP = ICMP{Type: ICMPEchoRequest, ID: d.cfg.ID, Seq: seq}
	}
	b, err := f.Append(d.sendBuf[:0])
	if err != nil {
		return err
	}
	d.sendBuf = b
	return d.write(b)
}

func (d *Dgram) write(frame []byte) error {
	if _, err := d.conn.WriteToUDPAddrPort(frame, d.remote); err != nil {
		return fmt.Errorf("ping: dgram: sending a frame to QEMU at %v: %w", d.remote, err)
	}
	return nil
}

// Receive returns the next echo reply from the target, answering ARP
// requests on the way.
func (d *Dgram) Receive(ctx context.Context) (Reply, error) {
	for {
		b, at, err := d.read(ctx, time.Time{})
		if err != nil {
			return Reply{}, err
		}
		if r, ok := d.handle(b, at); ok {
			return r, nil
		}
	}
}

// read returns the next datagram from QEMU and when it arrived, skipping
// datagrams from anyone else. The bytes are valid until the next read.
func (d *Dgram) read(ctx context.Context, deadline time.Time) ([]byte, time.Time, error) {
	for {
		var (
			n    int
			from netip.AddrPort
			at   time.Time
		)
		err := readContext(ctx, d.conn, deadline, func() error {
			var err error
			n, from, err = d.conn.ReadFromUDPAddrPort(d.readBuf)
			at = time.Now()
			return err
		})
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, os.ErrDeadlineExceeded) {
				return nil, at, err
			}
			return nil, at, fmt.Errorf("ping: dgram: reading from %v: %w", d.local, err)
		}
		if from.Addr().Unmap() == d.remote.Addr() && from.Port() == d.remote.Port() {
			return d.readBuf[:n], at, nil
		}
	}
}

// handle processes one frame from QEMU: it answers and learns from ARP,
// and reports an echo reply from the target as a Reply.
func (d *Dgram) handle(b []byte, at time.Time) (Reply, bool) {
	f, err := ParseFrame(b)
	var ce *ChecksumError
	if err != nil && !errors.As(err, &ce) {
		return Reply{}, false
	}
	if f.Dst != d.mac && f.Dst != Broadcast {
		return Reply{}, false
	}
	if f.EtherType == EtherTypeARP {
		d.handleARP(&f.ARP)
		return Reply{}, false
	}
	cfg := d.cfg
	if f.IP.Dst != d.prefix.Addr() || f.IP.Src != cfg.Target {
		return Reply{}, false
	}
	r := Reply{From: f.IP.Src, At: at}
	switch {
	case cfg.Proto == "icmp" && f.IP.Protocol == ProtoICMP:
		if f.ICMP.Type != ICMPEchoReply || f.ICMP.Code != 0 {
			return Reply{}, false
		}
		r.ID, r.Seq = f.ICMP.ID, f.ICMP.Seq
	case cfg.Proto == "udp" && f.IP.Protocol == ProtoUDP:
		if f.UDP.SrcPort != cfg.Port || f.UDP.DstPort != d.udpPort {
			return Reply{}, false
		}
	default:
		return Reply{}, false
	}
	if ce != nil {
		r.Corrupt = ce
	}
	r.Payload = append([]byte(nil), f.Payload...)
	return r, true
}
