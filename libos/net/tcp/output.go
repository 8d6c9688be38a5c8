package tcp

import "time"

// rcvWindowMax is the largest window we can advertise.
func (c *Conn) rcvWindowMax() uint32 {
	return min(uint32(c.rcvBuf.size), uint32(65535)<<c.rcvShift)
}

// swsThreshold is the receiver's silly-window threshold, min(Fr *
// RCV.BUFF, Eff.snd.MSS) with Fr = 1/2 (RFC 9293 §3.8.6.2.2).
func (c *Conn) swsThreshold() uint32 {
	return max(1, min(uint32(c.rcvBuf.size)/2, uint32(c.mss)))
}

// rcvFree is the window the free buffer space would allow now.
func (c *Conn) rcvFree() uint32 {
	return min(uint32(c.rcvBuf.free()), c.rcvWindowMax())
}

// rcvWindow returns the window to advertise, moving the right edge
// rcvAdv only by at least the SWS threshold and never to the left.
func (c *Conn) rcvWindow() uint32 {
	cur := c.rcvAdv - c.rcvNxt
	free := c.rcvFree()
	if free > cur && free-cur >= c.swsThreshold() {
		c.rcvAdv = c.rcvNxt + free
		cur = free
	}
	return cur
}

// windowUpdateDue reports whether reading has freed enough space that
// the peer should hear of the larger window now: by the SWS threshold,
// and at least doubling what it knows.
func (c *Conn) windowUpdateDue() bool {
	switch c.state {
	case StateEstablished, StateFinWait1, StateFinWait2:
	default:
		return false
	}
	cur := c.rcvAdv - c.rcvNxt
	free := c.rcvFree()
	return free > cur && free-cur >= c.swsThreshold() && free >= 2*cur
}

// segMax is the most data one segment carries: the MSS less the
// timestamp option (RFC 6691 §3).
func (c *Conn) segMax() uint32 {
	if c.tsOK {
		return uint32(c.mss - tsOptLen)
	}
	return uint32(c.mss)
}

// tsNow is our timestamp clock: milliseconds plus a per-connection
// random offset (RFC 7323 §5.4).
func (c *Conn) tsNow(now time.Duration) uint32 {
	return uint32(now/time.Millisecond) + c.tsOffset
}

// curRTO is the retransmission (or persist) timeout with backoff.
func (c *Conn) curRTO() time.Duration {
	d := c.rto << min(c.backoff, 20)
	return min(d, c.p.cfg.MaxRTO)
}

// send sends one segment at seq with flags and n bytes of data from the
// send ring at seq. Every segment but our first SYN carries an ACK.
func (c *Conn) send(now time.Duration, seq uint32, flags uint8, n int) {
	h := header{srcPort: c.key.local.Port(), dstPort: c.key.remote.Port(), seq: seq}
	syn := flags&flagSYN != 0
	if !(syn && c.state == StateSynSent) {
		flags |= flagACK
		h.ack = c.rcvNxt
	}
	h.flags = flags
	if syn {
		h.wnd = uint16(min(c.rcvWindowMax(), 65535)) // never scaled (RFC 7323 §2.2)
		h.hasMSS, h.mss = true, uint16(c.p.cfg.MSS)
		if c.state == StateSynSent {
			h.hasWS = !c.p.noWS
			h.hasTS = !c.p.noTS
			h.sackOK = !c.p.noSACK
		} else {
			h.hasWS, h.hasTS, h.sackOK = c.wsOK, c.tsOK, c.sackOK
		}
		h.wscale = c.rcvShift
	} else {
		h.wnd = uint16(min(c.rcvWindow()>>c.rcvShift, 65535))
		h.hasTS = c.tsOK
	}
	if h.hasTS {
		h.tsVal = c.tsNow(now)
		h.tsEcr = c.tsRecent
	}
	keepAck := false
	if c.sackOK && c.nooo > 0 && !syn && flags&flagACK != 0 {
		// RFC 2018 §4: every ACK while data is held out of order
		// carries SACK blocks, as many as fit beside the data within
		// the peer's MSS (RFC 6691) and the option space; a data
		// segment with no room for any leaves the ACK to a bare one.
		room := maxOptions - h.optionsLen()
		if n > 0 {
			room = min(room, c.mss-n-h.optionsLen())
		}
		if room >= 12 {
			c.sackBlocks(&h, (room-4)/8)
		} else {
			keepAck = c.ackNow
		}
	}
	var a, b []byte
	if n > 0 {
		a, b = c.sndBuf.peek(int(seq-c.sndUna), n)
	}
	c.p.emit(now, c.key, &h, a, b)
	if flags&flagACK != 0 {
		c.ackNow = keepAck
		c.unacked = 0
		c.delackAt = noTimer
		if keepAck {
			c.delackAt = now // the bare ACK with SACK blocks, if output does not send it
		}
		c.lastAckSent = c.rcvNxt
	}
}

// sendAck sends a bare ACK <SEQ=SND.NXT><ACK=RCV.NXT>.
func (c *Conn) sendAck(now time.Duration) {
	if c.state == StateSynSent || c.idx < 0 {
		return
	}
	c.send(now, c.sndNxt, 0, 0)
}

// challengeAck sends a rate-limited challenge ACK (RFC 5961 §3.2, §4.2,
// §5.2, §7).
func (c *Conn) challengeAck(now time.Duration) {
	if c.p.challengeOK(now) {
		c.sendAck(now)
	}
}

// sendSYN sends (or resends) our SYN, or SYN-ACK in SYN-RECEIVED, and
// arms its retransmission.
func (c *Conn) sendSYN(now time.Duration) {
	c.send(now, c.iss, flagSYN, 0)
	c.sndNxt = c.iss + 1
	c.sndMax = c.sndNxt
	// Karn's algorithm: time the SYN only if it was sent once.
	c.rttTiming = c.retries == 0
	c.rttSeq, c.rttStart = c.iss, now
	c.timerMode = timerRetransmit
	c.rtoAt = now + c.curRTO()
}

// sending reports whether the state sends data (or our FIN).
func (c *Conn) sending() bool {
	switch c.state {
	case StateEstablished, StateCloseWait, StateFinWait1, StateClosing, StateLastAck:
		return true
	}
	return false
}

// unsent returns the bytes queued beyond sndNxt and whether our FIN is
// still to be sent at sndNxt+unsent.
func (c *Conn) unsent() (uint32, bool) {
	off := c.sndNxt - c.sndUna
	total := uint32(c.sndBuf.n)
	if off > total {
		return 0, false // the FIN has been sent
	}
	return total - off, c.finQueued
}

// output sends what the send and congestion windows, Nagle's algorithm
// and the sender's silly window avoidance allow (RFC 9293 §3.8.6.2.1,
// §3.7.4), arms the retransmission or persist timer, and sends a pending
// ACK if no segment carried it.
func (c *Conn) output(now time.Duration) {
	if c.idx < 0 {
		return
	}
	if !c.sending() {
		if c.ackNow {
			c.sendAck(now)
		}
		return
	}
	segMax := c.segMax()
	sackRecovery := c.sackOK && c.inRecovery
	if sackRecovery {
		c.sackOutput(now) // lost holes first (RFC 6675 NextSeg rule 1)
	}
	for {
		avail, fin := c.unsent()
		if avail == 0 && !fin {
			break
		}
		inflight := c.sndNxt - c.sndUna
		cwnd, flight := c.cwnd, inflight
		if sackRecovery {
			flight = c.pipe() // RFC 6675 §5 step C
		} else if c.dupAcks > 0 && !c.inRecovery {
			// Limited transmit (RFC 3042 §2): a new segment on each of
			// the first two duplicate ACKs, if the peer's window has room.
			cwnd += uint32(min(c.dupAcks, dupThresh-1)) * segMax
		}
		var usable uint32
		if c.sndWnd > inflight && cwnd > flight {
			usable = min(c.sndWnd-inflight, cwnd-flight)
		}
		n := min(avail, usable, segMax)
		fin = fin && n == avail
		if n == 0 && !fin {
			break
		}
		if n < segMax && !fin {
			nagle := !c.noDelay && inflight > 0
			if nagle || (n < avail && n < c.maxSndWnd/2) {
				break
			}
		}
		flags := uint8(0)
		if fin {
			flags |= flagFIN
		}
		if n > 0 && n == avail {
			flags |= flagPSH
		}
		if seqLT(c.sndNxt, c.sndMax) {
			c.p.stats.Retransmits++
			c.noteRetransmit(now, c.sndNxt+n)
		} else if !c.rttTiming && !c.tsOK && n > 0 {
			c.rttTiming, c.rttSeq, c.rttStart = true, c.sndNxt, now
		}
		c.send(now, c.sndNxt, flags, int(n))
		c.sndNxt += n
		if fin {
			c.sndNxt++
		}
		c.sndMax = seqMax(c.sndMax, c.sndNxt)
		if fin {
			break
		}
	}
	if sackRecovery {
		c.sackOutputTail(now) // RFC 6675 NextSeg rule 3
	}
	c.armTimer(now)
	if c.ackNow {
		c.sendAck(now)
	}
}

// armTimer runs the retransmission timer while data is in flight, the
// persist timer while data waits on the peer's window, and neither when
// all is sent and acknowledged (RFC 6298 §5, RFC 9293 §3.8.6.1).
func (c *Conn) armTimer(now time.Duration) {
	avail, _ := c.unsent()
	switch {
	case c.sndNxt != c.sndUna:
		if c.timerMode == timerOff {
			if pto, ok := c.probeTimeout(); ok {
				c.timerMode = timerProbe
				c.rtoAt = now + pto
				break
			}
		}
		if c.timerMode != timerRetransmit && c.timerMode != timerProbe {
			if c.timerMode == timerPersist {
				c.backoff = 0
			}
			c.timerMode = timerRetransmit
			c.rtoAt = now + c.curRTO()
		}
	case avail > 0:
		if c.timerMode != timerPersist {
			c.timerMode = timerPersist
			c.rtoAt = now + c.curRTO()
		}
	default:
		c.timerMode = timerOff
		c.rtoAt = noTimer
	}
}

// retransmitFirst resends the first unacknowledged segment (fast
// retransmit, NewReno partial ACKs) without moving sndNxt.
func (c *Conn) retransmitFirst(now time.Duration) {
	n := min(uint32(c.sndBuf.n), c.segMax())
	var flags uint8
	if n == uint32(c.sndBuf.n) && c.finQueued && c.sndMax-c.sndUna > n {
		flags = flagFIN
	}
	if n == 0 && flags == 0 {
		return
	}
	c.p.stats.Retransmits++
	c.rttTiming = false
	c.noteRetransmit(now, c.sndUna+n)
	c.send(now, c.sndUna, flags, int(n))
}

// noteRetransmit records a retransmission up to end, for Karn's
// algorithm and its timestamp variant.
func (c *Conn) noteRetransmit(now time.Duration, end uint32) {
	c.retxTS = c.tsNow(now)
	c.retxEnd = seqMax(c.retxEnd, end)
}

// nextTimer is the earliest time c has timer work.
func (c *Conn) nextTimer() time.Duration {
	return min(c.rtoAt, c.delackAt, c.twAt, c.keepAliveAt())
}

// keepAliveAt is when the next keep-alive probe (or the failure after
// the last) is due, if keep-alive is on and the connection idle.
func (c *Conn) keepAliveAt() time.Duration {
	if !c.keep || c.sndMax != c.sndUna {
		return noTimer
	}
	switch c.state {
	case StateEstablished, StateCloseWait:
	default:
		return noTimer
	}
	return c.lastRecv + c.p.cfg.KeepAlive + time.Duration(c.kaProbes)*keepAliveIntvl
}

// tick runs c's timers due at now.
func (c *Conn) tick(now time.Duration) {
	if c.twAt <= now {
		c.release() // TIME-WAIT over, or an orphan's FIN-WAIT-2 timeout
		return
	}
	if c.rtoAt <= now {
		c.timeout(now)
		if c.idx < 0 {
			return
		}
	}
	if c.delackAt <= now {
		c.delackAt = noTimer
		if c.ackNow || c.unacked > 0 {
			if !c.ackNow {
				c.p.stats.DelayedACKs++
			}
			c.sendAck(now)
		}
	}
	if c.keepAliveAt() <= now {
		if c.kaProbes >= keepAliveProbes {
			c.p.sendRST(now, c.key, c.sndNxt, 0, flagRST)
			c.fail(ErrTimeout)
			return
		}
		// <SEQ=SND.UNA-1><ACK=RCV.NXT>: the peer must ACK it (RFC 1122
		// §4.2.3.6).
		c.kaProbes++
		c.p.stats.KeepAliveProbes++
		c.send(now, c.sndUna-1, 0, 0)
	}
}

// Tail loss probe tunables (RFC 8985 §7.2).
const (
	minPTO    = 10 * time.Millisecond  // a floor under 2*SRTT for fast links (Linux has the same)
	wcDelAckT = 200 * time.Millisecond // the worst-case delayed ACK a lone segment may wait
)

// probeTimeout returns the tail loss probe timeout (RFC 8985 §7.2) if a
// probe may be armed now: SACK in use, an RTT measured, not in
// recovery, no probe unanswered, and the PTO shorter than the RTO.
func (c *Conn) probeTimeout() (time.Duration, bool) {
	if !c.sackOK || !c.hasRTT || c.inRecovery || c.tlpOut || c.backoff > 0 || !c.sending() {
		return 0, false
	}
	pto := max(2*c.srtt, minPTO)
	if c.sndNxt-c.sndUna <= c.segMax() {
		pto += wcDelAckT
	}
	if pto >= c.curRTO() {
		return 0, false
	}
	return pto, true
}

// probe sends a tail loss probe (RFC 8985 §7.3): a new segment if the
// windows allow one, else the last segment again; the retransmission
// timer runs from now.
func (c *Conn) probe(now time.Duration) {
	c.tlpOut = true
	c.p.stats.TailLossProbes++
	avail, _ := c.unsent()
	inflight := c.sndNxt - c.sndUna
	if n := min(avail, c.segMax()); n > 0 && c.sndNxt == c.sndMax && c.sndWnd >= inflight+n {
		flags := uint8(0)
		if n == avail {
			flags = flagPSH
		}
		c.send(now, c.sndNxt, flags, int(n))
		c.sndNxt += n
		c.sndMax = c.sndNxt
	} else {
		dataEnd := c.sndUna + min(uint32(c.sndBuf.n), c.sndMax-c.sndUna)
		start := dataEnd - min(c.segMax(), dataEnd-c.sndUna)
		c.retransmitHole(now, start, c.sndMax)
	}
	c.timerMode, c.rtoAt = timerRetransmit, now+c.curRTO()
}

// timeout handles the retransmission, probe or persist timer's expiry.
func (c *Conn) timeout(now time.Duration) {
	p := c.p
	if c.timerMode == timerProbe {
		c.probe(now)
		return
	}
	if c.timerMode == timerPersist {
		p.stats.PersistProbes++
		avail, _ := c.unsent()
		inflight := c.sndNxt - c.sndUna
		wnd := min(c.sndWnd, c.cwnd)
		if wnd > inflight && avail > 0 {
			// The window is open but too small for SWS avoidance: the
			// override timeout sends what fits (RFC 9293 §3.8.6.2.1).
			n := min(avail, wnd-inflight, c.segMax())
			c.send(now, c.sndNxt, flagPSH, int(n))
			c.sndNxt += n
			c.sndMax = seqMax(c.sndMax, c.sndNxt)
			c.timerMode = timerOff
			c.armTimer(now)
			return
		}
		if avail > 0 {
			// Zero-window probe: one byte beyond the window, not counted
			// as sent; an ACK covering it moves sndNxt up (§3.8.6.1).
			c.send(now, c.sndNxt, 0, 1)
			c.sndMax = seqMax(c.sndMax, c.sndNxt+1)
		}
		c.backoff++
		c.rtoAt = now + c.curRTO()
		return
	}
	c.rtoAt, c.timerMode = noTimer, timerOff
	p.stats.Timeouts++
	c.retries++
	c.backoff++
	c.rttTiming = false
	switch c.state {
	case StateSynSent, StateSynReceived:
		if c.retries > p.cfg.SynRetries {
			c.fail(ErrTimeout)
			return
		}
		p.stats.Retransmits++
		c.sendSYN(now)
		return
	}
	if c.retries > maxRetries {
		p.sendRST(now, c.key, c.sndNxt, 0, flagRST)
		c.fail(ErrTimeout)
		return
	}
	// RFC 5681 §3.1 (eq. 4): ssthresh halves once per loss, cwnd drops to
	// the loss window; RFC 6582 §3.2 step 4: recover is the highest
	// sequence sent.
	mss := c.segMax()
	if c.retries == 1 {
		c.ssthresh = max((c.sndMax-c.sndUna)/2, 2*mss)
	}
	c.cwnd = mss
	c.caAcked = 0
	c.recover = c.sndMax
	c.dupAcks = 0
	if c.sackOK {
		// RFC 6675 §5.1: the first segment now, then, in slow start,
		// every hole below the recovery point; SACKed data is not sent
		// again (the scoreboard is kept: a peer that reneges loses it
		// when its ACK lands in a SACKed range).
		c.inRecovery, c.rtoRecovery = true, true
		c.highRxt = c.sndUna
		c.retransmitHole(now, c.sndUna, c.sndMax)
		c.output(now)
		return
	}
	// Without SACK everything after sndUna is sent again (go-back-N).
	c.inRecovery = false
	c.sndNxt = c.sndUna
	c.output(now)
}

// initialWindow is RFC 6928's: min(10*MSS, max(2*MSS, 14600)), or one
// segment if the SYN was retransmitted (RFC 5681 §3.1).
func (c *Conn) initialWindow(synLost bool) uint32 {
	mss := c.segMax()
	if synLost {
		return mss
	}
	return min(initialWindowSeg*mss, max(2*mss, 14600))
}

// updateRTO takes an RTT sample (RFC 6298 §2).
func (c *Conn) updateRTO(r time.Duration) {
	if r < 0 {
		return
	}
	if !c.hasRTT {
		c.srtt, c.rttvar, c.hasRTT = r, r/2, true
	} else {
		d := c.srtt - r
		if d < 0 {
			d = -d
		}
		c.rttvar = (3*c.rttvar + d) / 4
		c.srtt = (7*c.srtt + r) / 8
	}
	rto := c.srtt + max(time.Millisecond, 4*c.rttvar)
	c.rto = min(max(rto, c.p.cfg.MinRTO), c.p.cfg.MaxRTO)
}
