package gvisor

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/exo-os/exo/libos/net/checksum"
	"github.com/exo-os/exo/libos/net/link"
)

var (
	addrA = netip.MustParsePrefix("10.0.0.1/24")
	addrB = netip.MustParsePrefix("10.0.0.2/24")
)

// pair is two gVisor stacks, A on end 0 and B on end 1 of a wire run in
// real time.
type pair struct {
	w    *link.Wire
	a, b *Stack

	mu  sync.Mutex
	arp [2]int // ARP frames sent from each end
}

// newPair connects A and B; with dropARP every ARP frame is dropped on
// the wire. Both are counted.
func newPair(t *testing.T, imp link.Impairment, dropARP bool) *pair {
	t.Helper()
	p := &pair{w: link.NewWire(imp)}
	p.w.SetFilter(func(from int, f []byte) bool {
		if binary.BigEndian.Uint16(f[12:14]) == 0x0806 {
			p.mu.Lock()
			p.arp[from]++
			p.mu.Unlock()
			return !dropARP
		}
		return true
	})
	var err error
	if p.a, err = New(Config{Addr: addrA}, p.w.End(0)); err != nil {
		t.Fatal(err)
	}
	if p.b, err = New(Config{Addr: addrB}, p.w.End(1)); err != nil {
		t.Fatal(err)
	}
	p.w.Attach(0, p.a)
	p.w.Attach(1, p.b)
	rt := link.NewRealTime(p.w)
	t.Cleanup(func() {
		rt.Close()
		p.a.Close()
		p.b.Close()
	})
	return p
}

func (p *pair) arpFrames() [2]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.arp
}

func listen(t *testing.T, s *Stack, port int) net.Listener {
	t.Helper()
	v, err := s.Socket(context.Background(), "tcp", syscall.AF_INET, syscall.SOCK_STREAM, &net.TCPAddr{Port: port}, nil)
	if err != nil {
		t.Fatal(err)
	}
	l, ok := v.(net.Listener)
	if !ok {
		t.Fatalf("Socket returned %T for a listener", v)
	}
	return l
}

func dial(ctx context.Context, s *Stack, to netip.Addr, port int) (net.Conn, error) {
	v, err := s.Socket(ctx, "tcp", syscall.AF_INET, syscall.SOCK_STREAM, nil, &net.TCPAddr{IP: to.AsSlice(), Port: port})
	if err != nil {
		return nil, err
	}
	c, ok := v.(net.Conn)
	if !ok {
		return nil, fmt.Errorf("Socket returned %T for a connection", v)
	}
	return c, nil
}

// echo serves one connection at a time on l, writing back what it reads.
func echo(l net.Listener) {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			io.Copy(c, c)
		}()
	}
}

// roundTrip sends n random bytes on c and checks they come back.
func roundTrip(t *testing.T, c net.Conn, n int, seed uint64) {
	t.Helper()
	data := make([]byte, n)
	r := rand.New(rand.NewPCG(seed, seed))
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	c.SetDeadline(time.Now().Add(30 * time.Second))
	errc := make(chan error, 1)
	go func() {
		_, err := c.Write(data)
		errc <- err
	}()
	got := make([]byte, n)
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatalf("reading the echo: %v", err)
	}
	if err := <-errc; err != nil {
		t.Fatalf("writing: %v", err)
	}
	if !bytes.Equal(got, data) {
		t.Fatal("the echo differs from what was sent")
	}
}

func TestTCPEcho(t *testing.T) {
	tests := []struct {
		name string
		imp  link.Impairment
		size int
	}{
		{"clean", link.Impairment{}, 1 << 20},
		{"delay", link.Impairment{Delay: 2 * time.Millisecond, Jitter: time.Millisecond, Seed: 1}, 256 << 10},
		{"impaired", link.Impairment{Drop: 0.02, Duplicate: 0.01, Reorder: 0.02, Corrupt: 0.02,
			Delay: 100 * time.Microsecond, Seed: 2}, 256 << 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPair(t, tt.imp, false)
			l := listen(t, p.a, 7)
			defer l.Close()
			go echo(l)
			c, err := dial(context.Background(), p.b, addrA.Addr(), 7)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if ra := c.RemoteAddr().(*net.TCPAddr); !ra.IP.Equal(addrA.Addr().AsSlice()) || ra.Port != 7 {
				t.Errorf("RemoteAddr = %v, want 10.0.0.1:7", ra)
			}
			roundTrip(t, c, tt.size, 7)
			sa, sb := p.a.Stats(), p.b.Stats()
			if sb["tcp.segments_sent"] == 0 || sa["tcp.segments_received"] == 0 {
				t.Errorf("TCP counters did not move: A %v, B %v", sa, sb)
			}
			// ARP ran: B asked for A, A answered.
			if arp := p.arpFrames(); arp[0] == 0 || arp[1] == 0 {
				t.Errorf("ARP frames sent: %v, want some from each end", arp)
			}
			if mac, ok := p.b.Neighbors()[addrA.Addr()]; !ok || mac != p.w.End(0).MAC() {
				t.Errorf("B's neighbor entry for A: %x, %v", mac, ok)
			}
			if tt.imp.Drop > 0 {
				if r := sa["tcp.retransmits"] + sb["tcp.retransmits"]; r == 0 {
					t.Error("no retransmissions over a lossy wire")
				}
				if st := p.w.Stats(); st.Dropped == 0 || st.Corrupted == 0 {
					t.Errorf("wire stats %+v: impairments not exercised", st)
				}
			}
		})
	}
}

func TestUDP(t *testing.T) {
	p := newPair(t, link.Impairment{}, false)
	ctx := context.Background()
	v, err := p.a.Socket(ctx, "udp", syscall.AF_INET, syscall.SOCK_DGRAM, &net.UDPAddr{Port: 53}, nil)
	if err != nil {
		t.Fatal(err)
	}
	server := v.(net.PacketConn)
	defer server.Close()
	v, err = p.b.Socket(ctx, "udp", syscall.AF_INET, syscall.SOCK_DGRAM, nil, &net.UDPAddr{IP: net.ParseIP("10.0.0.1"), Port: 53})
	if err != nil {
		t.Fatal(err)
	}
	client, ok := v.(net.Conn)
	if !ok {
		t.Fatalf("a connected UDP socket is %T, not a net.Conn", v)
	}
	defer client.Close()
	if _, ok := v.(net.PacketConn); !ok {
		t.Errorf("a UDP socket is %T, not a net.PacketConn", v)
	}
	server.SetDeadline(time.Now().Add(10 * time.Second))
	client.SetDeadline(time.Now().Add(10 * time.Second))

	if _, err := client.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 100)
	n, from, err := server.ReadFrom(buf)
	if err != nil {
		t.Fatal(err)
	}
	ua, ok := from.(*net.UDPAddr)
	if !ok {
		t.Fatalf("ReadFrom returned a %T, want *net.UDPAddr", from)
	}
	local := client.LocalAddr().(*net.UDPAddr)
	if string(buf[:n]) != "ping" || !ua.IP.Equal(net.IPv4(10, 0, 0, 2)) || ua.Port != local.Port {
		t.Fatalf("ReadFrom = %q from %v, want \"ping\" from 10.0.0.2:%d", buf[:n], ua, local.Port)
	}
	// Reply to the 16-byte form of the address, as net.ParseIP gives it.
	to := &net.UDPAddr{IP: net.ParseIP(ua.IP.String()), Port: ua.Port}
	if _, err := server.WriteTo([]byte("pong"), to); err != nil {
		t.Fatal(err)
	}
	n, err = client.Read(buf)
	if err != nil || string(buf[:n]) != "pong" {
		t.Fatalf("Read = %q, %v; want \"pong\"", buf[:n], err)
	}
	if _, err := server.WriteTo([]byte("x"), &net.TCPAddr{IP: ua.IP, Port: ua.Port}); err == nil {
		t.Error("WriteTo a *net.TCPAddr succeeded")
	}
	if _, err := server.WriteTo([]byte("x"), &net.UDPAddr{IP: net.ParseIP("fe80::1"), Port: 1}); err == nil {
		t.Error("WriteTo an IPv6 address succeeded")
	}
	// A read deadline in the past times out, as net.Error.
	server.SetReadDeadline(time.Now().Add(-time.Second))
	var ne net.Error
	if _, _, err := server.ReadFrom(buf); !errors.As(err, &ne) || !ne.Timeout() {
		t.Errorf("ReadFrom past its deadline = %v, want a timeout", err)
	}
	if s := p.a.Stats(); s["udp.packets_received"] != 1 || s["udp.packets_sent"] != 1 {
		t.Errorf("A's UDP counters: received %d, sent %d; want 1, 1", s["udp.packets_received"], s["udp.packets_sent"])
	}
}

func TestHTTP(t *testing.T) {
	p := newPair(t, link.Impairment{Delay: 200 * time.Microsecond}, false)
	l := listen(t, p.a, 80)
	mux := http.NewServeMux()
	mux.HandleFunc("/hello", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello %s", r.URL.Query().Get("n"))
	})
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body) // HTTP/1 is not full duplex: read, then answer
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Write(b)
	})
	srv := &http.Server{Handler: mux}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()

	client := &http.Client{
		Timeout: 20 * time.Second,
		Transport: &http.Transport{
			DialContext: func(ctx context.Context, network, address string) (net.Conn, error) {
				ap, err := netip.ParseAddrPort(address)
				if err != nil {
					return nil, err
				}
				return dial(ctx, p.b, ap.Addr(), int(ap.Port()))
			},
		},
	}
	for i := range 5 {
		resp, err := client.Get(fmt.Sprintf("http://10.0.0.1/hello?n=%d", i))
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if want := fmt.Sprintf("hello %d", i); err != nil || string(body) != want {
			t.Fatalf("GET %d: %q, %v; want %q", i, body, err, want)
		}
	}
	big := strings.Repeat("0123456789abcdef", 8<<10)
	resp, err := client.Post("http://10.0.0.1/echo", "text/plain", strings.NewReader(big))
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || string(body) != big {
		t.Fatalf("POST echo: %d bytes, %v; want %d bytes back", len(body), err, len(big))
	}
	client.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	if err := <-done; err != http.ErrServerClosed {
		t.Errorf("Serve returned %v, want http.ErrServerClosed", err)
	}
}

// TestNeighborLearningWithoutARP drops every ARP frame: A knows B only
// from a static entry, and B must learn A from A's SYN to answer it.
func TestNeighborLearningWithoutARP(t *testing.T) {
	p := newPair(t, link.Impairment{}, true)
	if err := p.a.AddNeighbor(addrB.Addr(), p.w.End(1).MAC()); err != nil {
		t.Fatal(err)
	}
	l := listen(t, p.b, 9)
	defer l.Close()
	go echo(l)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := dial(ctx, p.a, addrB.Addr(), 9)
	if err != nil {
		t.Fatalf("dial without ARP: %v", err)
	}
	defer c.Close()
	roundTrip(t, c, 64<<10, 9)
	if arp := p.arpFrames(); arp[1] != 0 {
		t.Errorf("B sent %d ARP frames; it should have learned A from A's frames", arp[1])
	}
	if mac, ok := p.b.Neighbors()[addrA.Addr()]; !ok || mac != p.w.End(0).MAC() {
		t.Errorf("B's neighbor entry for A: %x, %v; want %x", mac, ok, p.w.End(0).MAC())
	}
	if n := p.b.Stats()["nic.learned"]; n != 1 {
		t.Errorf("B learned %d bindings, want 1", n)
	}
}

// discard is a link.Endpoint that counts what it is given, keeping
// copies if keep is set.
type discard struct {
	mu     sync.Mutex
	frames int
	keep   bool
	kept   [][]byte
}

func (d *discard) MAC() [6]byte { return [6]byte{2, 0, 0, 0, 0, 0xaa} }
func (d *discard) MTU() int     { return 1500 }
func (d *discard) Transmit(f []byte) error {
	d.mu.Lock()
	d.frames++
	if d.keep {
		d.kept = append(d.kept, bytes.Clone(f))
	}
	d.mu.Unlock()
	return nil
}

// ipv4Frame builds an Ethernet frame from mac to the discard endpoint's
// MAC carrying an IPv4 packet from ip to dst with 8 zero bytes of an
// experimental protocol (RFC 3692).
func ipv4Frame(mac [6]byte, ip, dst netip.Addr) []byte {
	return packet(mac, ip, dst, 253, make([]byte, 8))
}

// packet builds an Ethernet frame carrying an IPv4 packet of protocol
// proto with payload.
func packet(mac [6]byte, ip, dst netip.Addr, proto byte, payload []byte) []byte {
	f := make([]byte, 14+20+len(payload))
	copy(f, []byte{2, 0, 0, 0, 0, 0xaa})
	copy(f[6:], mac[:])
	f[12], f[13] = 0x08, 0x00
	h := f[14:34]
	h[0] = 0x45
	binary.BigEndian.PutUint16(h[2:], uint16(20+len(payload)))
	h[8], h[9] = 64, proto
	s, d := ip.As4(), dst.As4()
	copy(h[12:], s[:])
	copy(h[16:], d[:])
	binary.BigEndian.PutUint16(h[10:], checksum.Checksum(h))
	copy(f[34:], payload)
	return f
}

// TestICMPEchoWithoutARP pings the stack from a host it has never heard
// of: the reply must go straight to the sender's MAC, learned from the
// request, with no ARP request first.
func TestICMPEchoWithoutARP(t *testing.T) {
	d := &discard{keep: true}
	s, err := New(Config{Addr: addrA}, d)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	mac := [6]byte{2, 7, 7, 7, 7, 7}
	// RFC 792: type 8 (echo), code 0, checksum, identifier, sequence, data.
	echo := []byte{8, 0, 0, 0, 0x12, 0x34, 0, 1, 'e', 'x', 'o', '!'}
	binary.BigEndian.PutUint16(echo[2:], checksum.Checksum(echo))
	s.Input(0, packet(mac, netip.MustParseAddr("10.0.0.9"), addrA.Addr(), 1, echo))
	deadline := time.Now().Add(5 * time.Second)
	var frames [][]byte
	for time.Now().Before(deadline) {
		d.mu.Lock()
		frames = slices.Clone(d.kept)
		d.mu.Unlock()
		if len(frames) > 0 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	if len(frames) != 1 {
		t.Fatalf("stack sent %d frames, want 1 echo reply", len(frames))
	}
	f := frames[0]
	if [6]byte(f[:6]) != mac || binary.BigEndian.Uint16(f[12:]) != 0x0800 {
		t.Fatalf("reply frame to %x, type %#x; want to %x, IPv4", f[:6], f[12:14], mac)
	}
	icmp := f[14+int(f[14]&0xf)*4:]
	if icmp[0] != 0 || !bytes.Equal(icmp[4:], echo[4:]) || checksum.Checksum(icmp) != 0 {
		t.Fatalf("reply %x is not an echo reply to %x", icmp, echo)
	}
	if n := s.Stats()["icmp.echo_requests_received"]; n != 1 {
		t.Errorf("echo requests counted: %d, want 1", n)
	}
}

func TestLearn(t *testing.T) {
	mac := [6]byte{2, 1, 2, 3, 4, 5}
	self := netip.MustParseAddr("10.0.0.1")
	gw := netip.MustParseAddr("10.0.0.254")
	tests := []struct {
		name  string
		frame func() []byte
		want  netip.Addr // the zero Addr: nothing learned
	}{
		{"on-link", func() []byte { return ipv4Frame(mac, netip.MustParseAddr("10.0.0.9"), self) }, netip.MustParseAddr("10.0.0.9")},
		{"routed: the gateway", func() []byte { return ipv4Frame(mac, netip.MustParseAddr("8.8.8.8"), self) }, gw},
		{"multicast source MAC", func() []byte {
			return ipv4Frame([6]byte{1, 0, 0x5e, 0, 0, 1}, netip.MustParseAddr("10.0.0.9"), self)
		}, netip.Addr{}},
		{"bad header checksum", func() []byte {
			f := ipv4Frame(mac, netip.MustParseAddr("10.0.0.9"), self)
			f[14+10] ^= 0xff
			return f
		}, netip.Addr{}},
		{"own address", func() []byte { return ipv4Frame(mac, self, self) }, netip.Addr{}},
		{"subnet broadcast", func() []byte { return ipv4Frame(mac, netip.MustParseAddr("10.0.0.255"), self) }, netip.Addr{}},
		{"unspecified", func() []byte { return ipv4Frame(mac, netip.MustParseAddr("0.0.0.0"), self) }, netip.Addr{}},
		{"truncated", func() []byte { return ipv4Frame(mac, netip.MustParseAddr("10.0.0.9"), self)[:30] }, netip.Addr{}},
		{"short frame", func() []byte { return []byte{1, 2, 3} }, netip.Addr{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := New(Config{Addr: addrA, Gateway: gw}, &discard{})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			s.Input(0, tt.frame())
			got := s.Neighbors()
			if !tt.want.IsValid() {
				if len(got) != 0 || s.Stats()["nic.learned"] != 0 {
					t.Errorf("learned %v", got)
				}
				return
			}
			if len(got) != 1 || got[tt.want] != mac {
				t.Errorf("neighbors %v, want only %v at %x", got, tt.want, mac)
			}
			// The same binding again changes nothing; a new MAC replaces it.
			s.Input(0, tt.frame())
			if n := s.Stats()["nic.learned"]; n != 1 {
				t.Errorf("learned %d times from one binding", n)
			}
			mac2 := [6]byte{2, 9, 9, 9, 9, 9}
			f := tt.frame()
			copy(f[6:12], mac2[:])
			s.Input(0, f)
			if got := s.Neighbors(); got[tt.want] != mac2 {
				t.Errorf("after a new MAC: %v, want %v at %x", got, tt.want, mac2)
			}
		})
	}
}

func TestLearnBounded(t *testing.T) {
	s, err := New(Config{Addr: netip.MustParsePrefix("10.0.0.1/16")}, &discard{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := range maxLearned + 50 {
		ip := netip.AddrFrom4([4]byte{10, 0, byte(1 + i/250), byte(1 + i%250)})
		s.Input(0, ipv4Frame([6]byte{2, 0, 0, 0, byte(i >> 8), byte(i)}, ip, netip.MustParseAddr("10.0.0.1")))
	}
	if n := s.Stats()["nic.learned"]; n != maxLearned {
		t.Errorf("learned %d hosts, want the bound %d", n, maxLearned)
	}
}

func TestNewErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		ep   link.Endpoint
	}{
		{"no address", Config{}, &discard{}},
		{"IPv6", Config{Addr: netip.MustParsePrefix("fe80::1/64")}, &discard{}},
		{"IPv6 gateway", Config{Addr: addrA, Gateway: netip.MustParseAddr("fe80::1")}, &discard{}},
		{"MTU above the link's", Config{Addr: addrA, MTU: 9000}, &discard{}},
		{"MTU too small", Config{Addr: addrA, MTU: 40}, &discard{}},
		{"multicast MAC", Config{Addr: addrA, MAC: [6]byte{1, 0, 0, 0, 0, 1}}, &discard{}},
		{"no link", Config{Addr: addrA}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := New(tt.cfg, tt.ep)
			if err == nil {
				s.Close()
				t.Fatal("New succeeded")
			}
			if !strings.HasPrefix(err.Error(), "gvisor: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
		})
	}
}

func TestSocketErrors(t *testing.T) {
	s, err := New(Config{Addr: addrA}, &discard{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	tests := []struct {
		name          string
		family, sotyp int
		laddr, raddr  net.Addr
	}{
		{"IPv6 family", syscall.AF_INET6, syscall.SOCK_STREAM, &net.TCPAddr{Port: 1}, nil},
		{"raw socket", syscall.AF_INET, syscall.SOCK_RAW, nil, nil},
		{"no addresses", syscall.AF_INET, syscall.SOCK_STREAM, nil, nil},
		{"UDP address for TCP", syscall.AF_INET, syscall.SOCK_STREAM, &net.UDPAddr{Port: 1}, nil},
		{"TCP address for UDP", syscall.AF_INET, syscall.SOCK_DGRAM, &net.TCPAddr{Port: 1}, nil},
		{"IPv6 remote", syscall.AF_INET, syscall.SOCK_STREAM, nil, &net.TCPAddr{IP: net.ParseIP("fe80::1"), Port: 1}},
		{"port out of range", syscall.AF_INET, syscall.SOCK_DGRAM, &net.UDPAddr{Port: 70000}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := s.Socket(ctx, "x", tt.family, tt.sotyp, tt.laddr, tt.raddr)
			if err == nil {
				t.Fatalf("Socket succeeded with %T", v)
			}
			if !strings.HasPrefix(err.Error(), "gvisor: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
		})
	}
}

func TestDialRefused(t *testing.T) {
	p := newPair(t, link.Impairment{}, false)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := dial(ctx, p.b, addrA.Addr(), 81)
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("dial to a closed port: %v, want ECONNREFUSED", err)
	}
	if p.a.Stats()["tcp.resets_sent"] == 0 {
		t.Error("A sent no RST")
	}
}

func TestListenerClose(t *testing.T) {
	s, err := New(Config{Addr: addrA}, &discard{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	l := listen(t, s, 80)
	if a := l.Addr().(*net.TCPAddr); a.Port != 80 {
		t.Errorf("listener Addr %v, want port 80", a)
	}
	errc := make(chan error, 1)
	go func() {
		_, err := l.Accept()
		errc <- err
	}()
	time.Sleep(10 * time.Millisecond)
	l.Close()
	select {
	case err := <-errc:
		if err == nil {
			t.Error("Accept succeeded after Close")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Accept still blocked 5 s after Close")
	}
	s.Close()
	s.Close() // twice is fine
}

// FuzzInput feeds hostile frames to a stack: nothing may panic, and
// learning must stay within its bound.
func FuzzInput(f *testing.F) {
	self := netip.MustParseAddr("10.0.0.1")
	f.Add(ipv4Frame([6]byte{2, 1, 1, 1, 1, 1}, netip.MustParseAddr("10.0.0.9"), self))
	f.Add([]byte{})
	f.Add(make([]byte, 14))
	arp := []byte{2, 0, 0, 0, 0, 0xaa, 2, 1, 1, 1, 1, 1, 8, 6, 0, 1, 8, 0, 6, 4, 0, 1,
		2, 1, 1, 1, 1, 1, 10, 0, 0, 9, 0, 0, 0, 0, 0, 0, 10, 0, 0, 1}
	f.Add(arp)
	syn := ipv4Frame([6]byte{2, 1, 1, 1, 1, 1}, netip.MustParseAddr("10.0.0.9"), self)
	syn[14+9] = 6
	f.Add(syn)
	s, err := New(Config{Addr: addrA, Gateway: netip.MustParseAddr("10.0.0.254")}, &discard{})
	if err != nil {
		f.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Socket(context.Background(), "tcp", syscall.AF_INET, syscall.SOCK_STREAM, &net.TCPAddr{Port: 80}, nil); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, frame []byte) {
		s.Input(0, frame)
		s.nic.mu.Lock()
		n := len(s.nic.learned)
		s.nic.mu.Unlock()
		if n > maxLearned {
			t.Fatalf("learned %d hosts", n)
		}
	})
}
