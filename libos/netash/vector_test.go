package netash

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/exo-os/exo/ash"
	"github.com/exo-os/exo/kernel/abi"
	"github.com/exo-os/exo/libos/net/vector"
)

const vecPort = 5000

// vecRig is a UDPVector handler, verified as the kernel verifies it, and
// its message buffer read through a vector.Ring.
type vecRig struct {
	t     testing.TB
	p     *ash.Program
	m     *ash.Machine
	msg   []byte
	ring  *vector.Ring
	reply []byte
}

func newVecRig(t testing.TB, slots int) *vecRig {
	t.Helper()
	prog := UDPVector(vecPort, slots)
	require.LessOrEqual(t, len(prog), abi.MaxNetProgram)
	size := vector.Size(slots)
	p, err := ash.Verify(prog, ash.Config{Type: ash.TypeASH, MsgSize: size, MaxSteps: abi.NetVerifySteps})
	require.NoError(t, err)
	msg := make([]byte, size)
	r, err := vector.New(msg, slots)
	require.NoError(t, err)
	return &vecRig{t: t, p: p, m: ash.NewMachine(), msg: msg, ring: r, reply: make([]byte, ash.DefaultReplySize)}
}

// run runs the handler on frame and returns its result; the handler must
// not fault.
func (v *vecRig) run(frame []byte) uint64 {
	res, err := v.m.Run(v.p, &ash.Input{Packet: frame, Reply: v.reply, Msg: v.msg})
	require.NoError(v.t, err)
	require.Equal(v.t, -1, res.ReplyLen, "the handler never replies")
	return res.R0
}

func (v *vecRig) prod() uint32 { return binary.LittleEndian.Uint32(v.msg[vector.OffProd:]) }

func udpFrame(sport uint16, payload []byte, withSum bool) []byte {
	return ipFrame(17, udpDatagram(sport, vecPort, payload, withSum), 0)
}

var hisAddr = netip.AddrFrom4(hisIP)

// TestUDPVector: datagrams the handler takes reach the ring with their
// payload and source, in order, past the slot count's wrap, each with
// RetWake; what the ring reads is exactly what was sent.
func TestUDPVector(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	payload := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return b
	}
	for _, tc := range []struct {
		name  string
		frame func(i int) ([]byte, []byte) // frame, payload
	}{
		{"with checksum", func(i int) ([]byte, []byte) { p := payload(i * 37 % 200); return udpFrame(uint16(1000+i), p, true), p }},
		{"zero checksum accepted", func(i int) ([]byte, []byte) { p := payload(i); return udpFrame(uint16(1000+i), p, false), p }},
		{"empty payload", func(i int) ([]byte, []byte) { return udpFrame(uint16(1000+i), nil, true), []byte{} }},
		{"largest payload", func(i int) ([]byte, []byte) {
			p := payload(vector.MaxPayload)
			return udpFrame(uint16(1000+i), p, true), p
		}},
		{"Ethernet padding not copied", func(i int) ([]byte, []byte) {
			p := payload(i % 5)
			return ipFrame(17, udpDatagram(uint16(1000+i), vecPort, p, true), 60-42-len(p)), p
		}},
		{"odd length", func(i int) ([]byte, []byte) { p := payload(2*i + 1); return udpFrame(uint16(1000+i), p, true), p }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := newVecRig(t, 4)
			// Ten datagrams through four slots, two at a time.
			for i := 0; i < 10; i += 2 {
				var want [2][]byte
				for j := range want {
					f, p := tc.frame(i + j)
					want[j] = p
					require.Equal(t, uint64(ash.RetWake), v.run(f), "datagram %d", i+j)
				}
				require.Equal(t, uint32(i+2), v.prod())
				require.Equal(t, 2, v.ring.Pending())
				for j := range want {
					got, from, ok := v.ring.Next()
					require.True(t, ok)
					require.Equal(t, want[j], got, "datagram %d", i+j)
					require.Equal(t, netip.AddrPortFrom(hisAddr, uint16(1000+i+j)), from)
					v.ring.Done()
				}
				_, _, ok := v.ring.Next()
				require.False(t, ok)
			}
			require.Zero(t, v.ring.Full())
			require.Zero(t, v.ring.Bad())
		})
	}
}

// TestUDPVectorChecksumFFFF: a datagram whose checksum computes to zero
// carries 0xffff (RFC 768) and is accepted.
func TestUDPVectorChecksumFFFF(t *testing.T) {
	v := newVecRig(t, 1)
	for x := 0; x < 1<<16; x++ {
		p := []byte{byte(x >> 8), byte(x)}
		d := udpDatagram(7, vecPort, p, false)
		if csum(d, pseudo(hisIP, myIP, 17, len(d))) != 0 {
			continue
		}
		binary.BigEndian.PutUint16(d[6:], 0xffff)
		require.Equal(t, uint64(ash.RetWake), v.run(ipFrame(17, d, 0)))
		got, _, ok := v.ring.Next()
		require.True(t, ok)
		require.Equal(t, p, got)
		return
	}
	t.Fatal("no two-byte payload sums to zero")
}

// TestUDPVectorPasses: what the handler cannot take it passes to the
// ring, with the producer index unchanged and nothing to read.
func TestUDPVectorPasses(t *testing.T) {
	good := func() []byte { return udpFrame(9, []byte("hello, vector"), true) }
	edit := func(f func(b []byte)) []byte { b := good(); f(b); return b }
	ipSum := func(b []byte) {
		b[24], b[25] = 0, 0
		binary.BigEndian.PutUint16(b[24:], csum(b[14:34], 0))
	}
	for _, tc := range []struct {
		name  string
		frame []byte
	}{
		{"bad UDP checksum", edit(func(b []byte) { b[45] ^= 1 })},
		{"payload bit flip, checksum set", edit(func(b []byte) { b[len(b)-1] ^= 0x80 })},
		{"another port", ipFrame(17, udpDatagram(9, vecPort+1, []byte("x"), true), 0)},
		{"not UDP", ipFrame(6, udpDatagram(9, vecPort, []byte("x"), false), 0)},
		{"not IPv4", edit(func(b []byte) { b[12] = 0x86; b[13] = 0xdd })},
		{"IP options", edit(func(b []byte) { b[14] = 0x46; ipSum(b) })},
		{"more fragments", edit(func(b []byte) { b[20] = 0x20; ipSum(b) })},
		{"fragment offset", edit(func(b []byte) { b[21] = 1; ipSum(b) })},
		{"bad IP header checksum", edit(func(b []byte) { b[24] ^= 1 })},
		{"IP length past the frame", edit(func(b []byte) { b[17]++; ipSum(b) })},
		{"UDP length too long", edit(func(b []byte) { b[39]++ })},
		{"UDP length too short", edit(func(b []byte) { b[39]-- })},
		{"UDP length below the header", func() []byte {
			b := ipFrame(17, make([]byte, 8), 0)
			binary.BigEndian.PutUint16(b[36:], vecPort)
			binary.BigEndian.PutUint16(b[38:], 4)
			return b
		}()},
		{"payload over a slot", udpFrame(9, make([]byte, vector.MaxPayload+1), true)},
		{"truncated headers", good()[:41]},
		{"empty frame", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := newVecRig(t, 2)
			require.Equal(t, uint64(ash.RetPass), v.run(tc.frame))
			require.Zero(t, v.prod(), "producer index unchanged")
			_, _, ok := v.ring.Next()
			require.False(t, ok)
			// The good datagram still goes through after it.
			require.Equal(t, uint64(ash.RetWake), v.run(good()))
		})
	}
	// The DF flag is not a fragment.
	v := newVecRig(t, 2)
	require.Equal(t, uint64(ash.RetWake), v.run(edit(func(b []byte) { b[20] = 0x40; ipSum(b) })))
}

// TestUDPVectorFull: with every slot unread, a datagram is passed and
// counted in the header; once one is read, the next goes to the ring.
func TestUDPVectorFull(t *testing.T) {
	v := newVecRig(t, 2)
	for i := 0; i < 2; i++ {
		require.Equal(t, uint64(ash.RetWake), v.run(udpFrame(uint16(i), []byte{byte(i)}, true)))
	}
	for i := 0; i < 3; i++ {
		require.Equal(t, uint64(ash.RetPass), v.run(udpFrame(9, []byte("no room"), true)))
	}
	require.Equal(t, uint32(2), v.prod())
	require.Equal(t, uint32(3), v.ring.Full())
	got, from, ok := v.ring.Next()
	require.True(t, ok)
	require.Equal(t, []byte{0}, got)
	require.Equal(t, uint16(0), from.Port())
	v.ring.Done()
	require.Equal(t, uint64(ash.RetWake), v.run(udpFrame(2, []byte{2}, true)))
	for _, want := range []byte{1, 2} {
		got, _, ok := v.ring.Next()
		require.True(t, ok)
		require.Equal(t, []byte{want}, got)
		v.ring.Done()
	}
}

// TestUDPVectorHostileHeader: whatever the header's indices say, the
// handler writes only inside the buffer and passes when they claim a full
// ring, across the 32-bit wrap.
func TestUDPVectorHostileHeader(t *testing.T) {
	for _, tc := range []struct {
		name       string
		prod, cons uint32
		want       uint64
	}{
		{"near the wrap", 0xffffffff, 0xfffffffe, ash.RetWake},
		{"just wrapped", 1, 0xfffffffe, ash.RetWake},
		{"full across the wrap", 2, 0xfffffffe, ash.RetPass},
		{"consumer ahead", 5, 9, ash.RetPass},
		{"far apart", 0x80000000, 0, ash.RetPass},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := newVecRig(t, 4)
			binary.LittleEndian.PutUint32(v.msg[vector.OffProd:], tc.prod)
			binary.LittleEndian.PutUint32(v.msg[vector.OffCons:], tc.cons)
			require.Equal(t, tc.want, v.run(udpFrame(1, []byte("x"), true)))
			want := tc.prod
			if tc.want == ash.RetWake {
				want++
			}
			require.Equal(t, want, v.prod())
		})
	}
}

// TestUDPVectorSizes: the handler verifies for every slot count with its
// buffer, not with one too small for the last slot, and is within the
// kernel's program limit; a bad slot count panics.
func TestUDPVectorSizes(t *testing.T) {
	for n := 1; n <= vector.MaxSlots; n *= 2 {
		prog := UDPVector(vecPort, n)
		require.LessOrEqual(t, len(prog), abi.MaxNetProgram)
		_, err := ash.Verify(prog, ash.Config{Type: ash.TypeASH, MsgSize: vector.Size(n), MaxSteps: abi.NetVerifySteps})
		require.NoError(t, err, "%d slots", n)
		tight := vector.Size(n) - (vector.SlotSize - vector.SlotHeader - vector.MaxPayload)
		_, err = ash.Verify(prog, ash.Config{Type: ash.TypeASH, MsgSize: tight, MaxSteps: abi.NetVerifySteps})
		require.NoError(t, err, "%d slots, exactly the last payload", n)
		_, err = ash.Verify(prog, ash.Config{Type: ash.TypeASH, MsgSize: tight - 1, MaxSteps: abi.NetVerifySteps})
		require.Error(t, err, "%d slots, one byte short", n)
	}
	require.LessOrEqual(t, vector.Size(vector.MaxSlots), min(abi.MaxMsg, ash.MaxPacketLen))
	for _, n := range []int{0, 3, vector.MaxSlots * 2, -1} {
		require.Panics(t, func() { UDPVector(vecPort, n) }, "%d slots", n)
	}
}

// vecAccepts is the reference decision, written from RFC 791 and RFC 768
// independently of the handler: whether frame is a datagram UDPVector
// takes, given the ring's indices, and its payload.
func vecAccepts(f []byte, prod, cons uint32, slots int) ([]byte, bool) {
	be := binary.BigEndian
	if len(f) < 42 || be.Uint16(f[12:]) != 0x0800 || f[14] != 0x45 || f[23] != 17 {
		return nil, false
	}
	if be.Uint16(f[20:])&0x3fff != 0 || be.Uint16(f[36:]) != vecPort || csum(f[14:34], 0) != 0 {
		return nil, false
	}
	ipLen := int(be.Uint16(f[16:]))
	udpLen := int(be.Uint16(f[38:]))
	if 14+ipLen > len(f) || udpLen != ipLen-20 || udpLen < 8 || udpLen-8 > vector.MaxPayload {
		return nil, false
	}
	if prod-cons >= uint32(slots) {
		return nil, false
	}
	d := f[34 : 34+udpLen]
	if be.Uint16(d[6:]) != 0 && csum(d, pseudo([4]byte(f[26:30]), [4]byte(f[30:34]), 17, udpLen)) != 0 {
		return nil, false
	}
	return d[8:], true
}

// FuzzUDPVector runs frames (mutations of good and bad datagrams) through
// the handler, into a ring holding a fuzzed number of unread datagrams
// (and, for fill >= 128, indices offset by base, across the 32-bit wrap),
// and reads the ring: the handler never faults, decides as the reference
// does, advances the producer by one exactly when it returns RetWake, and
// the reader returns exactly the datagram's payload and source after the
// ones before it.
func FuzzUDPVector(f *testing.F) {
	f.Add(udpFrame(1, []byte("hello"), true), uint8(0), uint32(0))
	f.Add(udpFrame(2, nil, false), uint8(3), uint32(0))
	f.Add(udpFrame(3, bytes.Repeat([]byte{0xff}, 300), true), uint8(130), uint32(0xfffffffe))
	f.Add(ipFrame(17, udpDatagram(4, vecPort, []byte("padded"), true), 20), uint8(1), uint32(0))
	f.Add(udpFrame(5, make([]byte, vector.MaxPayload), true), uint8(4), uint32(0))
	f.Add(udpFrame(6, []byte("bad sum"), true)[:48], uint8(0), uint32(0))
	f.Add([]byte{}, uint8(0), uint32(0))
	const slots = 4
	v := newVecRig(f, slots)
	f.Fuzz(func(t *testing.T, frame []byte, fill uint8, base uint32) {
		if len(frame) > ash.MaxPacketLen {
			return
		}
		v.t = t
		clear(v.msg)
		r, err := vector.New(v.msg, slots)
		require.NoError(t, err)
		k := uint32(fill) % (slots + 2) // slots+1: a hostile over-full ring
		if fill < 128 {
			base = 0
		}
		le := binary.LittleEndian
		le.PutUint32(v.msg[vector.OffProd:], base+k)
		le.PutUint32(v.msg[vector.OffCons:], base)
		want, ok := vecAccepts(frame, base+k, base, slots)
		r0 := v.run(frame)
		if !ok {
			require.Equal(t, uint64(ash.RetPass), r0)
			require.Equal(t, base+k, v.prod())
			return
		}
		require.Equal(t, uint64(ash.RetWake), r0)
		require.Equal(t, base+k+1, v.prod())
		if base != 0 {
			return // the reader's own index is 0: nothing to line up
		}
		for i := uint32(0); i < k; i++ {
			_, _, ok := r.Next()
			require.True(t, ok)
			r.Done()
		}
		got, from, ok := r.Next()
		require.True(t, ok)
		require.Equal(t, want, got)
		require.Equal(t, netip.AddrPortFrom(netip.AddrFrom4([4]byte(frame[26:30])), binary.BigEndian.Uint16(frame[34:])), from)
		r.Done()
		_, _, ok = r.Next()
		require.False(t, ok)
	})
}

// TestUDPVectorNoAllocs: running the handler and reading the ring do not
// allocate.
func TestUDPVectorNoAllocs(t *testing.T) {
	v := newVecRig(t, 4)
	f := udpFrame(1, bytes.Repeat([]byte{0x42}, 512), true)
	in := ash.Input{Packet: f, Reply: v.reply, Msg: v.msg}
	allocs := testing.AllocsPerRun(100, func() {
		res, err := v.m.Run(v.p, &in)
		if err != nil || res.R0 != ash.RetWake {
			t.Fatalf("run: %v, r0 %d", err, res.R0)
		}
		if p, _, ok := v.ring.Next(); !ok || len(p) != 512 {
			t.Fatal("no datagram")
		}
		v.ring.Done()
	})
	require.Zero(t, allocs)
}

// BenchmarkUDPVector: the handler on a 512-byte datagram with a checksum,
// and the reader taking it.
func BenchmarkUDPVector(b *testing.B) {
	v := newVecRig(b, 4)
	f := udpFrame(1, bytes.Repeat([]byte{0x42}, 512), true)
	in := ash.Input{Packet: f, Reply: v.reply, Msg: v.msg}
	b.SetBytes(512)
	for b.Loop() {
		if res, err := v.m.Run(v.p, &in); err != nil || res.R0 != ash.RetWake {
			b.Fatal(err, res.R0)
		}
		v.ring.Next()
		v.ring.Done()
	}
}
