package demux

import (
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/exo-os/exo/caps"
)

var (
	local = Local{Addr: [4]byte{198, 18, 0, 2}, Broadcast: [4]byte{198, 18, 0, 255}}
	mac   = [6]byte{0x52, 0x54, 0, 0x12, 0x34, 0x56}
	peer  = [6]byte{2, 0, 0, 0, 0, 1}
)

// ipv4 builds an Ethernet frame carrying an IPv4 packet from 198.18.0.1
// to dst with protocol proto and payload l4, with a correct header
// checksum; edit can change the header before the checksum is set.
func ipv4(dst [4]byte, proto uint8, l4 []byte, edit func(ip []byte)) []byte {
	f := make([]byte, 14+20+len(l4))
	copy(f[0:6], mac[:])
	copy(f[6:12], peer[:])
	binary.BigEndian.PutUint16(f[12:], EtherIPv4)
	ip := f[14:]
	ip[0], ip[8], ip[9] = 0x45, 64, proto
	binary.BigEndian.PutUint16(ip[2:], uint16(20+len(l4)))
	copy(ip[12:16], []byte{198, 18, 0, 1})
	copy(ip[16:20], dst[:])
	copy(ip[20:], l4)
	if edit != nil {
		edit(ip)
	}
	binary.BigEndian.PutUint16(ip[10:], checksum(ip[:min(int(ip[0]&15)*4, len(ip))]))
	return f
}

func arp(oper uint16, target [4]byte) []byte {
	f := make([]byte, 42)
	copy(f[0:6], []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	copy(f[6:12], peer[:])
	binary.BigEndian.PutUint16(f[12:], EtherARP)
	a := f[14:]
	binary.BigEndian.PutUint16(a[0:], 1)
	binary.BigEndian.PutUint16(a[2:], EtherIPv4)
	a[4], a[5] = 6, 4
	binary.BigEndian.PutUint16(a[6:], oper)
	copy(a[8:14], peer[:])
	copy(a[14:18], []byte{198, 18, 0, 1})
	copy(a[24:28], target[:])
	return f
}

func udp(src, dst uint16, n int) []byte {
	b := make([]byte, 8+n)
	binary.BigEndian.PutUint16(b[0:], src)
	binary.BigEndian.PutUint16(b[2:], dst)
	binary.BigEndian.PutUint16(b[4:], uint16(8+n))
	return b
}

func TestClassify(t *testing.T) {
	me := local.Addr
	for _, tc := range []struct {
		name  string
		f     []byte
		ti    int
		key   uint64
		whole bool
		ok    bool
	}{
		{"udp to port 7", ipv4(me, ProtoUDP, udp(5000, 7, 10), nil), TableUDP, caps.PortName(0x0800, 17, 7), false, true},
		{"tcp to port 80", ipv4(me, ProtoTCP, udp(5000, 80, 12), nil), TableTCP, caps.PortName(0x0800, 6, 80), false, true},
		{"icmp echo", ipv4(me, ProtoICMP, []byte{8, 0, 0, 0, 0, 1, 0, 1}, nil), TableICMP, caps.PortName(0x0800, 1, 8), false, true},
		{"subnet broadcast", ipv4(local.Broadcast, ProtoUDP, udp(68, 67, 0), nil), TableUDP, caps.PortName(0x0800, 17, 67), false, true},
		{"limited broadcast", ipv4([4]byte{255, 255, 255, 255}, ProtoUDP, udp(68, 67, 0), nil), TableUDP, caps.PortName(0x0800, 17, 67), false, true},
		{"ip options", ipv4(me, ProtoUDP, append([]byte{1, 1, 1, 0}, udp(1, 9, 0)...), func(ip []byte) { ip[0] = 0x46 }), TableUDP, caps.PortName(0x0800, 17, 9), false, true},
		{"later fragment", ipv4(me, ProtoUDP, make([]byte, 16), func(ip []byte) { ip[7] = 1 }), TableUDP, caps.PortName(0x0800, 17, 0), true, true},
		{"first fragment", ipv4(me, ProtoUDP, udp(1, 7, 8), func(ip []byte) { ip[6] = 0x20 }), TableUDP, caps.PortName(0x0800, 17, 7), false, true},
		{"arp request", arp(1, me), TableARP, caps.PortName(0x0806, 0, 1), false, true},
		{"arp reply", arp(2, me), TableARP, caps.PortName(0x0806, 0, 2), false, true},

		{"another address", ipv4([4]byte{198, 18, 0, 3}, ProtoUDP, udp(1, 7, 0), nil), 0, 0, false, false},
		{"arp for another", arp(1, [4]byte{198, 18, 0, 3}), 0, 0, false, false},
		{"bad checksum", func() []byte { f := ipv4(me, ProtoUDP, udp(1, 7, 0), nil); f[24] ^= 1; return f }(), 0, 0, false, false},
		{"total length past frame", ipv4(me, ProtoUDP, udp(1, 7, 0), func(ip []byte) { ip[3] += 1 }), 0, 0, false, false},
		{"ihl below 5", ipv4(me, ProtoUDP, udp(1, 7, 0), func(ip []byte) { ip[0] = 0x44 }), 0, 0, false, false},
		{"ihl past total", ipv4(me, ProtoUDP, udp(1, 7, 0), func(ip []byte) { ip[0] = 0x4f }), 0, 0, false, false},
		{"ipv6 version", ipv4(me, ProtoUDP, udp(1, 7, 0), func(ip []byte) { ip[0] = 0x65 }), 0, 0, false, false},
		{"udp header cut", ipv4(me, ProtoUDP, []byte{0, 1, 0}, nil), 0, 0, false, false},
		{"icmp empty", ipv4(me, ProtoICMP, nil, nil), 0, 0, false, false},
		{"other protocol", ipv4(me, 89, udp(1, 7, 0), nil), 0, 0, false, false},
		{"short arp", arp(1, me)[:41], 0, 0, false, false},
		{"runt", make([]byte, 13), 0, 0, false, false},
		{"ipv6 ethertype", append(make([]byte, 12), 0x86, 0xdd, 0x60), 0, 0, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ti, key, whole, ok := Classify(tc.f, &local)
			require.Equal(t, tc.ok, ok)
			if ok {
				require.Equal(t, tc.ti, ti)
				require.Equal(t, tc.key, key, "%#x", key)
				require.Equal(t, tc.whole, whole)
			}
		})
	}
}

func port(p uint16) uint64 { return caps.PortName(0x0800, 17, p) }

func TestIndexOverlaps(t *testing.T) {
	x := New()
	require.NoError(t, x.Add(port(7), port(7), 1))
	require.NoError(t, x.Add(port(100), port(199), 2))
	for _, tc := range []struct {
		name   string
		lo, hi uint64
		err    error
	}{
		{"same port", port(7), port(7), ErrOverlap},
		{"range over a single", port(0), port(8), ErrOverlap},
		{"whole table over a single", port(0), port(0xffff), ErrOverlap},
		{"single inside a range", port(150), port(150), ErrOverlap},
		{"range across a range", port(199), port(300), ErrOverlap},
		{"across tables", caps.PortName(0x0800, 6, 0xffff), port(1), ErrShape},
		{"outside every table", caps.PortName(0x86dd, 0, 0), caps.PortName(0x86dd, 0, 0), ErrShape},
		{"reversed", port(9), port(8), ErrShape},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.ErrorIs(t, x.Add(tc.lo, tc.hi, 9), tc.err)
		})
	}
	require.Equal(t, ID(1), x.Lookup(TableUDP, port(7), false))
	require.Equal(t, ID(2), x.Lookup(TableUDP, port(150), false))
	require.Equal(t, ID(0), x.Lookup(TableUDP, port(8), false))
	require.Equal(t, ID(0), x.Lookup(TableTCP, caps.PortName(0x0800, 6, 7), false), "the same port in another table")
	require.Equal(t, ID(0), x.Lookup(TableUDP, port(0), true), "a fragment needs a whole-table guard")
	require.Equal(t, ID(0), x.Lookup(TableUDP, caps.PortName(0x0800, 6, 7), false), "a name outside the table")
	require.Equal(t, ID(0), x.Lookup(-1, port(7), false))

	// Removing frees exactly the guard; the block counts follow.
	x.Remove(port(7), port(7))
	require.Equal(t, ID(0), x.Lookup(TableUDP, port(7), false))
	require.NoError(t, x.Add(port(0), port(99), 3))
	require.Equal(t, ID(3), x.Lookup(TableUDP, port(7), false))
	x.Remove(port(0), port(99))
	x.Remove(port(100), port(199))
	require.NoError(t, x.Add(port(0), port(0xffff), 4))
	require.Equal(t, ID(4), x.Lookup(TableUDP, port(0), true))
	require.Equal(t, ID(4), x.Lookup(TableUDP, port(65535), false))

	// Multi-name guards are bounded per table.
	y := New()
	for i := 0; i < MaxRanges; i++ {
		require.NoError(t, y.Add(port(uint16(10*i)), port(uint16(10*i+1)), ID(i+1)))
	}
	require.ErrorIs(t, y.Add(port(1000), port(1001), 99), ErrRanges)
}

// TestThousandGuards binds 1000 single-port guards and checks that each
// port reaches its own binding and the ports between none.
func TestThousandGuards(t *testing.T) {
	x := New()
	for i := 0; i < 1000; i++ {
		require.NoError(t, x.Add(port(uint16(2*i)), port(uint16(2*i)), ID(i+1)))
	}
	for i := 0; i < 1000; i++ {
		require.Equal(t, ID(i+1), x.Lookup(TableUDP, port(uint16(2*i)), false))
		require.Equal(t, ID(0), x.Lookup(TableUDP, port(uint16(2*i+1)), false))
	}
	require.ErrorIs(t, x.Add(port(0), port(1999), 5000), ErrOverlap)
	require.NoError(t, x.Add(port(2001), port(60000), 5000))
}

func TestSourceAndClaims(t *testing.T) {
	reply := func(edit func(f []byte)) []byte {
		f := ipv4([4]byte{198, 18, 0, 1}, ProtoUDP, udp(7, 5000, 4), func(ip []byte) {
			copy(ip[12:16], local.Addr[:])
			copy(ip[16:20], []byte{198, 18, 0, 1})
		})
		copy(f[6:12], mac[:])
		if edit != nil {
			edit(f)
		}
		return f
	}
	ti, name, whole, ok := Source(reply(nil), mac, &local)
	require.True(t, ok)
	require.Equal(t, TableUDP, ti)
	require.Equal(t, port(7), name)
	require.True(t, Claims(TableUDP, port(7), port(7), ti, name, whole))
	require.False(t, Claims(TableUDP, port(8), port(9), ti, name, whole), "another port")
	require.False(t, Claims(TableTCP, caps.PortName(0x0800, 6, 7), caps.PortName(0x0800, 6, 7), ti, name, whole), "another table")

	for _, tc := range []struct {
		name string
		edit func(f []byte)
	}{
		{"another MAC", func(f []byte) { f[11] ^= 1 }},
		{"another IP", func(f []byte) { f[14+15] ^= 1 }},
		{"truncated", func(f []byte) { f[14+3] = 0xff }},
	} {
		_, _, _, ok := Source(reply(tc.edit), mac, &local)
		require.False(t, ok, tc.name)
	}
	a := arp(2, [4]byte{198, 18, 0, 1})
	copy(a[6:12], mac[:])
	copy(a[14+8:14+14], mac[:])
	copy(a[14+14:14+18], local.Addr[:])
	ti, name, whole, ok = Source(a, mac, &local)
	require.True(t, ok)
	require.True(t, Claims(TableARP, caps.PortName(0x0806, 0, 0), caps.PortName(0x0806, 0, 0xffff), ti, name, whole))
	a[14+17] ^= 1 // claims another's IPv4 address
	_, _, _, ok = Source(a, mac, &local)
	require.False(t, ok)
}

func TestNoAllocs(t *testing.T) {
	x := New()
	require.NoError(t, x.Add(port(7), port(7), 1))
	f := ipv4(local.Addr, ProtoUDP, udp(5000, 7, 32), nil)
	n := testing.AllocsPerRun(1000, func() {
		ti, name, whole, _ := Classify(f, &local)
		x.Lookup(ti, name, whole)
		Source(f, mac, &local)
	})
	require.Zero(t, n)
}

// BenchmarkDemux is classification and lookup with 1 to 1000 single-port
// guards bound (and one range guard): the cost must not grow with them.
func BenchmarkDemux(b *testing.B) {
	for _, n := range []int{1, 10, 100, 1000} {
		b.Run(fmt.Sprintf("guards=%d", n), func(b *testing.B) {
			x := New()
			for i := 0; i < n; i++ {
				if err := x.Add(port(uint16(10+i)), port(uint16(10+i)), ID(i+1)); err != nil {
					b.Fatal(err)
				}
			}
			f := ipv4(local.Addr, ProtoUDP, udp(5000, uint16(10+n-1), 32), nil)
			b.ReportAllocs()
			for b.Loop() {
				ti, name, whole, _ := Classify(f, &local)
				if x.Lookup(ti, name, whole) == 0 {
					b.Fatal("missed")
				}
			}
		})
	}
}

// FuzzClassify: no frame makes Classify or Source panic, and a frame
// Classify names lies in the table it names.
func FuzzClassify(f *testing.F) {
	f.Add(ipv4(local.Addr, ProtoUDP, udp(1, 7, 3), nil))
	f.Add(ipv4(local.Addr, ProtoICMP, []byte{8, 0, 0, 0}, nil))
	f.Add(arp(1, local.Addr))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, frame []byte) {
		ti, name, whole, ok := Classify(frame, &local)
		if ok {
			if g := Table(name, name); g != ti {
				t.Fatalf("name %#x in table %d, Classify said %d", name, g, ti)
			}
			_ = whole
		}
		Source(frame, mac, &local)
	})
}
