//go:build tamago && riscv64

// Command visionfive2 is the Exo firmware for the StarFive VisionFive 2:
// the board, the kernel, and the environment images it can start
// (embedded from images/, which the Makefile fills with the same ELF files
// the QEMU firmware embeds, stripped of symbols and gzip-compressed).
//
// It must be built with the linkcpuinit tag (package harts provides the
// first instruction) and linked at visionfive2.LinkAddress; `make image
// BOARD=visionfive2` does both and wraps it in the FIT image U-Boot SPL
// loads.
package main

import (
	"embed"
	"fmt"
	"os"

	"github.com/exo-os/exo/board/starfive/visionfive2"
	"github.com/exo-os/exo/firmware/boot"
	"github.com/exo-os/exo/firmware/gzimages"
)

//go:embed images/*.elf.gz
var images embed.FS

//go:embed demo.manifest
var demoManifest string

func main() {
	m, err := visionfive2.Machine()
	if err != nil {
		fmt.Printf("exo: boot failed: %v\n", err)
		os.Exit(1)
	}
	imgs, err := gzimages.Open(images, "images")
	if err != nil {
		fmt.Printf("exo: boot failed: %v\n", err)
		os.Exit(1)
	}
	boot.Run(m, imgs, demoManifest)
}
