// Command exorun boots Exo firmware in QEMU with the console on this
// terminal: `make run` and `make bench` use it.
//
//	exorun -firmware build/qemu-virt/firmware.elf [-manifest FILE] [-timeout D] [-icount]
//
// Without -timeout, QEMU runs interactively (press Ctrl-A then X to quit);
// with it, exorun waits at most that long, prints the console, and exits
// with QEMU's status.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"time"

	"github.com/exo-os/exo/tools/qemu"
)

func main() {
	firmware := flag.String("firmware", "build/qemu-virt/firmware.elf", "kernel ELF to boot")
	manifest := flag.String("manifest", "", "boot manifest file (default: the firmware's built-in demo)")
	timeout := flag.Duration("timeout", 0, "run non-interactively with this hard time limit")
	icount := flag.Bool("icount", false, "deterministic instruction counting (QEMU -icount shift=0): the time counter then advances 1 ns per instruction")
	flag.Parse()

	var text string
	if *manifest != "" {
		b, err := os.ReadFile(*manifest)
		if err != nil {
			fmt.Fprintln(os.Stderr, "exorun:", err)
			os.Exit(2)
		}
		text = string(b)
	}
	cfg := qemu.Config{Firmware: *firmware, Manifest: text, Timeout: *timeout}
	if *icount {
		cfg.Extra = append(cfg.Extra, "-icount", "shift=0")
	}

	if *timeout > 0 {
		res, err := qemu.Run(context.Background(), cfg)
		if res != nil {
			fmt.Print(res.Console)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "exorun:", err)
			os.Exit(2)
		}
		if res.TimedOut {
			fmt.Fprintf(os.Stderr, "exorun: QEMU still running after %v; killed\n", *timeout)
			os.Exit(124)
		}
		os.Exit(res.ExitCode)
	}

	mf := ""
	if *manifest != "" {
		mf = *manifest
	}
	args := append(qemu.Args(cfg, mf), "-nographic")
	fmt.Fprintf(os.Stderr, "exorun: %s %v\nexorun: the console follows; press Ctrl-A then X to quit QEMU\n\n", qemu.Binary, args)
	time.Sleep(500 * time.Millisecond)
	cmd := exec.Command(qemu.Binary, args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		os.Exit(ee.ExitCode())
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "exorun:", err)
		os.Exit(2)
	}
}
