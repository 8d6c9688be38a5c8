package manifest

import (
	"net/netip"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/exo-os/exo/caps"
)

func TestNetLines(t *testing.T) {
	m, err := Parse(`exo-manifest v1
env echo
env hello
net address=198.18.0.2/24
net env=echo guards=arp,icmp-echo,udp:7,udp:9000-9001
net env=hello guards=tcp:80
`)
	require.NoError(t, err)
	require.Equal(t, netip.MustParseAddr("198.18.0.2"), m.Net.Addr)
	require.Equal(t, 24, m.Net.PrefixLen)
	udp := func(lo, hi uint16) Guard { return Guard{caps.PortName(0x0800, 17, lo), caps.PortName(0x0800, 17, hi)} }
	require.Equal(t, []Guard{
		{caps.PortName(0x0806, 0, 0), caps.PortName(0x0806, 0, 0xffff)},
		{caps.PortName(0x0800, 1, 8), caps.PortName(0x0800, 1, 8)},
		udp(7, 7), udp(9000, 9001),
	}, m.Guards(0))
	require.Equal(t, []Guard{{caps.PortName(0x0800, 6, 80), caps.PortName(0x0800, 6, 80)}}, m.Guards(1))
	for _, g := range append(m.Guards(0), m.Guards(1)...) {
		back, err := ParseGuard(g.String())
		require.NoError(t, err)
		require.Equal(t, g, back, g.String())
	}
}

func TestNetNumberedEnv(t *testing.T) {
	m, err := Parse("exo-manifest v1\nenv a\nenv b\nenv a arg=\"2\"\nnet address=10.0.0.1/8\nnet env=a@2 guards=tcp\nnet env=a@1 guards=udp\n")
	require.NoError(t, err)
	require.Len(t, m.Guards(2), 1)
	require.Equal(t, "tcp", m.Guards(2)[0].String())
	require.Equal(t, "udp", m.Guards(0)[0].String())
	require.Empty(t, m.Guards(1))
}

func TestNetLineErrors(t *testing.T) {
	for _, tc := range []struct{ name, text, want string }{
		{"overlap across envs", "env a\nenv b\nnet address=10.0.0.1/8\nnet env=a guards=udp\nnet env=b guards=udp:53", "line 6: guard udp:53 overlaps guard udp given on line 5"},
		{"overlap in a line", "env a\nnet address=10.0.0.1/8\nnet env=a guards=icmp,icmp-echo", "overlaps"},
		{"no address", "env a\nnet env=a guards=arp", "no net address"},
		{"unknown env", "env a\nnet address=10.0.0.1/8\nnet env=b guards=arp", "no env line runs that image"},
		{"ambiguous env", "env a\nenv a\nnet address=10.0.0.1/8\nnet env=a guards=arp", "more than one env line"},
		{"numbered past the last", "env a\nenv a\nnet address=10.0.0.1/8\nnet env=a@3 guards=arp", "only 2 env lines run a"},
		{"numbered from zero", "env a\nnet address=10.0.0.1/8\nnet env=a@0 guards=arp", "IMAGE@N"},
		{"bad guard", "env a\nnet address=10.0.0.1/8\nnet env=a guards=sctp:1", `guard "sctp:1"`},
		{"bad range", "env a\nnet address=10.0.0.1/8\nnet env=a guards=udp:9-7", "LO <= HI"},
		{"bad port", "env a\nnet address=10.0.0.1/8\nnet env=a guards=udp:65536", "ports 0..65535"},
		{"ipv6", "env a\nnet address=fe80::1/64", "IPv4 address"},
		{"no prefix", "env a\nnet address=10.0.0.1", "IPv4 address"},
		{"address twice", "env a\nnet address=10.0.0.1/8\nnet address=10.0.0.2/8", "set twice"},
		{"unknown key", "env a\nnet colour=blue", "want net address"},
		{"too many", "env a\nnet address=10.0.0.1/8\nnet env=a guards=udp:1,udp:2,udp:3,udp:4,udp:5,udp:6,udp:7,udp:8,udp:9", "at most 8"},
		{"too many over lines", "env a\nnet address=10.0.0.1/8\nnet env=a guards=udp:1,udp:2,udp:3,udp:4,udp:5\nnet env=a guards=udp:6,udp:7,udp:8,udp:9", "more than 8 guards"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("exo-manifest v1\n" + tc.text + "\n")
			require.ErrorContains(t, err, tc.want)
		})
	}
}
