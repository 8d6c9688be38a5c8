package visionfive2

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/exo-os/exo/internal/testtool"
)

// compile builds a device tree shaped like the one U-Boot SPL passes: two
// address and size cells, and the /memory node spl_perform_fixups writes
// with the DRAM size it read from the board's EEPROM.
func compile(t *testing.T, memory string) []byte {
	t.Helper()
	dtc := testtool.Path(t, "dtc")
	dir := t.TempDir()
	src := filepath.Join(dir, "vf2.dts")
	dts := fmt.Sprintf(`/dts-v1/;
/ {
	#address-cells = <2>;
	#size-cells = <2>;
	model = "StarFive VisionFive V2";
	cpus { timebase-frequency = <4000000>; };
	%s
};
`, memory)
	require.NoError(t, os.WriteFile(src, []byte(dts), 0o644))
	out := filepath.Join(dir, "vf2.dtb")
	b, err := exec.Command(dtc, "-I", "dts", "-O", "dtb", "-o", out, src).CombinedOutput()
	require.NoError(t, err, "%s", b)
	dtb, err := os.ReadFile(out)
	require.NoError(t, err)
	return dtb
}

func TestRAMFromDeviceTree(t *testing.T) {
	for _, tc := range []struct {
		reg  string
		size uint64
	}{
		{"0x0 0x40000000 0x0 0x80000000", 2 << 30},
		{"0x0 0x40000000 0x1 0x0", 4 << 30},
		{"0x0 0x40000000 0x2 0x0", 8 << 30},
	} {
		dtb := compile(t, "memory@40000000 { device_type = \"memory\"; reg = <"+tc.reg+">; };")
		n, err := RAMFromDeviceTree(dtb)
		require.NoError(t, err)
		require.Equal(t, tc.size, n)
		got, warn := RAMSize(dtb, nil)
		require.Equal(t, tc.size, got)
		require.Empty(t, warn)
		l, err := Layout(n)
		require.NoError(t, err)
		require.Equal(t, DRAMBase+tc.size, l.PoolEnd)
	}
	dtb := compile(t, "memory@80000000 { device_type = \"memory\"; reg = <0x0 0x80000000 0x0 0x10000000>; };")
	_, err := RAMFromDeviceTree(dtb)
	require.ErrorContains(t, err, "no memory at 0x40000000")
}

func TestRAMSizeFallsBackToTheSmallestBoard(t *testing.T) {
	n, warn := RAMSize(nil, errors.New("a1 = 0"))
	require.Equal(t, uint64(SmallestRAM), n)
	require.Contains(t, warn, "a1 = 0")
	require.Contains(t, warn, "2048 MiB")
	n, warn = RAMSize(compile(t, ""), nil)
	require.Equal(t, uint64(SmallestRAM), n, "a tree without a memory node")
	require.Contains(t, warn, "no memory node")
}

func TestLayout(t *testing.T) {
	l, err := Layout(4 << 30)
	require.NoError(t, err)
	require.Equal(t, uint64(0x40000000), l.KernelStart)
	require.Equal(t, uint64(0x44000000), l.KernelEnd)
	require.Equal(t, uint64(0x44200000), l.PoolStart)
	require.Equal(t, uint64(0x140000000), l.PoolEnd)
	lo, hi := l.Protected()
	require.Equal(t, uint64(0x40000000), lo)
	require.Equal(t, uint64(0x44200000), hi)
	// PMP on the U74 has a 4 KiB granularity (OpenSBI reports "PMP
	// Granularity: 4096" on this board): the bounds the kernel programs
	// must be page aligned.
	for _, a := range []uint64{lo, hi, l.PoolEnd} {
		require.Zero(t, a%4096)
	}
	_, err = Layout(64 << 20)
	require.ErrorContains(t, err, "64 MiB of RAM")
	require.Equal(t, uint64(DRAMBase+0x1000), uint64(LinkAddress))
}
