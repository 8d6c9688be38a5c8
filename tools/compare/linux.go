package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// LinuxArgs are QEMU's arguments for the Linux guest: the machine of
// tools/qemu's Args (virt, memory, one hart, modern virtio-mmio, the
// entropy device), with the kernel loaded by -kernel above OpenSBI (QEMU's
// default -bios) instead of Exo's M-mode ELF at its entry, then the
// network arguments.
func LinuxArgs(image, memory string, network []string) []string {
	return LinuxArgsWith(image, memory, nil, network)
}

// LinuxArgsWith is LinuxArgs with options appended to the kernel command
// line (linux/init reads compare.measure, compare.busy, compare.http and
// compare.echo).
func LinuxArgsWith(image, memory string, options, network []string) []string {
	if memory == "" {
		memory = "1G"
	}
	args := []string{
		"-machine", "virt", "-m", memory, "-smp", "1",
		"-global", "virtio-mmio.force-legacy=false",
		"-device", "virtio-rng-device",
		"-kernel", image,
		"-append", strings.Join(append([]string{"console=ttyS0 earlycon=uart8250,mmio,0x10000000 loglevel=4 panic=-1"}, options...), " "),
		"-no-reboot",
	}
	args = append(args, network...)
	return append(args, "-display", "none", "-serial", "stdio", "-monitor", "none")
}

// Guest is a QEMU run in the background whose console is collected (the
// Linux guest: tools/qemu's Machine boots Exo's ELF only).
type Guest struct {
	cmd  *exec.Cmd
	mu   sync.Mutex
	out  bytes.Buffer
	done chan struct{}
}

// StartGuest runs qemu-system-riscv64 with args under wrap (a namespace's
// prefix, or nothing), killed after timeout.
func StartGuest(wrap, args []string, timeout time.Duration) (*Guest, error) {
	argv := append(append(append([]string(nil), wrap...), "qemu-system-riscv64"), args...)
	g := &Guest{done: make(chan struct{})}
	g.cmd = exec.Command(argv[0], argv[1:]...)
	g.cmd.Stdout, g.cmd.Stderr = g, g
	g.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := g.cmd.Start(); err != nil {
		return nil, fmt.Errorf("compare: starting QEMU for Linux: %w", err)
	}
	go func() {
		t := time.AfterFunc(timeout, g.kill)
		g.cmd.Wait()
		t.Stop()
		close(g.done)
	}()
	return g, nil
}

// Write collects the console.
func (g *Guest) Write(p []byte) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.out.Write(p)
}

// Console is what the guest printed so far, without carriage returns.
func (g *Guest) Console() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return strings.ReplaceAll(g.out.String(), "\r", "")
}

// WaitFor waits until the console holds one of want (and returns it), the
// guest stops, or timeout passes.
func (g *Guest) WaitFor(timeout time.Duration, want ...string) (string, error) {
	deadline := time.Now().Add(timeout)
	for {
		c := g.Console()
		for _, w := range want {
			if strings.Contains(c, w) {
				return w, nil
			}
		}
		select {
		case <-g.done:
			return "", fmt.Errorf("compare: the Linux guest stopped before printing %q", want[0])
		default:
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("compare: the Linux guest printed no %q within %v", want[0], timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (g *Guest) kill() { syscall.Kill(-g.cmd.Process.Pid, syscall.SIGKILL) }

// Stop ends the guest and waits for QEMU to exit.
func (g *Guest) Stop() {
	g.kill()
	<-g.done
}

// CheckImage says how to build the guest if image is missing.
func CheckImage(image string) error {
	if _, err := os.Stat(image); err != nil {
		return fmt.Errorf("compare: no Linux guest kernel at %s: build it with `make linux-guest` (Debian's linux-source-6.1 and gcc-riscv64-linux-gnu; the first build takes a while)", image)
	}
	return nil
}
