package tcp

import "time"

// synOptions takes the peer's SYN options (RFC 9293 §3.7.1, RFC 7323
// §1.3: scaling and timestamps only when both SYNs carry them).
func (c *Conn) synOptions(h *header) {
	mss := peerDefaultMSS
	if h.hasMSS {
		mss = int(h.mss)
	}
	c.mss = max(64, min(mss, c.p.cfg.MSS))
	if h.hasWS && !c.p.noWS {
		c.wsOK = true
		c.sndShift = min(h.wscale, maxWScale) // RFC 7323 §2.3
	} else {
		c.wsOK = false
		c.sndShift, c.rcvShift = 0, 0
	}
	c.sackOK = h.sackOK && !c.p.noSACK // RFC 2018 §2
	if h.hasTS && !c.p.noTS {
		c.tsOK = true
		c.tsRecent = h.tsVal
	} else {
		c.tsOK = false
	}
}

// establish moves c to ESTABLISHED (or FIN-WAIT-1 with a FIN queued).
func (c *Conn) establish(now time.Duration) {
	synLost := c.retries > 0
	if c.rttTiming {
		c.updateRTO(now - c.rttStart)
	}
	c.rttTiming = false
	c.state = StateEstablished
	c.estab = true
	c.sndUna = c.iss + 1
	c.sndNxt = seqMax(c.sndNxt, c.sndUna)
	c.cwnd = c.initialWindow(synLost)
	c.timerMode, c.rtoAt = timerOff, noTimer
	c.backoff, c.retries = 0, 0
	c.maxSndWnd = max(c.maxSndWnd, c.sndWnd)
	if c.listener != nil {
		c.listener.synRcvd--
		c.listener.ready = append(c.listener.ready, c)
	}
	if c.finQueued {
		c.state = StateFinWait1
	}
}

// timeWaitSYN reports whether h is a new SYN that may reopen a
// connection in TIME-WAIT: its sequence number is above the old
// connection's (RFC 9293 §3.10.7.4, RFC 6191 §2 without timestamps).
func (c *Conn) timeWaitSYN(h *header) bool {
	return h.flags&(flagSYN|flagACK|flagRST) == flagSYN && seqGT(h.seq, c.rcvNxt)
}

// acceptable is RFC 9293 §3.10.7.4's segment acceptability test.
func acceptable(seq, seglen, rcvNxt, wnd uint32) bool {
	switch {
	case seglen == 0 && wnd == 0:
		return seq == rcvNxt
	case seglen == 0:
		return seqInWindow(seq, rcvNxt, wnd)
	case wnd == 0:
		return false
	}
	return seqInWindow(seq, rcvNxt, wnd) || seqInWindow(seq+seglen-1, rcvNxt, wnd)
}

// input processes a segment for c (RFC 9293 §3.10.7.3, §3.10.7.4).
func (c *Conn) input(now time.Duration, h *header, data []byte) {
	c.lastRecv = now
	c.kaProbes = 0
	if c.state == StateSynSent {
		c.inputSynSent(now, h)
		return
	}
	rst := h.flags&flagRST != 0
	syn := h.flags&flagSYN != 0
	fin := h.flags&flagFIN != 0
	seq := h.seq
	if c.state == StateSynReceived && syn && !rst && h.flags&flagACK != 0 &&
		seq == c.irs && h.ack == c.iss+1 {
		// Simultaneous open: the peer's SYN-ACK answers our SYN-ACK;
		// its SYN is the one we have, its ACK completes the handshake.
		syn = false
		seq++
	}
	seglen := uint32(len(data))
	if syn {
		seglen++
	}
	if fin {
		seglen++
	}

	// First: the sequence number.
	wnd := c.rcvAdv - c.rcvNxt
	ok := acceptable(seq, seglen, c.rcvNxt, wnd)
	if !ok && wnd == 0 && seq == c.rcvNxt && !rst {
		// A zero window still takes valid ACKs (§3.10.7.4): process the
		// ACK, drop the text, and answer with our (zero) window. A FIN
		// alone needs no buffer space and is taken.
		ok = true
		if len(data) > 0 {
			data, fin = nil, false
		}
		syn = false
		c.ackNow = true
	}
	if !ok {
		if rst {
			return
		}
		if c.state == StateSynReceived && syn && h.flags&flagACK == 0 && seq == c.irs {
			c.sendSYN(now) // the peer did not get our SYN-ACK
			return
		}
		if c.state == StateTimeWait && fin {
			c.twAt = now + c.p.cfg.TimeWait // the peer resent its FIN
		}
		c.sendAck(now)
		return
	}

	// Second: RST (RFC 5961 §3.2: only an exact match resets).
	if rst {
		if seq != c.rcvNxt {
			c.challengeAck(now)
			return
		}
		switch c.state {
		case StateSynReceived:
			if c.active {
				c.fail(ErrRefused)
			} else {
				c.release() // back to LISTEN: the listener stays
			}
		case StateEstablished, StateFinWait1, StateFinWait2, StateCloseWait:
			c.fail(ErrReset)
		default: // CLOSING, LAST-ACK, TIME-WAIT
			c.release()
		}
		return
	}

	// Trim to the window (§3.10.7.4: segments are processed in order,
	// the part before RCV.NXT and beyond the window dropped).
	if syn && seqLT(seq, c.rcvNxt) {
		syn = false
		seq++
	}
	if d := c.rcvNxt - seq; seqLT(seq, c.rcvNxt) {
		if int(d) > len(data) {
			fin = false // an old FIN
			d = uint32(len(data))
		}
		data = data[d:]
		seq += d
	}
	if end := seq + uint32(len(data)); seqGT(end, c.rcvAdv) {
		data = data[:c.rcvAdv-seq]
		fin = false
	}
	if c.tsOK && h.hasTS && seqLEQ(h.seq, c.lastAckSent) {
		c.tsRecent = h.tsVal // RFC 7323 §4.3
	}

	// Fourth: a SYN in the window (RFC 5961 §4.2).
	if syn {
		c.challengeAck(now)
		return
	}

	// Fifth: the ACK.
	if h.flags&flagACK == 0 {
		return
	}
	if c.state == StateSynReceived {
		if !(seqLT(c.sndUna, h.ack) && seqLEQ(h.ack, c.sndMax)) {
			c.p.sendRST(now, c.key, h.ack, 0, flagRST)
			return
		}
		c.sndWnd = uint32(h.wnd) << c.sndShift
		c.sndWl1, c.sndWl2 = h.seq, h.ack
		c.establish(now)
	}
	// RFC 5961 §5.2: acceptable ACKs are in [SND.UNA-MAX.SND.WND, SND.NXT].
	if seqGT(h.ack, c.sndMax) || seqLT(h.ack, c.sndUna-c.maxSndWnd) {
		c.challengeAck(now)
		return
	}
	c.processAck(now, h, len(data) > 0 || fin)
	if c.idx < 0 {
		return
	}

	// Seventh: the text.
	if len(data) > 0 {
		switch c.state {
		case StateEstablished, StateFinWait1, StateFinWait2:
			if c.closed {
				// Nobody will read it: reset (RFC 1122 §4.2.2.13).
				c.p.sendRST(now, c.key, c.sndNxt, 0, flagRST)
				c.release()
				return
			}
			c.receive(now, seq, data)
		}
	}

	// Eighth: the FIN.
	if fin && !c.finRcvd {
		if end := seq + uint32(len(data)); end == c.rcvNxt {
			c.receiveFIN(now)
		} else {
			// Out of order: held until the data before it arrives, and
			// answered at once with a duplicate ACK, as any segment past
			// RCV.NXT is (RFC 5681 §4.2), so the sender learns of the hole
			// without waiting for its timer.
			c.finPending, c.finSeq = true, end
			c.ackNow = true
		}
	}
	c.output(now)
}

// inputSynSent handles a segment in SYN-SENT (RFC 9293 §3.10.7.3).
func (c *Conn) inputSynSent(now time.Duration, h *header) {
	ack := h.flags&flagACK != 0
	rst := h.flags&flagRST != 0
	if ack && (seqLEQ(h.ack, c.iss) || seqGT(h.ack, c.sndMax)) {
		if !rst {
			c.p.sendRST(now, c.key, h.ack, 0, flagRST)
		}
		return
	}
	if rst {
		if ack {
			c.fail(ErrRefused)
		}
		return
	}
	if h.flags&flagSYN == 0 {
		return
	}
	c.irs = h.seq
	c.rcvNxt = h.seq + 1
	c.synOptions(h)
	c.rcvAdv = c.rcvNxt + c.rcvWindowMax()
	c.sndWnd = uint32(h.wnd) // a SYN's window is never scaled
	c.sndWl1, c.sndWl2 = h.seq, h.ack
	if c.tsOK {
		c.lastAckSent = c.rcvNxt
	}
	if ack {
		c.establish(now)
		c.ackNow = true
		c.output(now)
		return
	}
	// Simultaneous open: SYN-RECEIVED, and our SYN again with an ACK.
	c.state = StateSynReceived
	c.sndMax = c.sndNxt
	c.sendSYN(now)
}

// processAck takes the ACK field and window of an acceptable segment
// (§3.10.7.4 fifth; RFC 5681, RFC 6582, RFC 6298).
func (c *Conn) processAck(now time.Duration, h *header, hasText bool) {
	ack := h.ack
	wnd := uint32(h.wnd) << c.sndShift
	mss := c.segMax()
	var sacked uint32
	if c.sackOK && h.nsack > 0 {
		sacked = c.takeSACK(h)
	}
	if sacked > 0 || seqGT(ack, c.sndUna) {
		c.tlpOut = false // the probe, or what it stood for, got through
	}
	switch {
	case seqGT(ack, c.sndUna):
		oldUna := c.sndUna
		acked := ack - c.sndUna
		finAcked := false
		if acked > uint32(c.sndBuf.n) {
			finAcked = true // the FIN's sequence number
			acked = uint32(c.sndBuf.n)
		}
		c.sndBuf.discard(int(acked))
		if c.sndBuf.n == 0 {
			c.sndBuf.idle() // everything sent is acknowledged
		}
		c.sndUna = ack
		if seqLT(c.sndNxt, c.sndUna) {
			c.sndNxt = c.sndUna // a persist probe, or after go-back-N
		}
		if c.sackOK {
			c.sb.trim(ack) // a peer that reneged loses its SACK credit
			if c.inRecovery && seqLT(ack, c.highRxt) && seqLT(ack, c.recover) {
				// The new first hole was retransmitted at some point
				// before now: judge it against what is sent from now.
				c.unaRxt, c.unaRxtSeq, c.unaRxtFence = true, ack, c.sndMax
			}
		}
		// RTT sample: the echoed timestamp (RFC 7323 §4.1), else the one
		// timed segment (Karn: never a retransmitted one).
		// An echo older than a retransmission of what this ACK covers
		// may come from a duplicate's ACK long after: no sample then.
		stale := seqLT(oldUna, c.retxEnd) && seqLT(h.tsEcr, c.retxTS)
		if c.tsOK && h.hasTS && h.tsEcr != 0 {
			if d := c.tsNow(now) - h.tsEcr; d < 1<<31 && !stale {
				c.updateRTO(time.Duration(d) * time.Millisecond)
			}
		} else if c.rttTiming && seqGT(ack, c.rttSeq) {
			c.rttTiming = false
			c.updateRTO(now - c.rttStart)
		}
		c.backoff, c.retries = 0, 0
		if c.inRecovery {
			if seqGEQ(ack, c.recover) {
				// Full ACK: leave fast recovery (RFC 6582 §3.2 step 3;
				// RFC 6675 §5 step C). A timeout's recovery keeps the
				// window slow start has grown.
				c.inRecovery = false
				if !c.rtoRecovery {
					c.cwnd = min(c.ssthresh, max(c.sndMax-c.sndUna, mss)+mss)
				}
				c.rtoRecovery, c.unaRxt = false, false
			} else if c.rtoRecovery {
				c.growWindow(acked) // slow start resends the holes
			} else if c.sackOK {
				// RFC 6675: a partial ACK changes nothing but pipe.
			} else {
				// Partial ACK: resend the next hole, deflate (step 4).
				c.retransmitFirst(now)
				if acked >= c.cwnd {
					c.cwnd = mss
				} else {
					c.cwnd -= acked
				}
				if acked >= mss {
					c.cwnd += mss
				}
			}
		} else {
			c.growWindow(acked)
		}
		c.dupAcks = 0
		c.timerMode, c.rtoAt = timerOff, noTimer // re-armed by output
		if finAcked {
			switch c.state {
			case StateFinWait1:
				c.state = StateFinWait2
				if c.closed {
					c.twAt = now + c.p.cfg.TimeWait
				}
			case StateClosing:
				c.enterTimeWait(now)
			case StateLastAck:
				c.release()
				return
			}
		}
	case ack == c.sndUna && c.sndMax != c.sndUna && (sacked > 0 ||
		!hasText && wnd == c.sndWnd && h.flags&(flagSYN|flagFIN) == 0):
		// A duplicate ACK (RFC 5681 §2; with SACK, RFC 6675 §2: one
		// that SACKs new data).
		c.dupAcks++
		if c.dupAcks == 1 {
			c.ltFlight = c.sndMax - c.sndUna
		}
		if c.sackOK {
			// sackRecoveryACK below.
		} else if c.inRecovery {
			c.cwnd += mss // inflate (RFC 6582 §3.2 step 4)
		} else if c.dupAcks == 3 && seqGEQ(ack, c.recover) && c.sndNxt == c.sndMax {
			// Fast retransmit (RFC 5681 §3.2, RFC 6582 §3.2 step 2).
			c.ssthresh = max(min(c.sndMax-c.sndUna, c.ltFlight)/2, 2*mss)
			c.recover = c.sndMax
			c.inRecovery = true
			c.p.stats.FastRetransmits++
			c.retransmitFirst(now)
			c.cwnd = c.ssthresh + 3*mss
			c.timerMode, c.rtoAt = timerRetransmit, now+c.curRTO()
		}
	}
	// The send window (§3.10.7.4: SND.WL1 and SND.WL2 keep old segments
	// from updating it).
	if seqLT(c.sndWl1, h.seq) || (c.sndWl1 == h.seq && seqLEQ(c.sndWl2, ack)) {
		c.sndWnd = wnd
		c.sndWl1, c.sndWl2 = h.seq, ack
		c.maxSndWnd = max(c.maxSndWnd, wnd)
	}
	if c.sackOK && c.sending() {
		c.sackRecoveryACK(now)
	}
}

// growWindow opens cwnd for acked new bytes: slow start below ssthresh,
// else congestion avoidance with byte counting (RFC 5681 §3.1).
func (c *Conn) growWindow(acked uint32) {
	mss := c.segMax()
	if c.cwnd < c.ssthresh {
		c.cwnd += min(acked, mss)
		return
	}
	c.caAcked += acked
	if c.caAcked >= c.cwnd {
		c.caAcked -= c.cwnd
		c.cwnd += mss
	}
}

// receive stores in-window text at seq (not before rcvNxt).
func (c *Conn) receive(now time.Duration, seq uint32, data []byte) {
	off := int(seq - c.rcvNxt)
	if room := c.rcvBuf.free() - off; len(data) > room {
		if room <= 0 {
			return
		}
		data = data[:room]
	}
	if off > 0 {
		// Out of order: keep it where it belongs and send a duplicate ACK
		// at once (RFC 5681 §4.2).
		if c.addOOO(seq, seq+uint32(len(data))) {
			c.rcvBuf.writeAt(off, data)
		}
		c.ackNow = true
		return
	}
	c.rcvBuf.writeAt(0, data)
	c.rcvBuf.commit(len(data))
	c.rcvNxt += uint32(len(data))
	c.unacked += len(data)
	if c.nooo > 0 {
		c.mergeOOO()
		c.ackNow = true // filling a hole is ACKed at once
	}
	if c.finPending && c.rcvNxt == c.finSeq {
		c.receiveFIN(now)
	}
	// ACK every second full segment (RFC 9293 §3.8.6.3), else delay.
	if c.unacked >= 2*int(c.segMax()) {
		c.ackNow = true
	} else if c.delackAt == noTimer {
		c.delackAt = now + c.p.cfg.DelayedACK
	}
}

// addOOO records [start, end) as held out of order, merging ranges that
// touch; it reports false if the table is full.
func (c *Conn) addOOO(start, end uint32) bool {
	for i := 0; i < c.nooo; {
		r := c.ooo[i]
		if seqLEQ(start, r.end) && seqLEQ(r.start, end) {
			if seqLT(r.start, start) {
				start = r.start
			}
			if seqGT(r.end, end) {
				end = r.end
			}
			c.nooo--
			c.ooo[i], c.oooAge[i] = c.ooo[c.nooo], c.oooAge[c.nooo]
			continue
		}
		i++
	}
	if c.nooo == len(c.ooo) {
		return false
	}
	c.oooClock++
	c.ooo[c.nooo], c.oooAge[c.nooo] = seqRange{start, end}, c.oooClock
	c.nooo++
	return true
}

// mergeOOO takes in the out-of-order ranges that rcvNxt has reached.
func (c *Conn) mergeOOO() {
	for again := true; again; {
		again = false
		for i := 0; i < c.nooo; i++ {
			r := c.ooo[i]
			if seqGT(r.start, c.rcvNxt) {
				continue
			}
			if seqGT(r.end, c.rcvNxt) {
				n := r.end - c.rcvNxt
				c.rcvBuf.commit(int(n))
				c.rcvNxt = r.end
				c.unacked += int(n)
			}
			c.nooo--
			c.ooo[i], c.oooAge[i] = c.ooo[c.nooo], c.oooAge[c.nooo]
			again = true
			break
		}
	}
}

// receiveFIN takes the peer's FIN at rcvNxt.
func (c *Conn) receiveFIN(now time.Duration) {
	if c.finRcvd {
		return
	}
	c.rcvNxt++
	c.finRcvd = true
	c.finPending = false
	c.ackNow = true
	switch c.state {
	case StateSynReceived, StateEstablished:
		c.state = StateCloseWait
	case StateFinWait1:
		c.state = StateClosing
	case StateFinWait2:
		c.enterTimeWait(now)
	}
}

// enterTimeWait starts TIME-WAIT (2*MSL, RFC 9293 §3.6.1).
func (c *Conn) enterTimeWait(now time.Duration) {
	c.state = StateTimeWait
	c.twAt = now + c.p.cfg.TimeWait
	c.timerMode, c.rtoAt = timerOff, noTimer
	c.freeBuffers()
}
