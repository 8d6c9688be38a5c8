package main

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/exo-os/exo/internal/testtool"
)

const mib = 1 << 20

// starfiveLayout is StarFive's SD card layout (conf/genimage-vf2.cfg):
// spl at 2 MiB, uboot at 4 MiB (4 MiB each), then the rest.
func starfiveLayout(diskSize int64) []Partition {
	return []Partition{
		{Type: TypeSPL, First: 2 * mib / 512, Last: 4*mib/512 - 1, Name: "spl"},
		{Type: TypeStarFiveFIT, First: 4 * mib / 512, Last: 8*mib/512 - 1, Name: "uboot"},
		{Type: "0FC63DAF-8483-4772-8E79-3D69D8477DE4", First: 8 * mib / 512, Last: uint64(diskSize/512) - 34, Name: "root"},
	}
}

func disk(size int64, parts []Partition) []byte {
	d := make([]byte, size)
	writeGPT(d, 512, parts)
	return d
}

func TestGPTLayout(t *testing.T) {
	const size = 16 * mib
	d := disk(size, starfiveLayout(size))
	parts, err := ReadGPT(bytes.NewReader(d), 512)
	require.NoError(t, err)
	require.Len(t, parts, 3)
	require.Equal(t, Partition{Number: 2, Type: TypeStarFiveFIT, First: 8192, Last: 16383, Name: "uboot"}, parts[1])
	p, err := CheckLayout(parts, 512, 4*mib)
	require.NoError(t, err, "an image of exactly 4 MiB fits")
	require.Equal(t, int64(4*mib), p.Size(512))

	_, err = CheckLayout(parts, 512, 4*mib+1)
	require.ErrorContains(t, err, "partition 2 holds 4194304 bytes, the image is 4194305")

	mainline := starfiveLayout(size)
	mainline[1].Type = TypeUBootFIT
	parts, err = ReadGPT(bytes.NewReader(disk(size, mainline)), 512)
	require.NoError(t, err)
	_, err = CheckLayout(parts, 512, mib)
	require.NoError(t, err, "U-Boot's recommended type is accepted too")

	wrong := starfiveLayout(size)
	wrong[1].Type = "0FC63DAF-8483-4772-8E79-3D69D8477DE4"
	parts, _ = ReadGPT(bytes.NewReader(disk(size, wrong)), 512)
	_, err = CheckLayout(parts, 512, mib)
	require.ErrorContains(t, err, `partition 2 ("uboot") has type 0FC63DAF`)

	nospl := starfiveLayout(size)
	nospl[0].Type = "C12A7328-F81F-11D2-BA4B-00A0C93EC93B"
	parts, _ = ReadGPT(bytes.NewReader(disk(size, nospl)), 512)
	_, err = CheckLayout(parts, 512, mib)
	require.ErrorContains(t, err, "no U-Boot SPL partition")

	parts, _ = ReadGPT(bytes.NewReader(disk(size, starfiveLayout(size)[:1])), 512)
	_, err = CheckLayout(parts, 512, mib)
	require.ErrorContains(t, err, "no partition 2")

	_, err = ReadGPT(bytes.NewReader(make([]byte, size)), 512)
	require.ErrorIs(t, err, ErrNoGPT)
	bad := disk(size, starfiveLayout(size))
	bad[512+20] ^= 1 // inside the header
	_, err = ReadGPT(bytes.NewReader(bad), 512)
	require.ErrorContains(t, err, "header checksum")
	bad = disk(size, starfiveLayout(size))
	bad[1024+40] ^= 1 // inside the first entry
	_, err = ReadGPT(bytes.NewReader(bad), 512)
	require.ErrorContains(t, err, "entry array checksum")
}

func sum(t *testing.T, path string) [32]byte {
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return sha256.Sum256(b)
}

func image(t *testing.T) string {
	p := filepath.Join(t.TempDir(), "visionfive2_fw_payload.img")
	require.NoError(t, os.WriteFile(p, bytes.Repeat([]byte("exo!"), 256<<10), 0o644))
	return p
}

// Test 6, first part: a regular file is refused and left as it was, even
// one that holds a valid boot layout.
func TestRefusesRegularFile(t *testing.T) {
	f := filepath.Join(t.TempDir(), "card.img")
	require.NoError(t, os.WriteFile(f, disk(16*mib, starfiveLayout(16*mib)), 0o644))
	before := sum(t, f)
	err := run(Host, image(t), f, io.Discard)
	require.ErrorContains(t, err, "is not a block device (it is a regular file)")
	require.Equal(t, before, sum(t, f), "nothing written")
}

// Test 6, second part: a missing device is refused and not created.
func TestRefusesMissingDevice(t *testing.T) {
	dev := filepath.Join(t.TempDir(), "sdz")
	err := run(Host, image(t), dev, io.Discard)
	require.ErrorContains(t, err, "does not exist")
	_, err = os.Stat(dev)
	require.True(t, os.IsNotExist(err), "nothing created")
}

// loopCard attaches a 64 MiB file with StarFive's layout as a loop device,
// and detaches it when the test ends. (No partition nodes: the kernels the
// tests run on need not read partition tables; Check does not need them.)
func loopCard(t *testing.T) (dev, backing string) {
	t.Helper()
	if os.Geteuid() != 0 {
		testtool.Missing(t, "loop devices need root")
	}
	losetup := testtool.Path(t, "losetup")
	backing = filepath.Join(t.TempDir(), "card.img")
	const size = 64 * mib
	require.NoError(t, os.WriteFile(backing, disk(size, starfiveLayout(size)), 0o644))
	out, err := exec.Command(losetup, "--find", "--show", backing).CombinedOutput()
	require.NoError(t, err, "%s", out)
	dev = strings.TrimSpace(string(out))
	t.Cleanup(func() {
		if out, err := exec.Command(losetup, "--detach", dev).CombinedOutput(); err != nil {
			t.Errorf("losetup --detach %s: %v %s", dev, err, out)
		}
	})
	return dev, backing
}

// Test 6, third part: a mounted loop device is refused and nothing is
// written (the file system is mounted read-only without journal replay,
// so that the backing file changes only if we write).
func TestRefusesMountedLoopDevice(t *testing.T) {
	dev, backing := loopCard(t)
	mkfs := testtool.Path(t, "mkfs.ext4")
	out, err := exec.Command(mkfs, "-q", "-F", dev).CombinedOutput()
	require.NoError(t, err, "%s", out)
	dir := t.TempDir()
	out, err = exec.Command(testtool.Path(t, "mount"), "-o", "ro,noload", dev, dir).CombinedOutput()
	require.NoError(t, err, "%s", out)
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v %s", dir, err, out)
		}
	})
	before := sum(t, backing)
	err = run(Host, image(t), dev, io.Discard)
	require.ErrorContains(t, err, fmt.Sprintf("%s is mounted (%s on %s)", dev, dev, dir))
	require.Equal(t, before, sum(t, backing), "nothing written")
}

// The other refusals, on a real loop device: a disk that is not
// removable; one that holds the root file system (a mount table that says
// so); a partition instead of the disk and a disk with a partition in use
// as swap (a sysfs stand-in that says so); and a removable disk without
// the boot layout.
func TestRefusesLoopDevice(t *testing.T) {
	dev, backing := loopCard(t)
	before := sum(t, backing)
	img := image(t)

	err := run(Host, img, dev, io.Discard)
	require.ErrorContains(t, err, "is not removable media")

	mi := filepath.Join(t.TempDir(), "mountinfo")
	require.NoError(t, os.WriteFile(mi, []byte(fmt.Sprintf("26 1 259:3 / / rw,relatime - ext4 %s rw\n", dev)), 0o644))
	root := Host
	root.MountInfo = mi
	err = run(root, img, dev, io.Discard)
	require.ErrorContains(t, err, "holds the running system's root file system")

	part := fakeSys(t, dev, true)
	require.NoError(t, os.WriteFile(filepath.Join(part.Sys, "devices", filepath.Base(dev), "partition"), []byte("2\n"), 0o644))
	err = run(part, img, dev, io.Discard)
	require.ErrorContains(t, err, "is a partition")

	swap := fakeSys(t, dev, true)
	sw := filepath.Join(t.TempDir(), "swaps")
	require.NoError(t, os.WriteFile(sw, []byte("Filename Type Size Used Priority\n"+dev+"p3 partition 1024 0 -2\n"), 0o644))
	swap.Swaps = sw
	err = run(swap, img, dev, io.Discard)
	require.ErrorContains(t, err, "is in use as swap ("+dev+"p3)")

	require.Equal(t, before, sum(t, backing), "nothing written")

	// The same removable card without a partition table.
	require.NoError(t, os.WriteFile(backing, make([]byte, 64*mib), 0o644))
	before = sum(t, backing)
	err = run(fakeSys(t, dev, false), img, dev, io.Discard)
	require.ErrorContains(t, err, "no GUID partition table")
	require.Equal(t, before, sum(t, backing), "nothing written")
}

// fakeSys builds a sysfs stand-in that describes the loop device as
// removable media with StarFive's three partitions (partitions, if the
// partitions' nodes are to be listed), so that the whole path, writing
// included, can run on a loop device.
func fakeSys(t *testing.T, dev string, partitions bool) System {
	name := filepath.Base(dev)
	real := filepath.Join("/sys/class/block", name)
	fake := t.TempDir()
	d := filepath.Join(fake, "devices", name)
	require.NoError(t, os.MkdirAll(filepath.Join(d, "holders"), 0o755))
	require.NoError(t, os.MkdirAll(filepath.Join(d, "queue"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(d, "removable"), []byte("1\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(d, "queue/logical_block_size"), []byte("512\n"), 0o644))
	mm, err := os.ReadFile(filepath.Join(real, "dev"))
	require.NoError(t, err)
	for i := 1; partitions && i <= 3; i++ {
		p := fmt.Sprintf("%sp%d", name, i)
		require.NoError(t, os.MkdirAll(filepath.Join(d, p, "holders"), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(d, p, "dev"), []byte(fmt.Sprintf("259:%d\n", 100+i)), 0o644))
		require.NoError(t, os.WriteFile(filepath.Join(d, p, "partition"), []byte(fmt.Sprintf("%d\n", i)), 0o644))
	}
	require.NoError(t, os.MkdirAll(filepath.Join(fake, "dev/block"), 0o755))
	require.NoError(t, os.MkdirAll(filepath.Join(fake, "block"), 0o755))
	require.NoError(t, os.Symlink(d, filepath.Join(fake, "dev/block", strings.TrimSpace(string(mm)))))
	require.NoError(t, os.Symlink(d, filepath.Join(fake, "block", name)))
	s := Host
	s.Sys = fake
	return s
}

// A card that passes every check gets the image in partition 2 and
// nothing else changes.
func TestWritesPayloadPartition(t *testing.T) {
	dev, backing := loopCard(t)
	orig, err := os.ReadFile(backing)
	require.NoError(t, err)
	img := image(t)
	var log bytes.Buffer
	require.NoError(t, run(fakeSys(t, dev, true), img, dev, &log))
	t.Log(log.String())
	require.Contains(t, log.String(), `partition 2 ("uboot", 4194304 bytes at offset 4194304)`)
	got, err := os.ReadFile(backing)
	require.NoError(t, err)
	want, err := os.ReadFile(img)
	require.NoError(t, err)
	require.Equal(t, want, got[4*mib:4*mib+len(want)], "the image is in partition 2")
	require.Equal(t, orig[:4*mib], got[:4*mib], "the table and SPL's partition are untouched")
	require.Equal(t, orig[4*mib+len(want):], got[4*mib+len(want):], "everything after the image is untouched")
}
