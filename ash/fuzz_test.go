package ash

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/net/bpf"
)

// The fuzz targets. Their checked-in corpora (testdata/fuzz/<Target>) run as
// regression tests in every go test; `make fuzz-brief` explores a little
// further on each run, and `go test -fuzz '^FuzzVerifyRun$' ./ash/` for
// longer. ASH_FUZZ_STATS=dir makes each fuzzing process write its counts of
// generated, accepted and run programs to dir (docs/BYTECODE.md quotes them).

// distinct counts the distinct programs (by hash of the fuzz bytes that
// encode them) this process generated and accepted; the fuzzer often
// mutates only the packet data of a program it has already tried.
var distinct struct {
	sync.Mutex
	tried, accepted map[uint64]bool
}

// writeFuzzStats records the counts for this process every 4096 programs.
func writeFuzzStats(code []byte, accepted bool) {
	dir := os.Getenv("ASH_FUZZ_STATS")
	if dir == "" {
		return
	}
	h := fnv.New64a()
	h.Write(code)
	sum := h.Sum64()
	distinct.Lock()
	defer distinct.Unlock()
	if distinct.tried == nil {
		distinct.tried, distinct.accepted = map[uint64]bool{}, map[uint64]bool{}
	}
	distinct.tried[sum] = true
	if accepted {
		distinct.accepted[sum] = true
	}
	if fuzzStats.tried.Load()%4096 != 0 {
		return
	}
	line := fmt.Sprintf("tried %d accepted %d runs %d distinct %d distinct-accepted %d\n", fuzzStats.tried.Load(), fuzzStats.accepted.Load(),
		fuzzStats.runs.Load(), len(distinct.tried), len(distinct.accepted))
	_ = os.WriteFile(filepath.Join(dir, fmt.Sprintf("stats.%d", os.Getpid())), []byte(line), 0o644)
}

// FuzzVerifyRun: any program the verifier accepts, run on inputs derived
// from the fuzz data, returns within its step budget, never faults in the
// interpreter's own bounds checks, and does not depend on stack bytes it did
// not write. A failure is a verifier bug; the message has the listing.
func FuzzVerifyRun(f *testing.F) {
	for _, seed := range fuzzVerifyRunSeeds() {
		f.Add(seed, []byte("seed packet: 0123456789abcdef0123456789abcdef0123456789abcdef"))
	}
	f.Fuzz(func(t *testing.T, code, data []byte) {
		gp := genFromBytes(code)
		ok, err := checkProgram(gp, data)
		if err != nil {
			t.Fatalf("%v\nconfig %+v\n%s", err, gp.cfg, DisassembleListing(gp.insns))
		}
		writeFuzzStats(code, ok)
	})
}

// fuzzVerifyRunSeeds are starting points for the structured generator:
// each program type in structured mode with a few templates, and raw mode.
func fuzzVerifyRunSeeds() [][]byte {
	rng := rand.New(rand.NewSource(7))
	var seeds [][]byte
	for typ := byte(0); typ < 3; typ++ {
		for _, n := range []int{8, 64, 256} {
			b := make([]byte, n)
			rng.Read(b)
			b[0], b[1] = typ, 1
			seeds = append(seeds, b)
		}
		seeds = append(seeds, append([]byte{typ, 0, 0}, Encode([]Instruction{{Op: 0xb7}, {Op: OpExit}})...))
	}
	return seeds
}

// TestGeneratedProgramsNoEscape drives the fuzz generator from a seeded
// random source, so every go test runs a few thousand generated programs,
// and holds the generator to a useful acceptance rate. ASH_GEN_PROGRAMS
// raises the count.
func TestGeneratedProgramsNoEscape(t *testing.T) {
	n := 3000
	if s := os.Getenv("ASH_GEN_PROGRAMS"); s != "" {
		_, err := fmt.Sscan(s, &n)
		require.NoError(t, err)
	}
	if testing.Short() {
		n = 300
	}
	rng := rand.New(rand.NewSource(1))
	var tried, accepted [4]int
	for i := 0; i < n; i++ {
		code := make([]byte, 8+rng.Intn(200))
		rng.Read(code)
		code[1] |= 1 // structured mode
		data := make([]byte, rng.Intn(120))
		rng.Read(data)
		gp := genFromBytes(code)
		ok, err := checkProgram(gp, data)
		require.NoError(t, err, "config %+v\n%s", gp.cfg, DisassembleListing(gp.insns))
		tried[gp.cfg.Type]++
		if ok {
			accepted[gp.cfg.Type]++
		}
	}
	total, acc := 0, 0
	for typ := TypeFilter; typ <= TypePredicate; typ++ {
		t.Logf("%s: %d of %d generated programs verified, none escaped", typ, accepted[typ], tried[typ])
		assert.Greater(t, accepted[typ]*5, tried[typ], "%s: generator acceptance below 20%%", typ)
		total += tried[typ]
		acc += accepted[typ]
	}
	t.Logf("total: %d of %d verified and run on 12 inputs each, twice", acc, total)
}

// FuzzAssemble: the assembler never panics, and text it accepts disassembles
// to canonical text that assembles to the same slots, and is a fixed point.
func FuzzAssemble(f *testing.F) {
	f.Add(canonicalText)
	f.Add("start: r0 = 0 ; c\nif r1 == 0 goto start\nexit")
	f.Add("r1 = -9223372036854775808 ll\n.insn 0xff, 15, 15, -1, -1\n*(u8 *)(r10 - 1) = r1")
	for _, tc := range hostileCorpus[:20] {
		f.Add(tc.src)
	}
	f.Fuzz(func(t *testing.T, src string) {
		prog, err := Assemble(src)
		if err != nil {
			require.True(t, strings.HasPrefix(err.Error(), "ash: asm: line "), "error without a line: %v", err)
			return
		}
		text := Disassemble(prog)
		again, err := Assemble(text)
		require.NoError(t, err, "canonical text does not assemble:\n%s", text)
		require.Equal(t, prog, again, "round trip changed the slots:\n%s", text)
		require.Equal(t, text, Disassemble(again))
	})
}

// FuzzDisassemble: any byte string decodes, disassembles and assembles back
// to the same slots.
func FuzzDisassemble(f *testing.F) {
	f.Add(Encode([]Instruction{{Op: 0x07, Dst: 1, Src: 3, Imm: 5}, {Op: OpLdDW, Dst: 2, Imm: 7}, {Imm: 9}, {Op: OpExit}}))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x18, 0, 0, 0, 1, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		prog, err := Decode(b[:len(b)/InsnSize*InsnSize])
		require.NoError(t, err)
		text := Disassemble(prog)
		again, err := Assemble(text)
		require.NoError(t, err, "disassembly does not assemble:\n%s", text)
		if len(prog) == 0 {
			require.Empty(t, again)
			return
		}
		require.Equal(t, prog, again, "text:\n%s", text)
	})
}

// cbpfFromBytes reads struct sock_filter records (code u16, jt, jf, k u32,
// little-endian) from b.
func cbpfFromBytes(b []byte) []CBPFInstruction {
	var out []CBPFInstruction
	for ; len(b) >= 8; b = b[8:] {
		out = append(out, CBPFInstruction{Code: binary.LittleEndian.Uint16(b), Jt: b[2], Jf: b[3], K: binary.LittleEndian.Uint32(b[4:])})
	}
	return out
}

func cbpfBytes(prog []CBPFInstruction) []byte {
	var out []byte
	for _, c := range prog {
		out = binary.LittleEndian.AppendUint16(out, c.Code)
		out = append(out, c.Jt, c.Jf)
		out = binary.LittleEndian.AppendUint32(out, c.K)
	}
	return out
}

// FuzzImportCBPF: the tcpdump text parser and the classic-BPF translator
// never panic; every classic program the translator accepts verifies, runs
// without a fault on packets derived from the data, and agrees with
// golang.org/x/net/bpf's VM wherever that VM can run it.
func FuzzImportCBPF(f *testing.F) {
	// tcpdump -dd 'udp dst port 7' and 'ip[2:2] / ip[8] > 10' (EN10MB).
	f.Add(cbpfBytes(udpDstPort7CBPF), []byte{})
	f.Add(cbpfBytes([]CBPFInstruction{{0x28, 0, 0, 12}, {0x15, 0, 6, 0x800}, {0x28, 0, 0, 16}, {0x07, 0, 0, 0},
		{0x30, 0, 0, 22}, {0x3c, 0, 0, 0}, {0x25, 0, 1, 10}, {0x06, 0, 0, 262144}, {0x06, 0, 0, 0}}), []byte{})
	f.Add([]byte("{ 0x28, 0, 0, 0x0000000c },\n{ 0x6, 0, 0, 0x00040000 },\n"), []byte{})
	f.Add([]byte("2\n40 0 0 12\n6 0 0 1\n"), []byte{})
	f.Fuzz(func(t *testing.T, code, data []byte) {
		progs := [][]CBPFInstruction{cbpfFromBytes(code)}
		if c, err := ParseTcpdump(string(code)); err == nil {
			progs = append(progs, c)
		}
		for _, c := range progs {
			checkCBPF(t, c, data)
		}
	})
}

func checkCBPF(t *testing.T, c []CBPFInstruction, data []byte) {
	insns, err := TranslateCBPF(c)
	if err != nil {
		require.True(t, strings.HasPrefix(err.Error(), "ash: cbpf: "), "%v", err)
		return
	}
	p, err := Verify(insns, Config{Type: TypeFilter})
	require.NoError(t, err, "translation of %v does not verify:\n%s", c, DisassembleListing(insns))
	var raw []bpf.RawInstruction
	for _, x := range c {
		raw = append(raw, bpf.RawInstruction{Op: x.Code, Jt: x.Jt, Jf: x.Jf, K: x.K})
	}
	dis, _ := bpf.Disassemble(raw)
	vm, vmErr := bpf.NewVM(dis)
	for _, in := range dis {
		if _, ok := in.(bpf.LoadExtension); ok {
			// x/net/bpf implements Linux's "len" extension (a load at
			// SKF_AD_OFF+1); libpcap's interpreter, which the translation
			// follows, treats it as an out-of-range load and returns 0.
			vmErr = fmt.Errorf("extension")
		}
	}
	m := NewMachine()
	for _, in := range genInputs(p.Config(), data) {
		res, err := m.Run(p, &Input{Packet: in.packet, WireLen: in.wire})
		require.NoError(t, err, "cbpf %v\n%s", c, DisassembleListing(insns))
		require.LessOrEqual(t, res.Steps, p.Len())
		if vmErr != nil || in.wire != len(in.packet) {
			continue
		}
		want, err := vm.Run(in.packet)
		if err != nil {
			continue // an instruction x/net/bpf does not implement
		}
		require.Equal(t, uint32(want), uint32(res.R0), "x/net/bpf disagrees on a %d-byte packet; cbpf %v\n%s", len(in.packet), c, DisassembleListing(insns))
	}
}
