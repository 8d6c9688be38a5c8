package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/exo-os/exo/ash"
	"github.com/exo-os/exo/internal/testtool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// udpFilter accepts IPv4 frames whose IP protocol is UDP.
const udpFilter = `; accept IPv4 UDP
	r2 = *(u64 *)(r1 + 0)
	r3 = *(u64 *)(r1 + 8)
	r4 = r2
	r4 += 24
	if r4 > r3 goto reject
	r0 = *(u8 *)(r2 + 23)
	if r0 != 17 goto reject
	r0 = 1
	exit
reject:
	r0 = 0
	exit
`

// unsafeFilter reads byte 24 after proving only 24 bytes (line 7).
const unsafeFilter = `r2 = *(u64 *)(r1 + 0)
r3 = *(u64 *)(r1 + 8)
r4 = r2
r4 += 24
if r4 > r3 goto +2

r0 = *(u8 *)(r2 + 24)
exit
r0 = 0
exit
`

const tcpdumpUDP = `{ 0x28, 0, 0, 0x0000000c },
{ 0x15, 0, 3, 0x00000800 },
{ 0x30, 0, 0, 0x00000017 },
{ 0x15, 0, 1, 0x00000011 },
{ 0x6, 0, 0, 0x00040000 },
{ 0x6, 0, 0, 0x00000000 },
`

func write(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	return p
}

func TestRun(t *testing.T) {
	dir := t.TempDir()
	good := write(t, dir, "udp.s", udpFilter)
	unsafe := write(t, dir, "unsafe.s", unsafeFilter)
	bad := write(t, dir, "bad.s", "r0 = 0\n\nr11 = 1\nexit\n")
	undef := write(t, dir, "undef.s", "goto nowhere\nexit\n")
	dd := write(t, dir, "udp.dd", tcpdumpUDP)
	badDd := write(t, dir, "bad.dd", "{ 0x28, 0, 0 },\n")
	loop := write(t, dir, "loop.dd", "{ 0x05, 0, 0, 0xffffffff },\n{ 0x6, 0, 0, 0 },\n")
	ragged := write(t, dir, "ragged.bin", "1234567")
	goodProg, err := ash.Assemble(udpFilter)
	require.NoError(t, err)
	goodBin := filepath.Join(dir, "udp.bin")
	pred := write(t, dir, "pred.s", "r2 = *(u64 *)(r1 + 56)\nr0 = *(u64 *)(r2 + 8)\nexit\n")

	for _, tc := range []struct {
		name       string
		args       []string
		stdin      string
		code       int
		out, err   string // substrings expected on stdout and stderr
		wantOutput []byte // exact stdout, when set
	}{
		{name: "no arguments", code: 2, err: "usage"},
		{name: "unknown command", args: []string{"frob", good}, code: 2, err: `unknown command "frob"`},
		{name: "help", args: []string{"help"}, out: "ashasm asm"},
		{name: "asm", args: []string{"asm", good, "-o", goodBin}},
		{name: "asm default output", args: []string{"asm", good}},
		{name: "asm flag first", args: []string{"asm", "-o", "-", good}, wantOutput: ash.Encode(goodProg)},
		{name: "asm from stdin", args: []string{"asm", "-", "-o", "-"}, stdin: udpFilter, wantOutput: ash.Encode(goodProg)},
		{name: "asm error has file and line", args: []string{"asm", bad}, code: 1, err: bad + ":3: unknown instruction"},
		{name: "asm undefined label", args: []string{"asm", undef}, code: 1, err: undef + `:1: undefined label "nowhere"`},
		{name: "asm two files", args: []string{"asm", good, bad}, code: 2, err: "want one FILE"},
		{name: "asm bad flag", args: []string{"asm", "-x", good}, code: 2, err: "flag provided but not defined"},
		{name: "asm missing file", args: []string{"asm", filepath.Join(dir, "none.s")}, code: 1, err: "no such file"},
		{name: "disasm", args: []string{"disasm", goodBin}, wantOutput: []byte(ash.Disassemble(goodProg))},
		{name: "disasm listing", args: []string{"disasm", "-l", goodBin}, out: "    4:\tif r4 > r3 goto +4"},
		{name: "disasm text", args: []string{"disasm", good}, wantOutput: []byte(ash.Disassemble(goodProg))},
		{name: "disasm ragged", args: []string{"disasm", ragged}, code: 1, err: "not a whole number"},
		{name: "disasm section of raw", args: []string{"disasm", "-section", "ash", goodBin}, code: 2, err: "applies to ELF objects"},
		{name: "verify text", args: []string{"verify", "-type", "filter", good}, out: "ok: filter program of 11 instruction slots"},
		{name: "verify binary", args: []string{"verify", "-type", "filter", goodBin}, out: "ok: filter"},
		{name: "verify rejection has line", args: []string{"verify", "-type", "filter", unsafe}, code: 1,
			err: unsafe + ":7: rejected: ash: verify: instruction 5: out of bounds"},
		{name: "verify rejection shows instruction", args: []string{"verify", "-type", "filter", unsafe}, code: 1,
			err: "    5:\tr0 = *(u8 *)(r2 + 24)"},
		{name: "verify wrong type", args: []string{"verify", "-type", "predicate", good}, code: 1, err: "region"},
		{name: "verify predicate with window", args: []string{"verify", "-type", "predicate", "-mem", "16", pred}, out: "ok: predicate"},
		{name: "verify predicate window too small", args: []string{"verify", "-mem", "8", "-type", "predicate", pred}, code: 1, err: "exceeds the 8-byte env memory"},
		{name: "verify no type", args: []string{"verify", good}, code: 2, err: "-type must be"},
		{name: "verify bad type", args: []string{"verify", "-type", "xdp", good}, code: 2, err: `not "xdp"`},
		{name: "cbpf", args: []string{"cbpf", dd}, out: "; " + dd + ": 6 classic instructions"},
		{name: "cbpf parse error", args: []string{"cbpf", badDd}, code: 1, err: "line 1"},
		{name: "cbpf loop", args: []string{"cbpf", loop}, code: 1, err: "backward jump"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(tc.args, strings.NewReader(tc.stdin), &stdout, &stderr)
			assert.Equal(t, tc.code, code, "stderr: %s", stderr.String())
			assert.Contains(t, stdout.String(), tc.out)
			assert.Contains(t, stderr.String(), tc.err)
			if tc.wantOutput != nil {
				assert.Equal(t, tc.wantOutput, stdout.Bytes())
			}
		})
	}
	b, err := os.ReadFile(filepath.Join(dir, "udp.bin"))
	require.NoError(t, err)
	assert.Equal(t, ash.Encode(goodProg), b, "asm output")
}

// TestRoundTrip: asm -> bin -> disasm -> asm gives the same bytes, for a
// program with every mnemonic form and for the cbpf translation.
func TestRoundTrip(t *testing.T) {
	dir := t.TempDir()
	dd := write(t, dir, "udp.dd", tcpdumpUDP)
	var cbpfOut, stderr bytes.Buffer
	require.Equal(t, 0, run([]string{"cbpf", dd}, nil, &cbpfOut, &stderr), stderr.String())

	for _, tc := range []struct{ name, src string }{
		{"udp filter", udpFilter},
		{"cbpf translation", cbpfOut.String()},
		{"odd slots", ".insn 0x07, 1, 3, 0, 5\nr1 = -1 ll\n.insn 0xff, 15, 15, -1, -1\n*(u32 *)(r10 - 8) = 7\nr3 = be64 r3\nexit\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := write(t, dir, "a.s", tc.src)
			bin1, bin2 := filepath.Join(dir, "a.bin"), filepath.Join(dir, "b.bin")
			var out, errb bytes.Buffer
			require.Equal(t, 0, run([]string{"asm", src, "-o", bin1}, nil, &out, &errb), errb.String())
			require.Equal(t, 0, run([]string{"disasm", bin1}, nil, &out, &errb), errb.String())
			text := write(t, dir, "b.s", out.String())
			require.Equal(t, 0, run([]string{"asm", text, "-o", bin2}, nil, &out, &errb), errb.String())
			b1, err := os.ReadFile(bin1)
			require.NoError(t, err)
			b2, err := os.ReadFile(bin2)
			require.NoError(t, err)
			assert.Equal(t, b1, b2)
			assert.NotEmpty(t, b1)
		})
	}
}

// TestELF: disassemble and verify what clang compiles from the C ASH in
// ash/testdata/c.
func TestELF(t *testing.T) {
	clang := testtool.Path(t, "clang")
	obj := filepath.Join(t.TempDir(), "echo.o")
	out, err := exec.Command(clang, "-target", "bpf", "-O2", "-c", "../../ash/testdata/c/icmp_echo.c", "-o", obj).CombinedOutput()
	require.NoError(t, err, "%s", out)

	var stdout, stderr bytes.Buffer
	require.Equal(t, 0, run([]string{"disasm", obj}, nil, &stdout, &stderr), stderr.String())
	assert.Contains(t, stdout.String(), "call 2\n")
	assert.Contains(t, stdout.String(), "r8 = *(u64 *)(r1 + 24)\n")
	prog, err := ash.Assemble(stdout.String())
	require.NoError(t, err)

	stdout.Reset()
	require.Equal(t, 0, run([]string{"verify", "-type", "ash", "-section", "icmp_echo", obj}, nil, &stdout, &stderr), stderr.String())
	assert.Contains(t, stdout.String(), "ok: ash program")

	stderr.Reset()
	assert.Equal(t, 1, run([]string{"verify", "-type", "filter", obj}, nil, &stdout, &stderr))
	assert.Contains(t, stderr.String(), "context field reply is not available to filter programs")

	assert.Equal(t, 1, run([]string{"disasm", "-section", "nope", obj}, nil, &stdout, &stderr))
	assert.Contains(t, stderr.String(), `no section or function named "nope"`)
	assert.Greater(t, len(prog), 40)
}
