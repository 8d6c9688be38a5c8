package ping

import (
	"errors"
	"testing"
)

// FuzzParseFrame feeds arbitrary bytes to ParseFrame, which must not
// panic; whatever it parses (checksum errors aside) must marshal, and parse
// back to the same frame without errors.
func FuzzParseFrame(f *testing.F) {
	withOptions := icmpFrame([]byte("opt"))
	withOptions.IP.Options = []byte{0x94, 4, 0, 0}
	other := udpFrame([]byte("other"))
	other.IP.Protocol = 6
	for _, fr := range []Frame{icmpFrame([]byte("hello")), icmpFrame(nil), udpFrame([]byte("xp\x12\x34\x00\x00\x00\x01abcd")), arpFrame(), withOptions, other} {
		b := mustMarshal(f, fr)
		f.Add(b)
		f.Add(b[:len(b)-1])          // truncated
		f.Add(append(b, 0, 0, 0, 0)) // padded
		bad := append([]byte(nil), b...)
		bad[len(bad)-1] ^= 0xff // a checksum error (or an ARP address)
		f.Add(bad)
	}
	f.Add([]byte{})
	f.Add(make([]byte, 14))
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, err := ParseFrame(b)
		var ce *ChecksumError
		if err != nil && !errors.As(err, &ce) {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrUnsupported) {
				t.Fatalf("ParseFrame: %v wraps neither ErrMalformed nor ErrUnsupported", err)
			}
			return
		}
		out, err := fr.Marshal()
		if err != nil {
			t.Fatalf("Marshal of a parsed frame: %v\nframe %+v", err, fr)
		}
		again, err := ParseFrame(out)
		if err != nil {
			t.Fatalf("ParseFrame(Marshal(f)): %v", err)
		}
		if !sameFrame(again, fr) {
			t.Fatalf("ParseFrame(Marshal(f)) = %+v, want %+v", again, fr)
		}
	})
}
