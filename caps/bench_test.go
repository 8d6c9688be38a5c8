package caps

import (
	"crypto/hmac"
	"crypto/sha256"
	"testing"
)

// The figures in docs/CAPABILITIES.md come from
//
//	go test -run '^$' -bench . -benchmem -count 5 ./caps/
//
// BenchmarkHMACStdlib is the peer measured in the same run: one
// crypto/hmac HMAC-SHA256 over the same 32 header bytes Mint and Verify
// authenticate, made the ordinary way (New, Write, Sum).

var (
	benchCap Cap
	benchErr error
	benchSum []byte
)

func benchCaps(b *testing.B) (*Authority, Cap, Cap) {
	a := newAuthority(b, testKey)
	root := mint(b, a, KindPage, pageBase, pageBase+63, PageRead|PageWrite)
	full := root
	for full.Depth() < MaxRecords {
		full = derive(b, full, PageRead, pageBase+1, pageBase+62)
	}
	return a, root, full
}

func BenchmarkVerify(b *testing.B) {
	a, root, full := benchCaps(b)
	for _, bc := range []struct {
		name string
		c    Cap
	}{{"root", root}, {"chain4", full}} {
		need := Need{Kind: KindPage, Lo: pageBase + 5, Hi: pageBase + 5, Rights: PageRead}
		// Uncached: the MAC chain computed every time; cached: the same
		// bytes verified before (seen.go).
		for _, cached := range []bool{false, true} {
			name := bc.name
			if cached {
				name += "-cached"
			}
			b.Run(name, func(b *testing.B) {
				a.seen.off = !cached
				b.ReportAllocs()
				for b.Loop() {
					_, benchErr = a.Verify(bc.c[:], need)
				}
				if benchErr != nil {
					b.Fatal(benchErr)
				}
			})
		}
	}
	a.seen.off = false
}

func BenchmarkDerive(b *testing.B) {
	_, root, _ := benchCaps(b)
	b.ReportAllocs()
	for b.Loop() {
		benchCap, benchErr = Derive(root, PageRead, pageBase+1, pageBase+2)
	}
	if benchErr != nil {
		b.Fatal(benchErr)
	}
}

func BenchmarkMint(b *testing.B) {
	a, _, _ := benchCaps(b)
	b.ReportAllocs()
	for b.Loop() {
		benchCap, benchErr = a.Mint(KindPage, pageBase, pageBase, PageRead)
	}
	if benchErr != nil {
		b.Fatal(benchErr)
	}
}

func BenchmarkHMACStdlib(b *testing.B) {
	_, root, _ := benchCaps(b)
	msg := root[:headerSize]
	b.ReportAllocs()
	for b.Loop() {
		h := hmac.New(sha256.New, testKey)
		h.Write(msg)
		benchSum = h.Sum(benchSum[:0])
	}
}

// BenchmarkHMACStdlibReset is the same HMAC with the crypto/hmac state kept
// and Reset between messages, which is what Authority does for tag_0.
func BenchmarkHMACStdlibReset(b *testing.B) {
	_, root, _ := benchCaps(b)
	msg := root[:headerSize]
	h := hmac.New(sha256.New, testKey)
	h.Reset()
	b.ReportAllocs()
	for b.Loop() {
		h.Reset()
		h.Write(msg)
		benchSum = h.Sum(benchSum[:0])
	}
}
