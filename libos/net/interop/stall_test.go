package interop_test

import (
	"encoding/binary"
	"errors"
	"net"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/exo-os/exo/libos/net/wire"
)

// tcpSegment parses f as an IPv4 TCP segment: its flags, window field
// and payload length; ok false for anything else.
func tcpSegment(f []byte) (flags uint8, window uint16, payload int, ok bool) {
	eth, ipb, err := wire.ParseEthernet(f)
	if err != nil || eth.Type != wire.EtherIPv4 {
		return 0, 0, 0, false
	}
	ip, tcp, err := wire.ParseIPv4(ipb)
	if err != nil || ip.Proto != wire.ProtoTCP || len(tcp) < 20 || int(tcp[12]>>4)*4 > len(tcp) {
		return 0, 0, 0, false
	}
	return tcp[13], binary.BigEndian.Uint16(tcp[14:]), len(tcp) - int(tcp[12]>>4)*4, true
}

// TestPeerNeverACKs: after the handshake and a greeting, every frame
// gVisor sends is dropped, so Exo's data is never acknowledged. Exo's
// writes must fail with ETIMEDOUT once its retransmissions run out (15
// of them, the timeout doubling from MinRTO up to MaxRTO, 50 ms here),
// and its connection be gone. (gVisor's own give-up time is minutes, its
// maximum RTO not settable through package gvisor, so the other way is
// not tested.)
func TestPeerNeverACKs(t *testing.T) {
	for _, role := range []struct {
		name     string
		exoDials bool
	}{{"exo-dials", true}, {"gvisor-dials", false}} {
		t.Run(role.name, func(t *testing.T) {
			t.Parallel()
			cfg := exoConfig()
			cfg.MaxRTO = 50 * time.Millisecond
			e := newEnv(t, cleanWire, cfg)
			exoc, gvc := e.connect(role.exoDials, 9000)
			greet(t, [2]net.Conn{exoc, gvc})
			var dropped atomic.Int64
			e.setFilter(func(from int, f []byte) bool {
				if from == gvEnd {
					dropped.Add(1)
					return false
				}
				return true
			})
			start := time.Now()
			exoc.SetDeadline(start.Add(30 * time.Second))
			buf := make([]byte, 32<<10)
			var err error
			for err == nil {
				_, err = exoc.Write(buf)
			}
			elapsed := time.Since(start)
			if !errors.Is(err, syscall.ETIMEDOUT) {
				t.Fatalf("Exo's Write to a peer that never ACKs: %v after %v; want ETIMEDOUT", err, elapsed)
			}
			if _, err := exoc.Read(make([]byte, 1)); !errors.Is(err, syscall.ETIMEDOUT) {
				t.Errorf("Exo's Read after the timeout: %v; want ETIMEDOUT", err)
			}
			s := e.exoTCPStats()
			if s.ConnTimeouts != 1 || s.Timeouts < 15 || s.CurrentConnections != 0 {
				t.Errorf("Exo's stats %+v: want one connection timed out after 15 or more timeouts, none left", s)
			}
			if dropped.Load() == 0 {
				t.Error("gVisor sent nothing while its frames were dropped")
			}
			t.Logf("ETIMEDOUT after %v, %d timeouts, %d of gVisor's frames dropped", elapsed.Round(time.Millisecond), s.Timeouts, dropped.Load())
		})
	}
}

// TestZeroWindow: the reader does not read until its receive window is
// closed and the writer blocks (a Write with a deadline times out); the
// window is held shut for a while, during which the writer's persist
// probes must flow and the reader answer them with a zero window; then
// the reader reads everything and the stream must arrive whole. Exo
// writing to gVisor and gVisor writing to Exo.
func TestZeroWindow(t *testing.T) {
	for _, tc := range []struct {
		name      string
		exoWrites bool
		hold      time.Duration // the window is held shut this long
		minProbes int64         // at least this many probes in hold
	}{
		// Exo probes every RTO, doubling up to MaxRTO (250 ms).
		{"exo-writes", true, time.Second, 2},
		// gVisor's first probe comes after its RTO, 200 ms or more,
		// and then doubles.
		{"gvisor-writes", false, 1500 * time.Millisecond, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			const size, seed = 8 << 20, 99
			e := newEnv(t, cleanWire, exoConfig())
			exoc, gvc := e.connect(tc.exoWrites, 5000)
			w, r := gvc, exoc
			wEnd := gvEnd
			if tc.exoWrites {
				w, r, wEnd = exoc, gvc, exoEnd
			}
			var probes, zeroWindows atomic.Int64
			var holding atomic.Bool
			e.setFilter(func(from int, f []byte) bool {
				flags, window, _, ok := tcpSegment(f)
				if !ok || !holding.Load() {
					return true
				}
				if from == wEnd {
					probes.Add(1) // nothing else is sent while the window is shut
				} else if window == 0 && flags&0x10 != 0 {
					zeroWindows.Add(1)
				}
				return true
			})

			// The writer writes until a Write times out, then waits.
			blocked := make(chan int64, 1)
			resume := make(chan struct{})
			werr := make(chan error, 1)
			go func() {
				src := newStream(seed)
				buf := make([]byte, 64<<10)
				var sent int64
				w.SetWriteDeadline(time.Now().Add(500 * time.Millisecond))
				paused := false
				for sent < size {
					k := min(int64(len(buf)), size-sent)
					src.Read(buf[:k])
					for off := 0; off < int(k); {
						n, err := w.Write(buf[off:k])
						off += n
						sent += int64(n)
						switch {
						case err == nil:
						case isTimeout(err) && !paused:
							paused = true
							blocked <- sent
							<-resume
							w.SetWriteDeadline(time.Now().Add(time.Minute))
						default:
							werr <- err
							return
						}
					}
				}
				if !paused {
					blocked <- -1
				}
				werr <- w.Close()
			}()
			var atBlock int64
			select {
			case atBlock = <-blocked:
			case <-time.After(30 * time.Second):
				t.Fatal("the writer never blocked nor finished")
			}
			if atBlock < 0 {
				t.Fatalf("the writer sent all %d bytes without blocking: the reader's window never closed", size)
			}
			holding.Store(true)
			time.Sleep(tc.hold)
			holding.Store(false)
			p, z := probes.Load(), zeroWindows.Load()
			pp := e.exoTCPStats().PersistProbes
			close(resume)

			r.SetReadDeadline(time.Now().Add(time.Minute))
			n, sum, err := receive(r)
			if err != nil || n != size || sum != streamSum(seed, size) {
				t.Fatalf("the reader got %d bytes (%v), SHA-256 %x; want %d, %x", n, err, sum, size, streamSum(seed, size))
			}
			if err := <-werr; err != nil {
				t.Fatalf("the writer: %v", err)
			}
			t.Logf("the writer blocked after %d bytes; in %v: %d probes, %d zero-window ACKs; Exo's persist probes %d",
				atBlock, tc.hold, p, z, pp)
			if p < tc.minProbes || z < 1 {
				t.Errorf("in %v with the window shut: %d probes from the writer and %d zero-window ACKs; want at least %d and 1",
					tc.hold, p, z, tc.minProbes)
			}
			if tc.exoWrites && pp < uint64(tc.minProbes) {
				t.Errorf("Exo counted %d persist probes; want at least %d", pp, tc.minProbes)
			}
			r.Close()
		})
	}
}
