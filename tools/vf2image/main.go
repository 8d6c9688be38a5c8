// Command vf2image wraps the VisionFive 2 kernel in the FIT image that
// takes the place of StarFive's visionfive2_fw_payload.img: the ELF's
// loadable segments laid out from the lowest one (Flatten), described by
// an image tree with the ELF's load and entry addresses (ITS), and packed
// by U-Boot's mkimage the way StarFive's build does it:
//
//	mkimage -f payload.its -A riscv -O u-boot -T firmware visionfive2_fw_payload.img
//
// `make image BOARD=visionfive2` runs it. The image must fit StarFive's
// 4 MiB payload partition; vf2image refuses a larger one, naming the
// kernel's and the environment images' shares.
//
// With -pack it instead packs environment images for the firmware to
// embed (package envpack; the Makefile runs it before the kernel build):
//
//	vf2image -pack firmware/visionfive2/images/envs.pack build/envs/hello.stripped ...
//
// Each file becomes the image NAME.elf, NAME being its base name up to
// the first dot.
package main

import (
	"debug/elf"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/exo-os/exo/board/starfive/visionfive2"
	"github.com/exo-os/exo/firmware/visionfive2/envpack"
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
	envs := flag.String("envs", "", "the environment pack the kernel embeds, for the size report")
	pack := flag.String("pack", "", "pack the environment images named as arguments into this file instead")
	flag.Parse()
	if *pack != "" {
		if err := packImages(*pack, flag.Args()); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	if *in == "" {
		fmt.Fprintln(os.Stderr, "usage: vf2image -elf firmware.elf [-o visionfive2_fw_payload.img]")
		os.Exit(2)
	}
	if err := build(*in, *out, *max, *envs); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// build writes, next to the image, the payload (NAME.bin) and the image
// tree source (NAME.its) it was made from.
func build(in, out string, limit int64, envs string) error {
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
	var envBytes int64 = -1
	if envs != "" {
		est, err := os.Stat(envs)
		if err != nil {
			return err
		}
		envBytes = est.Size()
	}
	if err := checkSize(st.Size(), limit, envBytes); err != nil {
		os.Remove(out)
		return err
	}
	fmt.Printf("vf2image: %s: %d bytes of %d (payload %d bytes, load %#x, entry %#x)%s\n",
		out, st.Size(), limit, len(p.Data), p.Load, p.Entry, envShare(st.Size(), envBytes))
	return nil
}

// envShare says how much of an image of size bytes the environment pack
// (envBytes; negative when not known) takes.
func envShare(size, envBytes int64) string {
	if envBytes < 0 {
		return ""
	}
	return fmt.Sprintf("; environment images %d bytes, kernel and the rest %d", envBytes, size-envBytes)
}

// checkSize refuses an image larger than limit, naming both sizes, what
// is over, and the environment images' share when known.
func checkSize(size, limit, envBytes int64) error {
	if size <= limit {
		return nil
	}
	return fmt.Errorf("vf2image: the image is %d bytes, %d more than the %d StarFive's payload partition holds%s: embed fewer environment images (ENVS in the Makefile's visionfive2 block) or make the kernel smaller",
		size, size-limit, limit, envShare(size, envBytes))
}

// packImages writes the envpack archive of files to out.
func packImages(out string, files []string) error {
	if len(files) == 0 {
		return fmt.Errorf("vf2image -pack: no images named")
	}
	var ims []envpack.Image
	raw := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return fmt.Errorf("vf2image -pack: %w", err)
		}
		name, _, _ := strings.Cut(filepath.Base(f), ".")
		ims = append(ims, envpack.Image{Name: name + ".elf", Data: b})
		raw += len(b)
	}
	b, err := envpack.Pack(ims)
	if err != nil {
		return fmt.Errorf("vf2image -pack: %w", err)
	}
	if err := os.WriteFile(out, b, 0o644); err != nil {
		return err
	}
	fmt.Printf("vf2image: %s: %d images, %d bytes packed from %d\n", out, len(ims), len(b), raw)
	return nil
}
