package ash

import "encoding/binary"

// Frame builders for tests. Each returns a complete Ethernet frame.

var (
	macA = []byte{0x02, 0, 0, 0, 0, 0x0a}
	macB = []byte{0x02, 0, 0, 0, 0, 0x0b}
)

func ethHeader(dst, src []byte, etype uint16) []byte {
	h := append(append(append([]byte{}, dst...), src...), 0, 0)
	binary.BigEndian.PutUint16(h[12:], etype)
	return h
}

// ipv4Header returns a header with optLen bytes of options (a multiple of 4).
func ipv4Header(proto uint8, src, dst [4]byte, payloadLen, optLen int, fragOff uint16) []byte {
	h := make([]byte, 20+optLen)
	h[0] = 0x40 | uint8((20+optLen)/4)
	binary.BigEndian.PutUint16(h[2:], uint16(20+optLen+payloadLen))
	binary.BigEndian.PutUint16(h[4:], 0x1234)
	binary.BigEndian.PutUint16(h[6:], fragOff)
	h[8] = 64
	h[9] = proto
	copy(h[12:], src[:])
	copy(h[16:], dst[:])
	for i := 20; i < len(h); i++ {
		h[i] = 1 // NOP options
	}
	binary.BigEndian.PutUint16(h[10:], ^csumFold(csumAdd(0, h)))
	return h
}

func udpFrame(dport uint16, optLen int) []byte {
	payload := []byte("hello")
	u := make([]byte, 8+len(payload))
	binary.BigEndian.PutUint16(u[0:], 4000)
	binary.BigEndian.PutUint16(u[2:], dport)
	binary.BigEndian.PutUint16(u[4:], uint16(len(u)))
	copy(u[8:], payload)
	f := ethHeader(macA, macB, 0x0800)
	f = append(f, ipv4Header(17, [4]byte{10, 0, 0, 1}, [4]byte{10, 0, 0, 2}, len(u), optLen, 0)...)
	return append(f, u...)
}

// icmpEcho returns an ICMP echo request (typ 8) or reply (0) frame.
func icmpEcho(typ uint8, payloadLen int) []byte {
	ic := make([]byte, 8+payloadLen)
	ic[0] = typ
	binary.BigEndian.PutUint16(ic[4:], 0x77)
	binary.BigEndian.PutUint16(ic[6:], 1)
	for i := 8; i < len(ic); i++ {
		ic[i] = byte(i)
	}
	binary.BigEndian.PutUint16(ic[2:], ^csumFold(csumAdd(0, ic)))
	f := ethHeader(macA, macB, 0x0800)
	f = append(f, ipv4Header(1, [4]byte{10, 0, 0, 1}, [4]byte{10, 0, 0, 2}, len(ic), 0, 0)...)
	return append(f, ic...)
}
