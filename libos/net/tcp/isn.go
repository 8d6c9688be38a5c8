package tcp

import (
	"encoding/binary"
	"math/bits"
	"net/netip"
	"time"
)

// sipHash24 is SipHash-2-4 (Aumasson and Bernstein, 2012) of m under the
// key k0, k1, written from the paper's description.
func sipHash24(k0, k1 uint64, m []byte) uint64 {
	v0 := k0 ^ 0x736f6d6570736575
	v1 := k1 ^ 0x646f72616e646f6d
	v2 := k0 ^ 0x6c7967656e657261
	v3 := k1 ^ 0x7465646279746573
	round := func() {
		v0 += v1
		v1 = bits.RotateLeft64(v1, 13)
		v1 ^= v0
		v0 = bits.RotateLeft64(v0, 32)
		v2 += v3
		v3 = bits.RotateLeft64(v3, 16)
		v3 ^= v2
		v0 += v3
		v3 = bits.RotateLeft64(v3, 21)
		v3 ^= v0
		v2 += v1
		v1 = bits.RotateLeft64(v1, 17)
		v1 ^= v2
		v2 = bits.RotateLeft64(v2, 32)
	}
	n := len(m)
	for len(m) >= 8 {
		w := binary.LittleEndian.Uint64(m)
		v3 ^= w
		round()
		round()
		v0 ^= w
		m = m[8:]
	}
	last := uint64(n) << 56
	for i, c := range m {
		last |= uint64(c) << (8 * i)
	}
	v3 ^= last
	round()
	round()
	v0 ^= last
	v2 ^= 0xff
	round()
	round()
	round()
	round()
	return v0 ^ v1 ^ v2 ^ v3
}

// isn returns the initial sequence number for a connection (RFC 6528
// §3): ISN = M + F(localip, localport, remoteip, remoteport, secretkey),
// M a timer ticking every 4 µs (derived from now) and F SipHash-2-4 keyed
// by Config.Secret.
func (p *Protocol) isn(now time.Duration, local, remote netip.AddrPort) uint32 {
	var m [12]byte
	l, r := local.Addr().As4(), remote.Addr().As4()
	copy(m[0:], l[:])
	binary.BigEndian.PutUint16(m[4:], local.Port())
	copy(m[6:], r[:])
	binary.BigEndian.PutUint16(m[10:], remote.Port())
	f := uint32(sipHash24(p.k0, p.k1, m[:]))
	return uint32(now/(4*time.Microsecond)) + f
}

// defaultRandom is Config.Random's default: SipHash of a counter under
// the secret (a key distinct from the ISN's by a domain byte).
func (p *Protocol) defaultRandom() uint32 {
	p.rndCount++
	var m [9]byte
	m[0] = 'R'
	binary.LittleEndian.PutUint64(m[1:], p.rndCount)
	return uint32(sipHash24(p.k0, p.k1, m[:]))
}
