package stack

import (
	"net/netip"
	"time"

	"github.com/exo-os/exo/libos/net/wire"
)

// arpEntry is an ARP cache entry: resolved (mac valid until deadline) or
// pending (requests sent, frames queued, the next retry at deadline).
type arpEntry struct {
	addr     netip.Addr
	mac      [6]byte
	resolved bool
	stamp    time.Duration // created or last learned: the eviction order
	deadline time.Duration // resolved: expiry; pending: next request
	tries    int           // requests sent
	queue    [][]byte      // pending: whole frames, the destination MAC to fill in
}

// sendARP sends an ARP packet of ours: op to tha (zero in a request)
// about tpa, in a frame to dst.
func (s *Stack) sendARP(op uint16, dst, tha [6]byte, tpa netip.Addr) {
	f := s.tx[:wire.EthernetLen+wire.ARPLen]
	wire.Ethernet{Dst: dst, Src: s.mac, Type: wire.EtherARP}.Put(f)
	wire.ARP{Op: op, SHA: s.mac, SPA: s.addr, THA: tha, TPA: tpa}.Put(f[wire.EthernetLen:])
	if op == wire.ARPRequest {
		s.stats.ARPRequestsSent++
	}
	s.transmit(f)
}

// arpInput handles an ARP packet (RFC 826's algorithm, "Packet
// Reception"): an existing entry for the sender is refreshed whoever the
// target; a new one is made only when we are the target; a request for
// our address is answered.
func (s *Stack) arpInput(now time.Duration, b []byte) {
	a, err := wire.ParseARP(b)
	if err != nil {
		s.stats.ARPBad++
		return
	}
	s.stats.ARPIn++
	if a.SPA == s.addr {
		if a.SHA != s.mac {
			s.stats.ARPConflicts++ // RFC 5227 §2.4: someone else claims our address
		}
		return
	}
	forUs := a.TPA == s.addr
	// Learn only a unicast MAC for a unicast sender on our subnet (a
	// probe's sender 0.0.0.0, RFC 5227 §2.1.1, is not learned).
	learn := !wire.IsMulticastMAC(a.SHA) && a.SHA != [6]byte{} &&
		isUnicast(a.SPA) && a.SPA != s.bcast && s.cfg.Addr.Contains(a.SPA)
	if learn {
		if e := s.arp[a.SPA]; e != nil {
			s.stats.ARPLearned++
			s.resolve(now, e, a.SHA)
		} else if forUs {
			e := s.newEntry(now, a.SPA)
			s.stats.ARPLearned++
			s.resolve(now, e, a.SHA)
		}
	}
	if !forUs {
		return
	}
	switch a.Op {
	case wire.ARPRequest:
		if wire.IsMulticastMAC(a.SHA) {
			return
		}
		s.stats.ARPRequestsIn++
		s.sendARP(wire.ARPReply, a.SHA, a.SHA, a.SPA)
	case wire.ARPReply:
		s.stats.ARPRepliesIn++
	}
}

// learn records that addr is at mac (LearnFromIP), making an entry if
// there is none: bounded as ARP's are (ARPEntries, the oldest evicted).
func (s *Stack) learn(now time.Duration, addr netip.Addr, mac [6]byte) {
	e := s.arp[addr]
	if e == nil {
		e = s.newEntry(now, addr)
	} else if e.resolved && e.mac == mac && now-e.stamp < s.cfg.ARPTimeout/2 {
		return // fresh: nothing to do on the hot path
	}
	s.stats.IPLearned++
	s.resolve(now, e, mac)
}

// resolve records mac for e and sends the frames waiting for it.
func (s *Stack) resolve(now time.Duration, e *arpEntry, mac [6]byte) {
	e.mac, e.resolved = mac, true
	e.stamp, e.deadline, e.tries = now, now+s.cfg.ARPTimeout, 0
	s.timerOK = false
	q := e.queue
	e.queue = nil
	for i, f := range q {
		copy(f[0:6], mac[:])
		s.queued--
		s.transmit(f)
		s.spare = append(s.spare, f[:0])
		q[i] = nil
	}
}

// newEntry adds an unresolved entry for addr, evicting the oldest entry
// if the cache is full.
func (s *Stack) newEntry(now time.Duration, addr netip.Addr) *arpEntry {
	if len(s.arp) >= s.cfg.ARPEntries {
		var old *arpEntry
		for _, e := range s.arp {
			if old == nil || e.stamp < old.stamp || (e.stamp == old.stamp && e.addr.Less(old.addr)) {
				old = e
			}
		}
		s.stats.ARPEvicted++
		s.dropEntry(old)
	}
	e := &arpEntry{addr: addr, stamp: now, deadline: now}
	s.arp[addr] = e
	s.timerOK = false
	return e
}

// dropEntry removes e, dropping its queue.
func (s *Stack) dropEntry(e *arpEntry) {
	s.stats.ARPQueueDropped += uint64(len(e.queue))
	s.queued -= len(e.queue)
	for _, f := range e.queue {
		s.spare = append(s.spare, f[:0])
	}
	e.queue = nil
	delete(s.arp, e.addr)
	s.timerOK = false
}

// request sends e's next ARP request and schedules the one after.
func (s *Stack) request(now time.Duration, e *arpEntry) {
	e.tries++
	e.deadline = now + s.cfg.ARPRetry
	s.timerOK = false
	s.sendARP(wire.ARPRequest, wire.Broadcast, [6]byte{}, e.addr)
}

// arpTick retransmits requests, fails addresses that did not answer
// arpTries of them, and expires resolved entries.
func (s *Stack) arpTick(now time.Duration) {
	for _, e := range s.arp {
		if now < e.deadline {
			continue
		}
		switch {
		case e.resolved:
			s.stats.ARPExpired++
			s.dropEntry(e)
		case e.tries >= arpTries:
			s.stats.ARPFailed++
			s.dropEntry(e)
		default:
			s.request(now, e)
		}
	}
}

// lookup returns the MAC for next hop addr if known; if not, the pending
// entry (created, its first request sent, if new) its frames wait on.
func (s *Stack) lookup(now time.Duration, addr netip.Addr) ([6]byte, *arpEntry) {
	e := s.arp[addr]
	if e != nil && e.resolved {
		if now < e.deadline {
			return e.mac, nil
		}
		s.stats.ARPExpired++
		s.dropEntry(e)
		e = nil
	}
	if e == nil {
		e = s.newEntry(now, addr)
		s.request(now, e)
	}
	return [6]byte{}, e
}

// enqueue copies frame into e's queue.
func (s *Stack) enqueue(e *arpEntry, frame []byte) {
	var b []byte
	if n := len(s.spare); n > 0 {
		b, s.spare = s.spare[n-1], s.spare[:n-1]
	}
	if cap(b) < len(frame) {
		b = make([]byte, 0, len(s.tx))
	}
	b = append(b[:0], frame...)
	e.queue = append(e.queue, b)
	s.queued++
}
