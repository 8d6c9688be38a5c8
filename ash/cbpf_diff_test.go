package ash

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/net/bpf"

	"github.com/exo-os/exo/internal/testtool"
)

// pcapExprs are the filter expressions of the differential test against
// libpcap. Each is compiled by tcpdump -dd, translated, verified, run over the
// test capture, and compared frame by frame with tcpdump -r's own matches.
var pcapExprs = []string{
	"arp", "rarp", "ip", "ip6", "icmp", "icmp[icmptype] == icmp-echo", "udp", "tcp",
	"udp port 53", "tcp port 80", "tcp dst port 443", "udp src port 4000", "port 53",
	"portrange 5000-5100", "tcp portrange 1-1023", "udp dst portrange 5050-65535",
	"host 10.0.0.1", "src host 10.0.0.2", "dst host 192.168.1.7", "net 10.0.0.0/8",
	"src net 192.168.0.0/16", "not net 172.16.0.0/12", "ip multicast", "ip proto 47",
	"vlan", "vlan 100", "vlan and udp port 53", "vlan and vlan", "vlan and ip6",
	"ip6 and tcp", "ip6 and udp port 53", "icmp6", "ip6 host fe80::1", "ip6 dst host fe80::2",
	"ip6[6] == 44",
	"ip[6:2] & 0x1fff != 0", "ip[6] & 0x20 != 0", "ip[0] & 0xf > 5", "ip[8] < 10 and udp",
	"tcp[13] & 2 != 0", "tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn", "tcp[13] & 4 != 0",
	"tcp[((tcp[12:1] & 0xf0) >> 2):4] = 0x47455420", "tcp and (tcp[0:2] > 1024 and tcp[2:2] < 1024)",
	"udp[8:4] = 0x12345678", "ip[2:2] > 100",
	"ether broadcast", "ether multicast", "ether host 02:00:00:00:00:0a", "ether src 02:00:00:00:00:0b",
	"ether proto 0x88cc", "ether[12:2] = 0x0806", "ether[0] & 1 = 1",
	"len > 100", "greater 100", "less 64", "len >= 60 and len <= 1000", "len - 14 > 200",
	"ip and not tcp and not udp", "tcp port 80 or udp port 53 or arp", "udp port 67 or udp port 68",
	"ip host 10.0.0.1 and not port 22",
	"ip[1] << (ip[0] & 0x3f) != 0", "ip[2:2] / ip[8] > 10", "ip[2:2] % ip[9] > 3",
	"ip[1] >> (ip[8] & 0x3f) > 1", "ip[1] * 3 - ip[8] > 50", "-ip[8] + 300 > 250",
	"ip[1] ^ ip[8] | 1 = 33",
}

func TestCBPFDifferentialLibpcap(t *testing.T) {
	tcpdump := testtool.Path(t, "tcpdump")
	dir := t.TempDir()
	capture := filepath.Join(dir, "capture.pcap")
	frames := testFrames()
	require.NoError(t, writePcap(capture, frames))
	m := NewMachine()
	matched := 0
	for _, expr := range pcapExprs {
		t.Run(expr, func(t *testing.T) {
			// -dd against the capture itself: compiled for its link type
			// (EN10MB) without needing an interface.
			dd, err := exec.Command(tcpdump, "-r", capture, "-dd", expr).Output()
			require.NoError(t, err, "tcpdump -dd %q", expr)
			ddd, err := exec.Command(tcpdump, "-r", capture, "-ddd", expr).Output()
			require.NoError(t, err, "tcpdump -ddd %q", expr)
			c1, err := ParseTcpdump(string(dd))
			require.NoError(t, err)
			c2, err := ParseTcpdump(string(ddd))
			require.NoError(t, err)
			require.Equal(t, c1, c2, "-dd and -ddd disagree")

			prog, err := ImportCBPF(string(dd))
			require.NoError(t, err, "import of\n%s", dd)

			out := filepath.Join(dir, "out.pcap")
			cmd := exec.Command(tcpdump, "-r", capture, "-w", out, expr)
			msg, err := cmd.CombinedOutput()
			require.NoError(t, err, "tcpdump -r -w: %s", msg)
			want, err := readPcapIndexes(out)
			require.NoError(t, err)
			wantSet := map[int]bool{}
			for _, i := range want {
				wantSet[i] = true
			}

			// x/net/bpf as a second opinion on frames captured whole (its VM
			// has no separate wire length).
			var raw []bpf.RawInstruction
			for _, c := range c1 {
				raw = append(raw, bpf.RawInstruction{Op: c.Code, Jt: c.Jt, Jf: c.Jf, K: c.K})
			}
			insns, _ := bpf.Disassemble(raw)
			vm, vmErr := bpf.NewVM(insns)

			var mismatches []string
			for i, f := range frames {
				res, err := m.Run(prog, &Input{Packet: f.data, WireLen: f.wireLen})
				require.NoError(t, err, "frame %d", i)
				got := res.R0 != 0
				if got != wantSet[i] {
					mismatches = append(mismatches, fmt.Sprintf("frame %d: ash=%v libpcap=%v", i, got, wantSet[i]))
				}
				if vmErr == nil && len(f.data) == f.wireLen {
					n, err := vm.Run(f.data)
					if err == nil {
						assert.Equal(t, n != 0, got, "x/net/bpf disagrees on frame %d", i)
					}
				}
				if got {
					matched++
				}
			}
			assert.Empty(t, mismatches, "program:\n%s", DisassembleListing(prog.Instructions()))
		})
	}
	t.Logf("%d expressions x %d frames, %d matches", len(pcapExprs), len(frames), matched)
}

func TestCBPFRejectsLoop(t *testing.T) {
	tcpdump := testtool.Path(t, "tcpdump")
	dd, err := exec.Command(tcpdump, "-y", "EN10MB", "-dd", "ip6 protochain 17").Output()
	require.NoError(t, err)
	_, err = ImportCBPF(string(dd))
	assert.ErrorContains(t, err, "backward jump")
}
