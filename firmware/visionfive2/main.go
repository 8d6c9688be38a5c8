//go:build tamago && riscv64

// Command visionfive2 is the Exo firmware for the StarFive VisionFive 2:
// the board, the kernel, and the environment images it can start
// (embedded from images/envs.pack, which the Makefile makes from the same
// ELF files the QEMU firmware embeds, stripped of symbols and packed by
// package envpack so that the payload fits StarFive's 4 MiB partition).
//
// It must be built with the linkcpuinit tag (package harts provides the
// first instruction) and linked at visionfive2.LinkAddress; `make image
// BOARD=visionfive2` does both and wraps it in the FIT image U-Boot SPL
// loads.
package main

import (
	_ "embed"
	"fmt"
	"os"

	"github.com/exo-os/exo/board/starfive/visionfive2"
	"github.com/exo-os/exo/firmware/boot"
	"github.com/exo-os/exo/firmware/visionfive2/envpack"
)

//go:embed images/envs.pack
var images []byte

//go:embed demo.manifest
var demoManifest string

func main() {
	m, err := visionfive2.Machine()
	if err != nil {
		fmt.Printf("exo: boot failed: %v\n", err)
		os.Exit(1)
	}
	imgs, err := envpack.Open(images)
	if err != nil {
		fmt.Printf("exo: boot failed: %v\n", err)
		os.Exit(1)
	}
	boot.Run(m, imgs, demoManifest)
}
