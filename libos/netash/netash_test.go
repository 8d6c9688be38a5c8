package netash

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/exo-os/exo/ash"
	"github.com/exo-os/exo/kernel/abi"
)

var (
	myMAC  = [6]byte{0x52, 0x54, 0x00, 0x12, 0x34, 0x56}
	myIP   = [4]byte{198, 18, 0, 2}
	hisMAC = [6]byte{0x02, 0, 0, 0, 0, 1}
	hisIP  = [4]byte{198, 18, 0, 1}
)

func csum(b []byte, sum uint32) uint16 {
	for i := 0; i+1 < len(b); i += 2 {
		sum += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		sum += uint32(b[len(b)-1]) << 8
	}
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}

// ipFrame builds an Ethernet/IPv4 frame from him to me with payload l4
// (its checksum fields filled in by fill), and pad bytes of Ethernet
// padding after it.
func ipFrame(proto uint8, l4 []byte, pad int) []byte {
	f := make([]byte, 34+len(l4)+pad)
	copy(f[0:], myMAC[:])
	copy(f[6:], hisMAC[:])
	f[12], f[13] = 0x08, 0x00
	ip := f[14:34]
	ip[0], ip[8], ip[9] = 0x45, 64, proto
	binary.BigEndian.PutUint16(ip[2:], uint16(20+len(l4)))
	binary.BigEndian.PutUint16(ip[4:], 0x1234)
	copy(ip[12:], hisIP[:])
	copy(ip[16:], myIP[:])
	binary.BigEndian.PutUint16(ip[10:], csum(ip, 0))
	copy(f[34:], l4)
	return f
}

func icmpEcho(payload []byte) []byte {
	m := append([]byte{8, 0, 0, 0, 0x42, 0x42, 0, 7}, payload...)
	binary.BigEndian.PutUint16(m[2:], csum(m, 0))
	return m
}

func pseudo(src, dst [4]byte, proto uint8, n int) uint32 {
	var s uint32
	for _, a := range [][4]byte{src, dst} {
		s += (uint32(a[0])<<8 | uint32(a[1])) + (uint32(a[2])<<8 | uint32(a[3]))
	}
	return s + uint32(proto) + uint32(n)
}

func udpDatagram(sport, dport uint16, payload []byte, withSum bool) []byte {
	d := make([]byte, 8+len(payload))
	binary.BigEndian.PutUint16(d[0:], sport)
	binary.BigEndian.PutUint16(d[2:], dport)
	binary.BigEndian.PutUint16(d[4:], uint16(len(d)))
	copy(d[8:], payload)
	if withSum {
		c := csum(d, pseudo(hisIP, myIP, 17, len(d)))
		if c == 0 {
			c = 0xffff
		}
		binary.BigEndian.PutUint16(d[6:], c)
	}
	return d
}

// run verifies prog as an ASH and runs it on frame.
func run(t *testing.T, prog []ash.Instruction, frame []byte) (ash.Result, []byte) {
	t.Helper()
	// Within the kernel's budget for a bound program.
	p, err := ash.Verify(prog, ash.Config{Type: ash.TypeASH, MaxSteps: abi.NetVerifySteps})
	require.NoError(t, err)
	require.LessOrEqual(t, len(prog), abi.MaxNetProgram)
	reply := make([]byte, ash.DefaultReplySize)
	res, err := ash.NewMachine().Run(p, &ash.Input{Packet: frame, Reply: reply})
	require.NoError(t, err)
	if res.ReplyLen < 0 {
		return res, nil
	}
	return res, reply[:res.ReplyLen]
}

// swapped is the reference echo: addresses swapped, edit applied to the
// transport header.
func swapped(req []byte, ipLen int, edit func(l4 []byte)) []byte {
	r := bytes.Clone(req[:14+ipLen])
	copy(r[0:6], req[6:12])
	copy(r[6:12], req[0:6])
	copy(r[26:30], req[30:34])
	copy(r[30:34], req[26:30])
	edit(r[34:])
	return r
}

func TestICMPEcho(t *testing.T) {
	prog := ICMPEcho()
	for _, tc := range []struct {
		name    string
		payload []byte
		pad     int
	}{
		{"56 bytes", bytes.Repeat([]byte{0xa5}, 56), 0},
		{"empty, padded to 60", nil, 18},
		{"odd length", []byte{1, 2, 3}, 0},
		{"largest", bytes.Repeat([]byte{7}, 1472), 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := icmpEcho(tc.payload)
			req := ipFrame(1, m, tc.pad)
			res, reply := run(t, prog, req)
			require.Equal(t, uint64(ash.RetConsumed), res.R0)
			want := swapped(req, 20+len(m), func(l4 []byte) {
				l4[0] = 0
				l4[2], l4[3] = 0, 0
				binary.BigEndian.PutUint16(l4[2:], csum(l4, 0))
			})
			require.Equal(t, want, reply)
			require.Zero(t, csum(reply[14:34], 0), "IP header checksum")
			require.Zero(t, csum(reply[34:], 0), "ICMP checksum")
		})
	}
	good := ipFrame(1, icmpEcho([]byte("hello")), 0)
	for _, tc := range []struct {
		name string
		f    []byte
	}{
		{"bad icmp checksum", func() []byte { f := bytes.Clone(good); f[40] ^= 1; return f }()},
		{"echo reply", func() []byte { m := icmpEcho(nil); m[0] = 0; return ipFrame(1, m, 0) }()},
		{"ip options", func() []byte { f := bytes.Clone(good); f[14] = 0x46; return f }()},
		{"fragment", func() []byte { f := bytes.Clone(good); f[20] = 0x20; return f }()},
		{"ip length past frame", func() []byte { f := bytes.Clone(good); f[17] += 4; return f }()},
		{"ip length below header", func() []byte { f := bytes.Clone(good); f[16], f[17] = 0, 20; return f }()},
		{"truncated", good[:40]},
		{"udp", ipFrame(17, udpDatagram(1, 7, nil, false), 0)},
		{"oversized", make([]byte, ash.DefaultReplySize+1)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, reply := run(t, prog, tc.f)
			require.Equal(t, uint64(ash.RetPass), res.R0)
			require.Nil(t, reply)
		})
	}
}

func TestUDPEcho(t *testing.T) {
	prog := UDPEcho()
	for _, tc := range []struct {
		name    string
		payload []byte
		sum     bool
		pad     int
	}{
		{"with checksum", []byte("exo echo"), true, 0},
		{"without checksum", []byte("exo echo"), false, 0},
		{"empty, padded", nil, true, 18},
		{"odd", []byte{9}, true, 0},
		{"largest", bytes.Repeat([]byte{3}, 1472), true, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := udpDatagram(40000, 7, tc.payload, tc.sum)
			req := ipFrame(17, d, tc.pad)
			res, reply := run(t, prog, req)
			require.Equal(t, uint64(ash.RetConsumed), res.R0)
			want := swapped(req, 20+len(d), func(l4 []byte) {
				copy(l4[0:2], d[2:4])
				copy(l4[2:4], d[0:2])
			})
			require.Equal(t, want, reply)
			if tc.sum {
				require.Zero(t, csum(reply[34:], pseudo(myIP, hisIP, 17, len(d))), "UDP checksum of the reply")
			}
		})
	}
	good := ipFrame(17, udpDatagram(40000, 7, []byte("abc"), true), 0)
	for _, tc := range []struct {
		name string
		f    []byte
	}{
		{"bad udp checksum", func() []byte { f := bytes.Clone(good); f[len(f)-1] ^= 1; return f }()},
		{"udp length too long", func() []byte { f := bytes.Clone(good); f[39]++; return f }()},
		{"udp length too short", func() []byte { f := bytes.Clone(good); f[39]--; return f }()},
		{"tcp", ipFrame(6, make([]byte, 20), 0)},
		{"truncated", good[:41]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, reply := run(t, prog, tc.f)
			require.Equal(t, uint64(ash.RetPass), res.R0)
			require.Nil(t, reply)
		})
	}
}

func arpFrame(oper uint16, target [4]byte) []byte {
	f := make([]byte, 42)
	copy(f[0:], []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	copy(f[6:], hisMAC[:])
	f[12], f[13] = 0x08, 0x06
	a := f[14:]
	binary.BigEndian.PutUint16(a[0:], 1)
	binary.BigEndian.PutUint16(a[2:], 0x0800)
	a[4], a[5] = 6, 4
	binary.BigEndian.PutUint16(a[6:], oper)
	copy(a[8:], hisMAC[:])
	copy(a[14:], hisIP[:])
	copy(a[24:], target[:])
	return f
}

func TestARPReply(t *testing.T) {
	prog := ARPReply(myMAC, myIP)
	res, reply := run(t, prog, arpFrame(1, myIP))
	require.Equal(t, uint64(ash.RetConsumed), res.R0)
	want := make([]byte, 60)
	copy(want[0:], hisMAC[:])
	copy(want[6:], myMAC[:])
	want[12], want[13] = 0x08, 0x06
	a := want[14:]
	binary.BigEndian.PutUint16(a[0:], 1)
	binary.BigEndian.PutUint16(a[2:], 0x0800)
	a[4], a[5] = 6, 4
	binary.BigEndian.PutUint16(a[6:], 2)
	copy(a[8:], myMAC[:])
	copy(a[14:], myIP[:])
	copy(a[18:], hisMAC[:])
	copy(a[24:], hisIP[:])
	require.Equal(t, want, reply)

	for _, tc := range []struct {
		name string
		f    []byte
	}{
		{"for another address", arpFrame(1, [4]byte{198, 18, 0, 3})},
		{"a reply", arpFrame(2, myIP)},
		{"truncated", arpFrame(1, myIP)[:41]},
		{"wrong hardware", func() []byte { f := arpFrame(1, myIP); f[15] = 6; return f }()},
		{"ipv4 frame", ipFrame(1, icmpEcho(nil), 0)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, reply := run(t, prog, tc.f)
			require.Equal(t, uint64(ash.RetPass), res.R0)
			require.Nil(t, reply)
		})
	}
}

// TestNoStaleReplyBytes: the handlers build the reply from the packet
// alone, so two runs over different packets do not share bytes beyond
// what the kernel's zeroing gives (the ARP pad) — checked by running over
// a reply buffer full of garbage and comparing with a zeroed one.
func TestNoStaleReplyBytes(t *testing.T) {
	for _, tc := range []struct {
		name string
		prog []ash.Instruction
		f    []byte
	}{
		{"icmp", ICMPEcho(), ipFrame(1, icmpEcho([]byte("x")), 0)},
		{"udp", UDPEcho(), ipFrame(17, udpDatagram(1, 7, []byte("y"), true), 0)},
	} {
		p, err := ash.Verify(tc.prog, ash.Config{Type: ash.TypeASH})
		require.NoError(t, err)
		dirty := bytes.Repeat([]byte{0xee}, ash.DefaultReplySize)
		clean := make([]byte, ash.DefaultReplySize)
		m := ash.NewMachine()
		r1, err := m.Run(p, &ash.Input{Packet: tc.f, Reply: dirty})
		require.NoError(t, err)
		r2, err := m.Run(p, &ash.Input{Packet: tc.f, Reply: clean})
		require.NoError(t, err)
		require.Equal(t, clean[:r2.ReplyLen], dirty[:r1.ReplyLen], tc.name)
	}
}
