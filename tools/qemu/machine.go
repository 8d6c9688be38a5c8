package qemu

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Machine is a QEMU run in the background: the network tests boot one,
// talk to it, and stop it.
type Machine struct {
	cmd  *exec.Cmd
	dir  string
	mu   sync.Mutex
	out  bytes.Buffer
	done chan struct{}
	err  error
	// timedOut is set when the timeout ended the run.
	timedOut atomic.Bool
}

// Start boots c in the background, under wrap (for example NetNS.Wrap's
// prefix) if given. The run is ended after c.Timeout (default 2 minutes)
// whatever happens; Stop ends it sooner.
func Start(c Config, wrap []string) (*Machine, error) {
	if _, err := os.Stat(c.Firmware); err != nil {
		return nil, fmt.Errorf("qemu: firmware: %w", err)
	}
	if c.Timeout == 0 {
		c.Timeout = 2 * time.Minute
	}
	m := &Machine{done: make(chan struct{})}
	mf := ""
	if c.Manifest != "" {
		dir, err := os.MkdirTemp("", "exo-manifest")
		if err != nil {
			return nil, err
		}
		m.dir = dir
		mf = filepath.Join(dir, "manifest")
		if err := os.WriteFile(mf, []byte(c.Manifest), 0o644); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
	}
	argv := append(append(append([]string(nil), wrap...), Binary), Args(c, mf)...)
	argv = append(argv, "-display", "none", "-serial", "stdio", "-monitor", "none")
	m.cmd = exec.Command(argv[0], argv[1:]...)
	m.cmd.Stdout, m.cmd.Stderr = m, m
	m.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := m.cmd.Start(); err != nil {
		os.RemoveAll(m.dir)
		return nil, fmt.Errorf("qemu: %w", err)
	}
	go func() {
		timer := time.AfterFunc(c.Timeout, func() { m.timedOut.Store(true); m.kill() })
		m.err = m.cmd.Wait()
		timer.Stop()
		os.RemoveAll(m.dir)
		close(m.done)
	}()
	return m, nil
}

// Write collects the console (io.Writer for the command's output).
func (m *Machine) Write(p []byte) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.out.Write(p)
}

// Console returns what the machine printed so far, without carriage
// returns.
func (m *Machine) Console() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return strings.ReplaceAll(m.out.String(), "\r", "")
}

// WaitFor waits until the console contains s, the machine stops, or the
// timeout passes.
func (m *Machine) WaitFor(s string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		if strings.Contains(m.Console(), s) {
			return nil
		}
		select {
		case <-m.done:
			return fmt.Errorf("qemu: the machine stopped before printing %q", s)
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("qemu: no %q on the console after %v", s, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Running reports whether QEMU is still running.
func (m *Machine) Running() bool {
	select {
	case <-m.done:
		return false
	default:
		return true
	}
}

// kill ends QEMU's process group (and only it).
func (m *Machine) kill() { syscall.Kill(-m.cmd.Process.Pid, syscall.SIGKILL) }

// Wait waits for QEMU to exit and returns its exit status (the kernel's,
// or -1 if it was killed) and whether the timeout ended it.
func (m *Machine) Wait() (code int, timedOut bool) {
	<-m.done
	return m.cmd.ProcessState.ExitCode(), m.timedOut.Load()
}

// Stop ends the run and waits for QEMU to exit.
func (m *Machine) Stop() {
	m.kill()
	<-m.done
}
