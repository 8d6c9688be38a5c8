package qemu

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math/rand"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/net/dns/dnsmessage"

	"github.com/exo-os/exo/internal/httpdemo"
	"github.com/exo-os/exo/internal/testtool"
)

// The library OS's stack in QEMU: the network demo's manifest (what
// `make run NET=tap` boots), where httpd serves over Exo's stack on port
// 80 and ghttpd over gVisor's on 8080, side by side on one machine
// address with their own guards, beside the echo environment that holds
// the ARP guard; the kernel demultiplexes between them.
func httpdManifest(t *testing.T) string {
	b, err := os.ReadFile("../../firmware/qemu-virt/net.manifest")
	require.NoError(t, err)
	return string(b)
}

// server is one of the two httpd environments.
type server struct {
	name string // the stack, as httpd's greeting says it
	port int    // HTTP
	udp  int    // UDP echo
}

var servers = []server{{"exo", 80, 5007}, {"gvisor", 8080, 5008}}

func (s server) url(path string) string {
	return fmt.Sprintf("http://%s:%d%s", GuestAddr, s.port, path)
}

// startHTTPD boots the two servers with their NIC on QEMU's dgram
// netdev and a Relay between it and the namespace's tap, which the test
// impairs when it wants loss and reordering.
func startHTTPD(t *testing.T, n *NetNS) (*Machine, *Relay) {
	t.Helper()
	qemuPort, relayPort := freePort(t), freePort(t)
	r, err := n.NewRelay(qemuPort, relayPort, 1)
	require.NoError(t, err)
	t.Cleanup(func() { r.Close() })
	extra := DgramArgs(qemuPort, relayPort)
	if f := os.Getenv("EXO_CAPTURE"); f != "" {
		extra = append(extra, CaptureArgs(f)...) // every frame, for tcpdump -r
	}
	m, err := Start(Config{Firmware: firmware(t), Manifest: httpdManifest(t), Timeout: 15 * time.Minute, Extra: extra}, nil)
	require.NoError(t, err)
	t.Cleanup(func() {
		m.Stop()
		t.Logf("console:\n%s", m.Console())
	})
	for _, s := range servers {
		require.NoError(t, m.WaitFor(fmt.Sprintf("httpd: %s stack serving http://%s:%d/", s.name, GuestAddr, s.port), 2*time.Minute))
	}
	return m, r
}

// curl runs curl in the namespace with a hard time limit and returns
// what it wrote to standard output.
func curl(t *testing.T, n *NetNS, args ...string) []byte {
	t.Helper()
	var out, errb bytes.Buffer
	cmd := n.Command("curl", append([]string{"-sS", "--fail-with-body", "--max-time", "120"}, args...)...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	require.NoError(t, cmd.Run(), "curl %s: %s%s", strings.Join(args, " "), errb.String(), out.String())
	return out.Bytes()
}

// transfers checks a 1 MiB GET and a 1 MiB POST byte for byte against s.
func transfers(t *testing.T, n *NetNS, s server, what string) {
	t.Helper()
	start := time.Now()
	got := curl(t, n, s.url("/download"))
	want := make([]byte, httpdemo.DefaultDownload)
	httpdemo.Pattern(want, 0)
	require.True(t, bytes.Equal(got, want), "%s %s: GET /download: %d bytes, not the pattern's %d", s.name, what, len(got), len(want))
	get := time.Since(start)

	body := make([]byte, 1<<20)
	rand.New(rand.NewSource(int64(s.port))).Read(body)
	file := filepath.Join(t.TempDir(), "upload")
	require.NoError(t, os.WriteFile(file, body, 0o644))
	start = time.Now()
	got = curl(t, n, "--data-binary", "@"+file, "-H", "Content-Type: application/octet-stream", s.url("/upload"))
	sum := sha256.Sum256(body)
	require.Equal(t, fmt.Sprintf("%d %x\n", len(body), sum), string(got), "%s %s: POST /upload", s.name, what)
	t.Logf("%s %s: 1 MiB GET in %v, POST in %v", s.name, what, get, time.Since(start))
}

func TestHTTPD(t *testing.T) {
	testtool.Path(t, "curl")
	n := netNS(t)
	m, relay := startHTTPD(t, n)

	for _, s := range servers {
		page := curl(t, n, s.url("/"))
		require.Contains(t, string(page), fmt.Sprintf("Exo httpd (%s stack)", s.name))
		transfers(t, n, s, "clean")
	}

	// Each environment as a client: net/http's client fetching from a
	// server in the namespace, and the resolver asking a DNS server there
	// (net.SetDefaultNS, the manifest's dns= argument).
	blob := serveNamespace(t, n)
	for _, s := range servers {
		got := curl(t, n, s.url(fmt.Sprintf("/fetch?url=http://%s:%d/blob", HostAddr, hostHTTPPort)))
		require.Equal(t, fmt.Sprintf("200 %d %x\n", len(blob), sha256.Sum256(blob)), string(got), "%s: the environment's HTTP client", s.name)
		got = curl(t, n, s.url("/lookup?host=exo.test"))
		require.Equal(t, "198.18.0.77\n", string(got), "%s: the environment's resolver", s.name)
	}

	// UDP through net.ListenPacket in each environment.
	// (and by message vectoring, to Exo's on port 5009).
	udps := append(append([]server(nil), servers...), server{"exo, vectored", 80, 5009})
	require.NoError(t, n.Do(func() error {
		for _, s := range udps {
			c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(netip.AddrPortFrom(guest, uint16(s.udp))))
			if err != nil {
				return err
			}
			buf := make([]byte, 2000)
			for i := 0; i < 50; i++ {
				msg := []byte(fmt.Sprintf("%s datagram %d %s", s.name, i, strings.Repeat("x", i*20)))
				if _, err := c.Write(msg); err != nil {
					return err
				}
				c.SetReadDeadline(time.Now().Add(5 * time.Second))
				k, err := c.Read(buf)
				if err != nil {
					return fmt.Errorf("%s: UDP echo %d: %w", s.name, i, err)
				}
				if !bytes.Equal(buf[:k], msg) {
					return fmt.Errorf("%s: UDP echo %d: %q, want %q", s.name, i, buf[:k], msg)
				}
			}
			c.Close()
		}
		return nil
	}))

	st := string(curl(t, n, servers[0].url("/stats")))
	got := regexp.MustCompile(`socket vectoredreads (\d+)`).FindStringSubmatch(st)
	require.NotNil(t, got, "%s", st)
	reads, _ := strconv.Atoi(got[1])
	require.GreaterOrEqual(t, reads, 50, "the datagrams to 5009 reached the socket through the vector ring")
	require.Regexp(t, `binding \d+ guard \S+ frames \d+ runs \d+ vectored (5\d|[6-9]\d|\d{3,}) `, st, "the handler vectored them")

	// 100 concurrent connections.
	if _, err := exec.LookPath("ab"); err == nil {
		for _, s := range servers {
			out, err := n.Command("ab", "-q", "-s", "60", "-n", "2000", "-c", "100", s.url("/")).CombinedOutput()
			require.NoError(t, err, "%s", out)
			t.Logf("ab %s:\n%s", s.name, out)
			require.Regexp(t, `Complete requests:\s+2000\n`, string(out))
			require.Regexp(t, `Failed requests:\s+0\n`, string(out))
		}
	} else if os.Getenv("EXO_REQUIRE_TOOLS") != "" {
		t.Fatal("ab (apache2-utils) is needed for the 100-connection test")
	}

	// The same transfers under loss and reordering, both ways (the
	// relay's impairment: tc netem's, without the kernel module).
	relay.SetImpairment(Impairment{Loss: 0.05, Reorder: 0.25})
	for _, s := range servers {
		transfers(t, n, s, "loss 5% reorder 25%")
	}
	relay.SetImpairment(Impairment{})
	t.Logf("relay: %d frames forwarded, %d dropped, %d reordered", relay.Forwarded.Load(), relay.Dropped.Load(), relay.Reordered.Load())
	require.NotZero(t, relay.Dropped.Load())

	// A SYN flood from spoofed hosts and ports, then a flood of
	// malformed segments; httpd serves on.
	synFlood(t, n, 20000)
	tcpGarbage(t, n, 20000)
	require.True(t, m.Running())
	for _, s := range servers {
		t.Logf("%s's counters after the floods:\n%s", s.name, udpStats(t, n, s))
	}
	for _, s := range servers {
		transfers(t, n, s, "after the floods")
		t.Logf("%s /stats:\n%s", s.name, curl(t, n, s.url("/stats")))
	}
	stats := string(curl(t, n, servers[0].url("/stats")))
	require.Regexp(t, `tcp badchecksum [1-9]`, stats, "the malformed segments were seen and refused")
	require.NotContains(t, m.Console(), "BUG")
	require.NotContains(t, m.Console(), "panic")
}

// tcpFrame is a TCP segment from src:sport to the guest's dport, with a
// correct checksum unless the caller breaks it.
func tcpFrame(srcMAC net.HardwareAddr, src netip.Addr, sport, dport uint16, seq uint32, flags byte, payload []byte) []byte {
	f := make([]byte, 54+len(payload))
	copy(f[0:], guestMAC[:])
	copy(f[6:], srcMAC)
	f[12] = 0x08
	ip := f[14:34]
	ip[0], ip[8], ip[9] = 0x45, 64, 6
	be := binary.BigEndian
	be.PutUint16(ip[2:], uint16(40+len(payload)))
	copy(ip[12:], src.AsSlice())
	copy(ip[16:], guest.AsSlice())
	be.PutUint16(ip[10:], ^fold(sum16(ip, 0)))
	tcp := f[34:]
	be.PutUint16(tcp[0:], sport)
	be.PutUint16(tcp[2:], dport)
	be.PutUint32(tcp[4:], seq)
	tcp[12], tcp[13] = 5<<4, flags
	be.PutUint16(tcp[14:], 65535)
	copy(tcp[20:], payload)
	ps := sum16(ip[12:20], 0) + 6 + uint32(len(tcp))
	be.PutUint16(tcp[16:], ^fold(sum16(tcp, ps)))
	return f
}

func sum16(b []byte, s uint32) uint32 {
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		s += uint32(b[len(b)-1]) << 8
	}
	return s
}

func fold(s uint32) uint16 {
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return uint16(s)
}

// synFlood sends count SYNs to both servers from random hosts of the
// namespace's subnet (no such host answers the SYN-ACK).
func synFlood(t *testing.T, n *NetNS, count int) {
	rng := rand.New(rand.NewSource(2))
	sent := inject(t, n, count, func(i int, mac net.HardwareAddr) []byte {
		src := netip.AddrFrom4([4]byte{198, 18, 0, byte(3 + rng.Intn(250))})
		return tcpFrame(mac, src, uint16(1024+rng.Intn(60000)), uint16(servers[i%2].port), rng.Uint32(), 0x02, nil)
	})
	t.Logf("SYN flood: %d segments", sent)
}

// tcpGarbage sends count broken segments to both servers: bad checksums,
// impossible data offsets, every flag combination, truncations.
func tcpGarbage(t *testing.T, n *NetNS, count int) {
	rng := rand.New(rand.NewSource(3))
	host := netip.MustParseAddr(HostAddr)
	sent := inject(t, n, count, func(i int, mac net.HardwareAddr) []byte {
		f := tcpFrame(mac, host, uint16(40000+rng.Intn(1000)), uint16(servers[i%2].port), rng.Uint32(), byte(rng.Intn(256)), []byte("garbage"))
		switch i % 4 {
		case 0: // checksum wrong
			f[50] ^= byte(1 + rng.Intn(255))
		case 1: // data offset below 5 or past the segment
			f[46] = byte(rng.Intn(16)) << 4
			binary.BigEndian.PutUint16(f[50:], 0)
		case 2: // options of random bytes, checksum then fixed
			f[46] = 15 << 4
			f = append(f, make([]byte, 40)...)
			rng.Read(f[54:])
			binary.BigEndian.PutUint16(f[16:], uint16(len(f)-14))
			f[24], f[25] = 0, 0
			binary.BigEndian.PutUint16(f[24:], ^fold(sum16(f[14:34], 0)))
			f[50], f[51] = 0, 0
			ps := sum16(f[26:34], 0) + 6 + uint32(len(f)-34)
			binary.BigEndian.PutUint16(f[50:], ^fold(sum16(f[34:], ps)))
		case 3: // truncated inside the TCP header
			f = f[:34+rng.Intn(20)]
		}
		return f
	})
	t.Logf("malformed segments: %d", sent)
}

// The namespace's own servers for the environments' clients.
const (
	hostHTTPPort = 8000
	hostDNSPort  = 5353
)

// serveNamespace starts, in the namespace, an HTTP server on
// HostAddr:hostHTTPPort serving /blob (returned), and a DNS server on
// HostAddr:hostDNSPort answering A queries for exo.test with 198.18.0.77
// (and NXDOMAIN for other names); both stop when the test ends.
func serveNamespace(t *testing.T, n *NetNS) []byte {
	t.Helper()
	blob := make([]byte, 300000)
	rand.New(rand.NewSource(4)).Read(blob)
	var ln net.Listener
	var pc net.PacketConn
	require.NoError(t, n.Do(func() error {
		var err error
		if ln, err = net.Listen("tcp4", fmt.Sprintf("%s:%d", HostAddr, hostHTTPPort)); err != nil {
			return err
		}
		pc, err = net.ListenPacket("udp4", fmt.Sprintf("%s:%d", HostAddr, hostDNSPort))
		return err
	}))
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/blob" {
			http.NotFound(w, r)
			return
		}
		w.Write(blob)
	})}
	go srv.Serve(ln)
	go dnsServe(pc)
	t.Cleanup(func() { srv.Close(); pc.Close() })
	return blob
}

// dnsServe answers DNS queries on pc until it is closed.
func dnsServe(pc net.PacketConn) {
	buf := make([]byte, 512)
	for {
		k, from, err := pc.ReadFrom(buf)
		if err != nil {
			return
		}
		var p dnsmessage.Parser
		h, err := p.Start(buf[:k])
		if err != nil {
			continue
		}
		q, err := p.Question()
		if err != nil {
			continue
		}
		rh := dnsmessage.Header{ID: h.ID, Response: true, Authoritative: true}
		b := dnsmessage.NewBuilder(nil, rh)
		b.EnableCompression()
		b.StartQuestions()
		b.Question(q)
		b.StartAnswers()
		switch {
		case strings.EqualFold(q.Name.String(), "exo.test.") && q.Type == dnsmessage.TypeA:
			b.AResource(dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: 60}, dnsmessage.AResource{A: [4]byte{198, 18, 0, 77}})
		case strings.EqualFold(q.Name.String(), "exo.test."):
			// no AAAA: an empty answer
		default:
			rh.RCode = dnsmessage.RCodeNameError
			b = dnsmessage.NewBuilder(nil, rh)
			b.StartQuestions()
			b.Question(q)
		}
		if msg, err := b.Finish(); err == nil {
			pc.WriteTo(msg, from)
		}
	}
}

// udpStats asks s's UDP echo port for the stack's counters (the datagram
// "exo-stats"): they come even when TCP does not.
func udpStats(t *testing.T, n *NetNS, s server) string {
	var text string
	var err error
	for try := 0; try < 3; try++ { // the relay may still be full of a flood's frames
		if err = udpStatsOnce(n, s, &text); err == nil {
			return text
		}
	}
	return fmt.Sprintf("(no counters: %v)", err)
}

func udpStatsOnce(n *NetNS, s server, text *string) error {
	return n.Do(func() error {
		c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(netip.AddrPortFrom(guest, uint16(s.udp))))
		if err != nil {
			return err
		}
		defer c.Close()
		if _, err := c.Write([]byte("exo-stats")); err != nil {
			return err
		}
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		buf := make([]byte, 65536)
		var b strings.Builder
		for !strings.HasSuffix(b.String(), "end\n") { // datagrams of whole lines, the last "end"
			k, err := c.Read(buf)
			if err != nil {
				return err
			}
			b.Write(buf[:k])
		}
		*text = b.String()
		return nil
	})
}
