package gvisor

import (
	"net/netip"
	"sync"

	"gvisor.dev/gvisor/pkg/buffer"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/stack"

	"github.com/exo-os/exo/libos/net/checksum"
	"github.com/exo-os/exo/libos/net/link"
)

// maxLearned bounds the neighbors the NIC learns from received frames;
// beyond it, new hosts are resolved by ARP only.
const maxLearned = 256

// nic is gVisor's link endpoint (stack.LinkEndpoint) over a
// link.Endpoint. It does Ethernet itself: AddHeader pushes the 14-byte
// header (IEEE 802.3 §3.1.1; the type field is the EtherType, RFC 894),
// WritePackets flattens each packet into one frame for ep.Transmit, and
// input strips the header and hands the rest to gVisor's NIC.
//
// Neighbor learning: in Exo one environment alone holds the guard for
// ARP, so an environment running this stack may never see an ARP reply
// (nor a request). The NIC therefore learns, from every IPv4 frame it
// receives, the sender's Ethernet address for the packet's IPv4 source
// and installs it in gVisor as a static neighbor entry, before the packet
// goes up, so that the reply finds it. A source outside the subnet came
// through a router: with a gateway configured, its Ethernet source is
// taken as the gateway's. Only changes call into gVisor (a map remembers
// what was installed), and at most maxLearned hosts are learned. ARP is
// still registered and answers and resolves normally when ARP frames do
// arrive; a learned entry, being static, wins over ARP until a frame
// shows that host with another Ethernet address.
type nic struct {
	ep  link.Endpoint
	mac tcpip.LinkAddress
	mtu uint32

	// set by Stack.New once the NIC exists
	st      *stack.Stack
	id      tcpip.NICID
	subnet  netip.Prefix
	gateway netip.Addr

	mu         sync.Mutex
	dispatcher stack.NetworkDispatcher
	onClose    func()
	txMu       sync.Mutex
	buf        []byte // WritePackets' frame, under txMu
	learned    map[[4]byte][6]byte
	counters   nicCounters
}

type nicCounters struct {
	rxFrames, rxShort, txFrames, txErrors, learned uint64
}

var _ stack.LinkEndpoint = (*nic)(nil)

func newNIC(ep link.Endpoint, mac [6]byte, mtu int) *nic {
	return &nic{
		ep:      ep,
		mac:     tcpip.LinkAddress(mac[:]),
		mtu:     uint32(mtu),
		buf:     make([]byte, 0, mtu+header.EthernetMinimumSize),
		learned: make(map[[4]byte][6]byte),
	}
}

// MTU implements stack.LinkEndpoint.
func (n *nic) MTU() uint32 {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.mtu
}

// SetMTU implements stack.LinkEndpoint; it never exceeds the link's.
func (n *nic) SetMTU(mtu uint32) {
	n.mu.Lock()
	n.mtu = min(mtu, uint32(n.ep.MTU()))
	n.mu.Unlock()
}

// MaxHeaderLength implements stack.LinkEndpoint: the Ethernet header.
func (n *nic) MaxHeaderLength() uint16 { return header.EthernetMinimumSize }

// LinkAddress implements stack.LinkEndpoint.
func (n *nic) LinkAddress() tcpip.LinkAddress {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.mac
}

// SetLinkAddress implements stack.LinkEndpoint.
func (n *nic) SetLinkAddress(addr tcpip.LinkAddress) {
	n.mu.Lock()
	n.mac = addr
	n.mu.Unlock()
}

// Capabilities implements stack.LinkEndpoint: addresses are resolved
// (ARP or learning); no checksum offload, so gVisor checks every
// checksum, and corrupted frames are caught.
func (n *nic) Capabilities() stack.LinkEndpointCapabilities {
	return stack.CapabilityResolutionRequired
}

// Attach implements stack.LinkEndpoint.
func (n *nic) Attach(d stack.NetworkDispatcher) {
	n.mu.Lock()
	n.dispatcher = d
	n.mu.Unlock()
}

// IsAttached implements stack.LinkEndpoint.
func (n *nic) IsAttached() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.dispatcher != nil
}

// Wait implements stack.LinkEndpoint: the NIC has no goroutines.
func (n *nic) Wait() {}

// ARPHardwareType implements stack.LinkEndpoint.
func (n *nic) ARPHardwareType() header.ARPHardwareType { return header.ARPHardwareEther }

// AddHeader implements stack.LinkEndpoint: it pushes the Ethernet header.
func (n *nic) AddHeader(pkt *stack.PacketBuffer) {
	eth := header.Ethernet(pkt.LinkHeader().Push(header.EthernetMinimumSize))
	eth.Encode(&header.EthernetFields{
		SrcAddr: pkt.EgressRoute.LocalLinkAddress,
		DstAddr: pkt.EgressRoute.RemoteLinkAddress,
		Type:    pkt.NetworkProtocolNumber,
	})
}

// ParseHeader implements stack.LinkEndpoint: it consumes the Ethernet
// header.
func (n *nic) ParseHeader(pkt *stack.PacketBuffer) bool {
	_, ok := pkt.LinkHeader().Consume(header.EthernetMinimumSize)
	return ok
}

// Close implements stack.LinkEndpoint.
func (n *nic) Close() {
	n.mu.Lock()
	f := n.onClose
	n.onClose = nil
	n.mu.Unlock()
	if f != nil {
		f()
	}
}

// SetOnCloseAction implements stack.LinkEndpoint.
func (n *nic) SetOnCloseAction(f func()) {
	n.mu.Lock()
	n.onClose = f
	n.mu.Unlock()
}

// WritePackets implements stack.LinkEndpoint: each packet (its link
// header already pushed by AddHeader) becomes one frame. A frame the link
// refuses is counted and skipped, as a lossy link drops it; TCP
// retransmits.
func (n *nic) WritePackets(pkts stack.PacketBufferList) (int, tcpip.Error) {
	n.txMu.Lock()
	defer n.txMu.Unlock()
	sent, errs := 0, uint64(0)
	for _, pkt := range pkts.AsSlice() {
		b := n.buf[:0]
		for _, s := range pkt.AsSlices() {
			b = append(b, s...)
		}
		n.buf = b[:0]
		if err := n.ep.Transmit(b); err != nil {
			errs++
		}
		sent++
	}
	n.mu.Lock()
	n.counters.txFrames += uint64(sent) - errs
	n.counters.txErrors += errs
	n.mu.Unlock()
	return sent, nil
}

// input hands one received frame to gVisor. The frame is copied (the
// caller reuses it).
func (n *nic) input(frame []byte) {
	n.mu.Lock()
	d := n.dispatcher
	if len(frame) < header.EthernetMinimumSize {
		n.counters.rxShort++
		n.mu.Unlock()
		return
	}
	n.counters.rxFrames++
	n.mu.Unlock()
	if d == nil {
		return
	}
	eth := header.Ethernet(frame)
	proto := eth.Type()
	if proto == header.IPv4ProtocolNumber {
		n.learn(frame)
	}
	pkt := stack.NewPacketBuffer(stack.PacketBufferOptions{Payload: buffer.MakeWithData(frame)})
	defer pkt.DecRef()
	if _, ok := pkt.LinkHeader().Consume(header.EthernetMinimumSize); !ok {
		return
	}
	switch dst := eth.DestinationAddress(); {
	case dst == header.EthernetBroadcastAddress:
		pkt.PktType = tcpip.PacketBroadcast
	case header.IsMulticastEthernetAddress(dst):
		pkt.PktType = tcpip.PacketMulticast
	case dst == n.LinkAddress():
		pkt.PktType = tcpip.PacketHost
	default:
		pkt.PktType = tcpip.PacketOtherHost
	}
	d.DeliverNetworkPacket(proto, pkt)
}

// learn records the IPv4 source -> Ethernet source binding of an IPv4
// frame (see nic's comment).
func (n *nic) learn(frame []byte) {
	const ipSrc = header.EthernetMinimumSize + 12 // RFC 791 §3.1
	ip4 := frame[header.EthernetMinimumSize:]
	if len(ip4) < header.IPv4MinimumSize || ip4[0]>>4 != 4 {
		return
	}
	// Learn only from a header whose checksum holds (RFC 791 §3.1), so
	// that a corrupted source address teaches nothing.
	ihl := int(ip4[0]&0xf) * 4
	if ihl < header.IPv4MinimumSize || ihl > len(ip4) || checksum.Checksum(ip4[:ihl]) != 0 {
		return
	}
	var mac [6]byte
	copy(mac[:], frame[6:12])
	if mac[0]&1 != 0 || mac == ([6]byte{}) {
		return // a multicast or zero source is no host's address
	}
	ip := netip.AddrFrom4([4]byte(frame[ipSrc : ipSrc+4]))
	if !ip.IsGlobalUnicast() && !ip.IsPrivate() && !ip.IsLinkLocalUnicast() {
		return
	}
	if n.st == nil || !n.subnet.IsValid() {
		return
	}
	if !n.subnet.Contains(ip) {
		if !n.gateway.IsValid() {
			return
		}
		ip = n.gateway // routed to us: the frame's sender is the router
	}
	if ip == n.subnet.Addr() || ip == broadcast(n.subnet) {
		return // our own address, or the subnet's broadcast: never a neighbor
	}
	key := ip.As4()
	n.mu.Lock()
	old, known := n.learned[key]
	if known && old == mac || !known && len(n.learned) >= maxLearned {
		n.mu.Unlock()
		return
	}
	n.learned[key] = mac
	n.counters.learned++
	n.mu.Unlock()
	// Outside n.mu: gVisor may call back into the NIC (a queued packet
	// waiting for this neighbor is written at once).
	_ = n.st.AddStaticNeighbor(n.id, ipv4.ProtocolNumber, tcpip.AddrFrom4(key), tcpip.LinkAddress(mac[:]))
}

// broadcast returns p's directed broadcast address.
func broadcast(p netip.Prefix) netip.Addr {
	a := p.Masked().Addr().As4()
	host := ^uint32(0) >> p.Bits()
	if p.Bits() >= 32 {
		host = 0
	}
	for i := range 4 {
		a[i] |= byte(host >> (24 - 8*i))
	}
	return netip.AddrFrom4(a)
}
