package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestPreflight: every missing piece fails before the first boot with a
// message saying which, and how to get it.
func TestPreflight(t *testing.T) {
	dir := t.TempDir()
	image := filepath.Join(dir, "Image")
	fw := filepath.Join(dir, "firmware.elf")
	man := filepath.Join(dir, "m")
	for _, f := range []string{image, fw, man} {
		if err := os.WriteFile(f, []byte("exo-manifest v1\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	good := Options{Firmware: fw, Image: image, BenchManifest: man, NetManifest: man, Runs: 1, ICMP: 1, UDP: 1, BusyICMP: 1, BusyUDP: 1, Interval: time.Millisecond, Net: "dgram"}
	for _, tc := range []struct {
		name string
		edit func(*Options)
		err  string
	}{
		{"all there", func(*Options) {}, ""},
		{"no Linux guest", func(o *Options) { o.Image = filepath.Join(dir, "none") }, "make linux-guest"},
		{"no firmware", func(o *Options) { o.Firmware = filepath.Join(dir, "none") }, "make firmware"},
		{"no firmware, Linux only", func(o *Options) { o.Firmware, o.SkipExo = filepath.Join(dir, "none"), true }, ""},
		{"no manifest", func(o *Options) { o.NetManifest = filepath.Join(dir, "none") }, "manifest"},
		{"bad network", func(o *Options) { o.Net = "slirp" }, `-net "slirp"`},
		{"no runs", func(o *Options) { o.Runs = 0 }, "at least 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := good
			tc.edit(&o)
			err := preflight(&o)
			if tc.err == "" {
				if err != nil && !strings.Contains(err.Error(), "qemu-system-riscv64 is not installed") {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("preflight: %v, want an error containing %q", err, tc.err)
			}
		})
	}
}

func TestLinuxArgs(t *testing.T) {
	args := strings.Join(LinuxArgs("/k/Image", "", []string{"-netdev", "x"}), " ")
	// The machine of tools/qemu's Args: same board, memory, harts,
	// virtio-mmio version and entropy device.
	for _, want := range []string{"-machine virt", "-m 1G", "-smp 1", "virtio-mmio.force-legacy=false", "-device virtio-rng-device", "-kernel /k/Image", "-netdev x"} {
		if !strings.Contains(args, want) {
			t.Errorf("LinuxArgs has no %q: %s", want, args)
		}
	}
}
