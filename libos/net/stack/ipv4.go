package stack

import (
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/exo-os/exo/libos/net/wire"
)

// ipInput handles an IPv4 packet from Ethernet address src; linkBcast
// says it came in a link-layer broadcast frame.
func (s *Stack) ipInput(now time.Duration, b []byte, linkBcast bool, src [6]byte) {
	h, payload, err := wire.ParseIPv4(b)
	if err != nil {
		if errors.Is(err, wire.ErrChecksum) {
			s.stats.IPBadChecksum++
		} else {
			s.stats.IPBad++
		}
		return
	}
	s.stats.IPIn++
	if h.Dst != s.addr && !s.isBroadcast(h.Dst) {
		s.stats.IPNotForUs++ // a host does not forward (RFC 1122 §3.3.1)
		return
	}
	// RFC 1122 §3.2.1.3: a datagram whose source is not a unicast
	// address (0.0.0.0 is allowed: a host learning its address) is
	// discarded; so is one claiming to be from us.
	if h.Src == s.addr || h.Src.IsLoopback() || h.Src.IsMulticast() || s.isBroadcast(h.Src) || h.Src.As4()[0] >= 240 {
		s.stats.IPBadSource++
		return
	}
	if s.cfg.LearnFromIP && !linkBcast && h.Dst == s.addr && s.cfg.Addr.Contains(h.Src) && isUnicast(h.Src) {
		s.learn(now, h.Src, src)
	}
	// A received TTL is not checked: a host must not discard a datagram
	// for its TTL (RFC 1122 §3.2.1.7).
	orig := b[:h.TotalLen]
	if h.MF || h.FragOff != 0 {
		s.stats.FragmentsIn++
		var ok bool
		if orig, payload, ok = s.reassemble(now, &h, orig, payload); !ok {
			return
		}
	}
	s.deliver(now, &h, orig, payload, linkBcast)
	s.reasmBuf = s.reasmBuf[:0]
}

// deliver hands a whole datagram to its protocol. orig is the datagram
// from its header (the first fragment's, if reassembled), for ICMP
// errors to quote; a reassembled one has h.MF set and h.FragOff zero.
func (s *Stack) deliver(now time.Duration, h *wire.IPv4, orig, payload []byte, linkBcast bool) {
	bcast := h.Dst != s.addr
	switch h.Proto {
	case wire.ProtoUDP:
		s.udpInput(now, h, orig, payload, linkBcast)
		return
	case wire.ProtoICMP:
		if !bcast {
			s.icmpInput(now, h, payload, linkBcast)
		} else {
			s.stats.ICMPEchoIgnored++
		}
		return
	}
	if bcast {
		s.stats.IPNotForUs++ // only UDP takes broadcasts
		return
	}
	if t := s.protos[h.Proto]; t != nil {
		t.Deliver(now, h.Src, h.Dst, payload)
		return
	}
	s.stats.IPNoProto++
	s.sendUnreachable(now, h, orig, wire.ICMPProtoUnreachable, linkBcast)
}

// WriteIP sends header||payload (copied) as one IPv4 datagram of protocol
// proto from Addr() to dst. A datagram longer than the MTU is sent in
// fragments (DF is never set). The next hop's MAC is resolved by ARP; till
// it is, the frames wait in its queue, and if they do not fit
// ErrQueueFull is returned. A datagram that needs more than ARPQueue
// fragments cannot wait for resolution. Sending to our own address
// (loopback), an invalid or non-IPv4 address, or off the subnet without a
// gateway fails; a frame the link refuses is counted, not an error.
// Transmit must not call back into the stack.
func (s *Stack) WriteIP(now time.Duration, proto uint8, dst netip.Addr, header, payload []byte) error {
	s.setNow(now)
	return s.output(now, proto, dst, header, payload)
}

func (s *Stack) output(now time.Duration, proto uint8, dst netip.Addr, header, payload []byte) error {
	total := len(header) + len(payload)
	if total > wire.IPv4MaxLen-wire.IPv4Len {
		return ErrTooLong
	}
	if proto == wire.ProtoUDP && s.cfg.NoUDPFragments && total > s.mtu-wire.IPv4Len {
		return fmt.Errorf("stack: a UDP datagram of %d bytes needs fragments, and this link sends none (at most %d bytes of data): %w",
			total-wire.UDPLen, s.mtu-wire.IPv4Len-wire.UDPLen, ErrNeedsFragments)
	}
	dst = dst.Unmap()
	var mac [6]byte
	var pending *arpEntry
	switch {
	case !dst.Is4() || dst.IsUnspecified():
		return fmt.Errorf("stack: destination %v is not an IPv4 address", dst)
	case dst == s.addr || dst.IsLoopback():
		return fmt.Errorf("stack: destination %v is this host (loopback is not supported)", dst)
	case s.isBroadcast(dst):
		mac = wire.Broadcast
	case dst.IsMulticast():
		// RFC 1112 §6.4: 01-00-5E and the group's low 23 bits.
		a := dst.As4()
		mac = [6]byte{0x01, 0x00, 0x5e, a[1] & 0x7f, a[2], a[3]}
	default:
		hop := dst
		if !s.cfg.Addr.Contains(dst) {
			if !s.cfg.Gateway.IsValid() {
				return fmt.Errorf("stack: to %v: %w", dst, ErrNoRoute)
			}
			hop = s.cfg.Gateway
		}
		mac, pending = s.lookup(now, hop)
	}
	per := (s.mtu - wire.IPv4Len) &^ 7 // data per fragment, a multiple of 8 (RFC 791 §3.2)
	frags := 1
	if total > s.mtu-wire.IPv4Len {
		frags = (total + per - 1) / per
	}
	if pending != nil && (len(pending.queue)+frags > s.cfg.ARPQueue || s.queued+frags > MaxARPQueued) {
		s.stats.ARPQueueFull++
		return ErrQueueFull
	}
	s.ipID++
	h := wire.IPv4{ID: s.ipID, TTL: s.cfg.TTL, Proto: proto, Src: s.addr, Dst: dst}
	s.stats.IPOut++
	for off := 0; off < total || off == 0; {
		n := total - off
		if frags > 1 {
			n = min(per, n)
			s.stats.FragmentsOut++
		}
		f := s.tx[:wire.EthernetLen+wire.IPv4Len+n]
		wire.Ethernet{Dst: mac, Src: s.mac, Type: wire.EtherIPv4}.Put(f)
		h.FragOff, h.MF = uint16(off), off+n < total
		h.Put(f[wire.EthernetLen:], n)
		copyRange(f[wire.EthernetLen+wire.IPv4Len:], header, payload, off)
		if pending != nil {
			s.enqueue(pending, f)
		} else {
			s.transmit(f)
		}
		off += n
		if n == 0 {
			break
		}
	}
	return nil
}

// copyRange fills dst with the bytes of a||b from offset off.
func copyRange(dst, a, b []byte, off int) {
	if off < len(a) {
		n := copy(dst, a[off:])
		dst, off = dst[n:], 0
	} else {
		off -= len(a)
	}
	if len(dst) > 0 {
		copy(dst, b[off:])
	}
}
