package tcp

import "time"

// SACK (RFC 2018) and conservative SACK-based loss recovery (RFC 6675).
//
// The receiver reports its out-of-order ranges (Conn.ooo), the most
// recently changed first. The sender keeps what the peer SACKed in a
// scoreboard of at most maxSACKRanges sorted ranges above SND.UNA and
// never retransmits SACKed data: in fast recovery (entered on DupThresh
// duplicate ACKs, or once more than (DupThresh-1)*SMSS bytes are SACKed
// above a hole) it retransmits the holes deemed lost, then new data, then
// holes not yet deemed lost, while pipe < cwnd; after a retransmission
// timeout it resends the first segment and then, in slow start, every
// hole below the highest byte sent before the timeout (RFC 6675 §5.1),
// keeping the SACK information unless the peer reneges.

const (
	// dupThresh is RFC 6675's DupThresh (and RFC 5681's three
	// duplicate ACKs).
	dupThresh = 3
	// maxSACKRanges bounds the sender's scoreboard; when it is full the
	// highest range is forgotten (its data may be sent again: safe).
	maxSACKRanges = 32
)

// scoreboard is the set of sequence ranges the peer has SACKed above
// SND.UNA: sorted, disjoint and not touching.
type scoreboard struct {
	r [maxSACKRanges]seqRange
	n int
}

// add marks [start, end) SACKed and returns how many bytes were not
// marked before.
func (s *scoreboard) add(start, end uint32) uint32 {
	if !seqLT(start, end) {
		return 0
	}
	i := 0
	for i < s.n && seqLT(s.r[i].end, start) {
		i++
	}
	fresh := end - start
	j := i
	for j < s.n && seqLEQ(s.r[j].start, end) {
		r := s.r[j]
		if lo, hi := seqMax(r.start, start), seqMin(r.end, end); seqLT(lo, hi) {
			fresh -= hi - lo
		}
		start, end = seqMin(start, r.start), seqMax(end, r.end)
		j++
	}
	if i == j { // no range merged: insert at i
		if s.n == len(s.r) {
			if i == s.n {
				return 0 // above all and no room: forget it
			}
			s.n-- // forget the highest range
		}
		copy(s.r[i+1:s.n+1], s.r[i:s.n])
		s.n++
	} else if j > i+1 {
		copy(s.r[i+1:], s.r[j:s.n])
		s.n -= j - i - 1
	}
	s.r[i] = seqRange{start, end}
	return fresh
}

// trim drops what lies below una. It reports false if una falls inside
// (or at the start of) a SACKed range: the peer has discarded data it
// SACKed (reneged, RFC 2018 §8), and the scoreboard is cleared.
func (s *scoreboard) trim(una uint32) bool {
	k := 0
	for k < s.n && seqLEQ(s.r[k].end, una) {
		k++
	}
	if k > 0 {
		copy(s.r[:], s.r[k:s.n])
		s.n -= k
	}
	if s.n > 0 && seqLEQ(s.r[0].start, una) {
		s.n = 0
		return false
	}
	return true
}

// below returns the SACKed bytes under x.
func (s *scoreboard) below(x uint32) uint32 {
	var b uint32
	for i := 0; i < s.n && seqLT(s.r[i].start, x); i++ {
		b += seqMin(s.r[i].end, x) - s.r[i].start
	}
	return b
}

// above returns the SACKed bytes at or over x.
func (s *scoreboard) above(x uint32) uint32 {
	var b uint32
	for i := s.n - 1; i >= 0 && seqGT(s.r[i].end, x); i-- {
		b += s.r[i].end - seqMax(s.r[i].start, x)
	}
	return b
}

// hole returns the first sequence number at or after from that is not
// SACKed and the end of its hole (the next SACKed range, or limit); ok
// is false if there is none below limit.
func (s *scoreboard) hole(from, limit uint32) (start, end uint32, ok bool) {
	for i := 0; i < s.n; i++ {
		r := s.r[i]
		if seqLEQ(r.end, from) {
			continue
		}
		if seqLT(from, r.start) {
			end := seqMin(r.start, limit)
			return from, end, seqLT(from, end)
		}
		from = r.end
	}
	return from, limit, seqLT(from, limit)
}

func seqMin(a, b uint32) uint32 {
	if seqLT(a, b) {
		return a
	}
	return b
}

// sackBlocks fills h with up to max SACK blocks describing the
// out-of-order queue, the most recently changed range first (RFC 2018
// §4: the first block holds the segment that triggered the ACK, the
// others repeat the most recent).
func (c *Conn) sackBlocks(h *header, limit int) {
	h.nsack = 0
	var used uint32 // bit i: ooo[i] taken
	for h.nsack < limit && h.nsack < c.nooo {
		best := -1
		for i := 0; i < c.nooo; i++ {
			if used&(1<<i) == 0 && (best < 0 || c.oooAge[i]-c.oooAge[best] < 1<<31) {
				best = i
			}
		}
		used |= 1 << best
		h.sack[h.nsack] = c.ooo[best]
		h.nsack++
	}
}

// takeSACK adds the valid SACK blocks of an acceptable ACK to the
// scoreboard and returns how many bytes they newly SACKed. A block must
// lie above the cumulative ACK and within what was sent (RFC 2018 §3;
// D-SACK blocks, RFC 2883, fall below and are ignored).
func (c *Conn) takeSACK(h *header) uint32 {
	var fresh uint32
	for i := 0; i < h.nsack && i < maxSACKBlocks; i++ {
		b := h.sack[i]
		// A block of an old ACK that reaches down to SND.UNA is stale
		// (the data it covers has been ACKed or reneged on): ignored.
		if !seqLT(h.ack, b.start) || !seqLT(c.sndUna, b.start) || !seqLT(b.start, b.end) || seqGT(b.end, c.sndMax) {
			continue
		}
		fresh += c.sb.add(b.start, b.end)
	}
	return fresh
}

// lossPoint returns RFC 6675's loss boundary: every hole below it is
// deemed lost (IsLost: more than (DupThresh-1)*SMSS bytes, or DupThresh
// discontiguous ranges, SACKed above it). With fewer than four segments
// in flight the threshold is one segment less than the flight (early
// retransmit, RFC 5827 §3.2, for windows too small for three duplicate
// ACKs). After a timeout every hole below the recovery point is lost.
func (c *Conn) lossPoint() uint32 {
	l := c.sndUna
	var acc uint32
	thresh := c.lossThresh(c.sndMax - c.sndUna)
	for i := c.sb.n - 1; i >= 0; i-- {
		acc += c.sb.r[i].end - c.sb.r[i].start
		if acc > thresh || c.sb.n-i >= dupThresh {
			l = c.sb.r[i].start
			break
		}
	}
	if c.rtoRecovery && seqGT(c.recover, l) {
		l = seqMin(c.recover, c.sndMax)
	}
	return l
}

// lossThresh is the SACKed bytes above a hole that show it lost, given
// flight bytes sent from the hole on: more than (DupThresh-1)*SMSS, or
// with fewer than four segments one segment less than all sent after
// the hole (early retransmit, RFC 5827 §3.2).
func (c *Conn) lossThresh(flight uint32) uint32 {
	mss := c.segMax()
	if flight < (dupThresh+1)*mss {
		oseg := (flight + mss - 1) / mss
		return (max(oseg, 2) - 2) * mss
	}
	return (dupThresh - 1) * mss
}

// holes returns the bytes in [sndUna, x) not SACKed.
func (c *Conn) holes(x uint32) uint32 {
	if !seqGT(x, c.sndUna) {
		return 0
	}
	return x - c.sndUna - c.sb.below(x)
}

// pipe is RFC 6675's estimate of the bytes in flight: every byte not
// SACKed counts once unless deemed lost, and once more if retransmitted
// (below HighRxt).
func (c *Conn) pipe() uint32 {
	rxt := seqMax(c.highRxt, c.sndUna)
	return c.holes(c.sndMax) - c.holes(c.lossPoint()) + c.holes(seqMin(rxt, c.sndMax))
}

// enterSACKRecovery starts fast recovery (RFC 6675 §5 step 4).
func (c *Conn) enterSACKRecovery(now time.Duration) {
	mss := c.segMax()
	flight := c.sndMax - c.sndUna
	if c.dupAcks > 0 && c.ltFlight < flight {
		flight = c.ltFlight // not what limited transmit sent (RFC 3042 §2)
	}
	c.ssthresh = max(flight/2, 2*mss)
	c.cwnd = c.ssthresh
	c.caAcked = 0
	c.recover = c.sndMax
	c.inRecovery, c.rtoRecovery = true, false
	c.highRxt = c.sndUna
	c.p.stats.FastRetransmits++
	// Step 4.3: the first segment presumed lost goes at once.
	c.retransmitHole(now, c.sndUna, c.sndMax)
	c.timerMode, c.rtoAt = timerRetransmit, now+c.curRTO()
}

// sackRecoveryACK runs on every acceptable ACK while SACK is in use:
// entering recovery, leaving it, and finding retransmissions lost.
func (c *Conn) sackRecoveryACK(now time.Duration) {
	if !c.inRecovery {
		// Not while probing a zero window (the probe's byte is not
		// counted as sent: sndNxt stays below sndMax).
		if c.sndMax != c.sndUna && c.sndNxt == c.sndMax && seqGEQ(c.sndUna, c.recover) &&
			(c.dupAcks >= dupThresh || seqGT(c.lossPoint(), c.sndUna)) {
			c.enterSACKRecovery(now)
		}
		return
	}
	// A retransmission of the first hole is lost if enough of what was
	// sent after it (lossThresh) has been SACKed while it has not been
	// ACKed: send it again.
	if c.unaRxt && c.unaRxtSeq == c.sndUna && seqLT(c.unaRxtFence, c.sndMax) &&
		c.sb.above(c.unaRxtFence) > c.lossThresh(c.sndMax-c.unaRxtFence) {
		c.unaRxt = false
		c.p.stats.LostRetransmits++
		c.retransmitHole(now, c.sndUna, c.sndMax)
	}
}

// sackOutput sends lost holes (RFC 6675 NextSeg rule 1) while cwnd
// allows; the caller sends new data after (rule 2), then calls
// sackOutputTail for rule 3.
func (c *Conn) sackOutput(now time.Duration) {
	mss := c.segMax()
	for {
		if c.pipe()+mss > c.cwnd {
			return
		}
		l := c.lossPoint()
		s, e, ok := c.sb.hole(seqMax(c.highRxt, c.sndUna), l)
		if !ok {
			return
		}
		if c.retransmitHole(now, s, e) == 0 {
			return
		}
	}
}

// sackOutputTail retransmits holes not yet deemed lost, below the highest
// SACKed byte, when no new data could be sent (RFC 6675 NextSeg rule 3).
func (c *Conn) sackOutputTail(now time.Duration) {
	mss := c.segMax()
	for c.sb.n > 0 && c.pipe()+mss <= c.cwnd {
		s, e, ok := c.sb.hole(seqMax(c.highRxt, c.sndUna), c.sb.r[c.sb.n-1].end)
		if !ok || c.retransmitHole(now, s, e) == 0 {
			return
		}
	}
}

// retransmitHole resends one segment from seq, not past end (a hole's
// end), with the FIN if it reaches it, and moves HighRxt. It returns the
// sequence space sent.
func (c *Conn) retransmitHole(now time.Duration, seq, end uint32) uint32 {
	total := uint32(c.sndBuf.n)
	off := seq - c.sndUna
	if off > total {
		return 0
	}
	n := min(total-off, end-seq, c.segMax())
	var flags uint8
	finSent := c.finQueued && seqGT(c.sndMax, c.sndUna+total)
	if off+n == total && finSent && seqGT(end, seq+n) {
		flags = flagFIN
	}
	if n == 0 && flags == 0 {
		return 0
	}
	if n > 0 && off+n == total {
		flags |= flagPSH
	}
	c.p.stats.Retransmits++
	c.rttTiming = false
	c.noteRetransmit(now, seq+n)
	if seq == c.sndUna {
		c.unaRxt, c.unaRxtSeq, c.unaRxtFence = true, seq, c.sndMax
	}
	c.send(now, seq, flags, int(n))
	sent := n
	if flags&flagFIN != 0 {
		sent++
	}
	c.highRxt = seqMax(c.highRxt, seq+sent)
	return sent
}
