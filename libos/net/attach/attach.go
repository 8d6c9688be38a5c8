//go:build tamago

// Package attach gives an environment a network: imported (for its side
// effect, or for Stats), it brings up the library OS's stack over the
// kernel's receive ring and net_send at init, and sets net.SocketFunc, so
// that Go's net and net/http run unmodified:
//
//	import _ "github.com/exo-os/exo/libos/net/attach"
//	...
//	http.ListenAndServe(":80", nil)
//
// It binds every guard the manifest gave the environment; the ARP guard
// and an ICMP echo guard get the handlers libos/netash builds, which the
// kernel runs as each frame arrives (ARP replies and echo replies never
// wake the environment), and everything else reaches the stack through
// the ring. The environment's TCP and UDP guards decide its ports: the
// widest range of each is where Dial and an unbound ListenPacket take
// their ephemeral ports.
//
// Built plain, the stack is Exo's own (libos/net/stack and libos/net/tcp);
// built with -tags gvisor it is gVisor's netstack (libos/net/gvisor), the
// second library OS, behind the same net.SocketFunc and under the same
// kernel filters. Name says which.
//
// Without a NIC, an address or guards, every socket call fails with the
// reason (Err says it too); nothing else in the environment changes.
package attach

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"strings"
	"time"

	"github.com/exo-os/exo/ash"
	"github.com/exo-os/exo/caps"
	"github.com/exo-os/exo/kernel/abi"
	"github.com/exo-os/exo/libos"
	"github.com/exo-os/exo/libos/net/kernlink"
	"github.com/exo-os/exo/libos/netash"
)

// RingSlots is the size of the receive ring attach opens: enough for a
// full TCP window of 1460-byte segments arriving while the environment
// is not scheduled (64 KiB / 1460 = 45).
const RingSlots = 256

// Err is why the network did not come up, or nil.
var Err error

// Link is the link the stack runs on, once up.
var Link *kernlink.Link

// echoName is the guard name of ICMP echo requests.
var echoName = caps.PortName(0x0800, 1, 8)

// handler gives the ARP guard and an ICMP guard covering echo requests
// their in-kernel handlers; other guards deliver to the ring.
func handler(cfg abi.Net) kernlink.Handler {
	return func(lo, hi uint64) []byte {
		switch {
		case lo == abi.GuardTables[0].Lo && hi == abi.GuardTables[0].Hi:
			return ash.Encode(netash.ARPReply(cfg.MAC, cfg.Addr))
		case lo == echoName && hi == echoName:
			return ash.Encode(netash.ICMPEcho())
		}
		return nil
	}
}

// ports returns the widest range of the environment's guards in table
// (abi.GuardTables' index), as ports, or ok false if it holds none.
func ports(table int) (r [2]uint16, ok bool) {
	g := abi.GuardTables[table]
	best := -1
	for _, x := range libos.Guards() {
		if x[0] < g.Lo || x[1] > g.Hi {
			continue
		}
		if w := int(x[1] - x[0]); w > best {
			best = w
			r = [2]uint16{uint16(x[0] - g.Lo), uint16(x[1] - g.Lo)}
		}
	}
	return r, best >= 0
}

// prefix is the machine's address and prefix as the manifest gave them.
func prefix(cfg abi.Net) netip.Prefix {
	return netip.PrefixFrom(netip.AddrFrom4(cfg.Addr), int(cfg.PrefixLen))
}

// clock is the stack's time: monotonic, from the environment's start.
var origin = time.Now()

func clock() time.Duration { return time.Since(origin) }

// Stats writes the stack's counters as text, one "layer name value" line
// each: the link's and the runtime heap's, then the stack's own (what
// httpd's /stats shows).
func Stats() string {
	var b strings.Builder
	if Err != nil {
		fmt.Fprintf(&b, "error %v\n", Err)
		return b.String()
	}
	sent, refused, retried, drops := Link.Counters()
	fmt.Fprintf(&b, "link sent %d\nlink refused %d\nlink retried %d\nlink ringdropped %d\n", sent, refused, retried, drops)
	runtime.GC() // so that heapinuse is what is live, not what awaits a collection
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Fprintf(&b, "runtime heapinuse %d\nruntime heapsys %d\n", ms.HeapInuse, ms.HeapSys)
	if Link.LastError != nil {
		fmt.Fprintf(&b, "link lasterror %q\n", Link.LastError.Error())
	}
	stackStats(&b)
	return b.String()
}

func fail(err error) {
	Err = err
	net.SocketFunc = func(_ context.Context, network string, _, _ int, _, _ net.Addr) (interface{}, error) {
		return nil, errors.Join(errors.New("attach: "+network+": no network"), err)
	}
}

func init() {
	cfg := libos.NetConfig()
	l, err := kernlink.Open(RingSlots, handler(cfg))
	if err != nil {
		fail(err)
		return
	}
	Link = l
	if err := start(cfg, l); err != nil {
		fail(err)
	}
}
