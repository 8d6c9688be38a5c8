package ash

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// icmpEchoASH builds an ASH that answers ICMP echo requests to an IPv4
// address with a 20-byte header: it copies the frame into the reply buffer,
// swaps the Ethernet and IP addresses, sets the ICMP type to 0 (echo reply),
// updates the ICMP checksum incrementally (RFC 1624) and sends the reply.
// Anything else is passed to the environment. testdata/c/icmp_echo.c is the
// same handler in C.
func icmpEchoASH() *Builder {
	b := NewBuilder()
	b.LoadPacketPointers(R6, R7)
	b.LoadContext(R8, CtxReply)
	// Frames of up to the reply buffer's size, with 42 header bytes.
	b.MovReg(R9, R7).ALUReg(ALUSub, R9, R6)
	b.JumpIf(JumpGT, R9, DefaultReplySize, "pass")
	b.JumpIf(JumpLT, R9, 42, "pass")
	b.MovReg(R2, R6).ALU(ALUAdd, R2, 42).JumpIfReg(JumpGT, R2, R7, "pass")
	b.Load(SizeH, R2, R6, 12).JumpIf(JumpNE, R2, 0x0008, "pass") // ethertype 0x0800, big-endian
	b.Load(SizeB, R2, R6, 14).JumpIf(JumpNE, R2, 0x45, "pass")   // IPv4, no options
	b.Load(SizeB, R2, R6, 23).JumpIf(JumpNE, R2, 1, "pass")      // ICMP
	b.Load(SizeB, R2, R6, 34).JumpIf(JumpNE, R2, 8, "pass")      // echo request
	// Copy the whole frame, then edit the copy.
	b.Mov(R1, 0).MovReg(R2, R8).MovReg(R3, R9).Call(HelperPacketCopy)
	b.JumpIf(JumpNE, R0, 0, "pass")
	// Ethernet: destination <- source, source <- destination.
	b.Load(SizeW, R2, R6, 6).Store(SizeW, R8, 0, R2)
	b.Load(SizeH, R2, R6, 10).Store(SizeH, R8, 4, R2)
	b.Load(SizeW, R2, R6, 0).Store(SizeW, R8, 6, R2)
	b.Load(SizeH, R2, R6, 4).Store(SizeH, R8, 10, R2)
	// IP: swap source and destination (the header checksum is unchanged).
	b.Load(SizeW, R2, R6, 26).Store(SizeW, R8, 30, R2)
	b.Load(SizeW, R2, R6, 30).Store(SizeW, R8, 26, R2)
	// ICMP: type 8 -> 0, checksum updated for the word type|code.
	b.StoreImm(SizeB, R8, 34, 0)
	b.Load(SizeH, R1, R6, 36).ToBE(R1, 16) // old checksum
	b.Load(SizeH, R2, R6, 34).ToBE(R2, 16) // old type|code
	b.MovReg(R3, R2).ALU(ALUAnd, R3, 0x00ff)
	b.Call(HelperCsumUpdate)
	b.ToBE(R0, 16).Store(SizeH, R8, 36, R0)
	b.MovReg(R1, R9).Call(HelperSendReply)
	b.Return(RetConsumed)
	b.Label("pass")
	b.Return(RetPass)
	return b
}

// echoReply is the reference answer to an echo request frame.
func echoReply(req []byte) []byte {
	r := bytes.Clone(req)
	copy(r[0:6], req[6:12])
	copy(r[6:12], req[0:6])
	copy(r[26:30], req[30:34])
	copy(r[30:34], req[26:30])
	r[34] = 0
	r[36], r[37] = 0, 0
	binary.BigEndian.PutUint16(r[36:], ^csumFold(csumAdd(0, r[34:])))
	return r
}

// echoCases are frames for the echo ASH tests: the handler answers the
// first two and passes the rest.
func echoCases() []struct {
	name  string
	frame []byte
	reply bool
} {
	odd := icmpEcho(8, 57)
	withOpts := udpFrame(7, 8)
	reply := icmpEcho(0, 56)
	short := icmpEcho(8, 56)[:41]
	big := icmpEcho(8, 1500) // 1542 bytes, larger than the reply buffer
	return []struct {
		name  string
		frame []byte
		reply bool
	}{
		{"echo request", icmpEcho(8, 56), true},
		{"odd payload", odd, true},
		{"echo reply", reply, false},
		{"udp", withOpts, false},
		{"truncated", short, false},
		{"too big", big, false},
		{"empty", nil, false},
	}
}

func TestICMPEchoASH(t *testing.T) {
	p, err := icmpEchoASH().Program(Config{Type: TypeASH})
	require.NoError(t, err)
	m := NewMachine()
	replyBuf := make([]byte, DefaultReplySize)
	for _, tc := range echoCases() {
		t.Run(tc.name, func(t *testing.T) {
			res, err := m.Run(p, &Input{Packet: tc.frame, Reply: replyBuf})
			require.NoError(t, err)
			if !tc.reply {
				assert.Equal(t, uint64(RetPass), res.R0)
				assert.Equal(t, -1, res.ReplyLen)
				return
			}
			assert.Equal(t, uint64(RetConsumed), res.R0)
			require.Equal(t, len(tc.frame), res.ReplyLen)
			got := replyBuf[:res.ReplyLen]
			assert.Equal(t, echoReply(tc.frame), got)
			assert.Zero(t, csumFold(csumAdd(0, got[34:]))^0xffff, "ICMP checksum does not verify")
			assert.Zero(t, csumFold(csumAdd(0, got[14:34]))^0xffff, "IP checksum does not verify")
		})
	}
}

// TestRunDoesNotAllocate holds Machine.Run to its promise for a filter and
// for an ASH that calls every copying and checksum helper.
func TestRunDoesNotAllocate(t *testing.T) {
	filter, err := udpPortFilter(7).Program(Config{Type: TypeFilter})
	require.NoError(t, err)
	echo, err := icmpEchoASH().Program(Config{Type: TypeASH})
	require.NoError(t, err)
	csum, err := Assemble(`
		r6 = *(u64 *)(r1 + 0)
		r7 = *(u64 *)(r1 + 8)
		r2 = r6
		r2 += 34
		if r2 > r7 goto out
		r1 = r6
		r1 += 14
		r2 = 20
		r3 = 0
		call 3
		exit
	out:	r0 = 0
		exit`)
	require.NoError(t, err)
	csumProg, err := Verify(csum, Config{Type: TypeFilter})
	require.NoError(t, err)

	m := NewMachine()
	udp, ping := udpFrame(7, 0), icmpEcho(8, 56)
	reply := make([]byte, DefaultReplySize)
	for _, tc := range []struct {
		name string
		p    *Program
		in   Input
	}{
		{"filter", filter, Input{Packet: udp}},
		{"echo ASH", echo, Input{Packet: ping, Reply: reply}},
		{"csum", csumProg, Input{Packet: ping}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var steps int
			allocs := testing.AllocsPerRun(200, func() {
				res, err := m.Run(tc.p, &tc.in)
				if err != nil {
					panic(err)
				}
				steps = res.Steps
			})
			assert.Zero(t, allocs)
			assert.Greater(t, steps, 5, "the program ran to the end")
		})
	}
}

// TestStackMapping: the machine maps only as much stack as the verifier
// found the program uses, and r10 is the end of it.
func TestStackMapping(t *testing.T) {
	for _, tc := range []struct {
		name  string
		src   string
		depth int
		r0    uint64
	}{
		{"no stack", "r0 = 7\nexit", 0, 7},
		{"one slot", "*(u64 *)(r10 - 8) = 5\nr0 = *(u64 *)(r10 - 8)\nexit", 8, 5},
		{"byte at -13", "*(u8 *)(r10 - 13) = 9\nr0 = *(u8 *)(r10 - 13)\nexit", 13, 9},
		{"spill and fill", "*(u64 *)(r10 - 64) = r1\nr1 = *(u64 *)(r10 - 64)\nr0 = *(u64 *)(r1 + 16)\nexit", 64, 60},
		{"pointer difference", "r2 = r10\nr2 += -40\nr0 = r10\nr0 -= r2\nexit", 0, 40},
		{"csum over 16 bytes", "*(u64 *)(r10 - 16) = 0\n*(u64 *)(r10 - 8) = 0\nr1 = r10\nr1 += -16\nr2 = 16\nr3 = 0\ncall 3\nexit", 16, 0xffff},
		{"zero-length csum at r10", "r1 = r10\nr2 = 0\nr3 = 0\ncall 3\nexit", 0, 0xffff},
		{"deepest of two paths", "r0 = *(u64 *)(r1 + 16)\nif r0 > 5 goto +2\n*(u64 *)(r10 - 512) = 1\nexit\n*(u32 *)(r10 - 4) = 1\nexit", 512, 60},
	} {
		t.Run(tc.name, func(t *testing.T) {
			insns, err := Assemble(tc.src)
			require.NoError(t, err)
			p, err := Verify(insns, Config{Type: TypeFilter})
			require.NoError(t, err)
			assert.Equal(t, tc.depth, p.stackDepth)
			res, err := NewMachine().Run(p, &Input{Packet: make([]byte, 60)})
			require.NoError(t, err)
			assert.Equal(t, tc.r0, res.R0)
		})
	}
}

// TestZeroLengthHelpers: helpers given zero bytes at the start or end of a
// region, even an empty one, run without a fault.
func TestZeroLengthHelpers(t *testing.T) {
	for _, tc := range []struct {
		name string
		typ  ProgType
		src  string
		r0   uint64
	}{
		{"csum over an empty memory window", TypePredicate, "r1 = *(u64 *)(r1 + 56)\nr2 = 0\nr3 = 0\ncall 3\nexit", 0xffff},
		{"csum at the end of the counters", TypePredicate, "r1 = *(u64 *)(r1 + 72)\nr1 += 64\nr2 = 0\nr3 = 0\ncall 3\nexit", 0xffff},
		{"pkt_copy into an empty message buffer", TypeASH, "r2 = *(u64 *)(r1 + 40)\nr1 = 0\nr3 = 0\ncall 2\nexit", 0},
		{"pkt_copy at the end of the reply buffer", TypeASH, "r2 = *(u64 *)(r1 + 24)\nr2 += 1514\nr1 = 0\nr3 = 0\ncall 2\nexit", 0},
		{"pkt_copy_csum into an empty message buffer", TypeASH, "r2 = *(u64 *)(r1 + 40)\nr1 = 0\nr3 = 0\nr4 = 0\ncall 5\nexit", 0xffff},
		{"pkt_copy_csum at the end of the reply buffer", TypeASH, "r2 = *(u64 *)(r1 + 24)\nr2 += 1514\nr1 = 0\nr3 = 0\nr4 = 0xffff\ncall 5\nexit", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			insns, err := Assemble(tc.src)
			require.NoError(t, err)
			p, err := Verify(insns, Config{Type: tc.typ})
			require.NoError(t, err)
			in := Input{Reply: make([]byte, DefaultReplySize), Counters: make([]byte, DefaultCountersSize)}
			res, err := NewMachine().Run(p, &in)
			require.NoError(t, err)
			assert.Equal(t, tc.r0, res.R0)
			assert.Equal(t, len(insns), res.Steps)
		})
	}
}
