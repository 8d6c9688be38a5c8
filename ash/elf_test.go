package ash

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/exo-os/exo/internal/testtool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testSection is one section of an object built by buildELF.
type testSection struct {
	name    string
	typ     elf.SectionType
	flags   elf.SectionFlag
	data    []byte
	link    uint32
	info    uint32
	entsize uint64
}

// buildELF writes a little-endian ELF64 relocatable object for machine with
// the given sections after the null section, and a section-name table last.
func buildELF(machine elf.Machine, secs []testSection) []byte {
	le := binary.LittleEndian
	shstr := []byte{0}
	nameOff := make([]uint32, len(secs)+1)
	for i, s := range secs {
		nameOff[i] = uint32(len(shstr))
		shstr = append(append(shstr, s.name...), 0)
	}
	nameOff[len(secs)] = uint32(len(shstr))
	shstr = append(shstr, ".shstrtab\x00"...)
	all := append(append([]testSection(nil), secs...), testSection{name: ".shstrtab", typ: elf.SHT_STRTAB, data: shstr})

	out := make([]byte, 64)
	offs := make([]uint64, len(all))
	for i, s := range all {
		for len(out)%8 != 0 {
			out = append(out, 0)
		}
		offs[i] = uint64(len(out))
		out = append(out, s.data...)
	}
	for len(out)%8 != 0 {
		out = append(out, 0)
	}
	shoff := uint64(len(out))
	out = append(out, make([]byte, 64)...) // the null section header
	for i, s := range all {
		h := make([]byte, 64)
		le.PutUint32(h[0:], nameOff[i])
		le.PutUint32(h[4:], uint32(s.typ))
		le.PutUint64(h[8:], uint64(s.flags))
		le.PutUint64(h[24:], offs[i])
		le.PutUint64(h[32:], uint64(len(s.data)))
		le.PutUint32(h[40:], s.link)
		le.PutUint32(h[44:], s.info)
		le.PutUint64(h[48:], 8)
		le.PutUint64(h[56:], s.entsize)
		out = append(out, h...)
	}
	copy(out, []byte{0x7f, 'E', 'L', 'F', byte(elf.ELFCLASS64), byte(elf.ELFDATA2LSB), 1})
	le.PutUint16(out[16:], uint16(elf.ET_REL))
	le.PutUint16(out[18:], uint16(machine))
	le.PutUint32(out[20:], 1)
	le.PutUint64(out[40:], shoff)
	le.PutUint16(out[52:], 64)
	le.PutUint16(out[58:], 64)
	le.PutUint16(out[60:], uint16(len(all)+1))
	le.PutUint16(out[62:], uint16(len(all)))
	return out
}

// elfSym is an Elf64_Sym.
func elfSym(name uint32, info byte, shndx uint16, value, size uint64) []byte {
	b := make([]byte, 24)
	binary.LittleEndian.PutUint32(b, name)
	b[4] = info
	binary.LittleEndian.PutUint16(b[6:], shndx)
	binary.LittleEndian.PutUint64(b[8:], value)
	binary.LittleEndian.PutUint64(b[16:], size)
	return b
}

// testObject returns an object like clang's: section 1 "ash" with two
// functions (f: r0 = 1; exit, and g: r0 = 2; exit), 2 .strtab, 3 .symtab,
// and with reloc, 4 .relash with a relocation at g's first instruction
// against the symbol "counter".
func testObject(reloc bool) []byte {
	code := Encode([]Instruction{{Op: 0xb7, Imm: 1}, {Op: OpExit}, {Op: 0xb7, Imm: 2}, {Op: OpExit}})
	strtab := []byte("\x00f\x00g\x00counter\x00")
	var symtab []byte
	symtab = append(symtab, make([]byte, 24)...)
	symtab = append(symtab, elfSym(1, byte(elf.STB_GLOBAL)<<4|byte(elf.STT_FUNC), 1, 0, 16)...)
	symtab = append(symtab, elfSym(3, byte(elf.STB_GLOBAL)<<4|byte(elf.STT_FUNC), 1, 16, 16)...)
	symtab = append(symtab, elfSym(5, byte(elf.STB_GLOBAL)<<4|byte(elf.STT_OBJECT), 0, 0, 8)...)
	secs := []testSection{
		{name: "ash", typ: elf.SHT_PROGBITS, flags: elf.SHF_ALLOC | elf.SHF_EXECINSTR, data: code},
		{name: ".strtab", typ: elf.SHT_STRTAB, data: strtab},
		{name: ".symtab", typ: elf.SHT_SYMTAB, data: symtab, link: 2, info: 1, entsize: 24},
	}
	if reloc {
		rel := make([]byte, 16)
		binary.LittleEndian.PutUint64(rel, 16)
		binary.LittleEndian.PutUint64(rel[8:], 3<<32|1) // symbol 3, R_BPF_64_64
		secs = append(secs, testSection{name: ".relash", typ: elf.SHT_REL, data: rel, link: 3, info: 1, entsize: 16})
	}
	return buildELF(elf.EM_BPF, secs)
}

func TestLoadELF(t *testing.T) {
	obj := testObject(false)
	relocated := testObject(true)
	twoSections := buildELF(elf.EM_BPF, []testSection{
		{name: "a", typ: elf.SHT_PROGBITS, flags: elf.SHF_EXECINSTR, data: Encode([]Instruction{{Op: OpExit}})},
		{name: "b", typ: elf.SHT_PROGBITS, flags: elf.SHF_EXECINSTR, data: Encode([]Instruction{{Op: OpExit}})},
	})
	ragged := buildELF(elf.EM_BPF, []testSection{{name: "ash", typ: elf.SHT_PROGBITS, flags: elf.SHF_EXECINSTR, data: make([]byte, 12)}})
	big := buildELF(elf.EM_BPF, []testSection{{name: "ash", typ: elf.SHT_PROGBITS, flags: elf.SHF_EXECINSTR, data: make([]byte, 8*(MaxInsns+1))}})
	data := buildELF(elf.EM_BPF, []testSection{{name: ".data", typ: elf.SHT_PROGBITS, flags: elf.SHF_ALLOC | elf.SHF_WRITE, data: make([]byte, 8)}})
	riscv := buildELF(elf.EM_RISCV, nil)
	exec := append([]byte(nil), obj...)
	binary.LittleEndian.PutUint16(exec[16:], uint16(elf.ET_EXEC))
	// A big-endian header with no sections.
	bigEndian := make([]byte, 64)
	copy(bigEndian, []byte{0x7f, 'E', 'L', 'F', byte(elf.ELFCLASS64), byte(elf.ELFDATA2MSB), 1})
	binary.BigEndian.PutUint16(bigEndian[16:], uint16(elf.ET_REL))
	binary.BigEndian.PutUint16(bigEndian[18:], uint16(elf.EM_BPF))
	binary.BigEndian.PutUint32(bigEndian[20:], 1)
	binary.BigEndian.PutUint16(bigEndian[52:], 64)
	class32 := append([]byte(nil), obj...)
	class32[4] = byte(elf.ELFCLASS32)

	f1 := []Instruction{{Op: 0xb7, Imm: 1}, {Op: OpExit}}
	g := []Instruction{{Op: 0xb7, Imm: 2}, {Op: OpExit}}
	for _, tc := range []struct {
		name, prog string
		obj        []byte
		want       []Instruction
		err        string
	}{
		{"whole section by name", "ash", obj, append(append([]Instruction(nil), f1...), g...), ""},
		{"the only section", "", obj, append(append([]Instruction(nil), f1...), g...), ""},
		{"function f", "f", obj, f1, ""},
		{"function g", "g", obj, g, ""},
		{"relocation outside the program", "f", relocated, f1, ""},
		{"relocation in the program", "g", relocated, nil, `instruction 0 refers to symbol "counter" via R_BPF_64_64`},
		{"relocation in the section", "ash", relocated, nil, `instruction 2 refers to symbol "counter"`},
		{"unknown name", "nope", obj, nil, `no section or function named "nope"`},
		{"data symbol", "counter", obj, nil, `no section or function named "counter"`},
		{"two sections, no name", "", twoSections, nil, "several program sections"},
		{"two sections, named", "b", twoSections, []Instruction{{Op: OpExit}}, ""},
		{"ragged section", "ash", ragged, nil, "not a nonempty whole number"},
		{"too many instructions", "", big, nil, "above the limit"},
		{"not code", ".data", data, nil, "not an executable section"},
		{"no code", "", data, nil, "no executable section"},
		{"wrong machine", "", riscv, nil, "not EM_BPF"},
		{"executable", "", exec, nil, "not a relocatable object"},
		{"big-endian", "", bigEndian, nil, "little-endian"},
		{"32-bit", "", class32, nil, "ash: elf:"},
		{"not ELF", "", []byte("#!/bin/sh\n"), nil, "ash: elf:"},
		{"empty", "", nil, nil, "ash: elf:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := LoadELF(tc.obj, tc.prog)
			if tc.err != "" {
				assert.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

// clangBPF compiles C source to an eBPF object with clang, or skips (fails
// under EXO_REQUIRE_TOOLS=1) when clang is missing.
func clangBPF(t *testing.T, src, dir string, flags ...string) []byte {
	t.Helper()
	clang := testtool.Path(t, "clang")
	obj := filepath.Join(t.TempDir(), "prog.o")
	args := append([]string{"-target", "bpf", "-O2", "-Wall", "-Werror", "-I", dir}, flags...)
	out, err := exec.Command(clang, append(args, "-c", src, "-o", obj)...).CombinedOutput()
	require.NoError(t, err, "clang: %s", out)
	b, err := os.ReadFile(obj)
	require.NoError(t, err)
	return b
}

// TestClangICMPEcho compiles testdata/c/icmp_echo.c, loads, verifies and
// runs it beside the builder-made icmpEchoASH: the same results and the
// same reply bytes on every frame. It does so for clang's default
// instruction set (v1) and for v3, which adds 32-bit jumps and arithmetic.
func TestClangICMPEcho(t *testing.T) {
	for _, cpu := range []string{"v1", "v3"} {
		t.Run(cpu, func(t *testing.T) { testClangICMPEcho(t, "-mcpu="+cpu) })
	}
}

func testClangICMPEcho(t *testing.T, flags ...string) {
	obj := clangBPF(t, "testdata/c/icmp_echo.c", "testdata/c", flags...)
	insns, err := LoadELF(obj, "ash")
	require.NoError(t, err)
	byFunc, err := LoadELF(obj, "icmp_echo")
	require.NoError(t, err)
	require.Equal(t, insns, byFunc)
	cProg, err := Verify(insns, Config{Type: TypeASH})
	require.NoError(t, err, "\n%s", DisassembleListing(insns))
	goProg, err := icmpEchoASH().Program(Config{Type: TypeASH})
	require.NoError(t, err)

	m := NewMachine()
	for _, tc := range echoCases() {
		t.Run(tc.name, func(t *testing.T) {
			var res [2]Result
			var reply [2][]byte
			for i, p := range []*Program{goProg, cProg} {
				reply[i] = bytes.Repeat([]byte{0xee}, DefaultReplySize)
				r, err := m.Run(p, &Input{Packet: tc.frame, Reply: reply[i]})
				require.NoError(t, err)
				res[i] = r
			}
			assert.Equal(t, res[0].R0, res[1].R0)
			assert.Equal(t, res[0].ReplyLen, res[1].ReplyLen)
			assert.Equal(t, reply[0], reply[1])
			assert.Equal(t, tc.reply, res[1].ReplyLen > 0)
		})
	}
}

// TestClangRejections: what clang emits for globals and calls that were
// not inlined is refused by the loader with the symbol named.
func TestClangRejections(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ name, src, err string }{
		{"global variable", `#include "exo_ash.h"
long hits;
SEC("ash") long f(struct exo_ctx *ctx) { hits++; return 0; }`, `refers to symbol "hits"`},
		{"bpf-to-bpf call", `#include "exo_ash.h"
__attribute__((noinline)) long g(long x) { return x * 3; }
SEC("ash") long f(struct exo_ctx *ctx) { return g(ctx->len); }`, "not inlined"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := filepath.Join(dir, "x.c")
			require.NoError(t, os.WriteFile(src, []byte(tc.src), 0o644))
			abs, err := filepath.Abs("testdata/c")
			require.NoError(t, err)
			obj := clangBPF(t, src, abs)
			_, err = LoadELF(obj, "ash")
			assert.ErrorContains(t, err, tc.err)
		})
	}
}

// FuzzLoadELF: malformed objects never panic the loader, and anything it
// returns is within the size limit and can be handed to the verifier.
func FuzzLoadELF(f *testing.F) {
	f.Add(testObject(false))
	f.Add(testObject(true))
	f.Add(buildELF(elf.EM_BPF, nil))
	f.Fuzz(func(t *testing.T, obj []byte) {
		for _, name := range []string{"", "ash", "f", "g"} {
			insns, err := LoadELF(obj, name)
			if err != nil {
				require.Nil(t, insns)
				continue
			}
			require.NotEmpty(t, insns)
			require.LessOrEqual(t, len(insns), MaxInsns)
			_, _ = Verify(insns, Config{Type: TypeASH})
		}
	})
}
