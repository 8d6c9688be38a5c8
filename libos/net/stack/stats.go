package stack

// Stats are the stack's counters, each only ever increasing.
type Stats struct {
	FramesIn   uint64 // frames handed to Input
	FramesOut  uint64 // frames the link accepted
	LinkErrors uint64 // frames the link refused (Transmit errors)

	EthBad         uint64 // frames dropped: too short, or a group or zero source MAC
	EthNotForUs    uint64 // frames dropped: destination neither our MAC nor broadcast
	EthUnknownType uint64 // frames dropped: ethertype neither IPv4 nor ARP

	ARPIn           uint64 // ARP packets parsed
	ARPBad          uint64 // ARP packets dropped: malformed, not Ethernet/IPv4
	ARPRequestsIn   uint64 // requests for our address answered
	ARPRepliesIn    uint64 // replies addressed to us
	ARPRequestsSent uint64 // requests sent (resolution, retries, announcements)
	ARPLearned      uint64 // cache entries created or refreshed from ARP packets
	IPLearned       uint64 // cache entries created or refreshed from IPv4 datagrams (Config.LearnFromIP)
	ARPConflicts    uint64 // ARP packets from another MAC claiming our address (RFC 5227 §2.4)
	ARPEvicted      uint64 // entries evicted, the oldest, for a new one (ARPEntries)
	ARPExpired      uint64 // resolved entries expired (ARPTimeout)
	ARPFailed       uint64 // addresses that did not answer 3 requests
	ARPQueueFull    uint64 // datagrams refused: the address's or the stack's ARP queue full
	ARPQueueDropped uint64 // queued frames dropped: resolution failed or the entry was evicted

	IPIn          uint64 // IPv4 packets parsed with a good header
	IPBad         uint64 // IPv4 packets dropped: malformed header (version, lengths)
	IPBadChecksum uint64 // IPv4 packets dropped: header checksum
	IPNotForUs    uint64 // IPv4 packets dropped: not to our address or a broadcast we take (hosts do not forward)
	IPBadSource   uint64 // IPv4 packets dropped: a broadcast, multicast, loopback or our own source
	IPNoProto     uint64 // datagrams to us with no transport (protocol unreachable, if allowed)
	IPOut         uint64 // datagrams sent (each possibly in fragments)
	FragmentsOut  uint64 // fragments sent

	FragmentsIn        uint64 // fragments received
	Reassembled        uint64 // datagrams reassembled
	ReassemblyTimeout  uint64 // datagrams dropped incomplete after ReassemblyTimeout
	ReassemblyOverflow uint64 // datagrams dropped for ReassemblyMemory, ReassemblyPackets or too many fragments
	ReassemblyOverlap  uint64 // datagrams dropped for overlapping fragments (RFC 5722 style)
	ReassemblyBad      uint64 // datagrams or fragments dropped: inconsistent or over 65535 bytes

	ICMPIn           uint64 // ICMP messages parsed
	ICMPBad          uint64 // ICMP messages dropped: short
	ICMPBadChecksum  uint64 // ICMP messages dropped: checksum
	ICMPEchoReplied  uint64 // echo requests answered
	ICMPEchoIgnored  uint64 // echo requests to a broadcast, not answered (RFC 1122 §3.2.2.6)
	ICMPDelivered    uint64 // other ICMP messages passed to the ICMP transport
	ICMPUnhandled    uint64 // other ICMP messages with no ICMP transport registered
	ICMPErrorsSent   uint64 // destination unreachable messages sent
	ICMPRateLimited  uint64 // ICMP errors not sent: over ICMPErrorsPerSecond
	ICMPErrorsBarred uint64 // ICMP errors not sent, as RFC 1122 §3.2.2 forbids (about an ICMP error, a broadcast, a later fragment, a non-unicast source)

	UDPIn          uint64 // UDP datagrams received for us
	UDPBad         uint64 // UDP datagrams dropped: length
	UDPBadChecksum uint64 // UDP datagrams dropped: checksum
	UDPNoPort      uint64 // UDP datagrams to a port with no socket
	UDPQueueFull   uint64 // UDP datagrams dropped: socket queue (UDPQueue) or UDPMemory full
	UDPDelivered   uint64 // UDP datagrams queued on a socket
	UDPOut         uint64 // UDP datagrams sent
}
