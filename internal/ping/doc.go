// Package ping measures round trips to an Exo guest: ICMP echo or UDP echo
// probes sent at a fixed interval, each matched with its reply, timed, and
// checked (payload and checksums), then summarised with loss, duplicates
// and latency percentiles.
//
// Run drives one measurement over a Transport. Two transports exist:
//
//   - Raw uses the host's own network stack: an ICMP socket (raw, which
//     needs root or CAP_NET_RAW, or Linux's unprivileged ICMP datagram
//     socket where net.ipv4.ping_group_range allows it) or an ordinary UDP
//     socket. It reaches a guest on a tap device.
//   - Dgram needs no privilege: it is QEMU's NIC peer over
//     `-netdev dgram`, which carries one raw Ethernet frame per UDP
//     datagram with no length prefix and no FCS (QEMU 7.2,
//     /work/shared/FACTS.md). Dgram is a host on that Ethernet: it builds
//     and parses Ethernet, ARP, IPv4, ICMP and UDP itself (frame.go).
//
// The results can be printed (WriteSummary, WriteHistogram), saved
// (WriteCSV, WriteJSON) and plotted (WritePNG). The command
// tools/exoping wraps all of it; the QEMU tests call it directly.
package ping
