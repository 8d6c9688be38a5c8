package ping_test

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/exo-os/exo/internal/ping"
)

// udpEcho serves UDP echo on 127.0.0.1, passing every payload through
// mangle, until the test ends; it returns the port.
func udpEcho(t *testing.T, mangle func(n int, b []byte)) uint16 {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { c.Close(); <-done })
	go func() {
		defer close(done)
		buf := make([]byte, 64<<10)
		for n := 1; ; n++ {
			k, from, err := c.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			mangle(n, buf[:k])
			c.WriteToUDPAddrPort(buf[:k], from)
		}
	}()
	return c.LocalAddr().(*net.UDPAddr).AddrPort().Port()
}

var loopback = netip.MustParseAddr("127.0.0.1")

func TestRawUDP(t *testing.T) {
	port := udpEcho(t, func(n int, b []byte) {
		if n%2 == 0 {
			b[len(b)-1] ^= 1
		}
	})
	var r ping.Raw
	defer r.Close()
	res, err := ping.Run(context.Background(), ping.Config{Proto: "udp", Target: loopback, Port: port, Count: 6, Interval: interval, Timeout: timeout}, &r)
	if err != nil {
		t.Fatal(err)
	}
	if s := res.Summary; s.Sent != 6 || s.Received != 3 || s.Corrupt != 3 || s.Lost != 0 {
		t.Errorf("summary %+v, want 3 good and 3 corrupt", s)
	}
	if res.Port != port || res.Proto != "udp" {
		t.Errorf("result for %s port %d", res.Proto, res.Port)
	}
}

// TestRawICMP pings 127.0.0.1, which needs a raw socket or an unprivileged
// ICMP socket: it is skipped where neither is allowed.
func TestRawICMP(t *testing.T) {
	var r ping.Raw
	defer r.Close()
	res, err := ping.Run(context.Background(), ping.Config{Target: loopback, Count: 3, Interval: interval, Timeout: timeout}, &r)
	if err != nil && strings.Contains(err.Error(), "no ICMP socket") {
		t.Skipf("no ICMP socket here: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	if s := res.Summary; s.Received != 3 || res.Unmatched != 0 {
		t.Errorf("summary %+v, %d unmatched", s, res.Unmatched)
	}
}
