// Command flash writes the VisionFive 2 firmware image to the payload
// partition of an SD card, after Check has refused everything that is not
// a removable, unmounted VisionFive 2 boot card (see Check). It is what
// `make flash BOARD=visionfive2 DEV=/dev/sdX` runs:
//
//	flash -image build/visionfive2/visionfive2_fw_payload.img -dev /dev/sdX
//
// The card must already hold a VisionFive 2 boot layout (any of StarFive's
// images, or a card partitioned as U-Boot's documentation says): the image
// replaces only the firmware payload in partition 2, leaving U-Boot SPL in
// its partition and everything else on the card alone.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"syscall"
)

func main() {
	image := flag.String("image", "", "FIT image to write (visionfive2_fw_payload.img)")
	dev := flag.String("dev", "", "the SD card's whole-disk block device, e.g. /dev/sdb or /dev/mmcblk0")
	flag.Parse()
	if *image == "" || *dev == "" {
		fmt.Fprintln(os.Stderr, "usage: flash -image visionfive2_fw_payload.img -dev /dev/sdX")
		os.Exit(2)
	}
	if err := run(Host, *image, *dev, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// run checks dev, then writes image to its payload partition and reads it
// back. Nothing is opened for writing unless every check passed.
func run(s System, image, dev string, out io.Writer) error {
	img, err := os.ReadFile(image)
	if err != nil {
		return fmt.Errorf("flash: %w", err)
	}
	t, err := s.Check(dev, int64(len(img)))
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "flash: writing %s (%d bytes) to %s partition %d (%q, %d bytes at offset %d)\n",
		image, len(img), dev, t.Partition.Number, t.Partition.Name, t.Partition.Size(t.Sector), t.Offset())
	// O_EXCL on a block device fails if anything has it open exclusively
	// (a mounted file system does): one last guard against a race with
	// an automounter.
	f, err := os.OpenFile(dev, os.O_RDWR|syscall.O_EXCL, 0)
	if err != nil {
		return fmt.Errorf("flash: %w", err)
	}
	defer f.Close()
	if _, err := f.WriteAt(img, t.Offset()); err != nil {
		return fmt.Errorf("flash: writing: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("flash: syncing: %w", err)
	}
	// Drop the block device's buffer cache (BLKFLSBUF), so that the
	// read-back comes from the card rather than from what was just
	// written to memory.
	syscall.Syscall(syscall.SYS_IOCTL, f.Fd(), 0x1261, 0)
	back := make([]byte, len(img))
	if _, err := f.ReadAt(back, t.Offset()); err != nil {
		return fmt.Errorf("flash: reading back: %w", err)
	}
	if !bytes.Equal(back, img) {
		return fmt.Errorf("flash: what was read back differs from the image")
	}
	fmt.Fprintf(out, "flash: done, verified; set the boot switches to SD (see docs/BOARDS.md) and power on\n")
	return nil
}
