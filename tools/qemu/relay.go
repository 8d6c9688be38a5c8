package qemu

import (
	"errors"
	"fmt"
	"math/rand"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

// Relay carries Ethernet frames between a QEMU NIC on -netdev dgram and
// the namespace's tap, impairing both directions at rates the caller sets:
// a user-space stand-in for tc netem, which the kernels these tests run on
// may lack (no sch_netem module). QEMU sends each frame as one UDP
// datagram to the relay on 127.0.0.1 (DgramArgs); the relay writes it to
// the tap, and what the namespace sends on the tap goes back the same way.
type Relay struct {
	tap  *os.File
	udp  *net.UDPConn
	qemu *net.UDPAddr

	mu  sync.Mutex
	imp Impairment
	rng *rand.Rand

	// Forwarded, Dropped and Reordered count frames, both ways.
	Forwarded, Dropped, Reordered atomic.Uint64

	done chan struct{}
	wg   sync.WaitGroup
}

// Impairment is what a Relay does to each frame, in each direction.
type Impairment struct {
	// Loss is the probability a frame is dropped.
	Loss float64
	// Reorder is the probability a frame is held back and sent after
	// the next frame the same way (or after ReorderHold if none comes).
	Reorder float64
}

// ReorderHold bounds how long a frame held for reordering waits.
const ReorderHold = 5 * time.Millisecond

// NewRelay attaches to n's tap and listens on 127.0.0.1:relayPort for the
// frames of a QEMU started with DgramArgs(qemuPort, relayPort). seed
// fixes the impairments' random choices.
func (n *NetNS) NewRelay(qemuPort, relayPort int, seed int64) (*Relay, error) {
	var tap *os.File
	err := n.Do(func() error {
		var err error
		tap, err = openTap(n.Tap)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("relay: attaching to %s in %s: %w", n.Tap, n.Name, err)
	}
	udp, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: relayPort})
	if err != nil {
		tap.Close()
		return nil, fmt.Errorf("relay: %w", err)
	}
	r := &Relay{tap: tap, udp: udp, qemu: &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: qemuPort},
		rng: rand.New(rand.NewSource(seed)), done: make(chan struct{})}
	r.wg.Add(2)
	go r.pump(r.tap.Read, r.tap.SetReadDeadline,
		func(b []byte) error { _, err := r.udp.WriteToUDP(b, r.qemu); return err })
	go r.pump(func(b []byte) (int, error) { n, _, err := r.udp.ReadFromUDP(b); return n, err }, r.udp.SetReadDeadline,
		func(b []byte) error { _, err := r.tap.Write(b); return err })
	return r, nil
}

// openTap attaches to the existing tap device name (in the calling
// thread's namespace), non-blocking so that Close ends a pending Read.
func openTap(name string) (*os.File, error) {
	fd, err := syscall.Open("/dev/net/tun", syscall.O_RDWR|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	var req [40]byte // struct ifreq: the name, then the flags
	copy(req[:syscall.IFNAMSIZ-1], name)
	*(*uint16)(unsafe.Pointer(&req[syscall.IFNAMSIZ])) = syscall.IFF_TAP | syscall.IFF_NO_PI
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), syscall.TUNSETIFF, uintptr(unsafe.Pointer(&req[0]))); e != 0 {
		syscall.Close(fd)
		return nil, fmt.Errorf("TUNSETIFF: %w", e)
	}
	if err := syscall.SetNonblock(fd, true); err != nil {
		syscall.Close(fd)
		return nil, err
	}
	return os.NewFile(uintptr(fd), "/dev/net/tun:"+name), nil
}

// SetImpairment changes the impairment from the next frame on.
func (r *Relay) SetImpairment(imp Impairment) {
	r.mu.Lock()
	r.imp = imp
	r.mu.Unlock()
}

// decide draws a frame's fate: dropped, held for reordering, or sent.
func (r *Relay) decide() (drop, hold bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.rng.Float64() < r.imp.Loss {
		return true, false
	}
	return false, r.rng.Float64() < r.imp.Reorder
}

// pump moves frames one way until Close: read takes the next frame
// (failing with os.ErrDeadlineExceeded after the time deadline sets),
// write sends one on.
func (r *Relay) pump(read func([]byte) (int, error), deadline func(time.Time) error, write func([]byte) error) {
	defer r.wg.Done()
	var held []byte
	buf := make([]byte, 65536)
	send := func(b []byte) {
		if write(b) == nil {
			r.Forwarded.Add(1)
		}
	}
	for {
		n, err := read(buf)
		if err != nil {
			select {
			case <-r.done:
				return
			default:
			}
			if errors.Is(err, os.ErrDeadlineExceeded) && held != nil {
				send(held) // nothing came after it: it goes late, alone
				held = nil
				deadline(time.Time{})
				continue
			}
			time.Sleep(time.Millisecond) // a transient error (QEMU not up yet)
			continue
		}
		frame := buf[:n]
		drop, hold := r.decide()
		switch {
		case drop:
			r.Dropped.Add(1)
		case hold && held == nil:
			held = append([]byte(nil), frame...)
			r.Reordered.Add(1)
			deadline(time.Now().Add(ReorderHold))
		default:
			send(frame)
			if held != nil {
				send(held)
				held = nil
				deadline(time.Time{})
			}
		}
	}
}

// Close stops the relay and detaches from the tap (the tap stays, with
// the namespace).
func (r *Relay) Close() error {
	close(r.done)
	r.udp.Close()
	r.tap.Close()
	r.wg.Wait()
	return nil
}
