// Command exorun boots Exo firmware in QEMU with the console on this
// terminal: `make run` and `make bench` use it.
//
//	exorun -firmware build/qemu-virt/firmware.elf [-manifest FILE] [-timeout D] [-icount] [-gdb [-gdbport N]]
//
// Without -timeout, QEMU runs interactively (press Ctrl-A then X to quit);
// with it, exorun waits at most that long, prints the console, and exits
// with QEMU's status. With -gdb, QEMU starts halted at its first
// instruction with its gdb stub on 127.0.0.1:N, and exorun prints the
// gdb-multiarch command that attaches and loads the kernel's symbols
// (docs/BUILD.md, "Debugging").
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
	gdb := flag.Bool("gdb", false, "start QEMU halted, with its gdb stub on 127.0.0.1:-gdbport")
	gdbPort := flag.Int("gdbport", 1234, "the gdb stub's port, with -gdb (local connections only)")
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
	if *gdb {
		if *timeout > 0 {
			fmt.Fprintln(os.Stderr, "exorun: -gdb is interactive; leave out -timeout")
			os.Exit(2)
		}
		cfg.Extra = append(cfg.Extra, "-gdb", fmt.Sprintf("tcp:127.0.0.1:%d", *gdbPort), "-S")
		fmt.Fprint(os.Stderr, gdbHelp(*firmware, *gdbPort))
		if _, err := exec.LookPath("gdb-multiarch"); err != nil {
			fmt.Fprintln(os.Stderr, "exorun: gdb-multiarch is not installed: sudo apt-get install gdb-multiarch")
		}
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

// gdbHelp is what exorun prints for -gdb: the command that attaches to
// QEMU's stub with the kernel's symbols, and how to add an environment's.
func gdbHelp(firmware string, port int) string {
	return fmt.Sprintf(`exorun: QEMU is halted at its first instruction, waiting for gdb on 127.0.0.1:%[2]d. In another terminal:

    gdb-multiarch %[1]s -ex 'target remote 127.0.0.1:%[2]d'

then, for example:
    (gdb) break github.com/exo-os/exo/kernel.(*Kernel).trap    # every trap the kernel handles
    (gdb) break github.com/exo-os/exo/kernel.sysWrite          # one system call
    (gdb) continue
An environment's symbols (every image is linked at 0x1010000, so they are
right only while that environment runs; check $satp or the kernel's k.cur):
    (gdb) add-symbol-file build/envs/testenv.elf
    (gdb) break main.main
docs/BUILD.md ("Debugging") has more.

`, firmware, port)
}
