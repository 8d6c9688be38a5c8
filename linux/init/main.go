//go:build linux && riscv64

// Command init is the Linux peer guest's first process for make compare
// (docs/COMPARE.md): built static for linux/riscv64 and placed at /init in
// the kernel's built-in initramfs by linux/build.sh.
//
// It mounts devtmpfs, proc and sysfs, brings up lo and eth0
// (198.18.0.2/24, by ioctl), measures the procedure call and the null
// system call the way Exo's bench environment does, runs /measure (the
// handler-based measurements, in C), and then becomes /measure's UDP echo
// server (RFC 862) on port 7 until QEMU is stopped (with compare.echo=go
// on the kernel command line it serves echo itself, in Go); the kernel
// itself answers ICMP echo.
//
// Options on the kernel command line (tools/compare passes them):
// compare.measure=no skips the measurements (the busy sweep's and HTTP's
// boots); compare.busy=N starts N processes that spin forever (/measure
// spin), Linux's counterpart of Exo's busy environments (testenv spin),
// and says "busy: N spinning"; compare.http=PORT starts this program
// again as "/init httpd PORT", Go's net/http serving internal/httpdemo's
// site (the one Exo's httpd serves over the library OS's stack) with the
// name "linux", which says "ready: http on 198.18.0.2:PORT".
//
// Every measurement is one console line "measure: KEY VALUE ns"; the
// guest says "ready: udp echo on 198.18.0.2:7" when the echo server is
// bound. A step that fails prints "measure: error ..." and the guest
// powers off, so that the host sees which step failed.
package main

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/exo-os/exo/internal/httpdemo"
	"golang.org/x/sys/unix"
)

// The guest's address; the host side is 198.18.0.1 (tools/qemu's NetNS).
const (
	guestAddr = "198.18.0.2"
	guestMask = "255.255.255.0"
	echoPort  = 7
)

// The measurement method of firmware/envs/testenv/bench.go: the mean over
// a batch of rounds calls, fastest of batches.
const (
	batches = 5
	rounds  = 20_000
)

// In bench_riscv64.s.
func nop()
func getpid()

func main() {
	if len(os.Args) == 3 && os.Args[1] == "httpd" {
		httpd(os.Args[2])
	}
	boot := uptime()
	fmt.Printf("measure: boot-to-init %.1f ns\n", float64(boot))
	for _, m := range []struct{ src, dst, fs string }{
		{"devtmpfs", "/dev", "devtmpfs"},
		{"proc", "/proc", "proc"},
		{"sysfs", "/sys", "sysfs"},
	} {
		if err := unix.Mount(m.src, m.dst, m.fs, 0, ""); err != nil {
			fatal("mount %s on %s: %v", m.fs, m.dst, err)
		}
	}
	cmdline, _ := os.ReadFile("/proc/cmdline")
	opts := options(string(cmdline))
	if err := ifup("lo", "127.0.0.1", "255.0.0.0"); err != nil {
		fatal("%v", err)
	}
	if err := ifup("eth0", guestAddr, guestMask); err != nil {
		fatal("%v", err)
	}

	if opts["compare.measure"] != "no" {
		// A func value, as Exo's bench calls sys.Nop and sys.Null through
		// measure's parameter.
		fmt.Printf("measure: call %s\n", ns(measure(nop)))
		fmt.Printf("measure: getpid %s\n", ns(measure(getpid)))

		cmd := exec.Command("/measure")
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		if err := cmd.Run(); err != nil {
			fatal("/measure: %v", err)
		}
	}
	if v, ok := opts["compare.busy"]; ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 64 {
			fatal("compare.busy=%q: want 0 to 64", v)
		}
		for i := 0; i < n; i++ {
			if err := exec.Command("/measure", "spin").Start(); err != nil {
				fatal("busy process %d: %v", i+1, err)
			}
		}
		fmt.Printf("busy: %d spinning\n", n)
	}
	if v, ok := opts["compare.http"]; ok {
		cmd := exec.Command("/init", "httpd", v)
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		if err := cmd.Start(); err != nil {
			fatal("/init httpd: %v", err)
		}
	}
	// The UDP echo server: C by default, so that no Go runtime runs
	// beside it; compare.echo=go on the kernel command line keeps this
	// program as the server.
	if opts["compare.echo"] == "go" {
		echo()
	}
	err := unix.Exec("/measure", []string{"/measure", "echo"}, os.Environ())
	fatal("exec /measure echo: %v", err)
}

// options are the command line's key=value words.
func options(cmdline string) map[string]string {
	o := map[string]string{}
	for _, f := range strings.Fields(cmdline) {
		k, v, _ := strings.Cut(f, "=")
		o[k] = v
	}
	return o
}

// httpd serves internal/httpdemo's site on port (the server Exo's
// firmware/envs/httpd runs over the library OS's stack, here over
// Linux's), forever.
func httpd(port string) {
	ln, err := net.Listen("tcp4", ":"+port)
	if err != nil {
		fatal("httpd: listen :%s: %v", port, err)
	}
	stats := func() string {
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return fmt.Sprintf("runtime heapinuse %d\n", m.HeapInuse)
	}
	fmt.Printf("ready: http on %s:%s (Go net/http, httpdemo)\n", guestAddr, port)
	err = http.Serve(ln, httpdemo.Handler("linux", stats))
	fmt.Printf("measure: error httpd: %v\n", err)
	os.Exit(1)
}

// measure returns the time of one call of f in picoseconds.
func measure(f func()) int64 {
	best := int64(-1)
	for range batches {
		start := time.Now()
		for range rounds {
			f()
		}
		ps := time.Since(start).Nanoseconds() * 1000 / rounds
		if best < 0 || ps < best {
			best = ps
		}
	}
	return best
}

func ns(ps int64) string { return fmt.Sprintf("%d.%d ns", ps/1000, ps%1000/100) }

// uptime returns the time since the kernel started, in nanoseconds.
func uptime() int64 {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_BOOTTIME, &ts); err != nil {
		return 0
	}
	return ts.Nano()
}

// ifup gives the interface name an IPv4 address and netmask and brings it
// up (SIOCSIFADDR, SIOCSIFNETMASK, SIOCSIFFLAGS).
func ifup(name, addr, mask string) error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("init: socket for %s: %w", name, err)
	}
	defer unix.Close(fd)
	for _, s := range []struct {
		req uint
		a   string
	}{{unix.SIOCSIFADDR, addr}, {unix.SIOCSIFNETMASK, mask}} {
		ifr, err := unix.NewIfreq(name)
		if err != nil {
			return fmt.Errorf("init: %s: %w", name, err)
		}
		if err := ifr.SetInet4Addr(netip.MustParseAddr(s.a).AsSlice()); err != nil {
			return fmt.Errorf("init: %s: %w", name, err)
		}
		if err := unix.IoctlIfreq(fd, s.req, ifr); err != nil {
			return fmt.Errorf("init: %s: set %s: %w", name, s.a, err)
		}
	}
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		return fmt.Errorf("init: %s: %w", name, err)
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("init: %s: get flags: %w", name, err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP | unix.IFF_RUNNING)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("init: %s: up: %w", name, err)
	}
	return nil
}

// echo answers UDP echo on port 7 (RFC 862: send back what came) with
// blocking system calls, one datagram at a time, forever.
func echo() {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM, 0)
	if err != nil {
		fatal("udp socket: %v", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrInet4{Port: echoPort}); err != nil {
		fatal("udp bind :%d: %v", echoPort, err)
	}
	fmt.Printf("ready: udp echo on %s:%d (Go)\n", guestAddr, echoPort)
	buf := make([]byte, 65536)
	for {
		n, from, err := unix.Recvfrom(fd, buf, 0)
		if err != nil {
			continue
		}
		unix.Sendto(fd, buf[:n], 0, from)
	}
}

// fatal reports a failed step and powers the guest off.
func fatal(format string, args ...any) {
	fmt.Printf("measure: error init: "+format+"\n", args...)
	unix.Sync()
	unix.Reboot(unix.LINUX_REBOOT_CMD_POWER_OFF)
	os.Exit(1)
}
