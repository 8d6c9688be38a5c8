package virt

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/exo-os/exo/internal/testtool"
)

func TestRAMFromDeviceTree(t *testing.T) {
	qemu := testtool.Path(t, "qemu-system-riscv64")
	dtb := filepath.Join(t.TempDir(), "virt.dtb")
	out, err := exec.Command(qemu, "-machine", "virt,dumpdtb="+dtb, "-m", "1G", "-nographic").CombinedOutput()
	require.NoError(t, err, "%s", out)
	b, err := os.ReadFile(dtb)
	require.NoError(t, err)
	n, err := RAMFromDeviceTree(b)
	require.NoError(t, err)
	require.Equal(t, uint64(1<<30), n)
	_, err = RAMFromDeviceTree(b[:100])
	require.Error(t, err)
}

func TestLayout(t *testing.T) {
	l, err := Layout(1 << 30)
	require.NoError(t, err)
	require.Equal(t, uint64(0xc0000000), l.PoolEnd)
	require.Equal(t, uint64(0x84200000), l.PoolStart)
	require.Equal(t, uint64(ManifestStart), l.ManifestStart, "where tools/qemu loads a manifest")
	require.Equal(t, uint64(0x84100000), l.ManifestStart)
	lo, hi := l.Protected()
	require.Equal(t, uint64(0x80000000), lo)
	require.Equal(t, uint64(0x84200000), hi)
	_, err = Layout(128 << 20)
	require.ErrorContains(t, err, "qemu-virt: 128 MiB of RAM, the kernel needs at least 130 MiB (run QEMU with -m 1G)")
}
