package stack

import (
	"errors"
	"time"

	"github.com/exo-os/exo/libos/net/wire"
)

// icmpInput handles an ICMP message to our unicast address: an echo
// request is answered (RFC 792; RFC 1122 §3.2.2.6, the data returned
// whole, reassembled or not); any other valid message goes to the ICMP
// transport, if one is registered.
func (s *Stack) icmpInput(now time.Duration, h *wire.IPv4, msg []byte, linkBcast bool) {
	m, body, err := wire.ParseICMP(msg)
	if err != nil {
		if errors.Is(err, wire.ErrChecksum) {
			s.stats.ICMPBadChecksum++
		} else {
			s.stats.ICMPBad++
		}
		return
	}
	s.stats.ICMPIn++
	if m.Type == wire.ICMPEchoRequest {
		hdr := s.scr[:wire.ICMPLen]
		wire.ICMP{Type: wire.ICMPEchoReply, Rest: m.Rest}.Put(hdr, body)
		if s.output(now, wire.ProtoICMP, h.Src, hdr, body) == nil {
			s.stats.ICMPEchoReplied++
		}
		return
	}
	if t := s.protos[wire.ProtoICMP]; t != nil {
		s.stats.ICMPDelivered++
		t.Deliver(now, h.Src, h.Dst, msg)
		return
	}
	s.stats.ICMPUnhandled++
}

// sendUnreachable sends a destination unreachable with code about the
// datagram h (orig: from its header), unless RFC 1122 §3.2.2 forbids it:
// never about an ICMP error, a datagram to a broadcast or multicast
// address or in a link-layer broadcast, a fragment other than the first,
// or from a source that is not one host. At most ICMPErrorsPerSecond are
// sent in any one-second window.
func (s *Stack) sendUnreachable(now time.Duration, h *wire.IPv4, orig []byte, code uint8, linkBcast bool) {
	p := orig[min(h.HeaderLen, len(orig)):]
	if linkBcast || h.Dst != s.addr || h.FragOff != 0 || !isUnicast(h.Src) || s.isBroadcast(h.Src) ||
		(h.Proto == wire.ProtoICMP && (len(p) == 0 || wire.IsError(p[0]))) {
		s.stats.ICMPErrorsBarred++
		return
	}
	if s.icmpSent == 0 || now-s.icmpWindow >= time.Second || now < s.icmpWindow {
		s.icmpWindow, s.icmpSent = now, 0
	}
	if s.icmpSent >= ICMPErrorsPerSecond {
		s.stats.ICMPRateLimited++
		return
	}
	s.icmpSent++
	msg := wire.AppendUnreachable(s.scr[:0], code, orig)
	if s.output(now, wire.ProtoICMP, h.Src, msg, nil) == nil {
		s.stats.ICMPErrorsSent++
	}
}
