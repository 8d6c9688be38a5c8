package ash

import (
	"encoding/binary"
	"fmt"
	"math/rand"
	"os"
)

// pcapFrame is one record of a capture: the captured bytes and the length
// on the wire (larger when the capture was truncated).
type pcapFrame struct {
	data    []byte
	wireLen int
}

// pcapBaseSec is the timestamp of frame 0; frame i is stamped
// pcapBaseSec+i seconds, so a filtered capture tells which frames matched.
const pcapBaseSec = 1_000_000

// writePcap writes frames as a classic little-endian pcap file with
// link type 1 (EN10MB).
func writePcap(path string, frames []pcapFrame) error {
	le := binary.LittleEndian
	hdr := make([]byte, 24)
	le.PutUint32(hdr[0:], 0xa1b2c3d4)
	le.PutUint16(hdr[4:], 2)
	le.PutUint16(hdr[6:], 4)
	le.PutUint32(hdr[16:], 65535)
	le.PutUint32(hdr[20:], 1)
	out := hdr
	for i, f := range frames {
		rec := make([]byte, 16)
		le.PutUint32(rec[0:], uint32(pcapBaseSec+i))
		le.PutUint32(rec[8:], uint32(len(f.data)))
		le.PutUint32(rec[12:], uint32(f.wireLen))
		out = append(append(out, rec...), f.data...)
	}
	return os.WriteFile(path, out, 0o644)
}

// readPcapIndexes returns the frame indexes (from timestamps) in a capture
// written by tcpdump -w.
func readPcapIndexes(path string) ([]int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(b) < 24 {
		return nil, fmt.Errorf("pcap %s: short header", path)
	}
	var bo binary.ByteOrder = binary.LittleEndian
	if binary.BigEndian.Uint32(b) == 0xa1b2c3d4 {
		bo = binary.BigEndian
	}
	var idx []int
	for p := 24; p < len(b); {
		if p+16 > len(b) {
			return nil, fmt.Errorf("pcap %s: truncated record header", path)
		}
		sec, incl := bo.Uint32(b[p:]), bo.Uint32(b[p+8:])
		idx = append(idx, int(sec)-pcapBaseSec)
		p += 16 + int(incl)
	}
	return idx, nil
}

// testFrames returns a deterministic, varied corpus: ARP, IPv4 and IPv6
// TCP/UDP/ICMP, options, fragments, VLAN tags, broadcast and multicast,
// truncated captures, malformed headers and random bytes.
func testFrames() []pcapFrame {
	rng := rand.New(rand.NewSource(1))
	var out []pcapFrame
	add := func(f []byte) { out = append(out, pcapFrame{f, len(f)}) }
	macs := [][]byte{macA, macB, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, {0x01, 0x00, 0x5e, 0, 0, 1}, {0x33, 0x33, 0, 0, 0, 1}}
	ips := [][4]byte{{10, 0, 0, 1}, {10, 0, 0, 2}, {192, 168, 1, 7}, {172, 16, 5, 4}, {224, 0, 0, 251}, {8, 8, 8, 8}}
	ports := []uint16{22, 53, 67, 68, 80, 123, 443, 1024, 4000, 5000, 5050, 5100, 5101, 8080, 65535}
	pick := func(p []uint16) uint16 { return p[rng.Intn(len(p))] }

	ether := func(etype uint16) []byte {
		return ethHeader(macs[rng.Intn(len(macs))], macs[rng.Intn(2)], etype)
	}
	l4 := func(proto uint8) []byte {
		switch proto {
		case 6:
			h := make([]byte, 20+4*rng.Intn(3))
			binary.BigEndian.PutUint16(h[0:], pick(ports))
			binary.BigEndian.PutUint16(h[2:], pick(ports))
			h[12] = uint8(len(h)/4) << 4
			h[13] = []uint8{0x02, 0x12, 0x10, 0x04, 0x01, 0x18, 0x11}[rng.Intn(7)]
			if rng.Intn(4) == 0 {
				return append(h, []byte("GET / HTTP/1.1\r\n")...)
			}
			return append(h, make([]byte, rng.Intn(40))...)
		case 17:
			h := make([]byte, 8)
			binary.BigEndian.PutUint16(h[0:], pick(ports))
			binary.BigEndian.PutUint16(h[2:], pick(ports))
			p := make([]byte, rng.Intn(60))
			rng.Read(p)
			if rng.Intn(5) == 0 && len(p) >= 4 {
				copy(p, []byte{0x12, 0x34, 0x56, 0x78})
			}
			binary.BigEndian.PutUint16(h[4:], uint16(8+len(p)))
			return append(h, p...)
		case 1, 58:
			h := []byte{[]uint8{0, 8, 3, 11, 128, 129}[rng.Intn(6)], 0, 0, 0, 0, 1, 0, 1}
			return append(h, make([]byte, rng.Intn(56))...)
		}
		p := make([]byte, rng.Intn(30))
		rng.Read(p)
		return p
	}
	ipv4 := func(proto uint8) []byte {
		payload := l4(proto)
		frag := uint16(0)
		switch rng.Intn(8) {
		case 0:
			frag = 0x2000 // MF, first fragment
		case 1:
			frag = uint16(1 + rng.Intn(100)) // later fragment
		case 2:
			frag = 0x4000 // DF
		}
		h := ipv4Header(proto, ips[rng.Intn(len(ips))], ips[rng.Intn(len(ips))], len(payload), 4*rng.Intn(3), frag)
		h[8] = uint8(rng.Intn(3) * 32) // TTL 0, 32 or 64
		h[1] = uint8(rng.Intn(256))    // TOS
		return append(h, payload...)
	}
	ipv6 := func(next uint8) []byte {
		payload := l4(next)
		h := make([]byte, 40)
		h[0] = 0x60
		binary.BigEndian.PutUint16(h[4:], uint16(len(payload)))
		h[6], h[7] = next, 64
		h[8], h[9], h[23] = 0xfe, 0x80, 1
		h[24], h[25], h[39] = 0xfe, 0x80, uint8(1+rng.Intn(2))
		if rng.Intn(4) == 0 {
			// fragment header in front of the payload
			fh := []byte{next, 0, 0, 1, 0, 0, 0, 9}
			h[6] = 44
			payload = append(fh, payload...)
			binary.BigEndian.PutUint16(h[4:], uint16(len(payload)))
		}
		return append(h, payload...)
	}
	protos4 := []uint8{1, 6, 17, 47, 6, 17}
	for i := 0; i < 400; i++ {
		var f []byte
		switch k := rng.Intn(20); {
		case k < 2: // ARP / RARP
			et := uint16(0x0806)
			if k == 1 && rng.Intn(3) == 0 {
				et = 0x8035
			}
			arp := []byte{0, 1, 8, 0, 6, 4, 0, uint8(1 + rng.Intn(2))}
			arp = append(arp, make([]byte, 20)...)
			f = append(ethHeader(macs[2], macA, et), arp...)
		case k < 9:
			f = append(ether(0x0800), ipv4(protos4[rng.Intn(len(protos4))])...)
		case k < 12:
			f = append(ether(0x86dd), ipv6([]uint8{6, 17, 58}[rng.Intn(3)])...)
		case k < 15: // VLAN, sometimes double tagged
			f = ether(0x8100)
			tag := []byte{0, 0}
			binary.BigEndian.PutUint16(tag, uint16([]int{1, 100, 200}[rng.Intn(3)]))
			f = append(f, tag...)
			if rng.Intn(3) == 0 {
				f = append(f, 0x81, 0x00, 0, 100)
			}
			if rng.Intn(4) == 0 {
				f = append(f, 0x86, 0xdd)
				f = append(f, ipv6([]uint8{6, 17}[rng.Intn(2)])...)
			} else {
				f = append(f, 0x08, 0x00)
				f = append(f, ipv4(protos4[rng.Intn(len(protos4))])...)
			}
		case k < 16: // LLDP and other ethertypes
			f = append(ether([]uint16{0x88cc, 0x88a8, 0x9000}[rng.Intn(3)]), make([]byte, 30)...)
		case k < 17: // malformed IPv4 header
			f = append(ether(0x0800), ipv4(17)...)
			f[14] = uint8(0x40 | rng.Intn(16))
		case k < 18: // random bytes
			f = make([]byte, rng.Intn(100))
			rng.Read(f)
		default: // a valid frame cut short on the wire
			f = append(ether(0x0800), ipv4(protos4[rng.Intn(len(protos4))])...)
			f = f[:rng.Intn(len(f)+1)]
		}
		out = append(out, pcapFrame{f, len(f)})
		if rng.Intn(12) == 0 && len(f) > 20 {
			// the same frame captured with a short snap length
			out = append(out, pcapFrame{f[:14+rng.Intn(len(f)-14)], len(f)})
		}
	}
	add(nil)
	add(udpFrame(53, 0))
	add(icmpEcho(8, 56))
	return out
}
