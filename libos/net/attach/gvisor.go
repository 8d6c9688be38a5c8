//go:build tamago && gvisor

package attach

import (
	"fmt"
	"math"
	"net"
	"sort"
	"strings"
	"time"

	"github.com/exo-os/exo/kernel/abi"
	"github.com/exo-os/exo/libos/net/gvisor"
	"github.com/exo-os/exo/libos/net/kernlink"
)

// Name names the stack this build links.
const Name = "gvisor"

// Sockets is gVisor's stack, once up.
var Sockets *gvisor.Stack

func start(cfg abi.Net, l *kernlink.Link) error {
	gc := gvisor.Config{Addr: prefix(cfg), MAC: cfg.MAC, MTU: l.MTU()}
	// gVisor has one ephemeral range for TCP and UDP: the widest TCP
	// guard's (the manifest should give UDP the same range).
	if r, ok := ports(2); ok {
		gc.Ports = r
	}
	s, err := gvisor.New(gc, l)
	if err != nil {
		return err
	}
	Sockets = s
	net.SocketFunc = s.Socket
	// gVisor runs its own timers in goroutines; the receive loop only
	// feeds it frames.
	never := func() time.Duration { return math.MaxInt64 }
	go l.Run(func(f []byte) { s.Input(clock(), f) }, never, clock)
	return nil
}

// Vector is Exo's stack's alone: with gVisor's, it says so.
func Vector(port uint16) error {
	return fmt.Errorf("attach: vector UDP %d: message vectoring needs Exo's stack, not gVisor's", port)
}

// stackStats writes the stack's own counters (Stats).
func stackStats(b *strings.Builder) {
	m := Sockets.Stats()
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(b, "gvisor %s %d\n", k, m[k])
	}
}
