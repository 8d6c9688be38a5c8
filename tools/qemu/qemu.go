// Package qemu boots Exo firmware in QEMU for the QEMU tests, the benchmark
// tools and `make run`: one place that knows the command line the board
// needs (the virtio-mmio version, the entropy device, loading the ELF at its
// entry), placing a boot manifest, a hard timeout, and collecting the
// console and the exit status.
package qemu

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/exo-os/exo/board/qemu/virt"
)

// Binary is the QEMU system emulator for RISC-V 64.
const Binary = "qemu-system-riscv64"

// Config is one boot.
type Config struct {
	// Firmware is the kernel ELF.
	Firmware string
	// Manifest, if not empty, is placed at the board's manifest address
	// and replaces the firmware's built-in one.
	Manifest string
	// Memory is QEMU's -m (default "1G").
	Memory string
	// Timeout ends QEMU if it is still running (default 2 minutes).
	Timeout time.Duration
	// Extra arguments for QEMU (devices, networking).
	Extra []string
	// NoEntropy leaves out the virtio entropy device (to test that the
	// kernel refuses to boot without one).
	NoEntropy bool
}

// Args returns QEMU's arguments for c, with the manifest (if any) read
// from manifestFile. Console output goes to stdio.
func Args(c Config, manifestFile string) []string {
	mem := c.Memory
	if mem == "" {
		mem = "1G"
	}
	args := []string{
		"-machine", "virt", "-m", mem, "-smp", "1", "-bios", "none",
		// Exo's virtio driver speaks the modern (version 2) interface.
		"-global", "virtio-mmio.force-legacy=false",
	}
	if !c.NoEntropy {
		// The kernel's capability key comes from here.
		args = append(args, "-device", "virtio-rng-device")
	}
	args = append(args,
		// Start hart 0 at the ELF's entry in Machine mode (-kernel would
		// start at the DRAM base instead).
		"-device", "loader,file="+c.Firmware+",cpu-num=0",
	)
	if manifestFile != "" {
		args = append(args, "-device", fmt.Sprintf("loader,file=%s,addr=%#x,force-raw=on", manifestFile, virt.ManifestStart))
	}
	return append(args, c.Extra...)
}

// Result is what a boot produced.
type Result struct {
	// Console is everything the machine printed, without carriage returns.
	Console string
	// ExitCode is QEMU's exit status (the kernel's, through the
	// sifive_test device), or -1 if it was killed.
	ExitCode int
	TimedOut bool
	Elapsed  time.Duration
}

// Lines returns the console lines that start with prefix.
func (r *Result) Lines(prefix string) []string {
	var out []string
	for _, l := range strings.Split(r.Console, "\n") {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return out
}

// Run boots c and waits for QEMU to exit or the timeout. QEMU runs in its
// own process group, which is killed (and only it) on timeout or if ctx is
// cancelled.
func Run(ctx context.Context, c Config) (*Result, error) {
	if _, err := os.Stat(c.Firmware); err != nil {
		return nil, fmt.Errorf("qemu: firmware: %w", err)
	}
	if c.Timeout == 0 {
		c.Timeout = 2 * time.Minute
	}
	mf := ""
	if c.Manifest != "" {
		dir, err := os.MkdirTemp("", "exo-manifest")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
		mf = filepath.Join(dir, "manifest")
		if err := os.WriteFile(mf, []byte(c.Manifest), 0o644); err != nil {
			return nil, err
		}
	}
	return Launch(ctx, append(Args(c, mf), "-display", "none", "-serial", "stdio", "-monitor", "none"), c.Timeout)
}

// Launch runs QEMU with args (any machine) and waits for it to exit or
// the timeout. QEMU runs in its own process group, which is killed (and
// only it) on timeout or if ctx is cancelled.
func Launch(ctx context.Context, args []string, timeout time.Duration) (*Result, error) {
	cmd := exec.Command(Binary, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("qemu: %w", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	res := &Result{}
	var werr error
	select {
	case werr = <-done:
	case <-timer.C:
		res.TimedOut = true
	case <-ctx.Done():
	}
	if res.TimedOut || ctx.Err() != nil {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		werr = <-done
	}
	res.Elapsed = time.Since(start)
	res.Console = strings.ReplaceAll(out.String(), "\r", "")
	res.ExitCode = cmd.ProcessState.ExitCode()
	var ee *exec.ExitError
	if werr != nil && !errors.As(werr, &ee) {
		return res, fmt.Errorf("qemu: %w", werr)
	}
	return res, nil
}
