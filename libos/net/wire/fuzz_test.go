package wire

import (
	"bytes"
	"testing"
)

func FuzzEthernet(f *testing.F) {
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 1, 8, 6, 1})
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		e, p, err := ParseEthernet(b)
		if err != nil {
			return
		}
		c := make([]byte, EthernetLen+len(p))
		e.Put(c)
		copy(c[EthernetLen:], p)
		e2, p2, err := ParseEthernet(c)
		if err != nil || e2 != e || !bytes.Equal(p, p2) {
			t.Fatalf("round trip: %+v %v, want %+v", e2, err, e)
		}
	})
}

func FuzzARP(f *testing.F) {
	b := make([]byte, ARPLen)
	ARP{Op: ARPReply, SHA: [6]byte{2, 1, 2, 3, 4, 5}, SPA: ipA, TPA: ipB}.Put(b)
	f.Add(b)
	f.Add(b[:20])
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := ParseARP(b)
		if err != nil {
			return
		}
		c := make([]byte, ARPLen)
		a.Put(c)
		a2, err := ParseARP(c)
		if err != nil || a2 != a {
			t.Fatalf("round trip: %+v %v, want %+v", a2, err, a)
		}
	})
}

func FuzzIPv4(f *testing.F) {
	f.Add(ipPacket(IPv4{TTL: 64, Proto: ProtoUDP, Src: ipA, Dst: ipB, MF: true, ID: 9}, []byte("xy")))
	f.Add(ipPacket(IPv4{TTL: 1, Proto: ProtoICMP, Src: ipA, Dst: ipB, DF: true, FragOff: 64}, nil))
	f.Add([]byte{0x4f, 0, 0, 20})
	f.Fuzz(func(t *testing.T, b []byte) {
		h, p, err := ParseIPv4(b)
		if err != nil {
			return
		}
		if h.HeaderLen < 20 || h.HeaderLen > 60 || int(h.TotalLen) != h.HeaderLen+len(p) {
			t.Fatalf("inconsistent header %+v with %d payload bytes", h, len(p))
		}
		c := ipPacket(h, p)
		h2, p2, err := ParseIPv4(c)
		h.HeaderLen, h.TotalLen = IPv4Len, uint16(IPv4Len+len(p))
		if err != nil || h2 != h || !bytes.Equal(p, p2) {
			t.Fatalf("round trip: %+v %v, want %+v", h2, err, h)
		}
	})
}

func FuzzICMP(f *testing.F) {
	req := make([]byte, 12)
	ICMP{Type: ICMPEchoRequest, Rest: 0x10002}.Put(req, req[8:])
	f.Add(req)
	f.Add(AppendUnreachable(nil, ICMPPortUnreachable, ipPacket(IPv4{TTL: 1, Proto: ProtoUDP, Src: ipA, Dst: ipB}, make([]byte, 8))))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, body, err := ParseICMP(b)
		if err != nil {
			QuoteLen(b)
			AppendUnreachable(nil, 3, b)
			return
		}
		c := make([]byte, ICMPLen+len(body))
		copy(c[ICMPLen:], body)
		h.Put(c, c[ICMPLen:])
		h2, body2, err := ParseICMP(c)
		if err != nil || h2 != h || !bytes.Equal(body, body2) {
			t.Fatalf("round trip: %+v %v, want %+v", h2, err, h)
		}
		if h.Type == ICMPEchoRequest {
			r, err := AppendEchoReply(nil, b)
			if err != nil {
				t.Fatal(err)
			}
			rh, rb, err := ParseICMP(r)
			if err != nil || rh.Type != ICMPEchoReply || rh.Rest != h.Rest || !bytes.Equal(rb, body) {
				t.Fatalf("echo reply %+v %v", rh, err)
			}
		}
	})
}

func FuzzUDP(f *testing.F) {
	b := make([]byte, 8+3)
	copy(b[8:], "abc")
	UDP{Src: 7, Dst: 9}.Put(b, ipA, ipB, b[8:])
	f.Add(b)
	f.Add([]byte{0, 1, 0, 2, 0, 8, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		h, p, err := ParseUDP(b, ipA, ipB)
		if err != nil {
			return
		}
		if int(h.Len) != UDPLen+len(p) {
			t.Fatalf("Len %d with %d data bytes", h.Len, len(p))
		}
		c := make([]byte, UDPLen+len(p))
		copy(c[UDPLen:], p)
		UDP{Src: h.Src, Dst: h.Dst}.Put(c, ipA, ipB, c[UDPLen:])
		h2, p2, err := ParseUDP(c, ipA, ipB)
		if err != nil || h2.Src != h.Src || h2.Dst != h.Dst || h2.Len != h.Len || !bytes.Equal(p, p2) {
			t.Fatalf("round trip: %+v %v, want %+v", h2, err, h)
		}
		// A nonzero checksum that verified is the one Put computes.
		if h.Checksum != 0 && h2.Checksum != h.Checksum {
			t.Fatalf("checksum %#x, recomputed %#x", h.Checksum, h2.Checksum)
		}
	})
}
