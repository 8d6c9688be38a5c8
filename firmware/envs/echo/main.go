//go:build tamago

// Command echo is the network path's demonstration environment: it
// answers ARP for the machine's address, ICMP echo and UDP echo on port 7
// with application-specific handlers that the kernel runs as each frame
// arrives (libos/netash), so that those replies never wake it; and UDP
// echo on port 9 from ordinary Go code that takes the frames from its
// receive ring (the upcall path), so that one boot measures both paths.
//
// Its guards come from the manifest:
//
//	net address=198.18.0.2/24
//	net env=echo guards=arp,icmp-echo,udp:7,udp:9
//
// Arguments (the manifest's arg=): "icmp=c" answers ICMP echo with the
// handler compiled from C by clang -target bpf (ash/testdata/c/icmp_echo.c)
// instead of the builder's (which also verifies the request's checksum).
//
// With "liar" it is instead the lying-filter test's environment (liar.go).
//
// A datagram to port 9 whose payload is "exo-stats" is answered with the
// handlers' counters and the environment's own (how often it woke), as
// text: what the tests and exoping's users read.
package main

import (
	_ "embed"
	"encoding/binary"
	"fmt"
	"net/netip"
	"os"
	"strings"

	"github.com/exo-os/exo/ash"
	"github.com/exo-os/exo/caps"
	"github.com/exo-os/exo/kernel/abi"
	"github.com/exo-os/exo/libos"
	"github.com/exo-os/exo/libos/netash"
	"github.com/exo-os/exo/libos/sys"
)

// icmpEchoC is ash/testdata/c/icmp_echo.c built by clang -target bpf (the
// Makefile's echo rule).
//
//go:embed icmp_echo.bpf.o
var icmpEchoC []byte

// upcallPort is the UDP port answered from the ring.
const upcallPort = 9

type binding struct {
	name string
	id   uint32
}

func main() {
	if libos.Arg() == "liar" {
		os.Exit(liar())
	}
	cfg := libos.NetConfig()
	if cfg.Addr == [4]byte{} {
		fmt.Println("echo: the manifest gives the machine no net address")
		os.Exit(2)
	}
	if cfg.MAC == [6]byte{} {
		fmt.Println("echo: the machine has no network device (QEMU: -device virtio-net-device)")
		os.Exit(2)
	}
	icmp := netash.ICMPEcho()
	if strings.Contains(libos.Arg(), "icmp=c") {
		var err error
		if icmp, err = ash.LoadELF(icmpEchoC, "icmp_echo"); err != nil {
			fmt.Printf("echo: the C ICMP handler: %v\n", err)
			os.Exit(1)
		}
	}
	udp := func(p uint16) uint64 { return caps.PortName(0x0800, 17, p) }
	echo := caps.PortName(0x0800, 1, 8)
	var binds []binding
	for _, b := range []struct {
		name    string
		lo, hi  uint64
		handler []ash.Instruction
	}{
		{"arp", abi.GuardTables[0].Lo, abi.GuardTables[0].Hi, netash.ARPReply(cfg.MAC, cfg.Addr)},
		{"icmp-echo", echo, echo, icmp},
		{"udp:7", udp(7), udp(7), netash.UDPEcho()},
		{"udp:9", udp(upcallPort), udp(upcallPort), nil},
	} {
		var code []byte
		if b.handler != nil {
			code = ash.Encode(b.handler)
		}
		id, err := libos.Bind(b.lo, b.hi, nil, code)
		if err != nil {
			fmt.Printf("echo: %s: %v\n", b.name, err)
			os.Exit(1)
		}
		binds = append(binds, binding{b.name, id})
	}
	ring, err := libos.OpenRing(64)
	if err != nil {
		fmt.Printf("echo: %v\n", err)
		os.Exit(1)
	}
	addr := netip.AddrFrom4(cfg.Addr)
	fmt.Printf("echo: %v/%d (%x) answers ARP, ICMP echo and UDP 7 in the kernel, UDP %d from its ring\n",
		addr, cfg.PrefixLen, cfg.MAC, upcallPort)

	var wakeups, answered, ignored uint64
	out := make([]byte, abi.MaxFrame)
	for {
		if _, err := sys.NetWait(0); err != nil {
			fmt.Printf("echo: waiting: %v\n", err)
			os.Exit(1)
		}
		wakeups++
		for {
			f, _, ok := ring.Next()
			if !ok {
				break
			}
			n := udpEcho(f, out, cfg)
			if n > 0 && string(out[42:n]) == "exo-stats" {
				n = stats(f, out, cfg, binds, wakeups, answered, ignored, ring.Dropped())
			}
			ring.Done()
			if n == 0 {
				ignored++
				continue
			}
			if err := sys.NetSend(out[:n]); err != nil {
				fmt.Printf("echo: sending: %v\n", err)
				continue
			}
			answered++
		}
	}
}

// udpEcho builds in out the echo of UDP datagram f to the upcall port and
// returns its length, or 0 if f is not one (or is damaged).
func udpEcho(f, out []byte, cfg abi.Net) int {
	be := binary.BigEndian
	if len(f) < 42 || be.Uint16(f[12:]) != 0x0800 || f[14] != 0x45 || f[23] != 17 {
		return 0
	}
	total := int(be.Uint16(f[16:]))
	if total < 28 || 14+total > len(f) || be.Uint16(f[20:])&0x3fff != 0 {
		return 0
	}
	ulen := int(be.Uint16(f[38:]))
	if ulen != total-20 || be.Uint16(f[36:]) != upcallPort {
		return 0
	}
	if be.Uint16(f[40:]) != 0 && udpSum(f[26:30], f[30:34], f[34:14+total]) != 0 {
		return 0
	}
	n := 14 + total
	copy(out, f[:n])
	copy(out[0:6], f[6:12])
	copy(out[6:12], cfg.MAC[:])
	copy(out[26:30], cfg.Addr[:])
	copy(out[30:34], f[26:30])
	copy(out[34:36], f[36:38])
	copy(out[36:38], f[34:36])
	return n
}

// stats replaces the echo in out with a text report of the counters and
// returns the reply's length.
func stats(f, out []byte, cfg abi.Net, binds []binding, wakeups, answered, ignored, dropped uint64) int {
	var b strings.Builder
	fmt.Fprintf(&b, "wakeups %d answered %d ignored %d ringdropped %d\n", wakeups, answered, ignored, dropped)
	for _, x := range binds {
		s, err := sys.NetStats(x.id)
		if err != nil {
			continue
		}
		fmt.Fprintf(&b, "%s frames %d runs %d replies %d consumed %d passed %d delivered %d ringfull %d refused %d dropped %d insns %d kinsns %d\n",
			x.name, s.Frames, s.Runs, s.Replies, s.Consumed, s.Passed, s.Delivered, s.RingFull, s.ReplyRefused, s.ReplyDropped, s.Insns, s.KernelInsns)
	}
	text := b.String()
	if len(text) > abi.MaxFrame-42 {
		text = text[:abi.MaxFrame-42]
	}
	n := 42 + len(text)
	copy(out[42:], text)
	be := binary.BigEndian
	be.PutUint16(out[16:], uint16(n-14))
	out[24], out[25] = 0, 0
	be.PutUint16(out[24:], ipSum(out[14:34]))
	be.PutUint16(out[38:], uint16(n-34))
	out[40], out[41] = 0, 0
	s := udpSum(out[26:30], out[30:34], out[34:n])
	if s == 0 {
		s = 0xffff
	}
	be.PutUint16(out[40:], s)
	return n
}

func sum(b []byte, s uint32) uint32 {
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		s += uint32(b[len(b)-1]) << 8
	}
	return s
}

func fold(s uint32) uint16 {
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return ^uint16(s)
}

func ipSum(h []byte) uint16 { return fold(sum(h, 0)) }

// udpSum is the UDP checksum over the pseudo-header and datagram d (0 for
// a datagram whose checksum field is right).
func udpSum(src, dst, d []byte) uint16 {
	s := sum(src, 0)
	s = sum(dst, s)
	s += 17 + uint32(len(d))
	return fold(sum(d, s))
}
