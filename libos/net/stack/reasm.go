package stack

import (
	"net/netip"
	"slices"
	"time"

	"github.com/exo-os/exo/libos/net/wire"
)

// maxFragments is the most fragments held for one datagram: a 65535-byte
// datagram needs 45 on Ethernet; more, smaller ones are refused (the
// datagram is dropped) so that hostile tiny fragments cost bounded work.
const maxFragments = 128

// fragmentOverhead is what each held fragment is charged against
// ReassemblyMemory beyond its data, for its bookkeeping.
const fragmentOverhead = 64

// fragment is one held fragment's data, at [off, off+len(data)).
type fragment struct {
	off  int
	data []byte
}

func (f fragment) end() int { return f.off + len(f.data) }

// datagram is one datagram being reassembled (RFC 791 §3.2, "An Example
// Reassembly Procedure", with RFC 815's insight that only the holes
// matter: here fragments are kept sorted and never overlap, so the
// datagram is whole when the bytes held equal its length).
type datagram struct {
	src, dst netip.Addr
	proto    uint8
	id       uint16
	deadline time.Duration
	frags    []fragment // sorted by offset, disjoint
	have     int        // data bytes held
	total    int        // data length, from the last fragment; -1 till then
	first    wire.IPv4  // the first fragment's header, when header != nil
	header   []byte     // the first fragment's header bytes (options included)
	charged  int        // bytes charged against ReassemblyMemory
}

// reassemble adds a fragment (h, its datagram orig and payload). When it
// completes its datagram it returns the whole, from its header, and the
// payload (both in s.reasmBuf), with *h the first fragment's header.
// Fragments are refused, and their datagram dropped, when they overlap
// (other than as exact duplicates, which are ignored: RFC 5722's rule for
// IPv6, applied to IPv4), disagree about the length or would make it
// exceed 65535 bytes (RFC 791 §3.2).
func (s *Stack) reassemble(now time.Duration, h *wire.IPv4, orig, payload []byte) ([]byte, []byte, bool) {
	off, end := int(h.FragOff), int(h.FragOff)+len(payload)
	if h.MF && (len(payload) == 0 || len(payload)%8 != 0) {
		s.stats.ReassemblyBad++ // all but the last fragment carry a multiple of 8 bytes
		return nil, nil, false
	}
	i := slices.IndexFunc(s.reasm, func(d *datagram) bool {
		return d.id == h.ID && d.proto == h.Proto && d.src == h.Src && d.dst == h.Dst
	})
	if h.HeaderLen+end > wire.IPv4MaxLen {
		s.stats.ReassemblyBad++ // "ping of death"
		if i >= 0 {
			s.dropDatagram(i)
		}
		return nil, nil, false
	}
	var d *datagram
	if i >= 0 {
		d = s.reasm[i]
	} else {
		if len(s.reasm) >= s.cfg.ReassemblyPackets {
			s.stats.ReassemblyOverflow++
			s.dropDatagram(0)
		}
		d = &datagram{src: h.Src, dst: h.Dst, proto: h.Proto, id: h.ID, total: -1,
			deadline: now + s.cfg.ReassemblyTimeout}
		s.reasm = append(s.reasm, d)
		i = len(s.reasm) - 1
		s.timerOK = false
	}
	// Where the fragment goes, and whether it fits.
	j, _ := slices.BinarySearchFunc(d.frags, off, func(f fragment, off int) int { return f.off - off })
	if j < len(d.frags) && d.frags[j].off == off && d.frags[j].end() == end && (h.MF || d.total == end) {
		return nil, nil, false // an exact duplicate (a link may duplicate): ignored
	}
	bad := false
	switch {
	case !h.MF && d.total >= 0 && d.total != end:
		bad = true // two last fragments disagree
	case !h.MF && len(d.frags) > 0 && d.frags[len(d.frags)-1].end() > end:
		bad = true // data past the end
	case h.MF && d.total >= 0 && end > d.total:
		bad = true
	case j > 0 && d.frags[j-1].end() > off, j < len(d.frags) && d.frags[j].off < end:
		s.stats.ReassemblyOverlap++
		s.dropDatagram(i)
		return nil, nil, false
	}
	if bad {
		s.stats.ReassemblyBad++
		s.dropDatagram(i)
		return nil, nil, false
	}
	if len(d.frags) >= maxFragments {
		s.stats.ReassemblyOverflow++
		s.dropDatagram(i)
		return nil, nil, false
	}
	charge := len(payload) + fragmentOverhead
	if off == 0 {
		charge += h.HeaderLen
	}
	for s.reasmBytes+charge > s.cfg.ReassemblyMemory {
		s.stats.ReassemblyOverflow++
		if s.reasm[0] == d {
			// d is the oldest: drop it with the fragment, or it would
			// be evicted, the fragment forgotten, and the rest come on.
			s.dropDatagram(0)
			return nil, nil, false
		}
		s.dropDatagram(0)
	}
	d.frags = slices.Insert(d.frags, j, fragment{off: off, data: append([]byte(nil), payload...)})
	d.have += len(payload)
	d.charged += charge
	s.reasmBytes += charge
	if !h.MF {
		d.total = end
	}
	if off == 0 {
		d.first = *h
		d.header = append([]byte(nil), orig[:h.HeaderLen]...)
	}
	if d.header == nil || d.total < 0 || d.have != d.total {
		return nil, nil, false
	}
	if len(d.header)+d.total > wire.IPv4MaxLen {
		// The first fragment's options make it too long.
		s.stats.ReassemblyBad++
		s.dropDatagram(slices.Index(s.reasm, d))
		return nil, nil, false
	}
	// Whole: assemble into s.reasmBuf.
	if s.reasmBuf == nil {
		s.reasmBuf = make([]byte, 0, wire.IPv4MaxLen)
	}
	buf := append(s.reasmBuf[:0], d.header...)
	for _, f := range d.frags {
		buf = append(buf, f.data...)
	}
	s.reasmBuf = buf
	*h = d.first
	h.TotalLen = uint16(len(buf))
	hl := len(d.header)
	s.stats.Reassembled++
	s.dropDatagram(slices.Index(s.reasm, d))
	return buf, buf[hl:], true
}

// dropDatagram forgets s.reasm[i] and its fragments.
func (s *Stack) dropDatagram(i int) {
	d := s.reasm[i]
	s.reasmBytes -= d.charged
	s.reasm = slices.Delete(s.reasm, i, i+1)
	s.timerOK = false
}

// reasmTick drops datagrams not reassembled in time. (RFC 1122 §3.3.2
// lets a host send a time exceeded, code 1; this one does not.)
func (s *Stack) reasmTick(now time.Duration) {
	for i := 0; i < len(s.reasm); {
		if now >= s.reasm[i].deadline {
			s.stats.ReassemblyTimeout++
			s.dropDatagram(i)
			continue
		}
		i++
	}
}
