//go:build tamago

// Package kernlink is the link a library OS's stack runs on in an Exo
// environment: frames arrive in the environment's receive ring (the
// kernel delivers those its guards and filters give it) and leave by the
// net_send system call, which checks their source against the
// environment's guards. It is the only part of the stack built for
// GOOS=tamago alone; every layer above is plain Go.
package kernlink

import (
	"errors"
	"fmt"
	"time"

	"github.com/exo-os/exo/ash"
	"github.com/exo-os/exo/caps"
	"github.com/exo-os/exo/kernel/abi"
	"github.com/exo-os/exo/libos"
	"github.com/exo-os/exo/libos/net/vector"
	"github.com/exo-os/exo/libos/netash"
	"github.com/exo-os/exo/libos/netring"
	"github.com/exo-os/exo/libos/sys"
)

// Link is a link.Endpoint over the kernel's ring and net_send.
type Link struct {
	ring *netring.Ring
	mac  [6]byte
	// Bindings are the handles of the guards bound by Open, in the order
	// of libos.Guards.
	Bindings []uint32
	guards   [][2]uint64
	vectors  []*vector.Ring // Vector's rings
	sent     uint64
	refused  uint64
	retried  uint64
	// LastError is the last refused send's error, or nil.
	LastError error
}

// Vector moves the binding of the single-port UDP guard for port to a
// handler that vectors each datagram's payload into a message buffer of
// slots slots (netash.UDPVector, libos/net/vector), and returns the ring
// the environment reads it from. Datagrams the handler cannot take (a
// full ring, a bad checksum, options, fragments) still reach the stack
// through the receive ring. Call it from the receive loop's goroutine or
// before Run starts.
func (l *Link) Vector(port uint16, slots int) (*vector.Ring, error) {
	name := caps.PortName(0x0800, 17, port)
	i := -1
	for j, g := range l.guards {
		if g[0] == name && g[1] == name {
			i = j
		}
	}
	if i < 0 {
		return nil, fmt.Errorf("kernlink: vector UDP %d: the environment holds no guard for that port alone (net env=... guards=udp:%d)", port, port)
	}
	if slots < 1 || slots > vector.MaxSlots || slots&(slots-1) != 0 {
		return nil, fmt.Errorf("kernlink: vector UDP %d: %d slots: want a power of two up to %d", port, slots, vector.MaxSlots)
	}
	mem, err := libos.Contiguous(vector.Size(slots))
	if err != nil {
		return nil, fmt.Errorf("kernlink: vector UDP %d: %w", port, err)
	}
	r, err := vector.New(mem, slots)
	if err != nil {
		return nil, fmt.Errorf("kernlink: vector UDP %d: %w", port, err)
	}
	if err := libos.Unbind(l.Bindings[i]); err != nil {
		return nil, fmt.Errorf("kernlink: vector UDP %d: %w", port, err)
	}
	id, err := libos.BindMessage(name, name, nil, ash.Encode(netash.UDPVector(port, slots)), mem)
	if err != nil {
		// Put the plain binding back, so the port still reaches the stack.
		if id, err2 := libos.Bind(name, name, nil, nil); err2 == nil {
			l.Bindings[i] = id
		}
		return nil, fmt.Errorf("kernlink: vector UDP %d: %w", port, err)
	}
	l.Bindings[i] = id
	l.vectors = append(l.vectors, r)
	return r, nil
}

// Handler chooses the handler program (ash.Encode's bytes, or nil to
// deliver every frame to the ring) for the guard [lo, hi].
type Handler func(lo, hi uint64) []byte

// Open binds every guard the environment holds, each with the program
// handler gives it (handler may be nil), and opens a receive ring of
// slots slots. It fails, saying why, without a NIC or an address.
func Open(slots int, handler Handler) (*Link, error) {
	cfg := libos.NetConfig()
	if cfg.MAC == [6]byte{} {
		return nil, errors.New("kernlink: the machine has no network device (QEMU: -device virtio-net-device)")
	}
	if cfg.Addr == [4]byte{} {
		return nil, errors.New("kernlink: the manifest gives the machine no net address (net address=A/N)")
	}
	guards := libos.Guards()
	if len(guards) == 0 {
		return nil, errors.New("kernlink: the manifest gives this environment no guards (net env=... guards=...)")
	}
	l := &Link{mac: cfg.MAC, guards: guards}
	for _, g := range guards {
		var code []byte
		if handler != nil {
			code = handler(g[0], g[1])
		}
		id, err := libos.Bind(g[0], g[1], nil, code)
		if err != nil {
			return nil, fmt.Errorf("kernlink: %w", err)
		}
		l.Bindings = append(l.Bindings, id)
	}
	r, err := libos.OpenRing(slots)
	if err != nil {
		return nil, fmt.Errorf("kernlink: %w", err)
	}
	l.ring = r
	return l, nil
}

// Guard returns the names of binding i's guard (Bindings[i]).
func (l *Link) Guard(i int) (lo, hi uint64) { return l.guards[i][0], l.guards[i][1] }

// MAC returns the NIC's address.
func (l *Link) MAC() [6]byte { return l.mac }

// MTU returns Ethernet's 1500 bytes.
func (l *Link) MTU() int { return 1500 }

// Transmit sends frame by net_send; the kernel copies it.
func (l *Link) Transmit(frame []byte) error {
	if len(frame) > abi.MaxFrame {
		l.refused++
		return fmt.Errorf("kernlink: a %d-byte frame is longer than %d", len(frame), abi.MaxFrame)
	}
	for try := 0; ; try++ {
		err := sys.NetSend(frame)
		if err == nil {
			l.sent++
			return nil
		}
		// The NIC's transmit queue is full: the device drains it when
		// this hart stops running guest code, so pause briefly, a
		// bounded number of times, rather than lose the frame.
		if errors.Is(err, sys.ErrAgain) && try < sendTries {
			l.retried++
			time.Sleep(sendPause)
			continue
		}
		l.refused++
		l.LastError = fmt.Errorf("kernlink: net_send of a %d-byte frame: %w", len(frame), err)
		return l.LastError
	}
}

// A frame refused with ErrAgain (the NIC's queue full) is tried again
// sendTries times, sendPause apart.
const (
	sendTries = 10
	sendPause = 20 * time.Microsecond
)

// Counters returns frames sent, sends refused, sends retried because
// the NIC's queue was full, and frames the kernel dropped because the
// ring was full.
func (l *Link) Counters() (sent, refused, retried, ringDrops uint64) {
	return l.sent, l.refused, l.retried, l.ring.Dropped()
}

// Run is the environment's receive loop; it never returns. It hands each
// frame in the ring to input, then calls service (the stack's timers),
// which returns when it wants to be called again on clock's time, and
// sleeps until then or until a frame arrives (libos.WaitFrames). Run it
// in its own goroutine.
func (l *Link) Run(input func(frame []byte), service func() time.Duration, clock func() time.Duration) {
	for {
		for n := 0; n < 64; n++ { // a bounded batch, then the timers
			f, _, ok := l.ring.Next()
			if !ok {
				break
			}
			input(f)
			l.ring.Done()
		}
		next := service()
		// service poked the sockets: readers of vector rings run
		// while this goroutine sleeps.
		if l.ring.Pending() > 0 {
			continue
		}
		libos.WaitFrames(min(next-clock(), time.Second))
	}
}
