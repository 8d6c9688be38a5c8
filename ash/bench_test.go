package ash

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/net/bpf"
)

// Benchmarks quoted in docs/BYTECODE.md ("Measurements"):
//
//	go test -run '^$' -bench . -benchmem -count 5 ./ash/

// udpDstPort7Dd is the output of tcpdump -y EN10MB -dd 'udp dst port 7'
// (libpcap 1.10), the classic program both VMs run in the comparison.
const udpDstPort7Dd = `{ 0x28, 0, 0, 0x0000000c },
{ 0x15, 0, 4, 0x000086dd },
{ 0x30, 0, 0, 0x00000014 },
{ 0x15, 0, 11, 0x00000011 },
{ 0x28, 0, 0, 0x00000038 },
{ 0x15, 8, 9, 0x00000007 },
{ 0x15, 0, 8, 0x00000800 },
{ 0x30, 0, 0, 0x00000017 },
{ 0x15, 0, 6, 0x00000011 },
{ 0x28, 0, 0, 0x00000014 },
{ 0x45, 4, 0, 0x00001fff },
{ 0xb1, 0, 0, 0x0000000e },
{ 0x48, 0, 0, 0x00000010 },
{ 0x15, 0, 1, 0x00000007 },
{ 0x6, 0, 0, 0x00040000 },
{ 0x6, 0, 0, 0x00000000 },
`

var udpDstPort7CBPF = func() []CBPFInstruction {
	c, err := ParseTcpdump(udpDstPort7Dd)
	if err != nil {
		panic(err)
	}
	return c
}()

// benchUDPFrame is a DNS-sized UDP datagram to port 7 (echo): 14 + 20 + 8
// header bytes and 64 bytes of payload.
func benchUDPFrame() []byte {
	f := udpFrame(7, 0)
	return append(f[:len(f)-5], make([]byte, 64)...)
}

func xnetVM(tb testing.TB) *bpf.VM {
	var raw []bpf.RawInstruction
	for _, c := range udpDstPort7CBPF {
		raw = append(raw, bpf.RawInstruction{Op: c.Code, Jt: c.Jt, Jf: c.Jf, K: c.K})
	}
	insns, ok := bpf.Disassemble(raw)
	require.True(tb, ok, "x/net/bpf cannot disassemble every instruction")
	vm, err := bpf.NewVM(insns)
	require.NoError(tb, err)
	return vm
}

// TestBenchmarkProgramsAgree checks that the benchmarked programs give the
// same verdicts, so that the comparison is between equivalent filters.
func TestBenchmarkProgramsAgree(t *testing.T) {
	native, err := udpPortFilter(7).Program(Config{Type: TypeFilter})
	require.NoError(t, err)
	translated, err := ImportCBPF(udpDstPort7Dd)
	require.NoError(t, err)
	asmInsns, err := Assemble(udpPort7Asm)
	require.NoError(t, err)
	hand, err := Verify(asmInsns, Config{Type: TypeFilter})
	require.NoError(t, err)
	vm := xnetVM(t)
	m := NewMachine()
	frag := udpFrame(7, 0)
	frag[14+7] = 0x10 // fragment offset 2 (16 bytes)
	frames := [][]byte{benchUDPFrame(), udpFrame(7, 8), udpFrame(8, 0), icmpEcho(8, 56), udpFrame(7, 0)[:37], frag}
	for i, f := range frames {
		n, err := vm.Run(f)
		require.NoError(t, err)
		a, err := m.Filter(native, f)
		require.NoError(t, err)
		b, err := m.Filter(translated, f)
		require.NoError(t, err)
		require.Equal(t, n != 0, a, "frame %d: builder filter", i)
		require.Equal(t, n != 0, b, "frame %d: translated filter", i)
		c, err := m.Filter(hand, f)
		require.NoError(t, err)
		require.Equal(t, n != 0, c, "frame %d: hand-written filter", i)
		require.Equal(t, i < 2, a, "frame %d", i)
	}
}

func benchFilter(b *testing.B, p *Program) {
	m := NewMachine()
	in := Input{Packet: benchUDPFrame()}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		res, err := m.Run(p, &in)
		if err != nil || res.R0 == 0 {
			b.Fatalf("filter rejected the frame: %v", err)
		}
	}
}

// BenchmarkFilterUDPPort: the builder-made 'UDP to port 7' filter (IPv4,
// any header length), as the library OS would install it.
func BenchmarkFilterUDPPort(b *testing.B) {
	p, err := udpPortFilter(7).Program(Config{Type: TypeFilter})
	require.NoError(b, err)
	benchFilter(b, p)
}

// udpPort7Asm is the same filter written by hand as clang would compile it
// from C: one bounds check for the fixed headers, fields compared in
// network byte order, then the check behind the variable-length IP header.
const udpPort7Asm = `
	r6 = *(u64 *)(r1 + 0)
	r7 = *(u64 *)(r1 + 8)
	r2 = r6
	r2 += 34
	if r2 > r7 goto reject
	r0 = *(u16 *)(r6 + 12)
	if r0 != 0x0008 goto reject    ; ethertype 0x0800, read little-endian
	r0 = *(u8 *)(r6 + 23)
	if r0 != 17 goto reject        ; UDP
	r0 = *(u16 *)(r6 + 20)
	if r0 & 0xff1f goto reject     ; fragment offset 0x1fff, read little-endian
	r2 = *(u8 *)(r6 + 14)
	r2 &= 15
	r2 <<= 2
	r2 += r6                       ; data + IP header length
	r3 = r2
	r3 += 18
	if r3 > r7 goto reject
	r0 = *(u16 *)(r2 + 16)
	if r0 != 0x0700 goto reject    ; port 7, read little-endian
	r0 = 1
	exit
reject:
	r0 = 0
	exit
`

// BenchmarkFilterUDPPortAsm: the hand-written filter.
func BenchmarkFilterUDPPortAsm(b *testing.B) {
	insns, err := Assemble(udpPort7Asm)
	require.NoError(b, err)
	p, err := Verify(insns, Config{Type: TypeFilter})
	require.NoError(b, err)
	benchFilter(b, p)
}

// BenchmarkFilterUDPPortCBPF: the translation of tcpdump's program for
// 'udp dst port 7', the same classic program x/net/bpf runs below.
func BenchmarkFilterUDPPortCBPF(b *testing.B) {
	p, err := ImportCBPF(udpDstPort7Dd)
	require.NoError(b, err)
	benchFilter(b, p)
}

// BenchmarkXNetBPFUDPPort: golang.org/x/net/bpf's VM on the same classic
// program and frame.
func BenchmarkXNetBPFUDPPort(b *testing.B) {
	vm := xnetVM(b)
	f := benchUDPFrame()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		n, err := vm.Run(f)
		if err != nil || n == 0 {
			b.Fatalf("filter rejected the frame: %v", err)
		}
	}
}

// BenchmarkASHICMPEcho: the echo ASH on a 98-byte ping (56 bytes of data):
// checks, pkt_copy of the frame, six field moves, an incremental checksum
// update and send_reply.
func BenchmarkASHICMPEcho(b *testing.B) {
	p, err := icmpEchoASH().Program(Config{Type: TypeASH})
	require.NoError(b, err)
	m := NewMachine()
	in := Input{Packet: icmpEcho(8, 56), Reply: make([]byte, DefaultReplySize)}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		res, err := m.Run(p, &in)
		if err != nil || res.ReplyLen != len(in.Packet) {
			b.Fatalf("no reply: %v", err)
		}
	}
}

// ruleTableFilter builds a filter of exactly n slots: a table of firewall
// rules, each matching ethertype, IP protocol, destination address and
// destination port (behind a variable-length IP header), every field loaded
// with its own bounds check, ending in "accept" or falling through to the
// next rule. It is the verifier benchmark's realistic large program.
func ruleTableFilter(n int) ([]Instruction, int) {
	b := NewBuilder()
	b.LoadPacketPointers(R6, R7)
	rules := 0
	const ruleSlots = 34 // slots one rule below takes
	for b.Len()+ruleSlots+2 <= n {
		next := fmt.Sprintf("rule%d", rules+1)
		b.LoadPacket(R2, SizeH, 12, next).JumpIf(JumpNE, R2, 0x0800, next)
		b.LoadPacket(R3, SizeB, 23, next).JumpIf(JumpNE, R3, []int32{6, 17}[rules%2], next)
		b.LoadPacket(R4, SizeW, 30, next).JumpIf32(JumpNE, R4, int32(0x0a000000+rules), next)
		b.LoadPacket(R5, SizeB, 14, next).ALU(ALUAnd, R5, 0x0f).ALU(ALULsh, R5, 2)
		b.ALUReg(ALUAdd, R5, R6).MovReg(R0, R5).ALU(ALUAdd, R0, 14+4).JumpIfReg(JumpGT, R0, R7, next)
		b.Load(SizeH, R0, R5, 14+2).ToBE(R0, 16).JumpIf(JumpNE, R0, int32(1000+rules), next)
		b.Return(1)
		b.Label(next)
		rules++
	}
	for b.Len() < n-2 {
		b.Mov(R0, 0)
	}
	b.Return(0)
	insns, err := b.Build()
	if err != nil {
		panic(err)
	}
	return insns, rules
}

func TestRuleTableFilter(t *testing.T) {
	insns, rules := ruleTableFilter(MaxInsns)
	require.Len(t, insns, MaxInsns)
	p, err := Verify(insns, Config{Type: TypeFilter})
	require.NoError(t, err)
	m := NewMachine()
	// Odd rules match UDP to 10.0.0.r port 1000+r.
	frame := func(r int, port uint16, optLen int) []byte {
		f := udpFrame(port, optLen)
		f[14+16+3] = byte(r) // destination address 10.0.0.r; the filter ignores the IP checksum
		return f
	}
	last := rules - 1
	if last%2 == 0 {
		last--
	}
	require.Less(t, last, 256)
	for _, tc := range []struct {
		name string
		f    []byte
		want bool
	}{
		{"rule 1", frame(1, 1001, 0), true},
		{"rule 1 with options", frame(1, 1001, 8), true},
		{"last UDP rule", frame(last, uint16(1000+last), 0), true},
		{"rule 1 address, wrong port", frame(1, 1003, 0), false},
		{"even rule is TCP only", frame(2, 1002, 0), false},
		{"truncated", frame(1, 1001, 0)[:36], false},
	} {
		ok, err := m.Filter(p, tc.f)
		require.NoError(t, err)
		require.Equal(t, tc.want, ok, tc.name)
	}
	t.Logf("%d rules", rules)
}

// BenchmarkVerify4096 measures Verify on a 4096-slot rule-table filter.
func BenchmarkVerify4096(b *testing.B) {
	insns, _ := ruleTableFilter(MaxInsns)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := Verify(insns, Config{Type: TypeFilter}); err != nil {
			b.Fatal(err)
		}
	}
}
