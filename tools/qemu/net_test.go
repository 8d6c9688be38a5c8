package qemu

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/exo-os/exo/internal/ping"
	"github.com/exo-os/exo/internal/testtool"
)

// The network tests boot the echo environment (firmware/envs/echo) with
// a virtio-net device and talk to it: through a tap device in a network
// namespace each test creates and removes (as root), or as QEMU's
// -netdev dgram peer (no root). Nothing leaves the namespace or
// 127.0.0.1.

const echoManifest = `exo-manifest v1
slots 8
env echo
net address=198.18.0.2/24
net env=echo guards=arp,icmp-echo,udp:7,udp:9
`

var guest = netip.MustParseAddr(GuestAddr)

// netNS creates a namespace for the test and removes it when the test
// ends; it needs root and the ip tool.
func netNS(t *testing.T) *NetNS {
	t.Helper()
	testtool.Path(t, "ip")
	if os.Geteuid() != 0 {
		if os.Getenv("EXO_REQUIRE_TOOLS") != "" {
			t.Fatal("the tap tests need root (a network namespace and a tap device)")
		}
		t.Skip("the tap tests need root")
	}
	n, err := NewNetNS("exo-test")
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, n.Close()) })
	return n
}

// startEcho boots manifest with extra QEMU arguments under wrap and waits
// for the echo environment's greeting. The machine is stopped when the
// test ends (before the namespace is removed: cleanups run last first).
func startEcho(t *testing.T, manifest string, wrap, extra []string) *Machine {
	t.Helper()
	m, err := Start(Config{Firmware: firmware(t), Manifest: manifest, Timeout: 5 * time.Minute, Extra: extra}, wrap)
	require.NoError(t, err)
	t.Cleanup(func() {
		m.Stop()
		t.Logf("console:\n%s", m.Console())
	})
	require.NoError(t, m.WaitFor("echo: 198.18.0.2/24", 2*time.Minute))
	return m
}

// measure runs count probes of proto (to port) over tr.
func measure(t *testing.T, tr ping.Transport, proto string, port uint16, count int, interval time.Duration) *ping.Result {
	t.Helper()
	res, err := ping.Run(context.Background(), ping.Config{Proto: proto, Target: guest, Port: port, Count: count, Interval: interval, Timeout: 2 * time.Second}, tr)
	require.NoError(t, err)
	s := res.Summary
	t.Logf("%s port %d: %d sent, %d good, %d lost, %d corrupt; min %v p50 %v p99 %v max %v mean %v",
		proto, port, s.Sent, s.Received, s.Lost, s.Corrupt, s.Min, s.P50, s.P99, s.Max, s.Mean)
	return res
}

// stats asks the echo environment for its counters (a datagram to port
// 9) over a socket in the namespace.
func stats(t *testing.T, n *NetNS) map[string]map[string]uint64 {
	t.Helper()
	var text string
	require.NoError(t, n.Do(func() error {
		c, err := net.DialUDP("udp4", nil, net.UDPAddrFromAddrPort(netip.AddrPortFrom(guest, 9)))
		if err != nil {
			return err
		}
		defer c.Close()
		buf := make([]byte, 2048)
		for try := 0; try < 5; try++ {
			c.Write([]byte("exo-stats"))
			c.SetReadDeadline(time.Now().Add(time.Second))
			if k, err := c.Read(buf); err == nil {
				text = string(buf[:k])
				return nil
			}
		}
		return fmt.Errorf("no answer to exo-stats")
	}))
	return parseStats(t, text)
}

// parseStats reads the echo environment's counter lines: a name, then
// (key, number) pairs.
func parseStats(t *testing.T, text string) map[string]map[string]uint64 {
	out := map[string]map[string]uint64{}
	for _, line := range strings.Split(strings.TrimSpace(text), "\n") {
		f := strings.Fields(line)
		name, kv := "env", f
		if len(f)%2 == 1 {
			name, kv = f[0], f[1:]
		}
		out[name] = map[string]uint64{}
		for i := 0; i+1 < len(kv); i += 2 {
			v, err := strconv.ParseUint(kv[i+1], 10, 64)
			require.NoError(t, err, line)
			out[name][kv[i]] = v
		}
	}
	return out
}

// TestNetTap: over a tap, the handlers answer ARP, 1000 ICMP echoes and
// UDP echo with byte-correct replies (exoping checks payloads and every
// checksum) while the environment sleeps; its ring answers the upcall
// port; iputils ping and fping see the same machine; and a ping flood and
// 100,000 malformed frames leave the kernel running and answering.
func TestNetTap(t *testing.T) {
	n := netNS(t)
	m := startEcho(t, echoManifest, n.Wrap(), n.TapArgs())

	before := stats(t, n)
	var icmp, udp7, udp9 *ping.Result
	require.NoError(t, n.Do(func() error {
		tr := &ping.Raw{}
		icmp = measure(t, tr, "icmp", 0, 1000, time.Millisecond)
		udp7 = measure(t, &ping.Raw{}, "udp", 7, 300, time.Millisecond)
		return nil
	}))
	after := stats(t, n)
	for _, r := range []*ping.Result{icmp, udp7} {
		require.Equal(t, r.Summary.Sent, r.Summary.Received, "every probe answered, intact")
	}
	require.Equal(t, before["env"]["wakeups"]+1, after["env"]["wakeups"], "the handlers answered without waking the environment (the second stats request woke it once)")
	require.Equal(t, before["icmp-echo"]["replies"]+1000, after["icmp-echo"]["replies"])
	require.Equal(t, before["udp:7"]["replies"]+300, after["udp:7"]["replies"])
	require.Equal(t, uint64(1), after["arp"]["replies"], "ARP answered exactly once, by the handler")

	require.NoError(t, n.Do(func() error {
		udp9 = measure(t, &ping.Raw{}, "udp", 9, 300, time.Millisecond)
		return nil
	}))
	require.Equal(t, 300, udp9.Summary.Received, "the upcall path answers too")

	// iputils ping and fping on the same target. The kernel must answer
	// every request they send; what the tools themselves count can lose
	// a reply on a loaded host (fping did, with every reply on the tap:
	// its counters and the tap's agreed), so their own figures are only
	// logged and checked loosely.
	mid := stats(t, n)
	out, err := n.Command("ping", "-c", "200", "-i", "0.005", "-q", GuestAddr).CombinedOutput()
	require.NoError(t, err, "%s", out)
	t.Logf("ping: %s", out)
	got := regexp.MustCompile(`200 packets transmitted, (\d+) received`).FindStringSubmatch(string(out))
	require.NotNil(t, got, "ping's summary")
	pingRTT := regexp.MustCompile(`= ([\d.]+)/([\d.]+)/([\d.]+)/`).FindStringSubmatch(string(out))
	require.NotNil(t, pingRTT)
	pmin, _ := strconv.ParseFloat(pingRTT[1], 64)
	sent := uint64(200)
	if _, err := exec.LookPath("fping"); err == nil {
		out, _ := n.Command("fping", "-c", "200", "-p", "5", "-q", GuestAddr).CombinedOutput()
		t.Logf("fping: %s", out)
		require.Regexp(t, `xmt/rcv/%loss = 200/(19\d|200)/`, string(out), "fping got (nearly) every reply")
		sent += 200
	}
	end := stats(t, n)
	require.Equal(t, sent, end["icmp-echo"]["replies"]-mid["icmp-echo"]["replies"], "the handler answered every request ping and fping sent")
	// The tools measure the same path: exoping's fastest round trip is
	// within reach of ping's.
	require.Less(t, float64(icmp.Summary.Min.Microseconds())/1000, 10*pmin+1, "exoping and ping disagree wildly")

	// A ping flood: bounded, and the machine keeps answering.
	out, err = n.Command("ping", "-f", "-c", "5000", "-q", GuestAddr).CombinedOutput()
	t.Logf("ping -f: %s (%v)", out, err)
	require.True(t, m.Running())

	// 100,000 malformed frames through the tap.
	garbage := malformed(t, n, 100000)
	t.Logf("sent %d malformed frames", garbage)
	require.True(t, m.Running(), "the kernel survived")
	require.NoError(t, n.Do(func() error {
		r := measure(t, &ping.Raw{}, "icmp", 0, 100, time.Millisecond)
		require.Equal(t, 100, r.Summary.Received, "still answering after the garbage")
		r = measure(t, &ping.Raw{}, "udp", 9, 50, time.Millisecond)
		require.Equal(t, 50, r.Summary.Received, "the environment still answers from its ring")
		return nil
	}))
	final := stats(t, n)
	t.Logf("counters after the garbage: %v", final)
	require.Zero(t, final["icmp-echo"]["refused"], "no handler reply was refused")
	require.NotContains(t, m.Console(), "BUG")
}

// malformed writes count broken frames into the tap from the namespace's
// side with a packet socket: truncated headers, wrong lengths, bad
// checksums, random bytes, for the guest's MAC and addresses.
func malformed(t *testing.T, n *NetNS, count int) int {
	t.Helper()
	rng := rand.New(rand.NewSource(1))
	var good []byte
	return inject(t, n, count, func(i int, src net.HardwareAddr) []byte {
		if good == nil {
			good = udpFrame(guestMAC, src, 9, []byte("a well-formed datagram"))
		}
		f := append([]byte(nil), good...)
		switch i % 6 {
		case 0: // truncated anywhere
			f = f[:14+rng.Intn(len(f)-14)]
		case 1: // IP total length wrong
			binary.BigEndian.PutUint16(f[16:], uint16(rng.Intn(65536)))
		case 2: // header checksum wrong
			f[24] ^= byte(1 + rng.Intn(255))
		case 3: // UDP length and checksum wrong
			binary.BigEndian.PutUint16(f[38:], uint16(rng.Intn(65536)))
			f[41] ^= 0x5a
		case 4: // random bytes after the Ethernet header
			rng.Read(f[14:])
		case 5: // random ethertype, version and protocol
			f[12], f[13], f[14], f[23] = byte(rng.Intn(256)), byte(rng.Intn(256)), byte(rng.Intn(256)), byte(rng.Intn(256))
		}
		return f
	})
}

// guestMAC is QEMU's default MAC for the guest's NIC.
var guestMAC = [6]byte{0x52, 0x54, 0x00, 0x12, 0x34, 0x56}

// inject writes count frames, frame(i, the tap's MAC) each, into the tap
// from the namespace's side with a packet socket, padded to Ethernet's
// minimum, and returns how many it wrote.
func inject(t *testing.T, n *NetNS, count int, frame func(i int, src net.HardwareAddr) []byte) int {
	t.Helper()
	sent := 0
	require.NoError(t, n.Do(func() error {
		ifi, err := net.InterfaceByName(n.Tap)
		if err != nil {
			return err
		}
		fd, err := syscall.Socket(syscall.AF_PACKET, syscall.SOCK_RAW, int(htons(syscall.ETH_P_ALL)))
		if err != nil {
			return err
		}
		defer syscall.Close(fd)
		to := &syscall.SockaddrLinklayer{Ifindex: ifi.Index, Halen: 6}
		copy(to.Addr[:], guestMAC[:])
		for i := 0; i < count; i++ {
			f := frame(i, ifi.HardwareAddr)
			if len(f) < 60 {
				f = append(f, make([]byte, 60-len(f))...)
			}
			// The tap queue fills faster than QEMU drains it; a
			// refused write is retried after a pause.
			for try := 0; ; try++ {
				if err := syscall.Sendto(fd, f, 0, to); err == nil {
					sent++
					break
				} else if try == 100 {
					return fmt.Errorf("frame %d: %w", i, err)
				}
				time.Sleep(time.Millisecond)
			}
		}
		return nil
	}))
	return sent
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// udpFrame is a correct UDP datagram from the namespace's host to the
// guest's port.
func udpFrame(dst [6]byte, src net.HardwareAddr, port uint16, payload []byte) []byte {
	f := make([]byte, 42+len(payload))
	copy(f[0:], dst[:])
	copy(f[6:], src)
	f[12] = 0x08
	ip := f[14:34]
	ip[0], ip[8], ip[9] = 0x45, 64, 17
	binary.BigEndian.PutUint16(ip[2:], uint16(28+len(payload)))
	copy(ip[12:], netip.MustParseAddr(HostAddr).AsSlice())
	copy(ip[16:], guest.AsSlice())
	var s uint32
	for i := 0; i < 20; i += 2 {
		s += uint32(ip[i])<<8 | uint32(ip[i+1])
	}
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	binary.BigEndian.PutUint16(ip[10:], ^uint16(s))
	binary.BigEndian.PutUint16(f[34:], 40000)
	binary.BigEndian.PutUint16(f[36:], port)
	binary.BigEndian.PutUint16(f[38:], uint16(8+len(payload)))
	copy(f[42:], payload)
	return f
}

// TestNetLyingFilter: an environment that binds every TCP port with a
// filter that accepts everything receives TCP, and never the echo
// environment's UDP and ICMP.
func TestNetLyingFilter(t *testing.T) {
	n := netNS(t)
	liar := strings.Replace(echoManifest, "env echo\n", "env echo\nenv echo arg=\"liar\"\n", 1)
	liar = strings.Replace(liar, "net env=echo ", "net env=echo@1 ", 1) + "net env=echo@2 guards=tcp\n"
	m := startEcho(t, liar, n.Wrap(), n.TapArgs())
	require.NoError(t, m.WaitFor("liar: bound", time.Minute))
	require.NoError(t, n.Do(func() error {
		for _, p := range []struct {
			proto string
			port  uint16
		}{{"icmp", 0}, {"udp", 7}, {"udp", 9}} {
			r := measure(t, &ping.Raw{}, p.proto, p.port, 20, 5*time.Millisecond)
			require.Equal(t, 20, r.Summary.Received, "%s %d: the bystander still gets its traffic", p.proto, p.port)
		}
		d := net.Dialer{Timeout: 300 * time.Millisecond}
		d.Dial("tcp4", GuestAddr+":80") // a SYN the liar may see (nothing answers it)
		return nil
	}))
	require.NoError(t, m.WaitFor("liar: received a frame: protocol 6, port 80", 30*time.Second), "the liar's own guard works")
	for _, l := range strings.Split(m.Console(), "\n") {
		if strings.Contains(l, "liar: received") {
			require.Contains(t, l, "protocol 6,", "the liar received another's frame")
		}
	}
}

// TestNetDgram: the no-root mode: exoping's dgram transport is QEMU's NIC
// peer, resolves the guest by ARP (answered by the handler) and measures
// both paths; QEMU's filter-dump writes a capture tcpdump reads.
func TestNetDgram(t *testing.T) {
	testtool.Path(t, Binary)
	qport, pport := freePort(t), freePort(t)
	tr, err := ping.ListenDgram(ping.DgramConfig{
		Local:  netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(pport)),
		Remote: netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(qport)),
	})
	require.NoError(t, err)
	defer tr.Close()
	pcap := filepath.Join(t.TempDir(), "exo.pcap")
	m := startEcho(t, echoManifest, nil, append(DgramArgs(qport, pport), CaptureArgs(pcap)...))
	for _, p := range []struct {
		proto string
		port  uint16
	}{{"icmp", 0}, {"udp", 7}, {"udp", 9}} {
		r := measure(t, tr, p.proto, p.port, 200, time.Millisecond)
		require.Equal(t, 200, r.Summary.Received, "%s %d", p.proto, p.port)
	}
	m.Stop()

	// The ICMP handler written in C (clang -target bpf) answers as well.
	startEcho(t, strings.Replace(echoManifest, "env echo\n", "env echo arg=\"icmp=c\"\n", 1), nil, DgramArgs(qport, pport))
	r := measure(t, tr, "icmp", 0, 100, time.Millisecond)
	require.Equal(t, 100, r.Summary.Received, "the C handler's replies are good")
	require.Equal(t, uint64(100), parseStats(t, askStats(t, tr))["icmp-echo"]["replies"])
	if _, err := exec.LookPath("tcpdump"); err == nil {
		out, err := exec.Command("tcpdump", "-nn", "-r", pcap).CombinedOutput()
		require.NoError(t, err, "%s", out)
		require.Contains(t, string(out), "ICMP echo reply")
		require.Contains(t, string(out), "ARP, Reply 198.18.0.2 is-at 52:54:00:12:34:56")
	}
}

// freePort returns a UDP port on 127.0.0.1 that was free a moment ago.
func freePort(t *testing.T) int {
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	require.NoError(t, err)
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// TestNetInstructions counts, under -icount (the hart's instruction
// counter exact), the kernel's instructions per echo on the ASH path:
// from taking the frame from the NIC to giving the buffer back,
// classification, lookup, handler and reply included (docs/NETWORK.md).
func TestNetInstructions(t *testing.T) {
	testtool.Path(t, Binary)
	qport, pport := freePort(t), freePort(t)
	tr, err := ping.ListenDgram(ping.DgramConfig{
		Local:  netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(pport)),
		Remote: netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(qport)),
	})
	require.NoError(t, err)
	defer tr.Close()
	startEcho(t, echoManifest, nil, append(DgramArgs(qport, pport), "-icount", "shift=0"))
	for _, p := range []struct {
		proto string
		port  uint16
	}{{"icmp", 0}, {"udp", 7}, {"udp", 9}} {
		r := measure(t, tr, p.proto, p.port, 100, time.Millisecond)
		require.Equal(t, 100, r.Summary.Received)
	}
	text := askStats(t, tr)
	st := parseStats(t, text)
	for _, b := range []string{"icmp-echo", "udp:7", "udp:9"} {
		s := st[b]
		require.NotZero(t, s["frames"], b)
		per := s["kinsns"] / s["frames"]
		t.Logf("%s: %d kernel instructions per frame (%d frames), handler %d", b, per, s["frames"], s["insns"]/s["frames"])
		require.NotZero(t, per, "%s: the counter counted", b)
		require.Less(t, per, uint64(20000), "%s: the receive path grew past its budget", b)
	}
}

// askStats sends exo-stats to port 9 through the dgram transport's own
// frames and returns the text answered.
func askStats(t *testing.T, tr *ping.Dgram) string {
	t.Helper()
	require.NoError(t, tr.Open(context.Background(), ping.Config{Proto: "udp", Target: guest, Port: 9, Count: 1, Size: 9}))
	for try := 0; try < 5; try++ {
		require.NoError(t, tr.Send(0, []byte("exo-stats")))
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		r, err := tr.Receive(ctx)
		cancel()
		if err == nil && strings.HasPrefix(string(r.Payload), "wakeups") {
			return string(r.Payload)
		}
	}
	t.Fatal("no answer to exo-stats")
	return ""
}
