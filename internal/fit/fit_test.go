package fit

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/exo-os/exo/internal/testtool"
	"github.com/exo-os/exo/kernel/elf/elftest"
)

// build makes an executable whose program headers are identity-mapped
// (elftest leaves the physical address zero).
func build(t *testing.T, entry uint64, progs []elftest.Prog, pad int) *elf.File {
	f, _ := buildRaw(t, entry, progs, pad)
	return f
}

func buildRaw(t *testing.T, entry uint64, progs []elftest.Prog, pad int) (*elf.File, []byte) {
	b := elftest.Build(entry, progs, pad)
	for i, p := range progs {
		binary.LittleEndian.PutUint64(b[64+56*i+24:], p.VA)
	}
	f, err := elf.NewFile(bytes.NewReader(b))
	require.NoError(t, err)
	return f, b
}

func TestFlatten(t *testing.T) {
	const base = 0x40000000
	f, raw := buildRaw(t, base+0x1010, []elftest.Prog{
		{Type: elftest.PTLoad, Flags: elftest.PFR | elftest.PFX, Off: 0x200, VA: base + 0x1000, FileSz: 0x20, MemSz: 0x20},
		{Type: elftest.PTNote, Flags: elftest.PFR, Off: 0, VA: base, FileSz: 8, MemSz: 8},
		{Type: elftest.PTLoad, Flags: elftest.PFR | elftest.PFW, Off: 0x300, VA: base + 0x3000, FileSz: 0x10, MemSz: 0x35},
		{Type: elftest.PTLoad, Flags: elftest.PFR, Off: 0, VA: base, FileSz: 0x40, MemSz: 0x40},
	}, 0x300)
	p, err := Flatten(f)
	require.NoError(t, err)
	require.Equal(t, uint64(base), p.Load)
	require.Equal(t, uint64(base+0x1010), p.Entry)
	require.Len(t, p.Data, 0x3038, "to the end of the last segment's memory, rounded up to 8")
	require.Equal(t, raw[:0x40], p.Data[:0x40], "the ELF header's segment")
	require.Equal(t, raw[0x200:0x220], p.Data[0x1000:0x1020], "text")
	require.Equal(t, raw[0x300:0x310], p.Data[0x3000:0x3010], "data")
	require.Equal(t, make([]byte, 0x28), p.Data[0x3010:], ".bss and padding are zeros")
	require.Equal(t, make([]byte, 0x1000-0x40), p.Data[0x40:0x1000], "gaps are zeros")
	require.NoError(t, CheckRegion(f, base, 0x4000))
	require.ErrorContains(t, CheckRegion(f, base, 0x3000), "outside")
	require.ErrorContains(t, CheckRegion(f, base+0x1000, 0x4000), "outside")
}

func TestFlattenRefuses(t *testing.T) {
	x := uint32(elftest.PFR | elftest.PFX)
	for _, tc := range []struct {
		name  string
		entry uint64
		progs []elftest.Prog
		want  string
	}{
		{"no segments", 0x1000, nil, "no loadable"},
		{"entry outside", 0x9000, []elftest.Prog{{Type: elftest.PTLoad, Flags: x, VA: 0x1000, FileSz: 0x10, MemSz: 0x10}}, "entry"},
		{"entry not executable", 0x1000, []elftest.Prog{{Type: elftest.PTLoad, Flags: elftest.PFR, VA: 0x1000, FileSz: 0x10, MemSz: 0x10}}, "entry"},
		{"overlap", 0x1000, []elftest.Prog{
			{Type: elftest.PTLoad, Flags: x, VA: 0x1000, FileSz: 0x10, MemSz: 0x100},
			{Type: elftest.PTLoad, Flags: elftest.PFR, VA: 0x1080, FileSz: 0x10, MemSz: 0x10},
		}, "overlap"},
		{"huge", 0x1000, []elftest.Prog{
			{Type: elftest.PTLoad, Flags: x, VA: 0x1000, FileSz: 0x10, MemSz: 0x10},
			{Type: elftest.PTLoad, Flags: elftest.PFR, VA: 0x1000 + MaxSpan, FileSz: 0x10, MemSz: 0x10},
		}, "span"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Flatten(build(t, tc.entry, tc.progs, 0x40))
			require.ErrorContains(t, err, tc.want)
		})
	}
	// A segment whose physical address differs from its virtual one.
	b := elftest.Build(0x1000, []elftest.Prog{{Type: elftest.PTLoad, Flags: x, VA: 0x1000, FileSz: 0x10, MemSz: 0x10}}, 0x40)
	binary.LittleEndian.PutUint64(b[64+24:], 0x2000)
	f, err := elf.NewFile(bytes.NewReader(b))
	require.NoError(t, err)
	_, err = Flatten(f)
	require.ErrorContains(t, err, "physical address")
}

func TestITS(t *testing.T) {
	s := ITS(&Payload{Load: 0x40000000, Entry: 0x4005c340}, "/tmp/x.bin")
	for _, want := range []string{
		`data = /incbin/("/tmp/x.bin");`,
		`type = "firmware";`, `arch = "riscv";`, `os = "u-boot";`,
		`load = <0x0 0x40000000>;`, `entry = <0x0 0x4005c340>;`,
		`compression = "none";`, `firmware = "firmware";`, `default = "config-1";`,
	} {
		require.Contains(t, s, want)
	}
	require.Contains(t, ITS(&Payload{Load: 0x1_2345_6789}, "x"), "load = <0x1 0x23456789>;")
}

// TestTrampoline disassembles the jump with binutils.
func TestTrampoline(t *testing.T) {
	objdump := testtool.Path(t, "riscv64-linux-gnu-objdump")
	for _, entry := range []uint64{0x80200000 + 0x5c340, 0x80000ffc, 0x80000800, 0x7ffff000} {
		b, err := Trampoline(0x80000000, entry)
		require.NoError(t, err)
		p := filepath.Join(t.TempDir(), "t.bin")
		require.NoError(t, os.WriteFile(p, b, 0o644))
		out, err := exec.Command(objdump, "-D", "-b", "binary", "-m", "riscv:rv64", "--adjust-vma=0x80000000", "-M", "no-aliases", p).CombinedOutput()
		require.NoError(t, err, "%s", out)
		dis := string(out)
		require.Contains(t, dis, "auipc\tt0,")
		require.Contains(t, dis, "addi\tt0,t0,")
		require.Contains(t, dis, "jalr\tzero,0(t0)")
		// Compute where it lands from the disassembly's operands.
		var hi, lo int64
		for _, l := range strings.Split(dis, "\n") {
			if i := strings.Index(l, "auipc\tt0,"); i >= 0 {
				v, err := parseInt(l[i+len("auipc\tt0,"):])
				require.NoError(t, err)
				hi = v
			}
			if i := strings.Index(l, "addi\tt0,t0,"); i >= 0 {
				v, err := parseInt(l[i+len("addi\tt0,t0,"):])
				require.NoError(t, err)
				lo = v
			}
		}
		if hi >= 1<<19 {
			hi -= 1 << 20
		}
		require.Equal(t, entry, uint64(0x80000000+hi<<12+lo), "entry %#x", entry)
	}
	_, err := Trampoline(0, 1<<40)
	require.Error(t, err)
}

// parseInt reads objdump's immediate operand (decimal or 0x hex).
func parseInt(s string) (int64, error) {
	return strconv.ParseInt(strings.TrimSpace(strings.Fields(s)[0]), 0, 64)
}
