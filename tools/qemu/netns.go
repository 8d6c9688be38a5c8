package qemu

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"

	"golang.org/x/sys/unix"
)

// The network set-up of the network tests and `make run NET=tap`: a
// network namespace of its own with a tap device in it, the host's end at
// HostAddr in 198.18.0.0/24 (RFC 2544's benchmarking range), so that
// nothing the tests send leaves the namespace.

// Addresses inside a namespace.
const (
	// HostAddr is the namespace's (the host's) end of the tap.
	HostAddr = "198.18.0.1"
	// GuestAddr is the address the network manifests give Exo.
	GuestAddr = "198.18.0.2"
	// PrefixLen is the namespace's subnet.
	PrefixLen = 24
)

// NetNS is a network namespace with a tap device, created by NewNetNS and
// removed (with the tap) by Close.
type NetNS struct {
	Name, Tap string
}

// NewNetNS creates a namespace named prefix and a random suffix, with tap
// device "tap0" up at HostAddr/PrefixLen and the loopback up. It needs
// root. On any failure it removes what it made.
func NewNetNS(prefix string) (*NetNS, error) {
	var r [4]byte
	rand.Read(r[:])
	n := &NetNS{Name: prefix + "-" + hex.EncodeToString(r[:]), Tap: "tap0"}
	if err := ip("netns", "add", n.Name); err != nil {
		return nil, err
	}
	for _, step := range [][]string{
		{"tuntap", "add", "dev", n.Tap, "mode", "tap"},
		{"addr", "add", fmt.Sprintf("%s/%d", HostAddr, PrefixLen), "dev", n.Tap},
		{"link", "set", n.Tap, "up"},
		{"link", "set", "lo", "up"},
	} {
		if err := ip(append([]string{"netns", "exec", n.Name, "ip"}, step...)...); err != nil {
			n.Close()
			return nil, err
		}
	}
	return n, nil
}

// Wrap returns argv run inside the namespace.
func (n *NetNS) Wrap(argv ...string) []string {
	return append([]string{"ip", "netns", "exec", n.Name}, argv...)
}

// Command returns a command run inside the namespace.
func (n *NetNS) Command(name string, args ...string) *exec.Cmd {
	argv := n.Wrap(append([]string{name}, args...)...)
	return exec.Command(argv[0], argv[1:]...)
}

// TapArgs are QEMU's arguments for a virtio-net device on the tap (QEMU
// must run inside the namespace: Wrap).
func (n *NetNS) TapArgs() []string {
	return []string{"-netdev", "tap,id=n0,ifname=" + n.Tap + ",script=no,downscript=no", "-device", "virtio-net-device,netdev=n0"}
}

// Close removes the namespace and its tap. Processes still inside it
// (QEMU) must have been ended first.
func (n *NetNS) Close() error { return ip("netns", "del", n.Name) }

func ip(args ...string) error {
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// DgramArgs are QEMU's arguments for a virtio-net device whose peer is a
// UDP socket: each datagram one raw Ethernet frame (QEMU 7.2's -netdev
// dgram). QEMU listens on 127.0.0.1:qemuPort and sends to
// 127.0.0.1:peerPort. No root is needed.
func DgramArgs(qemuPort, peerPort int) []string {
	return []string{
		"-netdev", fmt.Sprintf("dgram,id=n0,local.type=inet,local.host=127.0.0.1,local.port=%d,remote.type=inet,remote.host=127.0.0.1,remote.port=%d", qemuPort, peerPort),
		"-device", "virtio-net-device,netdev=n0",
	}
}

// CaptureArgs are QEMU's arguments to write every frame of netdev n0 to
// a pcap file (QEMU's filter-dump), readable by tcpdump and Wireshark.
func CaptureArgs(file string) []string {
	return []string{"-object", "filter-dump,id=cap0,netdev=n0,file=" + file}
}

// Do runs f on a thread moved into the namespace, so that the sockets f
// opens are the namespace's (they stay so after Do returns; goroutines f
// starts run elsewhere but may use them). The thread is moved back before
// it is released; if that fails it is never reused.
func (n *NetNS) Do(f func() error) error {
	runtime.LockOSThread()
	self, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		runtime.UnlockOSThread()
		return err
	}
	defer self.Close()
	target, err := os.Open("/run/netns/" + n.Name)
	if err != nil {
		runtime.UnlockOSThread()
		return err
	}
	defer target.Close()
	if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("setns %s: %w", n.Name, err)
	}
	ferr := f()
	if err := unix.Setns(int(self.Fd()), unix.CLONE_NEWNET); err != nil {
		// Leave the thread locked: it ends with this goroutine.
		return fmt.Errorf("setns back from %s: %w", n.Name, err)
	}
	runtime.UnlockOSThread()
	return ferr
}
