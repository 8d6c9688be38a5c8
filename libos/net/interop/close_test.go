package interop_test

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// side names one end of a connection in the teardown table.
type side int

const (
	exoSide side = iota
	gvSide
)

func (s side) String() string { return [...]string{"exo", "gvisor"}[s] }

// teardown is one order of closing: steps run on the two ends of an
// established connection over which a greeting has gone each way.
type teardown struct {
	name string
	run  func(t *testing.T, c [2]net.Conn)
}

// readEOF checks that c's next Read returns io.EOF with no data.
func readEOF(c net.Conn, who side) error {
	n, err := c.Read(make([]byte, 16))
	if n != 0 || err != io.EOF {
		return fmt.Errorf("%v's Read after the peer's FIN: %d bytes, %v; want 0, io.EOF", who, n, err)
	}
	return nil
}

func teardowns() []teardown {
	var tt []teardown
	for _, x := range []side{exoSide, gvSide} {
		y := 1 - x
		tt = append(tt,
			// X closes at once; Y sees EOF and closes.
			teardown{x.String() + "-closes-first", func(t *testing.T, c [2]net.Conn) {
				must(t, c[x].Close(), "%v's Close", x)
				must(t, readEOF(c[y], y), "")
				must(t, c[y].Close(), "%v's Close", y)
			}},
			// X shuts its side down; Y sees EOF and closes; X sees
			// EOF and closes.
			teardown{x.String() + "-shuts-down-first", func(t *testing.T, c [2]net.Conn) {
				must(t, closeWrite(c[x]), "%v's CloseWrite", x)
				must(t, readEOF(c[y], y), "")
				must(t, c[y].Close(), "%v's Close", y)
				must(t, readEOF(c[x], x), "")
				must(t, c[x].Close(), "%v's Close", x)
			}},
			// Half-close: X shuts its side down, Y sends 256 KiB the
			// other way and closes, X reads it all and EOF.
			teardown{x.String() + "-half-closes", func(t *testing.T, c [2]net.Conn) {
				const size, seed = 256 << 10, 77
				must(t, closeWrite(c[x]), "%v's CloseWrite", x)
				must(t, readEOF(c[y], y), "")
				got := receiveAsync(c[x])
				must(t, send(c[y], seed, size), "%v's send after the half-close", y)
				must(t, c[y].Close(), "%v's Close", y)
				r := <-got
				if r.err != nil || r.n != size || r.sum != streamSum(seed, size) {
					t.Fatalf("%v read %d bytes (%v) after its half-close, SHA-256 %x; want %d, %x", x, r.n, r.err, r.sum, size, streamSum(seed, size))
				}
				must(t, c[x].Close(), "%v's Close", x)
			}},
		)
	}
	// Both ends at the same moment (RFC 9293 §3.6, simultaneous close).
	both := func(f func(c net.Conn) error) func(c [2]net.Conn) [2]error {
		return func(c [2]net.Conn) [2]error {
			var errs [2]error
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range c {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					errs[i] = f(c[i])
				}()
			}
			close(start)
			wg.Wait()
			return errs
		}
	}
	tt = append(tt,
		teardown{"both-shut-down-at-once", func(t *testing.T, c [2]net.Conn) {
			for i, err := range both(closeWrite)(c) {
				must(t, err, "%v's CloseWrite", side(i))
			}
			for i := range c {
				must(t, readEOF(c[i], side(i)), "")
			}
			for i, err := range both(net.Conn.Close)(c) {
				must(t, err, "%v's Close", side(i))
			}
		}},
		teardown{"both-close-at-once", func(t *testing.T, c [2]net.Conn) {
			for i, err := range both(net.Conn.Close)(c) {
				must(t, err, "%v's Close", side(i))
			}
		}},
	)
	return tt
}

// must fails the test if err is not nil, prefixing what (a format).
func must(t *testing.T, err error, what string, args ...any) {
	t.Helper()
	if err != nil {
		if what != "" {
			t.Fatalf("%s: %v", fmt.Sprintf(what, args...), err)
		}
		t.Fatal(err)
	}
}

// TestTeardown closes connections in every order: one end first (Close,
// or CloseWrite and then Close once the other has closed), a half-close
// followed by data the other way, and both ends at once; with Exo as the
// client and as the server, over a clean wire and a 1% one. Every close
// must succeed, every EOF be clean (no reset seen by either end), and
// Exo's connection must reach CLOSED (through TIME-WAIT where it closed
// first).
func TestTeardown(t *testing.T) {
	for _, im := range []struct {
		name string
		rate float64
	}{{"clean", 0}, {"1%", 0.01}} {
		for ri, role := range []struct {
			name     string
			exoDials bool
		}{{"exo-dials", true}, {"gvisor-dials", false}} {
			for ci, tc := range teardowns() {
				seed := uint64(1000 + 100*ri + ci)
				t.Run(fmt.Sprintf("%s/%s/%s", im.name, role.name, tc.name), func(t *testing.T) {
					t.Parallel()
					e := newEnv(t, impairment(im.rate, seed), exoConfig())
					exoc, gvc := e.connect(role.exoDials, 443)
					c := [2]net.Conn{exoc, gvc}
					for _, x := range c {
						x.SetDeadline(time.Now().Add(time.Minute))
					}
					greet(t, c)
					tc.run(t, c)
					e.waitExoClosed()
					// RSTs after both ends are done are legitimate
					// and only logged: a window update or duplicated
					// last ACK meets an end already CLOSED (RFC 9293
					// §3.10.7.1), and gVisor resets on an ACK that
					// overtakes the FIN before it
					// (TestReorderedFINAtGVisor). One before would
					// have failed a Read or Close above.
					ts, gs := e.exoTCPStats(), e.gv.Stats()
					if n := ts.ResetsIn + ts.ResetsOut + gs["tcp.resets_sent"] + gs["tcp.resets_received"]; n != 0 {
						t.Logf("RSTs after the close: Exo sent %d and received %d, gVisor sent %d and received %d",
							ts.ResetsOut, ts.ResetsIn, gs["tcp.resets_sent"], gs["tcp.resets_received"])
					}
				})
			}
		}
	}
}

// greet sends a line each way over c (Exo's end, gVisor's end) and
// checks it arrives.
func greet(t *testing.T, c [2]net.Conn) {
	t.Helper()
	for i := range c {
		msg := []byte(fmt.Sprintf("hello from %v\n", side(i)))
		if _, err := c[i].Write(msg); err != nil {
			t.Fatalf("%v's greeting: %v", side(i), err)
		}
		got := make([]byte, len(msg))
		if _, err := io.ReadFull(c[1-i], got); err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("%v read %q, %v; want %q", side(1-i), got, err, msg)
		}
	}
}

// TestReorderedFINAtGVisor: Exo half-closes and its FIN is lost; gVisor
// then closes, and Exo acknowledges gVisor's FIN with a pure ACK whose
// sequence number is SND.NXT, one past the lost FIN. At gVisor that ACK
// is in the window, beyond RCV.NXT, and carries no data: RFC 9293
// §3.10.7.4 has it processed for its ACK (or queued) and the FIN
// retransmitted later completes the close; no RST.
func TestReorderedFINAtGVisor(t *testing.T) {
	t.Skip("bug: gVisor (gvisor.dev/gvisor@v0.0.0-20250911055229, pkg/tcpip/transport/tcp/rcv.go handleRcvdSegmentClosing) resets a closed-for-reads connection in FIN-WAIT-1/2 on any segment with seq+payload > RCV.NXT, pure ACKs included, so an ACK that overtakes (or outlives) the peer's FIN draws a RST")
	e := newEnv(t, cleanWire, exoConfig())
	exoc, gvc := e.connect(true, 4443)
	c := [2]net.Conn{exoc, gvc}
	for _, x := range c {
		x.SetDeadline(time.Now().Add(30 * time.Second))
	}
	greet(t, c)
	var once sync.Once
	e.setFilter(func(from int, f []byte) bool {
		flags, _, _, ok := tcpSegment(f)
		drop := false
		if ok && from == exoEnd && flags&0x01 != 0 {
			once.Do(func() { drop = true }) // Exo's first FIN
		}
		return !drop
	})
	must(t, closeWrite(exoc), "Exo's CloseWrite")
	time.Sleep(5 * time.Millisecond)
	must(t, gvc.Close(), "gVisor's Close")
	must(t, readEOF(exoc, exoSide), "")
	must(t, exoc.Close(), "Exo's Close")
	e.waitExoClosed()
	if gs := e.gv.Stats(); gs["tcp.resets_sent"] != 0 {
		t.Fatalf("gVisor sent %d RSTs; want none", gs["tcp.resets_sent"])
	}
}

// TestOutOfOrderFINAtExo: gVisor sends data and then a FIN, and the
// data segment is lost, so the FIN reaches Exo beyond RCV.NXT. Like any
// out-of-order segment it must draw an immediate duplicate ACK (RFC 5681
// §4.2; RFC 9293 §3.10.7.4), which tells the sender of the hole before
// its retransmission timer does. The stream must then complete.
func TestOutOfOrderFINAtExo(t *testing.T) {
	e := newEnv(t, cleanWire, exoConfig())
	exoc, gvc := e.connect(false, 4444)
	c := [2]net.Conn{exoc, gvc}
	for _, x := range c {
		x.SetDeadline(time.Now().Add(30 * time.Second))
	}
	greet(t, c)
	var mu sync.Mutex
	dropped, finSent, done := false, false, false
	acksAfterFIN := 0
	e.setFilter(func(from int, f []byte) bool {
		flags, _, n, ok := tcpSegment(f)
		if !ok {
			return true
		}
		mu.Lock()
		defer mu.Unlock()
		switch {
		case from == gvEnd && !dropped && n > 0:
			if flags&0x01 != 0 {
				done = true // data and FIN in one segment: nothing to test
			}
			dropped = true
			return false
		case from == gvEnd && dropped && !finSent && flags&0x01 != 0:
			finSent = true
		case from == gvEnd && finSent:
			done = true // gVisor's retransmission: Exo's chance is over
		case from == exoEnd && finSent && !done:
			acksAfterFIN++
		}
		return true
	})
	if _, err := gvc.Write(make([]byte, 1000)); err != nil {
		t.Fatal(err)
	}
	must(t, closeWrite(gvc), "gVisor's CloseWrite")
	n, _, err := receive(exoc)
	if err != nil || n != 1000 {
		t.Fatalf("Exo read %d bytes, %v; want 1000 and EOF", n, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if !finSent {
		t.Fatal("gVisor sent its FIN with the data: the case did not arise")
	}
	if acksAfterFIN == 0 {
		t.Error("Exo sent no ACK for the out-of-order FIN before gVisor retransmitted")
	}
}
