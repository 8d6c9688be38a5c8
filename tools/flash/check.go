package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// System is where Check reads the running system's state: sysfs and the
// process's mount table. Tests point it at the real system; nothing else
// changes it.
type System struct {
	Sys       string // "/sys"
	MountInfo string // "/proc/self/mountinfo"
	Swaps     string // "/proc/swaps"
}

// Host is the running system.
var Host = System{Sys: "/sys", MountInfo: "/proc/self/mountinfo", Swaps: "/proc/swaps"}

// Target is a device Check found safe to write the image to.
type Target struct {
	Dev       string // the path given
	Name      string // kernel name, e.g. sdb or mmcblk0
	Sector    int64  // logical block size
	Partition Partition
}

// Offset returns the byte offset of the payload partition.
func (t *Target) Offset() int64 { return int64(t.Partition.First) * t.Sector }

// Check decides whether the image (size bytes) may be written to dev. It
// refuses, each with its own message and before opening anything for
// writing: a path that does not exist; anything that is not a block
// device; a partition instead of a whole card; the disk holding the
// running system's root file system; a disk any of whose partitions is
// mounted, used as swap, or held by device mapper or RAID; a disk that is
// not removable media; and a card without the VisionFive 2 boot layout
// (see CheckLayout).
func (s System) Check(dev string, size int64) (*Target, error) {
	st, err := os.Stat(dev)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, fmt.Errorf("flash: %s does not exist: plug the SD card in and give its device (lsblk lists them)", dev)
		}
		return nil, fmt.Errorf("flash: %s: %w", dev, err)
	}
	if st.Mode()&os.ModeDevice == 0 || st.Mode()&os.ModeCharDevice != 0 {
		return nil, fmt.Errorf("flash: %s is not a block device (it is %s): give the SD card's device, e.g. /dev/sdX or /dev/mmcblkN", dev, kind(st.Mode()))
	}
	rdev := st.Sys().(*syscall.Stat_t).Rdev
	majmin := fmt.Sprintf("%d:%d", unixMajor(rdev), unixMinor(rdev))
	dir, err := filepath.EvalSymlinks(filepath.Join(s.Sys, "dev/block", majmin))
	if err != nil {
		return nil, fmt.Errorf("flash: %s (%s) is not in sysfs: %w", dev, majmin, err)
	}
	name := filepath.Base(dir)
	if _, err := os.Stat(filepath.Join(dir, "partition")); err == nil {
		return nil, fmt.Errorf("flash: %s is a partition (%s of %s): give the whole card, /dev/%s", dev, name, filepath.Base(filepath.Dir(dir)), filepath.Base(filepath.Dir(dir)))
	}
	// The disk and its partitions: name -> maj:min.
	devs := map[string]string{name: majmin}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if b, err := os.ReadFile(filepath.Join(dir, e.Name(), "dev")); err == nil {
			if _, err := os.Stat(filepath.Join(dir, e.Name(), "partition")); err == nil {
				devs[e.Name()] = strings.TrimSpace(string(b))
			}
		}
	}
	mounts, err := s.mounts()
	if err != nil {
		return nil, err
	}
	for _, m := range mounts {
		for part, mm := range devs {
			if m.majmin == mm || m.source == "/dev/"+part {
				if m.point == "/" {
					return nil, fmt.Errorf("flash: %s holds the running system's root file system (/dev/%s is mounted on /): refusing to overwrite it", dev, part)
				}
			}
		}
	}
	for _, m := range mounts {
		for part, mm := range devs {
			if m.majmin == mm || m.source == "/dev/"+part {
				return nil, fmt.Errorf("flash: %s is mounted (/dev/%s on %s): unmount every partition of the card first", dev, part, m.point)
			}
		}
	}
	if b, err := os.ReadFile(s.Swaps); err == nil {
		for _, l := range strings.Split(string(b), "\n")[1:] {
			f := strings.Fields(l)
			for part := range devs {
				if len(f) > 0 && f[0] == "/dev/"+part {
					return nil, fmt.Errorf("flash: %s is in use as swap (/dev/%s): swapoff it first", dev, part)
				}
			}
		}
	}
	for part := range devs {
		holders := filepath.Join(dir, "holders")
		if part != name {
			holders = filepath.Join(dir, part, "holders")
		}
		if hs, _ := os.ReadDir(holders); len(hs) > 0 {
			return nil, fmt.Errorf("flash: %s is in use: /dev/%s is held by %s (device mapper, RAID or LVM)", dev, part, hs[0].Name())
		}
	}
	if !s.removable(name) {
		return nil, fmt.Errorf("flash: %s is not removable media (%s/block/%s/removable is 0 and it is no SD card): refusing to write to a fixed disk", dev, s.Sys, name)
	}
	sector := int64(512)
	if b, err := os.ReadFile(filepath.Join(s.Sys, "block", name, "queue/logical_block_size")); err == nil {
		if n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64); err == nil && n >= 512 && n <= 4096 {
			sector = n
		}
	}
	f, err := os.Open(dev)
	if err != nil {
		return nil, fmt.Errorf("flash: %s: %w", dev, err)
	}
	defer f.Close()
	parts, err := ReadGPT(f, sector)
	if err != nil {
		return nil, fmt.Errorf("flash: %s: %w: not a VisionFive 2 boot card (write one of StarFive's images to it first)", dev, err)
	}
	p, err := CheckLayout(parts, sector, size)
	if err != nil {
		return nil, fmt.Errorf("flash: %s: %w", dev, err)
	}
	return &Target{Dev: dev, Name: name, Sector: sector, Partition: p}, nil
}

// removable says whether a disk is removable media: the block layer's
// removable flag (USB card readers), or an SD card in a built-in slot,
// which the MMC driver reports as type SD but not as removable. (eMMC,
// type MMC, is soldered down and does not count.)
func (s System) removable(name string) bool {
	if b, err := os.ReadFile(filepath.Join(s.Sys, "block", name, "removable")); err == nil && strings.TrimSpace(string(b)) == "1" {
		return true
	}
	b, err := os.ReadFile(filepath.Join(s.Sys, "block", name, "device/type"))
	return err == nil && strings.HasPrefix(name, "mmcblk") && strings.TrimSpace(string(b)) == "SD"
}

type mount struct{ majmin, point, source string }

// mounts parses mountinfo (proc(5)): field 3 is the device's maj:min,
// field 5 the mount point, and the field after " - " and the file system
// type the mount source.
func (s System) mounts() ([]mount, error) {
	f, err := os.Open(s.MountInfo)
	if err != nil {
		return nil, fmt.Errorf("flash: reading the mount table: %w", err)
	}
	defer f.Close()
	var out []mount
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := sc.Text()
		f := strings.Fields(l)
		if len(f) < 5 {
			continue
		}
		m := mount{majmin: f[2], point: unescape(f[4])}
		if i := strings.Index(l, " - "); i >= 0 {
			if g := strings.Fields(l[i+3:]); len(g) >= 2 {
				m.source = unescape(g[1])
			}
		}
		out = append(out, m)
	}
	return out, sc.Err()
}

// unescape decodes mountinfo's octal escapes (\040 for a space).
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func kind(m os.FileMode) string {
	switch {
	case m.IsRegular():
		return "a regular file"
	case m.IsDir():
		return "a directory"
	case m&os.ModeCharDevice != 0:
		return "a character device"
	case m&os.ModeNamedPipe != 0:
		return "a named pipe"
	case m&os.ModeSocket != 0:
		return "a socket"
	}
	return "not a device"
}

func unixMajor(dev uint64) uint32 { return uint32((dev>>8)&0xfff) | uint32((dev>>32)&^0xfff) }
func unixMinor(dev uint64) uint32 { return uint32(dev&0xff) | uint32((dev>>12)&^0xff) }
