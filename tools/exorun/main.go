// Command exorun boots Exo firmware in QEMU with the console on this
// terminal: `make run` and `make bench` use it.
//
//	exorun -firmware build/qemu-virt/firmware.elf [-manifest FILE] [-timeout D] [-icount] [-gdb [-gdbport N]]
//	       [-net tap|user] [-capture FILE.pcap]
//
// Without -timeout, QEMU runs interactively (press Ctrl-A then X to quit);
// with it, exorun waits at most that long, prints the console, and exits
// with QEMU's status. With -gdb, QEMU starts halted at its first
// instruction with its gdb stub on 127.0.0.1:N, and exorun prints the
// gdb-multiarch command that attaches and loads the kernel's symbols
// (docs/BUILD.md, "Debugging").
//
// -net gives the machine a virtio-net device (docs/NETWORK.md): "tap" (as
// root) a tap device in a network namespace of its own, at 198.18.0.1/24,
// removed when exorun exits however it exits; "user" (no root) QEMU's
// -netdev dgram with exoping as the peer on 127.0.0.1. exorun prints the
// commands that ping the machine. -capture writes every frame to a pcap
// file (QEMU's filter-dump).
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
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
	network := flag.String("net", "", "network: tap (root: a tap in a private namespace) or user (no root: QEMU's dgram netdev, exoping as the peer)")
	capture := flag.String("capture", "", "write every frame the NIC sends or receives to this pcap `file` (needs -net)")
	flag.Parse()
	if *capture != "" && *network == "" {
		fmt.Fprintln(os.Stderr, "exorun: -capture needs -net tap or -net user")
		os.Exit(2)
	}

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

	var ns *qemu.NetNS
	switch *network {
	case "":
	case "tap":
		if os.Geteuid() != 0 {
			fmt.Fprintln(os.Stderr, "exorun: -net tap needs root (a network namespace and a tap device); -net user needs none")
			os.Exit(2)
		}
		var err error
		if ns, err = qemu.NewNetNS("exo-run"); err != nil {
			fmt.Fprintln(os.Stderr, "exorun:", err)
			os.Exit(2)
		}
		cfg.Extra = append(cfg.Extra, ns.TapArgs()...)
		fmt.Fprintf(os.Stderr, `exorun: network namespace %[1]s, tap %[2]s at %[3]s/%[4]d; the machine is %[5]s. In another terminal:
    ip netns exec %[1]s ping %[5]s
    ip netns exec %[1]s go run ./tools/exoping -via raw -c 1000 -i 1ms -hist %[5]s
    ip netns exec %[1]s go run ./tools/exoping -via raw -proto udp -port 9 -c 100 %[5]s   # the ring (upcall) path
    ip netns exec %[1]s curl http://%[5]s/          # httpd over the libOS stack (8080: over gVisor's)
    ip netns exec %[1]s curl -o /dev/null -w '%%{speed_download} B/s\n' http://%[5]s/download
exorun: the namespace is removed when QEMU exits.
`, ns.Name, ns.Tap, qemu.HostAddr, qemu.PrefixLen, qemu.GuestAddr)
	case "user":
		cfg.Extra = append(cfg.Extra, qemu.DgramArgs(10100, 10101)...)
		fmt.Fprintf(os.Stderr, `exorun: QEMU's NIC peer is a UDP socket: 127.0.0.1:10100 (QEMU) to 127.0.0.1:10101 (exoping's default). In another terminal:
    go run ./tools/exoping -c 1000 -i 1ms -hist %[1]s
    go run ./tools/exoping -proto udp -port 9 -c 100 %[1]s   # the ring (upcall) path
(HTTP needs a host stack on the link: use NET=tap for curl.)
`, qemu.GuestAddr)
	default:
		fmt.Fprintf(os.Stderr, "exorun: -net %q: want tap or user\n", *network)
		os.Exit(2)
	}
	if *capture != "" {
		cfg.Extra = append(cfg.Extra, qemu.CaptureArgs(*capture)...)
		fmt.Fprintf(os.Stderr, "exorun: capturing frames to %s (tcpdump -nn -r %s)\n", *capture, *capture)
	}
	code := run(cfg, *manifest, *timeout, ns)
	if ns != nil {
		if err := ns.Close(); err != nil {
			fmt.Fprintln(os.Stderr, "exorun:", err)
		}
	}
	os.Exit(code)
}

// run boots cfg (inside ns, if not nil) and returns exorun's exit status.
// SIGINT, SIGTERM and SIGHUP end QEMU (whose process group it is), so
// that the caller can remove the namespace.
func run(cfg qemu.Config, manifest string, timeout time.Duration, ns *qemu.NetNS) int {
	var wrap []string
	if ns != nil {
		wrap = ns.Wrap()
	}
	if timeout > 0 {
		m, err := qemu.Start(cfg, wrap)
		if err != nil {
			fmt.Fprintln(os.Stderr, "exorun:", err)
			return 2
		}
		stop := make(chan os.Signal, 1)
		signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
		go func() { <-stop; m.Stop() }()
		code, timedOut := m.Wait()
		fmt.Print(m.Console())
		if timedOut {
			fmt.Fprintf(os.Stderr, "exorun: QEMU still running after %v; killed\n", timeout)
			return 124
		}
		return code
	}
	args := append(append(wrap, qemu.Binary), qemu.Args(cfg, manifest)...)
	args = append(args, "-nographic")
	fmt.Fprintf(os.Stderr, "exorun: %v\nexorun: the console follows; press Ctrl-A then X to quit QEMU\n\n", args)
	time.Sleep(500 * time.Millisecond)
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	// The terminal's Ctrl-C goes to the guest's console (QEMU's raw
	// mode); a signal sent to exorun ends QEMU.
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "exorun:", err)
		return 2
	}
	go func() { <-stop; cmd.Process.Kill() }()
	err := cmd.Wait()
	if ee, ok := err.(*exec.ExitError); ok {
		return max(ee.ExitCode(), 0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "exorun:", err)
		return 2
	}
	return 0
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
