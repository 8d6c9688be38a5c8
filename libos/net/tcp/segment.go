package tcp

import (
	"encoding/binary"
	"errors"
)

// Control bits (RFC 9293 §3.1).
const (
	flagFIN = 1 << 0
	flagSYN = 1 << 1
	flagRST = 1 << 2
	flagPSH = 1 << 3
	flagACK = 1 << 4
	flagURG = 1 << 5
)

// Option kinds (RFC 9293 §3.2, RFC 7323, RFC 2018).
const (
	optEnd       = 0
	optNOP       = 1
	optMSS       = 2
	optWScale    = 3
	optSACKPerm  = 4
	optSACK      = 5
	optTimestamp = 8
)

const (
	minHeader = 20
	maxHeader = 60
	// maxWScale is the largest window shift RFC 7323 §2.3 allows.
	maxWScale = 14
	// tsOptLen is the space timestamps take in every segment once
	// negotiated (two NOPs and the 10-byte option, RFC 7323 Appendix A).
	tsOptLen = 12
	// maxOptions is the option space of a TCP header (RFC 9293 §3.1).
	maxOptions = maxHeader - minHeader
	// maxSACKBlocks is the most SACK blocks an option can hold (RFC
	// 2018 §3: 4, or 3 with timestamps).
	maxSACKBlocks = 4
)

var (
	errShort   = errors.New("tcp: segment shorter than its header")
	errDataOff = errors.New("tcp: data offset out of range")
)

// header is a parsed TCP header with the options this implementation
// knows; unknown options are skipped (RFC 9293 §3.1, MUST-6).
type header struct {
	srcPort, dstPort uint16
	seq, ack         uint32
	hlen             int // header length in bytes, options included
	flags            uint8
	wnd              uint16
	csum             uint16
	urg              uint16

	hasMSS bool
	mss    uint16
	hasWS  bool
	wscale uint8
	sackOK bool
	hasTS  bool
	tsVal  uint32
	tsEcr  uint32
	nsack  int                     // SACK blocks in sack (RFC 2018 §3)
	sack   [maxSACKBlocks]seqRange // left edge, right edge (exclusive)
}

// parseHeader parses b's TCP header into h. It never reads past b; an
// option with a bad length ends option parsing (the rest is ignored)
// rather than failing the segment.
func parseHeader(b []byte, h *header) error {
	if len(b) < minHeader {
		return errShort
	}
	*h = header{
		srcPort: binary.BigEndian.Uint16(b[0:]),
		dstPort: binary.BigEndian.Uint16(b[2:]),
		seq:     binary.BigEndian.Uint32(b[4:]),
		ack:     binary.BigEndian.Uint32(b[8:]),
		hlen:    int(b[12]>>4) * 4,
		flags:   b[13] & 0x3f,
		wnd:     binary.BigEndian.Uint16(b[14:]),
		csum:    binary.BigEndian.Uint16(b[16:]),
		urg:     binary.BigEndian.Uint16(b[18:]),
	}
	if h.hlen < minHeader || h.hlen > len(b) {
		return errDataOff
	}
	opts := b[minHeader:h.hlen]
	for len(opts) > 0 {
		kind := opts[0]
		if kind == optEnd {
			break
		}
		if kind == optNOP {
			opts = opts[1:]
			continue
		}
		if len(opts) < 2 {
			break
		}
		n := int(opts[1])
		if n < 2 || n > len(opts) {
			break
		}
		v := opts[2:n]
		switch kind {
		case optMSS:
			if n == 4 {
				h.hasMSS, h.mss = true, binary.BigEndian.Uint16(v)
			}
		case optWScale:
			if n == 3 {
				h.hasWS, h.wscale = true, v[0]
			}
		case optSACKPerm:
			if n == 2 {
				h.sackOK = true
			}
		case optSACK:
			// RFC 2018 §3: 2 + 8*k bytes, k = 1..4; anything else is
			// ignored.
			if k := (n - 2) / 8; n >= 10 && (n-2)%8 == 0 && k <= maxSACKBlocks {
				h.nsack, h.sack = k, [maxSACKBlocks]seqRange{}
				for i := 0; i < k; i++ {
					h.sack[i] = seqRange{binary.BigEndian.Uint32(v[8*i:]), binary.BigEndian.Uint32(v[8*i+4:])}
				}
			}
		case optTimestamp:
			if n == 10 {
				h.hasTS = true
				h.tsVal = binary.BigEndian.Uint32(v)
				h.tsEcr = binary.BigEndian.Uint32(v[4:])
			}
		}
		opts = opts[n:]
	}
	return nil
}

// optionsLen returns the bytes h's options take when marshalled, padded
// to a multiple of 4.
func (h *header) optionsLen() int {
	n := 0
	if h.hasMSS {
		n += 4
	}
	if h.hasWS {
		n += 4 // NOP + 3
	}
	if h.sackOK {
		n += 4 // NOP NOP + 2
	}
	if h.hasTS {
		n += tsOptLen
	}
	if h.nsack > 0 {
		n += 4 + 8*h.nsack // NOP NOP + 2 + 8 per block
	}
	return n
}

// fitSACK drops SACK blocks (the last, least recent, first) until the
// options fit in maxOptions bytes.
func (h *header) fitSACK() {
	h.nsack = max(0, min(h.nsack, maxSACKBlocks))
	for h.nsack > 0 && h.optionsLen() > maxOptions {
		h.nsack--
	}
	for i := h.nsack; i < maxSACKBlocks; i++ {
		h.sack[i] = seqRange{}
	}
}

// marshal writes h (with its options, checksum field as h.csum) into b,
// which must hold maxHeader bytes, and returns the header's length. SACK
// blocks that do not fit are left out (and h.nsack lowered to match).
func (h *header) marshal(b []byte) int {
	h.fitSACK()
	n := minHeader + h.optionsLen()
	binary.BigEndian.PutUint16(b[0:], h.srcPort)
	binary.BigEndian.PutUint16(b[2:], h.dstPort)
	binary.BigEndian.PutUint32(b[4:], h.seq)
	binary.BigEndian.PutUint32(b[8:], h.ack)
	b[12] = byte(n/4) << 4
	b[13] = h.flags & 0x3f
	binary.BigEndian.PutUint16(b[14:], h.wnd)
	binary.BigEndian.PutUint16(b[16:], h.csum)
	binary.BigEndian.PutUint16(b[18:], h.urg)
	o := b[minHeader:n]
	if h.hasMSS {
		o[0], o[1] = optMSS, 4
		binary.BigEndian.PutUint16(o[2:], h.mss)
		o = o[4:]
	}
	if h.hasWS {
		o[0], o[1], o[2], o[3] = optNOP, optWScale, 3, h.wscale
		o = o[4:]
	}
	if h.sackOK {
		o[0], o[1], o[2], o[3] = optNOP, optNOP, optSACKPerm, 2
		o = o[4:]
	}
	if h.hasTS {
		o[0], o[1], o[2], o[3] = optNOP, optNOP, optTimestamp, 10
		binary.BigEndian.PutUint32(o[4:], h.tsVal)
		binary.BigEndian.PutUint32(o[8:], h.tsEcr)
		o = o[tsOptLen:]
	}
	if h.nsack > 0 {
		o[0], o[1], o[2], o[3] = optNOP, optNOP, optSACK, byte(2+8*h.nsack)
		for i := 0; i < h.nsack; i++ {
			binary.BigEndian.PutUint32(o[4+8*i:], h.sack[i].start)
			binary.BigEndian.PutUint32(o[8+8*i:], h.sack[i].end)
		}
	}
	return n
}

// Sequence-number comparisons modulo 2^32 (RFC 9293 §3.4, RFC 1982).
func seqLT(a, b uint32) bool  { return int32(a-b) < 0 }
func seqLEQ(a, b uint32) bool { return int32(a-b) <= 0 }
func seqGT(a, b uint32) bool  { return int32(a-b) > 0 }
func seqGEQ(a, b uint32) bool { return int32(a-b) >= 0 }

// seqInWindow reports lo <= x < lo+n.
func seqInWindow(x, lo, n uint32) bool { return x-lo < n }

func seqMax(a, b uint32) uint32 {
	if seqGT(a, b) {
		return a
	}
	return b
}
