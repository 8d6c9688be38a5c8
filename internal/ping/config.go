package ping

import (
	"fmt"
	"io"
	"math/rand/v2"
	"net/netip"
	"time"
)

// Defaults that Run gives to zero Config fields.
const (
	DefaultPort     = 7 // the echo service (RFC 862)
	DefaultSize     = 56
	DefaultInterval = time.Second
	DefaultTimeout  = time.Second
)

// Limits on Config.Size.
const (
	// MaxSize is the largest payload an IPv4 datagram can carry after a
	// 20-byte IP header and an 8-byte ICMP or UDP header.
	MaxSize = maxIPv4Len - ipv4HeaderLen - 8
	// UDPHeaderLen is the size of the header Run puts at the start of every
	// UDP probe's payload, so that an echoed payload identifies its probe:
	// the bytes 'x' 'p', the 16-bit Config.ID and the 32-bit probe number,
	// big-endian. It is also the smallest UDP Size.
	UDPHeaderLen = 8
)

// Config describes one measurement. The zero value of every field but
// Target and Count means its default.
type Config struct {
	// Proto is "icmp" (echo request and reply) or "udp" (a datagram to an
	// echo service on Port); "" means "icmp".
	Proto string
	// Target is the IPv4 address probed.
	Target netip.Addr
	// Port is the UDP echo port; 0 means DefaultPort. ICMP ignores it.
	Port uint16
	// Count is the number of probes, at least 1.
	Count int
	// Interval is the time from one probe to the next (0: DefaultInterval).
	Interval time.Duration
	// Timeout is how long a probe waits for its reply before it counts as
	// lost (0: DefaultTimeout). When Count exceeds 65536, ICMP's 16-bit
	// sequence numbers repeat, so Timeout must then be shorter than 65536
	// intervals.
	Timeout time.Duration
	// Size is the payload length in bytes: the ICMP data after its 8-byte
	// header, or the whole UDP payload including the UDPHeaderLen-byte
	// probe header. 0 means DefaultSize.
	Size int
	// ID identifies this run's probes: the ICMP echo identifier, or the ID
	// in the UDP probe header. 0 means a random one.
	ID uint16
	// Progress, if not nil, receives a progress line, rewritten in place
	// with carriage returns at most twice a second and ended with a
	// newline when Run returns.
	Progress io.Writer
	// Trace, if not nil, is called from Run's goroutine for every probe as
	// it is settled (a reply or a timeout) and for every duplicate or late
	// reply: the hook for per-packet output. Rarely, on a loaded machine,
	// a probe reported lost is reported again with its reply, when the
	// reply was read before the timeout but handled after it; the probe
	// then counts as answered.
	Trace func(Event)
}

// normalize returns c with defaults filled in, or an error that names the
// field that is wrong.
func (c Config) normalize() (Config, error) {
	switch c.Proto {
	case "":
		c.Proto = "icmp"
	case "icmp", "udp":
	default:
		return c, fmt.Errorf("ping: Proto %q: want \"icmp\" or \"udp\"", c.Proto)
	}
	c.Target = c.Target.Unmap()
	if !c.Target.Is4() {
		return c, fmt.Errorf("ping: Target %v: want an IPv4 address", c.Target)
	}
	if c.Port == 0 {
		c.Port = DefaultPort
	}
	if c.Count < 1 {
		return c, fmt.Errorf("ping: Count %d: want at least 1", c.Count)
	}
	if c.Interval < 0 || c.Timeout < 0 {
		return c, fmt.Errorf("ping: Interval %v and Timeout %v must not be negative", c.Interval, c.Timeout)
	}
	if c.Interval == 0 {
		c.Interval = DefaultInterval
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Size == 0 {
		c.Size = DefaultSize
	}
	least := 1
	if c.Proto == "udp" {
		least = UDPHeaderLen
	}
	if c.Size < least || c.Size > MaxSize {
		return c, fmt.Errorf("ping: Size %d: want %d to %d bytes for %s", c.Size, least, MaxSize, c.Proto)
	}
	if c.Proto == "icmp" && c.Count > 1<<16 && c.Timeout >= c.Interval*(1<<16) {
		return c, fmt.Errorf("ping: Timeout %v spans 65536 probes at Interval %v: ICMP sequence numbers would be ambiguous", c.Timeout, c.Interval)
	}
	for c.ID == 0 {
		c.ID = uint16(rand.Uint32())
	}
	return c, nil
}
