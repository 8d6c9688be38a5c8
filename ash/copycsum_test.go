package ash

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// refCsum is the reference Internet checksum (RFC 1071), written
// independently of csumAdd: 16-bit words, end-around carry after each.
func refCsum(b []byte, seed uint32) uint16 {
	sum := uint32(seed&0xffff) + seed>>16
	sum = sum&0xffff + sum>>16
	for i := 0; i < len(b); i += 2 {
		w := uint32(b[i]) << 8
		if i+1 < len(b) {
			w |= uint32(b[i+1])
		}
		sum += w
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}

// copyCsumProg is pkt_copy_csum(r1 = off, msg + dst, len, seed) with its
// arguments in fixed registers set from the context's len field: the
// program returns the helper's result. off, dst, n and seed are
// immediates.
func copyCsumProg(t *testing.T, off, dst, n, seed int32, msgSize int) *Program {
	t.Helper()
	b := NewBuilder()
	b.LoadContext(R2, CtxMsg).ALU(ALUAdd, R2, dst)
	b.Mov(R1, off).Mov(R3, n).Mov(R4, seed).Call(HelperPacketCopyCsum)
	b.Exit()
	p, err := b.Program(Config{Type: TypeASH, MsgSize: msgSize})
	require.NoError(t, err)
	return p
}

// TestPacketCopyCsum: the helper copies exactly the asked bytes, returns
// their checksum from the seed (0 for bytes that carry a correct
// checksum), and on a range outside the packet returns
// PacketCopyCsumFailed and copies nothing.
func TestPacketCopyCsum(t *testing.T) {
	// An RFC 1071 section 3 example: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2.
	rfc := []byte{0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7}
	// Bytes followed by their own checksum verify to 0.
	withSum := append(bytes.Clone(rfc), 0x22, 0x0d)
	pkt := append(append([]byte{0xaa, 0xbb}, withSum...), 0xcc)
	for _, tc := range []struct {
		name          string
		off, dst, n   int32
		seed          int32
		want          uint64
		copied        []byte // at msg+dst; nil: nothing copied
		packet        []byte
		msgSize, wire int
	}{
		{"RFC 1071 example", 2, 0, 8, 0, uint64(^uint16(0xddf2)), rfc, pkt, 64, 0},
		{"bytes with their checksum verify", 2, 3, 10, 0, 0, withSum, pkt, 64, 0},
		{"seed carries", 2, 0, 8, 0x1ffff, uint64(refCsum(rfc, 0x1ffff)), rfc, pkt, 64, 0},
		{"odd length pads with zero", 2, 1, 3, 0, uint64(refCsum(rfc[:3], 0)), rfc[:3], pkt, 64, 0},
		{"whole packet at the buffer's end", 0, 64 - 13, 13, 7, uint64(refCsum(pkt, 7)), pkt, pkt, 64, 0},
		{"zero length is the seed's checksum", 5, 64, 0, 0x1234, uint64(^uint16(0x1234)), []byte{}, pkt, 64, 0},
		{"one byte past the packet", 2, 0, 12, 0, PacketCopyCsumFailed, nil, pkt, 64, 0},
		{"offset past the packet", 14, 0, 0, 0, PacketCopyCsumFailed, nil, pkt, 64, 0},
		{"past the capture, within the wire length", 0, 0, 14, 0, PacketCopyCsumFailed, nil, pkt, 64, 100},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := copyCsumProg(t, tc.off, tc.dst, tc.n, tc.seed, tc.msgSize)
			msg := bytes.Repeat([]byte{0x5a}, tc.msgSize)
			res, err := NewMachine().Run(p, &Input{Packet: tc.packet, WireLen: tc.wire, Reply: make([]byte, DefaultReplySize), Msg: msg})
			require.NoError(t, err)
			assert.Equal(t, tc.want, res.R0)
			want := bytes.Repeat([]byte{0x5a}, tc.msgSize)
			copy(want[tc.dst:], tc.copied)
			assert.Equal(t, want, msg, "only the asked bytes change")
		})
	}
}

// TestPacketCopyCsumAgrees: over random packets, offsets, lengths
// (around the 8-byte stride) and seeds, the helper's copy equals
// pkt_copy's and its result equals csum's over the copy and the
// reference checksum.
func TestPacketCopyCsumAgrees(t *testing.T) {
	rng := rand.New(rand.NewPCG(12, 1))
	const msgSize = 2048
	// A program per case, its arguments immediates; one machine.
	m := NewMachine()
	for i := 0; i < 400; i++ {
		pkt := make([]byte, 1+rng.IntN(1600))
		for j := range pkt {
			pkt[j] = byte(rng.Uint32())
		}
		off := rng.IntN(len(pkt))
		n := rng.IntN(len(pkt) - off + 1)
		if rng.IntN(8) == 0 {
			n = min(len(pkt)-off, 8*rng.IntN(4)+rng.IntN(3)) // short ones, near the stride
		}
		dst := rng.IntN(msgSize - n + 1)
		seed := rng.Uint32()
		p := copyCsumProg(t, int32(off), int32(dst), int32(n), int32(seed), msgSize)
		msg := make([]byte, msgSize)
		res, err := m.Run(p, &Input{Packet: pkt, Reply: make([]byte, DefaultReplySize), Msg: msg})
		require.NoError(t, err)
		require.Equal(t, pkt[off:off+n], msg[dst:dst+n], "case %d: copy", i)
		require.Equal(t, uint64(refCsum(pkt[off:off+n], seed)), res.R0, "case %d: off %d len %d seed %#x", i, off, n, seed)
		require.Equal(t, uint64(^csumFold(csumAdd(uint64(seed), pkt[off:off+n]))), res.R0, "case %d: agrees with csum", i)
	}
}

// TestPacketCopyCsumResultBounds: the verifier knows the result is a
// checksum or -1: past "r0 != 0" it is the constant 0, usable as an
// offset; past "r0 > 0xffff" it is a number up to 0xffff, which a 64-byte
// buffer does not hold.
func TestPacketCopyCsumResultBounds(t *testing.T) {
	// r0 == 0 after the check: a constant offset, accepted.
	src := "r2 = *(u64 *)(r1 + 40)\nr6 = r2\nr1 = 0\nr3 = 0\nr4 = 0\ncall 5\nif r0 != 0 goto +3\nr6 += r0\nr0 = *(u8 *)(r6 + 63)\nexit\nr0 = 1\nexit"
	insns, err := Assemble(src)
	require.NoError(t, err)
	_, err = Verify(insns, Config{Type: TypeASH, MsgSize: 64})
	require.NoError(t, err)
	// Below 0x10000 after the check, but not within a 64-byte buffer.
	src = "r2 = *(u64 *)(r1 + 40)\nr6 = r2\nr1 = 0\nr3 = 0\nr4 = 0\ncall 5\nif r0 > 65535 goto +3\nr6 += r0\nr0 = *(u8 *)(r6 + 0)\nexit\nr0 = 1\nexit"
	insns, err = Assemble(src)
	require.NoError(t, err)
	_, err = Verify(insns, Config{Type: TypeASH, MsgSize: 64})
	require.Error(t, err)
}
