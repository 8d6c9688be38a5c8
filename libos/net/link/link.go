// Package link is what a link layer gives the network stack: an Endpoint
// that transmits Ethernet frames, and, the other way, the stack's Input
// that the link's receive loop calls with each frame. The kernel's
// receive ring and net_send are one Endpoint (libos, GOOS=tamago); Wire
// is another, in memory, for tests.
package link

import "time"

// Endpoint is the transmit side of a link, as the stack sees it.
type Endpoint interface {
	// MAC returns the link's hardware address.
	MAC() [6]byte
	// MTU returns the largest IP packet the link carries (1500 for
	// Ethernet), excluding the 14-byte Ethernet header.
	MTU() int
	// Transmit sends one Ethernet frame (destination, source, ethertype,
	// payload; no preamble or FCS). The endpoint has copied the frame
	// when Transmit returns, so the caller may reuse it. An error means
	// the frame was not sent (a full queue, a frame too long); the stack
	// counts it and goes on, as a lossy link would.
	Transmit(frame []byte) error
}

// Receiver is the receive side: the stack, as the link sees it.
type Receiver interface {
	// Input hands the receiver one frame that arrived at time now
	// (monotonic, from an origin the caller fixes). The frame is valid
	// only during the call.
	Input(now time.Duration, frame []byte)
}
