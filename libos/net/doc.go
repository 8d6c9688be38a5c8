// Package net is the root of the library OS's network stack; the stack
// itself is in its subpackages, layered as gVisor's netstack is and each
// testable alone on the host:
//
//	checksum   the Internet checksum (RFC 1071) and the IPv4 pseudo-header
//	link       what a link gives the stack (Endpoint), and an in-memory
//	           wire that drops, reorders, duplicates and corrupts
//	wire       Ethernet, ARP, IPv4, ICMP and UDP headers: parse and build
//	stack      ARP, IPv4, ICMP and UDP over a link, with no goroutines
//	tcp        TCP (RFC 9293), driven by the stack, with no goroutines
//	socket     Go's net.Conn, net.Listener and net.PacketConn over the
//	           stack: what net.SocketFunc returns in an environment
//	gvisor     the same net.SocketFunc contract over gVisor's netstack,
//	           the second library OS and the benchmark peer
//
// Only the glue that reaches the kernel (libos's ring and net_send) is
// built for GOOS=tamago alone.
package net
