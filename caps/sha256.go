package caps

import (
	"encoding/binary"
	"math/bits"
)

// SHA-256 (FIPS 180-4 §6.2), written out here rather than imported: in a
// GOOS=tamago build, crypto/sha256 and crypto/hmac link the FIPS 140 DRBG,
// whose 32 MiB entropy scratch buffer (crypto/internal/fips140/drbg.memory)
// lands in .noptrbss. Every environment imports this package to derive
// capabilities, and an environment's image must fit in its memory (16 MiB by
// default), so the standard package would make every environment need 48.
// TestSHA256 checks this one against crypto/sha256 on the host.

const (
	sha256Size  = 32 // bytes of digest
	sha256Block = 64 // bytes per compression
)

// sha256Init is H(0), FIPS 180-4 §5.3.3.
var sha256Init = [8]uint32{
	0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
	0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
}

// sha256K are the round constants K{256}, FIPS 180-4 §4.2.2.
var sha256K = [64]uint32{
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
	0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
	0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
	0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
}

// sha256Compress folds the 64-byte blocks of p into the state h (§6.2.2).
func sha256Compress(h *[8]uint32, p []byte) {
	var w [64]uint32
	for ; len(p) >= sha256Block; p = p[sha256Block:] {
		for t := 0; t < 16; t++ {
			w[t] = binary.BigEndian.Uint32(p[4*t:])
		}
		for t := 16; t < 64; t++ {
			s0 := bits.RotateLeft32(w[t-15], -7) ^ bits.RotateLeft32(w[t-15], -18) ^ w[t-15]>>3
			s1 := bits.RotateLeft32(w[t-2], -17) ^ bits.RotateLeft32(w[t-2], -19) ^ w[t-2]>>10
			w[t] = w[t-16] + s0 + w[t-7] + s1
		}
		a, b, c, d, e, f, g, hh := h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7]
		for t := 0; t < 64; t++ {
			S1 := bits.RotateLeft32(e, -6) ^ bits.RotateLeft32(e, -11) ^ bits.RotateLeft32(e, -25)
			ch := g ^ e&(f^g) // = e&f ^ ^e&g, one operation fewer
			t1 := hh + S1 + ch + sha256K[t] + w[t]
			S0 := bits.RotateLeft32(a, -2) ^ bits.RotateLeft32(a, -13) ^ bits.RotateLeft32(a, -22)
			maj := a&b | c&(a|b) // = a&b ^ a&c ^ b&c
			t2 := S0 + maj
			hh, g, f, e, d, c, b, a = g, f, e, d+t1, c, b, a, t1+t2
		}
		h[0] += a
		h[1] += b
		h[2] += c
		h[3] += d
		h[4] += e
		h[5] += f
		h[6] += g
		h[7] += hh
	}
}

// sha256Finish hashes msg on from state h, which has already absorbed done
// bytes (a multiple of the block size), pads (§5.1.1) and returns the
// digest.
func sha256Finish(h [8]uint32, done uint64, msg []byte) [sha256Size]byte {
	n := len(msg) &^ (sha256Block - 1)
	sha256Compress(&h, msg[:n])
	total := done + uint64(len(msg))
	var tail [2 * sha256Block]byte
	k := copy(tail[:], msg[n:])
	tail[k] = 0x80
	end := sha256Block
	if k+1+8 > sha256Block {
		end = 2 * sha256Block
	}
	binary.BigEndian.PutUint64(tail[end-8:], total*8)
	sha256Compress(&h, tail[:end])
	var out [sha256Size]byte
	for i, v := range h {
		binary.BigEndian.PutUint32(out[4*i:], v)
	}
	return out
}

// hmacPads holds the SHA-256 states after the inner and outer pad blocks
// of one HMAC key (RFC 2104 §2; FIPS 198-1 §6 notes they can be kept), so
// that each message costs only its own compressions.
type hmacPads struct{ inner, outer [8]uint32 }

// newHMACPads prepares key, which must be at most one block long (every
// key here is: the kernel's 32 bytes, or a 16-byte tag).
func newHMACPads(key []byte) hmacPads {
	var k [sha256Block]byte
	copy(k[:], key)
	p := hmacPads{inner: sha256Init, outer: sha256Init}
	for i := range k {
		k[i] ^= 0x36
	}
	sha256Compress(&p.inner, k[:])
	for i := range k {
		k[i] ^= 0x36 ^ 0x5c
	}
	sha256Compress(&p.outer, k[:])
	return p
}

// sum returns HMAC-SHA256(key, msg).
func (p *hmacPads) sum(msg []byte) [sha256Size]byte {
	inner := sha256Finish(p.inner, sha256Block, msg)
	return sha256Finish(p.outer, sha256Block, inner[:])
}

// constantTimeEqual reports whether a and b are equal, in time that
// depends only on their length.
func constantTimeEqual(a, b []byte) bool {
	if len(a) != len(b) {
		return false
	}
	var v byte
	for i := range a {
		v |= a[i] ^ b[i]
	}
	return v == 0
}
