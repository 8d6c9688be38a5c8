// Command vf2image wraps the VisionFive 2 kernel in the FIT image that
// takes the place of StarFive's visionfive2_fw_payload.img: the ELF's
// loadable segments laid out from the lowest one (Flatten), described by
// an image tree with the ELF's load and entry addresses (ITS), and packed
// by U-Boot's mkimage the way StarFive's build does it:
//
//	mkimage -f payload.its -A riscv -O u-boot -T firmware visionfive2_fw_payload.img
//
// `make image BOARD=visionfive2` runs it.
package main

import (
	"debug/elf"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/exo-os/exo/board/starfive/visionfive2"
	"github.com/exo-os/exo/internal/fit"
)

// MaxImage is the largest image StarFive's layouts hold: the SD card's
// "uboot" partition (4 MiB at 4 MiB, conf/genimage-vf2.cfg) and the QSPI
// flash's uboot partition (4 MiB at 0x100000, jh7110-starfive-visionfive-2
// .dtsi).
const MaxImage = 4 << 20

func main() {
	in := flag.String("elf", "", "kernel ELF built for the VisionFive 2")
	out := flag.String("o", "visionfive2_fw_payload.img", "FIT image to write")
	max := flag.Int64("max", MaxImage, "refuse an image larger than this many bytes")
	flag.Parse()
	if *in == "" {
		fmt.Fprintln(os.Stderr, "usage: vf2image -elf firmware.elf [-o visionfive2_fw_payload.img]")
		os.Exit(2)
	}
	if err := build(*in, *out, *max); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// build writes, next to the image, the payload (NAME.bin) and the image
// tree source (NAME.its) it was made from.
func build(in, out string, limit int64) error {
	f, err := elf.Open(in)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := fit.CheckRegion(f, visionfive2.KernelStart, visionfive2.KernelSize); err != nil {
		return fmt.Errorf("%s: %w (the kernel must lie in its own memory)", in, err)
	}
	p, err := fit.Flatten(f)
	if err != nil {
		return fmt.Errorf("%s: %w", in, err)
	}
	if p.Load != visionfive2.KernelStart {
		return fmt.Errorf("%s: loads at %#x, not the DRAM base %#x (link with -T %#x)", in, p.Load, uint64(visionfive2.KernelStart), uint64(visionfive2.LinkAddress))
	}
	base := out[:len(out)-len(filepath.Ext(out))]
	bin, its := base+".bin", base+".its"
	if err := os.WriteFile(bin, p.Data, 0o644); err != nil {
		return err
	}
	abs, err := filepath.Abs(bin)
	if err != nil {
		return err
	}
	if err := os.WriteFile(its, []byte(fit.ITS(p, abs)), 0o644); err != nil {
		return err
	}
	cmd := exec.Command("mkimage", "-f", its, "-A", "riscv", "-O", "u-boot", "-T", "firmware", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("mkimage: %v\n%s", err, b)
	}
	st, err := os.Stat(out)
	if err != nil {
		return err
	}
	if st.Size() > limit {
		os.Remove(out)
		return fmt.Errorf("vf2image: the image is %d bytes, more than the %d the boot partition holds: embed fewer or smaller environment images", st.Size(), limit)
	}
	fmt.Printf("vf2image: %s: %d bytes (payload %d bytes, load %#x, entry %#x)\n", out, st.Size(), len(p.Data), p.Load, p.Entry)
	return nil
}
