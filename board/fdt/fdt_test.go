package fdt

import (
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/exo-os/exo/internal/testtool"
)

// builder writes a flattened device tree.
type builder struct {
	st, strs []byte
	names    map[string]uint32
}

func (b *builder) u32(v uint32) { b.st = binary.BigEndian.AppendUint32(b.st, v) }
func (b *builder) pad() {
	for len(b.st)%4 != 0 {
		b.st = append(b.st, 0)
	}
}
func (b *builder) begin(name string) {
	b.u32(tokBeginNode)
	b.st = append(append(b.st, name...), 0)
	b.pad()
}
func (b *builder) end() { b.u32(tokEndNode) }
func (b *builder) prop(name string, val []byte) {
	if b.names == nil {
		b.names = map[string]uint32{}
	}
	off, ok := b.names[name]
	if !ok {
		off = uint32(len(b.strs))
		b.names[name] = off
		b.strs = append(append(b.strs, name...), 0)
	}
	b.u32(tokProp)
	b.u32(uint32(len(val)))
	b.u32(off)
	b.st = append(b.st, val...)
	b.pad()
}
func (b *builder) blob() []byte {
	b.u32(tokEnd)
	const hdr = 40
	out := make([]byte, hdr)
	be := binary.BigEndian
	be.PutUint32(out[0:], Magic)
	be.PutUint32(out[8:], hdr)
	be.PutUint32(out[12:], uint32(hdr+len(b.st)))
	be.PutUint32(out[20:], 17)
	be.PutUint32(out[24:], 16)
	be.PutUint32(out[32:], uint32(len(b.strs)))
	be.PutUint32(out[36:], uint32(len(b.st)))
	out = append(append(out, b.st...), b.strs...)
	be.PutUint32(out[4:], uint32(len(out)))
	return out
}

func cellsOf(v ...uint32) []byte {
	var b []byte
	for _, x := range v {
		b = binary.BigEndian.AppendUint32(b, x)
	}
	return b
}

func tree(ac, sc uint32, reg []byte) []byte {
	var b builder
	b.begin("")
	b.prop("#address-cells", cellsOf(ac))
	b.prop("#size-cells", cellsOf(sc))
	b.begin("cpus")
	b.prop("reg", cellsOf(1, 2, 3, 4)) // not memory: ignored
	b.end()
	b.begin("memory@80000000")
	b.prop("device_type", []byte("memory\x00"))
	b.prop("reg", reg)
	b.end()
	b.end()
	return b.blob()
}

func TestMemory(t *testing.T) {
	for _, tc := range []struct {
		name   string
		ac, sc uint32
		reg    []byte
		want   []Region
	}{
		{"qemu 1G", 2, 2, cellsOf(0, 0x80000000, 0, 0x40000000), []Region{{0x80000000, 1 << 30}}},
		{"visionfive2 8G", 2, 2, cellsOf(0, 0x40000000, 2, 0), []Region{{0x40000000, 8 << 30}}},
		{"two banks", 2, 2, cellsOf(0, 0x40000000, 0, 0x40000000, 0, 0x80000000, 0, 0x40000000), []Region{{0x40000000, 1 << 30}, {0x80000000, 1 << 30}}},
		{"32-bit cells", 1, 1, cellsOf(0x80000000, 0x8000000), []Region{{0x80000000, 128 << 20}}},
	} {
		got, err := Memory(tree(tc.ac, tc.sc, tc.reg))
		require.NoError(t, err, tc.name)
		require.Equal(t, tc.want, got, tc.name)
	}
	require.Equal(t, uint64(2<<30), Contiguous([]Region{{0x80000000, 1 << 30}, {0x40000000, 1 << 30}}, 0x40000000))
	require.Equal(t, uint64(0), Contiguous([]Region{{0x80000000, 1 << 30}}, 0x40000000))
}

func TestMemoryRejects(t *testing.T) {
	good := tree(2, 2, cellsOf(0, 0x80000000, 0, 0x40000000))
	mut := func(f func(b []byte) []byte) []byte { return f(append([]byte(nil), good...)) }
	for _, tc := range []struct {
		name string
		b    []byte
		want string
	}{
		{"empty", nil, "no device tree magic"},
		{"bad magic", mut(func(b []byte) []byte { b[0] = 0; return b }), "no device tree magic"},
		{"truncated", good[:len(good)-8], "header says"},
		{"tiny size", mut(func(b []byte) []byte { binary.BigEndian.PutUint32(b[4:], 8); return b }), "out of range"},
		{"old version", mut(func(b []byte) []byte { binary.BigEndian.PutUint32(b[20:], 16); return b }), "version 16"},
		{"struct outside", mut(func(b []byte) []byte { binary.BigEndian.PutUint32(b[36:], 1<<20); return b }), "outside the blob"},
		{"bad reg", tree(2, 2, cellsOf(0, 1, 2)), "does not hold (2, 2)-cell entries"},
		{"wraps", tree(2, 2, cellsOf(0xffffffff, 0xffffffff, 0, 2)), "wraps around"},
		{"no memory", func() []byte { var b builder; b.begin(""); b.end(); return b.blob() }(), "no memory node"},
		{"unknown token", mut(func(b []byte) []byte { binary.BigEndian.PutUint32(b[40:], 7); return b }), "unknown token"},
	} {
		_, err := Memory(tc.b)
		require.ErrorContains(t, err, tc.want, tc.name)
	}
}

// QEMU's own device tree for the machine the firmware boots on, if QEMU is
// here to dump it.
func TestQEMUDeviceTree(t *testing.T) {
	qemu := testtool.Path(t, "qemu-system-riscv64")
	dtb := filepath.Join(t.TempDir(), "virt.dtb")
	out, err := exec.Command(qemu, "-machine", "virt,dumpdtb="+dtb, "-m", "768M", "-nographic").CombinedOutput()
	require.NoError(t, err, "%s", out)
	b, err := os.ReadFile(dtb)
	require.NoError(t, err)
	got, err := Memory(b)
	require.NoError(t, err)
	require.Equal(t, []Region{{0x80000000, 768 << 20}}, got)
}

func FuzzMemory(f *testing.F) {
	f.Add(tree(2, 2, cellsOf(0, 0x80000000, 0, 0x40000000)))
	f.Add(tree(1, 1, cellsOf(0x80000000, 0x8000000)))
	f.Fuzz(func(t *testing.T, b []byte) {
		rs, err := Memory(b)
		if err == nil && len(rs) == 0 {
			t.Fatal("success without regions")
		}
		for _, r := range rs {
			if r.Base+r.Size < r.Base {
				t.Fatalf("accepted a wrapping region %+v", r)
			}
		}
	})
}
