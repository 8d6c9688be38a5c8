package ping

import (
	"net/netip"
	"time"
)

// Result is the outcome of a Run: what was measured, each probe, and the
// statistics over them.
type Result struct {
	Proto    string        `json:"proto"`          // "icmp" or "udp"
	Target   netip.Addr    `json:"target"`         // the address probed
	Port     uint16        `json:"port,omitempty"` // the UDP echo port; 0 for ICMP
	Size     int           `json:"size"`           // payload bytes per probe
	Interval time.Duration `json:"interval_ns"`    // from one probe to the next
	Timeout  time.Duration `json:"timeout_ns"`     // wait for each reply
	Start    time.Time     `json:"start"`          // when the first probe was due
	// Unmatched counts replies from the target that matched no probe sent
	// (another run's identifier, a sequence number not yet sent, a UDP
	// payload without this run's probe header).
	Unmatched int     `json:"unmatched"`
	Probes    []Probe `json:"probes"`  // every probe sent, by number
	Summary   Summary `json:"summary"` // the statistics of Probes
}

// Probe is the record of one probe. Its first reply decides it: good (an
// RTT), or corrupt; replies after that are duplicates. A probe with no
// reply within the timeout is lost, and replies after that are late.
type Probe struct {
	// Seq is the probe's number, from 0; ICMP carries it modulo 65536.
	Seq int `json:"seq"`
	// Sent is when the probe was handed to the transport.
	Sent time.Time `json:"sent"`
	// RTT is the round trip of the first reply (0 if Lost).
	RTT  time.Duration `json:"rtt_ns"`
	Lost bool          `json:"lost,omitempty"` // no reply within the timeout
	// Corrupt marks a first reply whose payload differed from the probe's
	// or whose IPv4, ICMP or UDP checksum was wrong.
	Corrupt bool `json:"corrupt,omitempty"`
	// Reason says what was corrupt, or why a probe was lost without
	// timing out (it failed to send, or the run stopped).
	Reason string `json:"reason,omitempty"`
	Dups   int    `json:"dups,omitempty"` // further replies after the first
	Late   int    `json:"late,omitempty"` // replies after the probe was lost
}

// Good reports whether the probe's first reply came in time and intact.
func (p *Probe) Good() bool { return !p.Lost && !p.Corrupt }

// EventKind says what an Event reports.
type EventKind int

// The kinds of Event.
const (
	EventReply     EventKind = iota // a probe's first reply, intact
	EventCorrupt                    // a probe's first reply, corrupt
	EventLost                       // no reply within the timeout
	EventDuplicate                  // another reply to a probe that had one
	EventLate                       // a reply to a probe already lost
)

var eventNames = [...]string{"reply", "corrupt", "lost", "duplicate", "late"}

// String returns the kind's name: "reply", "corrupt", "lost", "duplicate"
// or "late".
func (k EventKind) String() string {
	if k >= 0 && int(k) < len(eventNames) {
		return eventNames[k]
	}
	return "EventKind(?)"
}

// An Event reports a probe settled, or a duplicate or late reply, to
// Config.Trace.
type Event struct {
	Kind  EventKind  // what happened
	Probe Probe      // the probe's record after the event
	From  netip.Addr // the reply's source (not for EventLost)
	// Bytes is the reply's size as ping counts it: the ICMP message with
	// its 8-byte header, or the UDP payload.
	Bytes int
	// RTT is this reply's round trip (not for EventLost).
	RTT time.Duration
}
