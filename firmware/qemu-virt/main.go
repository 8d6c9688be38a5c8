//go:build tamago && riscv64

// Command qemu-virt is the Exo firmware for QEMU's virt machine: the board,
// the kernel, and the environment images it can start (embedded from
// images/, which the Makefile fills).
package main

import (
	"embed"
	"fmt"
	"io/fs"
	"os"

	"github.com/exo-os/exo/board/qemu/virt"
	"github.com/exo-os/exo/firmware/boot"
)

//go:embed images/*.elf
var images embed.FS

//go:embed demo.manifest
var demoManifest string

func main() {
	m, err := virt.Machine()
	if err != nil {
		fmt.Printf("exo: boot failed: %v\n", err)
		os.Exit(1)
	}
	sub, _ := fs.Sub(images, "images")
	boot.Run(m, sub, demoManifest)
}
