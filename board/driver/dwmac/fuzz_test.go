package dwmac

import (
	"encoding/binary"
	"testing"
	"unsafe"
)

// FuzzReceive lets a hostile device write arbitrary receive write-back
// words (any OWN, FD, LD, ES, context and length bits) into the ring, in
// the order the DMA would, and checks that the driver never panics, only
// hands out frames of a valid length inside its own buffers, and keeps
// the ring consistent (the gap is always the descriptor before the head).
func FuzzReceive(f *testing.F) {
	f.Add([]byte{0x3c, 0, 0, 0x30})                         // one good 60-byte frame
	f.Add([]byte{0x00, 0x06, 0, 0x20, 0x10, 0, 0, 0x10})    // FD without LD, then LD
	f.Add([]byte{0xff, 0xff, 0xff, 0x7f, 0x40, 0, 0, 0x38}) // every bit but OWN; error summary
	f.Fuzz(func(t *testing.T, words []byte) {
		m, g, _ := mustSetup(t)
		ring := uint64(memPA)
		lo := uintptr(unsafe.Pointer(&g.rxBuf[0]))
		hi := lo + uintptr(len(g.rxBuf))
		cur := 0
		for len(words) >= 4 && cur < 4*RxRingSize {
			w := binary.LittleEndian.Uint32(words)
			words = words[4:]
			d := m.at(ring+uint64(16*(cur%RxRingSize)), 16)
			binary.LittleEndian.PutUint32(d[12:], w)
			binary.LittleEndian.PutUint32(d[0:], w*7) // scribble on the address too
			cur++
			for fr := g.Receive(); fr != nil; fr = g.Receive() {
				if len(fr) < 14 || len(fr) > 1514 {
					t.Fatalf("frame of %d bytes", len(fr))
				}
				p := uintptr(unsafe.Pointer(&fr[0]))
				if p < lo || p+uintptr(len(fr)) > hi || (p-lo)%BufSize+uintptr(len(fr)) > BufSize {
					t.Fatalf("frame outside its buffer")
				}
				g.Release()
			}
			if g.rxTail != (g.rxHead+RxRingSize-1)%RxRingSize {
				t.Fatalf("gap %d, head %d", g.rxTail, g.rxHead)
			}
		}
	})
}
