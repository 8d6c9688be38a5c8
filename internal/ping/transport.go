package ping

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"time"
)

// A Transport carries probes to a target and replies back. Run calls Open
// once, then Send from its own goroutine while another goroutine calls
// Receive; it never closes the transport, so one transport can serve
// several runs in turn (not at once).
type Transport interface {
	// Open prepares for the run that cfg describes. cfg has Run's defaults
	// filled in and its ID chosen.
	Open(ctx context.Context, cfg Config) error
	// Send sends one probe: an ICMP echo request with cfg.ID, sequence
	// number seq and data payload, or a UDP datagram carrying payload (Run
	// has put the probe header in it; seq is then unused).
	Send(seq uint16, payload []byte) error
	// Receive waits for the next reply from the target and returns it. It
	// returns ctx.Err() once ctx is done. Replies that are not from the
	// target, or are not echo replies, are skipped here.
	Receive(ctx context.Context) (Reply, error)
}

// A Reply is one echo reply as a Transport received it.
type Reply struct {
	From netip.Addr // the reply's source address
	// ID and Seq are the ICMP echo identifier and sequence number; zero
	// for UDP, whose probe header is in Payload.
	ID, Seq uint16
	// Payload is the ICMP data or the UDP payload. It belongs to the
	// caller.
	Payload []byte
	// Corrupt, if not nil, says which checksum of the reply was wrong.
	Corrupt error
	// At is when the reply was read.
	At time.Time
}

// deadliner is the part of a socket that readContext needs.
type deadliner interface{ SetReadDeadline(time.Time) error }

// longAgo is a deadline in the past: setting it wakes a blocked read.
var longAgo = time.Unix(1, 0)

// readContext runs read, which reads from c, until it succeeds, deadline
// passes (zero: never) or ctx is done; it then returns ctx.Err(). A read
// cut short by the wake-up of an earlier call, which context.AfterFunc
// can deliver late, is retried.
func readContext(ctx context.Context, c deadliner, deadline time.Time, read func() error) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := c.SetReadDeadline(deadline); err != nil {
			return err
		}
		stop := context.AfterFunc(ctx, func() { c.SetReadDeadline(longAgo) })
		err := read()
		stop()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if errors.Is(err, os.ErrDeadlineExceeded) && (deadline.IsZero() || time.Now().Before(deadline)) {
			continue
		}
		return err
	}
}
