package checksum

import (
	"math/rand/v2"
	"testing"
)

// naive is RFC 1071's definition, a word at a time.
func naive(b []byte) uint16 {
	var s uint32
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		s += uint32(b[len(b)-1]) << 8
	}
	for s > 0xffff {
		s = s>>16 + s&0xffff
	}
	return ^uint16(s)
}

func TestChecksumAgainstDefinition(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for n := 0; n < 300; n++ {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		if n%7 == 0 {
			for i := range b {
				b[i] = 0xff
			}
		}
		if got, want := Checksum(b), naive(b); got != want {
			t.Fatalf("%d bytes: got %#04x, want %#04x", n, got, want)
		}
		// In pieces of even length the sum is the same.
		if n >= 10 {
			s := Sum(Sum(0, b[:4]), b[4:])
			if Finish(s) != naive(b) {
				t.Fatalf("%d bytes in pieces: got %#04x, want %#04x", n, Finish(s), naive(b))
			}
		}
	}
}

// TestKnownHeader checks a commonly quoted IPv4 header (192.168.0.1 to
// 192.168.0.199, UDP, 115 bytes; checksum 0xb861): with its checksum
// filled in it sums to zero.
func TestKnownHeader(t *testing.T) {
	h := []byte{0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7}
	c := Checksum(h)
	if c != 0xb861 {
		t.Fatalf("checksum %#04x, want 0xb861", c)
	}
	h[10], h[11] = byte(c>>8), byte(c)
	if Checksum(h) != 0 {
		t.Fatalf("a header with its checksum sums to %#04x, want 0", Checksum(h))
	}
}

func TestPseudoAndUpdate(t *testing.T) {
	src, dst := [4]byte{198, 18, 0, 1}, [4]byte{198, 18, 0, 2}
	ph := []byte{198, 18, 0, 1, 198, 18, 0, 2, 0, 17, 0, 12}
	if got, want := Finish(Pseudo(src, dst, 17, 12)), naive(ph); got != want {
		t.Fatalf("pseudo-header: got %#04x, want %#04x", got, want)
	}
	b := []byte{0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc}
	c := Checksum(b)
	b[2], b[3] = 0xde, 0xad
	if got, want := Update(c, 0x5678, 0xdead), Checksum(b); got != want {
		t.Fatalf("incremental update: got %#04x, want %#04x", got, want)
	}
}
