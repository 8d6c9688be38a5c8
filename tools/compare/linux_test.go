package main

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/exo-os/exo/internal/ping"
	"github.com/exo-os/exo/tools/qemu"
)

// TestLinuxGuest boots the Linux guest of `make linux-guest` with QEMU's
// dgram netdev (no root) and checks that it prints one line of each
// measurement, that its kernel answers ICMP echo and its user-space server
// UDP echo on port 7. It runs only when the guest has been built
// (EXO_LINUX_IMAGE, or build/linux/Image); `make test-compare` builds it
// and runs this test.
func TestLinuxGuest(t *testing.T) {
	image := os.Getenv("EXO_LINUX_IMAGE")
	if image == "" {
		image = filepath.Join("..", "..", "build", "linux", "Image")
	}
	if _, err := os.Stat(image); err != nil {
		t.Skipf("no Linux guest at %s: build it with `make linux-guest`, or run `make test-compare`", image)
	}
	if testing.Short() {
		t.Skip("boots QEMU (about 15 s)")
	}
	qport, pport, err := ports()
	if err != nil {
		t.Fatal(err)
	}
	lo := netip.MustParseAddr("127.0.0.1")
	tr, err := ping.ListenDgram(ping.DgramConfig{Local: netip.AddrPortFrom(lo, uint16(pport)), Remote: netip.AddrPortFrom(lo, uint16(qport))})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	g, err := StartGuest(nil, LinuxArgs(image, "", qemu.DgramArgs(qport, pport)), 3*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Stop()
	got, err := g.WaitFor(2*time.Minute, "ready: udp echo on", "measure: error", "Kernel panic")
	if err != nil || got != "ready: udp echo on" {
		t.Fatalf("%v (%q); console:\n%s", err, got, g.Console())
	}
	c := ParseLinux(g.Console())
	if err := c.Check(); err != nil {
		t.Fatalf("%v; console:\n%s", err, g.Console())
	}
	for _, k := range LinuxKeys {
		if v := c.Figures[k]; v <= 0 {
			t.Errorf("%s = %v ns", k, v)
		}
	}
	// Sanity: a system call costs more than a procedure call, a signal
	// round trip more than a system call.
	if f := c.Figures; !(f["call"] < f["getpid"] && f["getpid"] < f["sigsegv"]) {
		t.Errorf("call %v < getpid %v < sigsegv %v does not hold", f["call"], f["getpid"], f["sigsegv"])
	}
	for _, cfg := range []ping.Config{
		{Proto: "icmp", Count: 20},
		{Proto: "udp", Port: 7, Count: 20},
	} {
		cfg.Target, cfg.Interval, cfg.Timeout = netip.MustParseAddr(qemu.GuestAddr), 5*time.Millisecond, 2*time.Second
		res, err := ping.Run(context.Background(), cfg, tr)
		if err != nil {
			t.Fatal(err)
		}
		if res.Summary.Received < cfg.Count/2 {
			t.Errorf("%s: %d of %d answered", cfg.Proto, res.Summary.Received, cfg.Count)
		}
	}
}

// TestLinuxGuestOptions boots the guest with the busy sweep's and HTTP's
// options (compare.measure=no compare.busy=2 compare.http=80): no
// measurement lines, two busy processes, the HTTP server and the echo
// server up, ICMP and UDP echo answered beside the spinners.
func TestLinuxGuestOptions(t *testing.T) {
	image := os.Getenv("EXO_LINUX_IMAGE")
	if image == "" {
		image = filepath.Join("..", "..", "build", "linux", "Image")
	}
	if _, err := os.Stat(image); err != nil {
		t.Skipf("no Linux guest at %s: build it with `make linux-guest`, or run `make test-compare`", image)
	}
	if testing.Short() {
		t.Skip("boots QEMU (about 5 s)")
	}
	qport, pport, err := ports()
	if err != nil {
		t.Fatal(err)
	}
	lo := netip.MustParseAddr("127.0.0.1")
	tr, err := ping.ListenDgram(ping.DgramConfig{Local: netip.AddrPortFrom(lo, uint16(pport)), Remote: netip.AddrPortFrom(lo, uint16(qport))})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	opts := []string{"compare.measure=no", "compare.busy=2", "compare.http=80"}
	g, err := StartGuest(nil, LinuxArgsWith(image, "", opts, qemu.DgramArgs(qport, pport)), 3*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Stop()
	for _, want := range []string{"busy: 2 spinning", "ready: udp echo on", "ready: http on 198.18.0.2:80"} {
		if got, err := g.WaitFor(time.Minute, want, "measure: error", "Kernel panic"); err != nil || got != want {
			t.Fatalf("%v (%q); console:\n%s", err, got, g.Console())
		}
	}
	if c := ParseLinux(g.Console()); len(c.Figures) != 1 || c.Done {
		t.Errorf("compare.measure=no: figures %v, done %v", c.Figures, c.Done)
	}
	for _, cfg := range []ping.Config{{Proto: "icmp", Count: 10}, {Proto: "udp", Port: 7, Count: 10}} {
		cfg.Target, cfg.Interval, cfg.Timeout = netip.MustParseAddr(qemu.GuestAddr), 5*time.Millisecond, 2*time.Second
		res, err := ping.Run(context.Background(), cfg, tr)
		if err != nil {
			t.Fatal(err)
		}
		if res.Summary.Received < cfg.Count/2 {
			t.Errorf("%s beside 2 spinners: %d of %d answered", cfg.Proto, res.Summary.Received, cfg.Count)
		}
	}
}
