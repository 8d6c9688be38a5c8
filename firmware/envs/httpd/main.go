//go:build tamago

// Command httpd is the library OS's network stack at work: Go's net/http
// server, unmodified, over the environment's own TCP/IP stack
// (libos/net/attach), serving internal/httpdemo (a page, a 1 MiB
// download, an upload that answers its SHA-256, the stack's counters at
// /stats), and a UDP echo through net.ListenPacket.
//
// Built plain it links Exo's stack; built with -tags gvisor (the
// Makefile's ghttpd image) gVisor's netstack, under the same kernel
// guards and filters. The manifest gives the ports:
//
//	net address=198.18.0.2/24
//	net env=httpd guards=arp,icmp-echo,tcp:80,tcp:49152-57343,udp:5007
//	env httpd arg="http=80 udp=5007"
//
// Arguments: http=PORT (default 80), udp=PORT (default 5007; 0: none),
// vudp=PORT (0, the default: none), a second UDP echo whose datagrams
// arrive by message vectoring (attach.Vector; Exo's stack only), and
// dns=ADDR:PORT, the DNS server the resolver asks (net.SetDefaultNS), which
// /lookup uses.
package main

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strconv"
	"strings"

	"github.com/exo-os/exo/internal/httpdemo"
	"github.com/exo-os/exo/libos"
	"github.com/exo-os/exo/libos/net/attach"
)

func main() {
	httpPort, udpPort, vudpPort := 80, 5007, 0
	for _, f := range strings.Fields(libos.Arg()) {
		k, v, _ := strings.Cut(f, "=")
		if k == "dns" {
			if _, err := netip.ParseAddrPort(v); err != nil {
				fmt.Printf("httpd: argument %q: want dns=A.B.C.D:PORT\n", f)
				os.Exit(2)
			}
			net.SetDefaultNS([]string{v})
			continue
		}
		p, err := strconv.ParseUint(v, 10, 16)
		switch {
		case err != nil:
			fmt.Printf("httpd: argument %q: want http=PORT, udp=PORT, vudp=PORT or dns=ADDR:PORT\n", f)
			os.Exit(2)
		case k == "http":
			httpPort = int(p)
		case k == "udp":
			udpPort = int(p)
		case k == "vudp":
			vudpPort = int(p)
		default:
			fmt.Printf("httpd: argument %q: want http=PORT, udp=PORT, vudp=PORT or dns=ADDR:PORT\n", f)
			os.Exit(2)
		}
	}
	if attach.Err != nil {
		fmt.Printf("httpd: %v\n", attach.Err)
		os.Exit(2)
	}
	ln, err := net.Listen("tcp", fmt.Sprintf(":%d", httpPort))
	if err != nil {
		fmt.Printf("httpd: %v\n", err)
		os.Exit(1)
	}
	if udpPort != 0 {
		pc, err := net.ListenPacket("udp", fmt.Sprintf(":%d", udpPort))
		if err != nil {
			fmt.Printf("httpd: %v\n", err)
			os.Exit(1)
		}
		go echo(pc)
	}
	if vudpPort != 0 {
		if err := attach.Vector(uint16(vudpPort)); err != nil {
			fmt.Printf("httpd: %v\n", err)
			os.Exit(1)
		}
		pc, err := net.ListenPacket("udp", fmt.Sprintf(":%d", vudpPort))
		if err != nil {
			fmt.Printf("httpd: %v\n", err)
			os.Exit(1)
		}
		go echo(pc)
		fmt.Printf("httpd: UDP echo on %d by message vectoring\n", vudpPort)
	}
	cfg := libos.NetConfig()
	addr := net.IP(cfg.Addr[:])
	fmt.Printf("httpd: %s stack serving http://%v:%d/ and UDP echo on %d\n", attach.Name, addr, httpPort, udpPort)
	err = http.Serve(ln, httpdemo.Handler(attach.Name, attach.Stats))
	fmt.Printf("httpd: %v\n", err)
	os.Exit(1)
}

// echo answers every datagram to pc with its own bytes, but the datagram
// "exo-stats", answered with the stack's counters (what a test reads when
// TCP does not answer).

// sendStats sends the counters to whoever asked, in datagrams of whole
// lines that each fit one frame (the kernel sends a fragment after the
// first only for an environment holding all of UDP), the last ending
// with the line "end".
func sendStats(pc net.PacketConn, to net.Addr) {
	const most = 1400
	var chunk []byte
	for _, line := range strings.SplitAfter(attach.Stats()+"end\n", "\n") {
		if len(chunk)+len(line) > most && len(chunk) > 0 {
			pc.WriteTo(chunk, to)
			chunk = chunk[:0]
		}
		chunk = append(chunk, line[:min(len(line), most)]...)
	}
	if len(chunk) > 0 {
		pc.WriteTo(chunk, to)
	}
}

func echo(pc net.PacketConn) {
	buf := make([]byte, 65536)
	for {
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			fmt.Printf("httpd: udp echo: %v\n", err)
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue // a truncated datagram: the next one
		}
		if string(buf[:n]) == "exo-stats" {
			sendStats(pc, from)
			continue
		}
		if _, err := pc.WriteTo(buf[:n], from); err != nil {
			fmt.Printf("httpd: udp echo to %v: %v\n", from, err)
		}
	}
}
