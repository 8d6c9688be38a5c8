// Package interop holds no code: its tests run Exo's network stack
// (libos/net/socket over libos/net/stack and libos/net/tcp) against
// gVisor's netstack (libos/net/gvisor), one at each end of an in-memory
// Ethernet wire (libos/net/link) run on the wall clock, the wire
// dropping, reordering, duplicating and corrupting frames at set rates.
//
// The tests check bulk transfers byte for byte in both directions and
// both roles, connection set-up and teardown in every order, the RST
// cases (refused connections, resets on close with unread data, and
// resets injected on the wire, RFC 5961 §3), a peer that never
// acknowledges, and a zero window held open.
//
// ARP frames are dropped on the wire throughout: ARP has no checksum, so
// a corrupted reply would poison a neighbor cache for the rest of a run.
// Each stack learns the other from its IPv4 datagrams instead (Exo's
// stack.Config.LearnFromIP, and the gVisor NIC's learning plus a static
// entry), as an Exo environment without the ARP guard does.
package interop
