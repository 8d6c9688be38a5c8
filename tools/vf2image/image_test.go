package main

import (
	"bytes"
	"crypto/sha256"
	"debug/elf"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/exo-os/exo/board/starfive/visionfive2"
	"github.com/exo-os/exo/firmware/visionfive2/envpack"
	"github.com/exo-os/exo/internal/fit"
	"github.com/exo-os/exo/internal/testtool"
	"github.com/exo-os/exo/kernel/abi"
	kelf "github.com/exo-os/exo/kernel/elf"
)

// These tests check what `make image BOARD=visionfive2` built: the FIT
// image (EXO_VF2_IMAGE) and the kernel ELF it was made from (EXO_VF2_ELF).
// `make test` builds both and sets the variables.

func vf2(t *testing.T) (img, kernel string) {
	t.Helper()
	img = testtool.Env(t, "EXO_VF2_IMAGE", "make test builds the VisionFive 2 image and sets it")
	kernel = testtool.Env(t, "EXO_VF2_ELF", "make test builds the VisionFive 2 kernel and sets it")
	return img, kernel
}

// fitProps reads the FIT's firmware image node back with dtc.
func fitProps(t *testing.T, img string) map[string]string {
	out, err := exec.Command(testtool.Path(t, "dtc"), "-I", "dtb", "-O", "dts", img).CombinedOutput()
	require.NoError(t, err, "%s", out)
	s := string(out)
	i := strings.Index(s, "firmware {")
	require.Positive(t, i, "an images/firmware node")
	props := map[string]string{}
	for _, m := range regexp.MustCompile(`(?m)^\s*([a-z-]+) = ([^;]*);`).FindAllStringSubmatch(s[i:], -1) {
		if _, seen := props[m[1]]; !seen {
			props[m[1]] = m[2]
		}
	}
	return props
}

// cells64 decodes a two-cell address like "<0x00 0x40000000>".
func cells64(t *testing.T, v string) uint64 {
	f := strings.Fields(strings.Trim(v, "<>"))
	require.Len(t, f, 2, "two cells in %q", v)
	hi, err := strconv.ParseUint(f[0], 0, 32)
	require.NoError(t, err)
	lo, err := strconv.ParseUint(f[1], 0, 32)
	require.NoError(t, err)
	return hi<<32 | lo
}

// Test 1: the image is a valid FIT, as mkimage reads it, with the
// expected architecture, type, OS and addresses, and its payload is
// byte-for-byte the kernel binary.
func TestImage(t *testing.T) {
	img, kernel := vf2(t)
	out, err := exec.Command(testtool.Path(t, "mkimage"), "-l", img).CombinedOutput()
	require.NoError(t, err, "%s", out)
	list := string(out)
	t.Logf("mkimage -l:\n%s", list)
	for _, want := range []string{
		"FIT description: Exo exokernel for the StarFive VisionFive 2",
		"Image 0 (firmware)",
		"Type:         Firmware",
		"Compression:  uncompressed",
		"Architecture: RISC-V",
		"OS:           U-Boot",
		"Load Address: 0x40000000",
		"Default Configuration: 'config-1'",
		"Firmware:     firmware",
	} {
		require.Contains(t, list, want)
	}

	f, err := elf.Open(kernel)
	require.NoError(t, err)
	defer f.Close()
	p, err := fit.Flatten(f)
	require.NoError(t, err)
	props := fitProps(t, img)
	require.Equal(t, `"firmware"`, props["type"])
	require.Equal(t, `"riscv"`, props["arch"])
	require.Equal(t, `"u-boot"`, props["os"])
	require.Equal(t, p.Load, cells64(t, props["load"]))
	require.Equal(t, p.Entry, cells64(t, props["entry"]))

	extracted := filepath.Join(t.TempDir(), "payload.bin")
	out, err = exec.Command(testtool.Path(t, "dumpimage"), "-T", "flat_dt", "-p", "0", "-o", extracted, img).CombinedOutput()
	require.NoError(t, err, "%s", out)
	got, err := os.ReadFile(extracted)
	require.NoError(t, err)
	require.True(t, len(got) == len(p.Data) && string(got) == string(p.Data),
		"the payload dumpimage extracts (%d bytes) is not the kernel binary (%d bytes)", len(got), len(p.Data))
	bin, err := os.ReadFile(strings.TrimSuffix(img, filepath.Ext(img)) + ".bin")
	require.NoError(t, err)
	require.True(t, string(bin) == string(got), "the .bin written next to the image is the payload")

	st, err := os.Stat(img)
	require.NoError(t, err)
	require.LessOrEqual(t, st.Size(), int64(MaxImage), "fits StarFive's 4 MiB boot partition")
	t.Logf("image %d bytes, payload %d bytes, load %#x, entry %#x", st.Size(), len(p.Data), p.Load, p.Entry)
}

// Test 2: the kernel ELF lies in the board's DRAM — inside the memory the
// board gives the kernel — and its entry is the FIT's.
func TestKernelELF(t *testing.T) {
	img, kernel := vf2(t)
	f, err := elf.Open(kernel)
	require.NoError(t, err)
	defer f.Close()
	lowest := ^uint64(0)
	for _, p := range f.Progs {
		if p.Type != elf.PT_LOAD {
			continue
		}
		require.GreaterOrEqual(t, p.Vaddr, uint64(visionfive2.DRAMBase), "segment at %#x", p.Vaddr)
		require.LessOrEqual(t, p.Vaddr+p.Memsz, uint64(visionfive2.KernelStart+visionfive2.KernelSize), "segment at %#x", p.Vaddr)
		require.Equal(t, p.Vaddr, p.Paddr)
		lowest = min(lowest, p.Vaddr)
	}
	require.Equal(t, uint64(visionfive2.DRAMBase), lowest, "the image starts at the DRAM base")
	require.NoError(t, fit.CheckRegion(f, visionfive2.KernelStart, visionfive2.KernelSize))
	require.Equal(t, f.Entry, cells64(t, fitProps(t, img)["entry"]))
	syms, err := f.Symbols()
	require.NoError(t, err)
	for _, s := range syms {
		if s.Name == "_rt0_riscv64_tamago" {
			require.Equal(t, s.Value, f.Entry, "the entry is TamaGo's, which jumps to the hart entry")
			return
		}
	}
	t.Fatal("no _rt0_riscv64_tamago symbol")
}

// The code every hart runs before it is parked, by symbol. The probe is
// only linked into images that use it (the sifive_u test).
var entryPath = []string{
	"_rt0_riscv64_tamago",
	"runtime/goos.CPUInit",
	"cpuinit",
	"github.com/exo-os/exo/board/harts.parkEntry.abi0",
	"github.com/exo-os/exo/board/harts.parkLoop.abi0",
	"github.com/exo-os/exo/board/harts.parkForever.abi0",
}

const probeSym = "github.com/exo-os/exo/board/harts.probe.abi0"

// insnLine splits a line of `objdump -d --no-show-raw-insn` output into
// mnemonic and operands.
var insnLine = regexp.MustCompile(`^\s*[0-9a-f]+:\t([a-z][a-z0-9.]*)(?:\t(.*))?$`)

// fpMnemonic matches the F, D, Q and Zfh instructions, compressed ones
// included (c.fld, c.fsd, ...): they all start with "f", except the fences,
// which are memory ordering. fpCSR matches the floating-point CSRs.
var (
	fpMnemonic = regexp.MustCompile(`^(c\.)?f`)
	fpCSR      = regexp.MustCompile(`\b(fcsr|frm|fflags)\b`)
)

// checkNoFP returns the floating-point instructions in a disassembly.
func checkNoFP(dis string) []string {
	var bad []string
	for _, l := range strings.Split(dis, "\n") {
		m := insnLine.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		if (fpMnemonic.MatchString(m[1]) && !strings.HasPrefix(m[1], "fence")) || fpCSR.MatchString(m[2]) {
			bad = append(bad, strings.TrimSpace(l))
		}
	}
	return bad
}

func TestCheckNoFPFindsFloatingPoint(t *testing.T) {
	dis := "    4000:\tfld\tft0,0(a0)\n" +
		"    4004:\tfence\tiorw,iorw\n" +
		"    4008:\tfence.i\n" +
		"    400c:\tcsrrs\ta0,fcsr,zero\n" +
		"    4010:\tc.fld\tfa0,0(a2)\n" +
		"    4012:\tc.add\ta0,a1\n" +
		"    4014:\tfcvt.d.l\tft0,a0\n" +
		"    4018:\twfi\n"
	require.Equal(t, []string{
		"4000:\tfld\tft0,0(a0)",
		"400c:\tcsrrs\ta0,fcsr,zero",
		"4010:\tc.fld\tfa0,0(a2)",
		"4014:\tfcvt.d.l\tft0,a0",
	}, checkNoFP(dis))
	require.Empty(t, checkNoFP("    4014:\tadd\ta0,a0,a1\n"))
}

// Test 3: the code that runs before harts are parked has no
// floating-point instruction and no access to a floating-point CSR
// (objdump of each symbol on that path, in the VisionFive 2 kernel and in
// the sifive_u test image), and the park path does not branch out of
// itself.
func TestEntryHasNoFloatingPoint(t *testing.T) {
	_, kernel := vf2(t)
	objdump := testtool.Path(t, "riscv64-linux-gnu-objdump")
	images := []string{kernel}
	if h := os.Getenv("EXO_HARTTEST"); h != "" {
		images = append(images, h)
	} else if testtool.Required() {
		t.Fatal("EXO_HARTTEST is not set (make test builds firmware/harttest)")
	}
	for _, path := range images {
		f, err := elf.Open(path)
		require.NoError(t, err)
		syms, err := f.Symbols()
		f.Close()
		require.NoError(t, err)
		bySym := map[string]elf.Symbol{}
		for _, s := range syms {
			bySym[s.Name] = s
		}
		names := append([]string(nil), entryPath...)
		if _, ok := bySym[probeSym]; ok {
			names = append(names, probeSym)
		}
		ranges := map[string][2]uint64{}
		for _, n := range names {
			s, ok := bySym[n]
			require.True(t, ok, "%s: no symbol %s", path, n)
			require.Positive(t, s.Size, "%s: %s has no size", path, n)
			ranges[n] = [2]uint64{s.Value, s.Value + s.Size}
		}
		inPath := func(a uint64) bool {
			for _, r := range ranges {
				if a >= r[0] && a < r[1] {
					return true
				}
			}
			return false
		}
		total, exits, branches := 0, 0, 0
		for _, n := range names {
			r := ranges[n]
			out, err := exec.Command(objdump, "-d", "--no-show-raw-insn", "-M", "no-aliases",
				fmt.Sprintf("--start-address=%#x", r[0]), fmt.Sprintf("--stop-address=%#x", r[1]), path).CombinedOutput()
			require.NoError(t, err, "%s", out)
			dis := string(out)
			insns := regexp.MustCompile(`(?m)^\s*[0-9a-f]+:\t`).FindAllString(dis, -1)
			require.NotEmpty(t, insns, "%s: %s disassembled to nothing", path, n)
			total += len(insns)
			require.Empty(t, checkNoFP(dis), "%s: floating point in %s", path, n)
			// Direct jumps and branches stay on the path; only the
			// winner's jump into the Go runtime leaves it.
			for _, m := range regexp.MustCompile(`(?m)\t(c\.j|c\.jal|jal|beq|bne|blt|bge|bltu|bgeu|c\.beqz|c\.bnez)\t.*?([0-9a-f]+) <([^>]+)>`).FindAllStringSubmatch(dis, -1) {
				target, err := strconv.ParseUint(m[2], 16, 64)
				require.NoError(t, err)
				branches++
				if !inPath(target) {
					exits++
					require.Equal(t, "cpuinit", n, "%s: %s leaves the park path for %s", path, n, m[3])
					require.Contains(t, m[3], "_rt0_tamago_start", "%s: cpuinit leaves for %s", path, m[3])
				}
			}
		}
		require.Equal(t, 1, exits, "%s: one way out of the entry code, into the Go runtime", path)
		require.Greater(t, branches, 10, "%s: the branch scan saw the code's branches", path)
		t.Logf("%s: %d instructions on the path before parking, none floating-point; %d branches, all within it but the one into the runtime", filepath.Base(path), total, branches)
	}
}

// The environment images the VisionFive 2 firmware embeds are the ones the
// QEMU firmware embeds: stripped of symbols and packed, but with the same
// entry and segments, and the same bytes in memory once loaded — except
// the headers, which Go's linker puts in the first page of the first
// segment, before the first allocated section (ELF header, program and
// section header tables) and which strip rewrites; strip also trims
// trailing zeros off the data segment, which the loader supplies anyway.
// Among them is echo, which the first-ping procedure needs
// (docs/BOARDS.md).
func TestEnvImagesAreTheQEMUOnes(t *testing.T) {
	_, kernel := vf2(t)
	build := filepath.Dir(filepath.Dir(kernel))
	packPath := filepath.Join(filepath.Dir(build), "firmware/visionfive2/images/envs.pack")
	archive, err := os.ReadFile(packPath)
	require.NoError(t, err)
	fsys, err := envpack.Open(archive)
	require.NoError(t, err)
	entries, err := fs.ReadDir(fsys, ".")
	require.NoError(t, err)
	var names []string
	raw := 0
	for _, e := range entries {
		names = append(names, e.Name())
	}
	require.Contains(t, names, "echo.elf", "the image carries the echo environment")
	require.Contains(t, names, "hello.elf")
	for _, name := range names {
		packed, err := fs.ReadFile(fsys, name)
		require.NoError(t, err)
		raw += len(packed)
		orig, err := os.ReadFile(filepath.Join(build, "envs", name))
		require.NoError(t, err)
		a, err := elf.NewFile(bytes.NewReader(packed))
		require.NoError(t, err)
		b, err := elf.NewFile(bytes.NewReader(orig))
		require.NoError(t, err)
		require.Equal(t, b.Entry, a.Entry, name)
		load := func(f *elf.File, raw []byte) (out []string) {
			headers := uint64(len(raw))
			for _, sec := range f.Sections {
				if sec.Flags&elf.SHF_ALLOC != 0 {
					headers = min(headers, sec.Offset)
				}
			}
			for _, p := range f.Progs {
				if p.Type == elf.PT_LOAD {
					mem := make([]byte, p.Memsz) // file bytes, then zeros
					_, err := p.ReadAt(mem[:p.Filesz], 0)
					require.NoError(t, err)
					if p.Off == 0 {
						clear(mem[:headers])
					}
					out = append(out, fmt.Sprintf("%#x %#x %v %x", p.Vaddr, p.Memsz, p.Flags, sha256.Sum256(mem)))
				}
			}
			return out
		}
		require.Equal(t, load(b, orig), load(a, packed), name)
		// And the kernel's loader takes it as it takes the original.
		lim := kelf.Limits{Start: abi.RAMStart, End: abi.RAMStart + 64<<20, MaxSegments: 16}
		pa, err := kelf.Parse(packed, lim)
		require.NoError(t, err, name)
		pb, err := kelf.Parse(orig, lim)
		require.NoError(t, err, name)
		require.Equal(t, pb.Entry, pa.Entry)
		require.Equal(t, len(pb.Segments), len(pa.Segments))
		for i := range pb.Segments {
			require.Equal(t, pb.Segments[i].VA, pa.Segments[i].VA)
			require.Equal(t, pb.Segments[i].MemSize, pa.Segments[i].MemSize)
			require.Equal(t, pb.Segments[i].Perm, pa.Segments[i].Perm)
		}
		t.Logf("%s: %d bytes as built, %d stripped", name, len(orig), len(packed))
	}
	img, _ := vf2(t)
	t.Logf("%d images, %d bytes stripped, packed into %d; the image is %d bytes of %d", len(names), raw, len(archive), fileSize(t, img), MaxImage)
}

// The size check names the sizes: the image's, the limit, how much is
// over, and the environment images' share when known; an image that fits
// passes.
func TestCheckSize(t *testing.T) {
	for _, tc := range []struct {
		size, limit, envs int64
		want              []string
	}{
		{size: MaxImage, limit: MaxImage, envs: 1},
		{size: 1000, limit: MaxImage, envs: -1},
		{size: 5_062_721, limit: MaxImage, envs: 2_021_866, want: []string{
			"the image is 5062721 bytes, 868417 more than the 4194304 StarFive's payload partition holds",
			"environment images 2021866 bytes, kernel and the rest 3040855",
			"embed fewer environment images"}},
		{size: MaxImage + 1, limit: MaxImage, envs: -1, want: []string{"4194305 bytes, 1 more than the 4194304"}},
	} {
		err := checkSize(tc.size, tc.limit, tc.envs)
		if tc.want == nil {
			require.NoError(t, err)
			continue
		}
		for _, w := range tc.want {
			require.ErrorContains(t, err, w)
		}
		if tc.envs < 0 {
			require.NotContains(t, err.Error(), "kernel and the rest")
		}
	}
}

// vf2image itself refuses the real kernel when the limit is below its
// image's size, as `make image` would with an image that does not fit,
// and leaves no image behind; with the real limit it writes one.
func TestBuildRefusesAnOversizedImage(t *testing.T) {
	_, kernel := vf2(t)
	testtool.Path(t, "mkimage")
	dir := t.TempDir()
	out := filepath.Join(dir, "visionfive2_fw_payload.img")
	envs := filepath.Join(dir, "envs.pack")
	require.NoError(t, os.WriteFile(envs, make([]byte, 12345), 0o644))
	err := build(kernel, out, 1<<20, envs)
	require.ErrorContains(t, err, "more than the 1048576 StarFive's payload partition holds")
	require.ErrorContains(t, err, "environment images 12345 bytes")
	_, serr := os.Stat(out)
	require.True(t, os.IsNotExist(serr), "no oversized image is left behind")
	require.NoError(t, build(kernel, out, MaxImage, ""))
	require.LessOrEqual(t, fileSize(t, out), int64(MaxImage))
}

// -pack names each image after its file, up to the first dot, and the
// archive unpacks to the files' bytes.
func TestPackImages(t *testing.T) {
	dir := t.TempDir()
	a := bytes.Repeat([]byte("\x7fELF one "), 5000)
	b := append(append([]byte{}, a...), "and two"...)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "one.stripped"), a, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "two.stripped"), b, 0o644))
	out := filepath.Join(dir, "envs.pack")
	require.NoError(t, packImages(out, []string{filepath.Join(dir, "one.stripped"), filepath.Join(dir, "two.stripped")}))
	archive, err := os.ReadFile(out)
	require.NoError(t, err)
	fsys, err := envpack.Open(archive)
	require.NoError(t, err)
	got, err := fs.ReadFile(fsys, "two.elf")
	require.NoError(t, err)
	require.Equal(t, b, got)
	require.Less(t, len(archive), len(a)/10, "the second image costs little")
	require.ErrorContains(t, packImages(out, nil), "no images named")
	require.Error(t, packImages(out, []string{filepath.Join(dir, "missing")}))
}

func fileSize(t *testing.T, p string) int64 {
	st, err := os.Stat(p)
	require.NoError(t, err)
	return st.Size()
}
