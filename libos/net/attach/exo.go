//go:build tamago && !gvisor

package attach

import (
	"crypto/rand"
	"fmt"
	"net"
	"strings"

	"github.com/exo-os/exo/kernel/abi"
	"github.com/exo-os/exo/libos"
	"github.com/exo-os/exo/libos/net/kernlink"
	"github.com/exo-os/exo/libos/net/socket"
	"github.com/exo-os/exo/libos/net/stack"
	"github.com/exo-os/exo/libos/net/tcp"
	"github.com/exo-os/exo/libos/net/vector"
	"github.com/exo-os/exo/libos/sys"
)

// Name names the stack this build links.
const Name = "exo"

// Sockets is the environment's stack as its sockets see it, once up.
var Sockets *socket.Stack

func start(cfg abi.Net, l *kernlink.Link) error {
	sc := stack.Config{Addr: prefix(cfg)}
	// Without the ARP guard the environment never sees ARP replies (nor
	// may it send ARP): it learns its peers from their datagrams instead.
	_, arp := ports(0)
	sc.LearnFromIP = !arp
	// UDP fragments after the first name no port: the kernel sends them
	// only for an environment holding all of UDP.
	if r, ok := ports(3); !ok || r != [2]uint16{0, 0xffff} {
		sc.NoUDPFragments = true
	}
	if r, ok := ports(3); ok {
		sc.UDPPorts = r
	}
	ip, err := stack.New(sc, l)
	if err != nil {
		return err
	}
	// TCP's buffers are charged to the environment's own memory: a
	// quarter of it for all connections' buffers together, 128 KiB each
	// way per connection (a window of 90 segments: more than QEMU's
	// round trips need).
	tc := tcp.Config{SendBuffer: 128 << 10, ReceiveBuffer: 128 << 10, MaxMemory: max(memory()/4, 256<<10)}
	if r, ok := ports(2); ok {
		tc.Ports = r
	}
	if _, err := rand.Read(tc.Secret[:]); err != nil {
		return fmt.Errorf("attach: no entropy for TCP's initial sequence numbers: %w", err)
	}
	t, err := tcp.New(tc, ip)
	if err != nil {
		return err
	}
	ip.Register(6, t)
	s := socket.New(ip, t, clock)
	s.SetWake(libos.WakeFrameWaiter)
	Sockets = s
	if arp {
		s.With(func(ip *stack.Stack, _ *tcp.Protocol) { ip.Start(clock()) }) // the gratuitous ARP
	}
	net.SocketFunc = s.Socket
	go l.Run(s.Input, s.Service, clock)
	return nil
}

// VectorSlots is the size of the rings Vector gives a port (the most a
// message buffer holds).
const VectorSlots = 16

// Vector makes UDP datagrams to port arrive by message vectoring: a
// handler in the kernel copies each payload into a ring in the
// environment's memory as the frame arrives, verifying its checksum
// during the copy, and the socket bound to port reads it from there
// (libos/net/vector). The environment must hold a guard for that port
// alone. Datagrams the handler cannot take reach the socket through the
// stack as before.
func Vector(port uint16) error {
	if Err != nil {
		return Err
	}
	r, err := Link.Vector(port, VectorSlots)
	if err != nil {
		return err
	}
	Sockets.SetVector(port, r)
	vectored = append(vectored, vectorPort{port, r})
	return nil
}

type vectorPort struct {
	port uint16
	r    *vector.Ring
}

var vectored []vectorPort

// memory returns the bytes of the environment's memory.
func memory() int {
	st := libos.Startup()
	var n uint64
	for _, r := range st.Runs[:min(st.NumRuns, abi.MaxRuns)] {
		n += r.Pages * abi.PageSize
	}
	return int(n)
}

// stackStats writes the stack's own counters (Stats).
func stackStats(b *strings.Builder) {
	fmt.Fprintf(b, "socket vectoredreads %d\n", Sockets.Vectored())
	for _, v := range vectored {
		fmt.Fprintf(b, "vector udp%d full %d bad %d\n", v.port, v.r.Full(), v.r.Bad())
	}
	for i, id := range Link.Bindings {
		if st, err := sys.NetStats(id); err == nil {
			lo, hi := Link.Guard(i)
			fmt.Fprintf(b, "binding %d guard %#x-%#x frames %d runs %d vectored %d passed %d delivered %d ringfull %d insns %d kinsns %d\n",
				i, lo, hi, st.Frames, st.Runs, st.Vectored, st.Passed, st.Delivered, st.RingFull, st.Insns, st.KernelInsns)
		}
	}
	Sockets.With(func(ip *stack.Stack, t *tcp.Protocol) {
		writeCounters(b, "ip", ip.Stats())
		writeCounters(b, "tcp", t.Stats())
	})
}
