package tcp

import (
	"encoding/binary"
	"net/netip"
	"testing"
	"time"

	"github.com/exo-os/exo/libos/net/checksum"
)

func FuzzSegment(f *testing.F) {
	h := header{srcPort: 1, dstPort: 2, seq: 3, ack: 4, flags: flagSYN | flagACK, wnd: 5,
		hasMSS: true, mss: 1460, hasWS: true, wscale: 7, sackOK: true, hasTS: true, tsVal: 8, tsEcr: 9}
	b := make([]byte, maxHeader)
	f.Add(b[:h.marshal(b)])
	h = header{srcPort: 1, dstPort: 2, seq: 3, ack: 4, flags: flagACK, wnd: 5, hasTS: true, tsVal: 8, tsEcr: 9,
		nsack: 3, sack: [maxSACKBlocks]seqRange{{100, 200}, {300, 400}, {0xfffffff0, 0x10}}}
	f.Add(b[:h.marshal(b)])
	h = header{srcPort: 1, dstPort: 2, flags: flagACK, nsack: 4, sack: [maxSACKBlocks]seqRange{{1, 2}, {3, 4}, {5, 6}, {7, 8}}}
	f.Add(b[:h.marshal(b)])
	// A SACK option of a bad length, then one of a single block.
	f.Add([]byte{0, 1, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0x90, 0x10, 0, 5, 0, 0, 0, 0,
		5, 6, 0, 0, 0, 1, 5, 10, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0})
	f.Add(make([]byte, 20))
	f.Add([]byte{0, 1, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0x60, 0x12, 0, 5, 0, 0, 0, 0, 2, 4, 5, 0xb4})
	f.Add([]byte{0, 1, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0x70, 0x12, 0, 5, 0, 0, 0, 0, 1, 1, 8, 0, 0, 0})
	f.Add([]byte{0, 1, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0xf0, 0x12, 0, 5})
	f.Fuzz(func(t *testing.T, b []byte) {
		var h header
		if err := parseHeader(b, &h); err != nil {
			return
		}
		if h.hlen < minHeader || h.hlen > len(b) || h.hlen > maxHeader {
			t.Fatalf("hlen %d of %d", h.hlen, len(b))
		}
		out := make([]byte, maxHeader)
		n := h.marshal(out)
		var g header
		if err := parseHeader(out[:n], &g); err != nil {
			t.Fatalf("round trip: %v", err)
		}
		g.hlen = h.hlen
		if g != h {
			t.Fatalf("round trip\n%+v\n%+v", h, g)
		}
	})
}

// fuzzWorld is a protocol with a listener on B:80 and an established
// connection A:1000 -> B:80 (B's end under fuzz).
func fuzzWorld(t testing.TB) (*testNet, *Conn) {
	n := newNet(t, 99, Config{SendBuffer: 8 << 10, ReceiveBuffer: 8 << 10, MaxConnections: 8, TimeWait: time.Second}, Config{})
	n.record = false
	_, s, _ := n.connect()
	s.Write(n.now, testData[:4000])
	n.blockFrom(1) // B's segments go nowhere
	n.blockFrom(0)
	return n, s
}

func FuzzDeliver(f *testing.F) {
	f.Add([]byte{0x0f, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x50, 0x10, 0xff, 0xff, 0, 0, 0, 0})
	f.Add([]byte{0x07, 24, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0, 0x50, 0x18, 0x10, 0, 0, 0, 0, 0, 'a', 'b', 'c', 'd'})
	f.Add([]byte{0x03, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x50, 0x02, 0x10, 0, 0, 0, 0, 0,
		0x0f, 20, 0, 0, 0, 0, 0, 0, 0, 100, 0, 0, 0, 0, 0x50, 0x04, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{0x1f, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x50, 0x11, 0, 0, 0, 0, 0, 0})
	// ACKs with SACK blocks (edges rewritten near SND.UNA by ctl 0x08):
	// one block, then three, then a duplicate ACK again.
	sackSeg := func(ctl byte, blocks ...uint32) []byte {
		h := header{srcPort: 1, dstPort: 2, flags: flagACK, wnd: 0xffff, nsack: len(blocks) / 2}
		for i := 0; i+1 < len(blocks); i += 2 {
			h.sack[i/2] = seqRange{blocks[i], blocks[i+1]}
		}
		b := make([]byte, maxHeader)
		b = b[:h.marshal(b)]
		return append([]byte{ctl, byte(len(b))}, b...)
	}
	f.Add(append(sackSeg(0x0f, 2000, 3000), sackSeg(0x0f, 1500, 1800, 2000, 3200, 4000, 5000)...))
	f.Add(append(append(sackSeg(0x0f, 2400, 3400), sackSeg(0x0f, 2400, 3400)...), sackSeg(0x1f, 1000, 2400)...))
	f.Fuzz(func(t *testing.T, in []byte) {
		n, s := fuzzWorld(t)
		p := n.b()
		for len(in) >= 2 {
			ctl, k := in[0], int(in[1])
			in = in[2:]
			if k > len(in) {
				k = len(in)
			}
			seg := append([]byte(nil), in[:k]...)
			in = in[k:]
			if len(seg) >= minHeader {
				if ctl&0x02 != 0 { // aim at the connection or the listener
					binary.BigEndian.PutUint16(seg[0:], s.key.remote.Port())
					binary.BigEndian.PutUint16(seg[2:], 80)
					if ctl&0x20 != 0 {
						binary.BigEndian.PutUint16(seg[0:], 2000+uint16(ctl>>6))
					}
				}
				if ctl&0x04 != 0 { // sequence numbers near the window
					binary.BigEndian.PutUint32(seg[4:], s.rcvNxt+binary.BigEndian.Uint32(seg[4:])%70000-1000)
				}
				if ctl&0x08 != 0 {
					binary.BigEndian.PutUint32(seg[8:], s.sndUna+binary.BigEndian.Uint32(seg[8:])%9000-1000)
					nearSACK(seg, s.sndUna)
				}
				if ctl&0x01 != 0 {
					seg[16], seg[17] = 0, 0
					sum := checksum.Pseudo(addrA.As4(), addrB.As4(), ProtocolNumber, len(seg))
					cs := checksum.Finish(checksum.Sum(sum, seg))
					seg[16], seg[17] = byte(cs>>8), byte(cs)
				}
			}
			p.Deliver(n.now, addrA, addrB, seg)
			if ctl&0x10 != 0 {
				n.now += time.Duration(ctl) * 10 * time.Millisecond
				p.Tick(n.now)
			}
			if s.Readable() {
				s.Read(make([]byte, 1000))
			}
			checkInvariants(t, p)
		}
		n.now += time.Hour
		p.Tick(n.now)
		checkInvariants(t, p)
	})
}

// nearSACK rewrites the edges of seg's SACK blocks to lie near una.
func nearSACK(seg []byte, una uint32) {
	hlen := int(seg[12]>>4) * 4
	if hlen < minHeader || hlen > len(seg) {
		return
	}
	o := seg[minHeader:hlen]
	for len(o) >= 2 && o[0] != optEnd {
		if o[0] == optNOP {
			o = o[1:]
			continue
		}
		n := int(o[1])
		if n < 2 || n > len(o) {
			return
		}
		if o[0] == optSACK {
			for i := 2; i+4 <= n; i += 4 {
				binary.BigEndian.PutUint32(o[i:], una+binary.BigEndian.Uint32(o[i:])%9000-1000)
			}
		}
		o = o[n:]
	}
}

func checkInvariants(t *testing.T, p *Protocol) {
	if got, _ := p.NextTimer(); got > p.exactNextTimer() {
		t.Fatalf("NextTimer %v is later than the earliest timer, %v", got, p.exactNextTimer())
	}
	if len(p.conns) != len(p.list) {
		t.Fatalf("%d conns, %d in the list", len(p.conns), len(p.list))
	}
	if p.memUsed < 0 || p.memUsed > p.cfg.MaxMemory || len(p.conns) > p.cfg.MaxConnections {
		t.Fatalf("memory %d, conns %d", p.memUsed, len(p.conns))
	}
	for i, c := range p.list {
		if c.idx != i || p.conns[c.key] != c {
			t.Fatalf("conn %d misfiled", i)
		}
		if c.state == StateClosed {
			t.Fatal("CLOSED conn still registered")
		}
		if c.sndBuf.n < 0 || c.sndBuf.n > c.sndBuf.size || c.rcvBuf.n < 0 || c.rcvBuf.n > c.rcvBuf.size {
			t.Fatalf("buffers %d %d", c.sndBuf.n, c.rcvBuf.n)
		}
		if c.sb.n < 0 || c.sb.n > maxSACKRanges {
			t.Fatalf("scoreboard of %d ranges", c.sb.n)
		}
		for i := 0; i < c.sb.n; i++ {
			r := c.sb.r[i]
			if !seqLT(r.start, r.end) || !seqLT(c.sndUna, r.start) || seqGT(r.end, c.sndMax) ||
				i > 0 && !seqLT(c.sb.r[i-1].end, r.start) {
				t.Fatalf("scoreboard %v: una %d max %d", c.sb.r[:c.sb.n], c.sndUna, c.sndMax)
			}
		}
		if c.state >= StateEstablished {
			if !seqLEQ(c.sndUna, c.sndNxt) || !seqLEQ(c.sndNxt, c.sndMax) || !seqLEQ(c.rcvNxt, c.rcvAdv) {
				t.Fatalf("sequence space: %s", c.dump())
			}
			if c.rcvAdv-c.rcvNxt > uint32(c.rcvBuf.free()) && c.state != StateTimeWait {
				t.Fatalf("window %d beyond free space %d", c.rcvAdv-c.rcvNxt, c.rcvBuf.free())
			}
		}
	}
	for _, l := range p.listeners {
		if l.synRcvd < 0 || len(l.ready)+l.synRcvd > l.backlog {
			t.Fatalf("listener: %d ready, %d SYN-RECEIVED, backlog %d", len(l.ready), l.synRcvd, l.backlog)
		}
	}
	_ = netip.Addr{}
}
