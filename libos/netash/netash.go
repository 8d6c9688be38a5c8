// Package netash is the library OS's application-specific handlers for
// the hot paths of its network stack: programs in Exo's bytecode (package
// ash) that the kernel runs on a frame as it arrives, which answer it in
// the kernel without waking the environment (Wallach et al., "ASHs",
// SIGCOMM'96). Each handler checks everything it relies on, answers only
// what it fully understands, and passes anything else to the
// environment's ring (ash.RetPass), where the stack decides.
//
// The handlers verify the checksums of what they answer while they build
// the reply (integrated layer processing), and never answer a frame with
// a bad one. The package is plain Go: the programs are built and tested on
// the host.
package netash

import (
	"encoding/binary"
	"fmt"

	"github.com/exo-os/exo/ash"
	"github.com/exo-os/exo/libos/net/vector"
)

// Frame offsets (Ethernet II, IPv4 without options).
const (
	offEthDst  = 0
	offEthSrc  = 6
	offEthType = 12
	offIP      = 14
	offIPLen   = offIP + 2
	offIPProto = offIP + 9
	offIPSrc   = offIP + 12
	offIPDst   = offIP + 16
	offL4      = offIP + 20
	// minIPFrame is the Ethernet and IPv4 headers and 8 bytes: an ICMP
	// echo or UDP header.
	minIPFrame = offL4 + 8
	// maxIPLen is the largest IPv4 packet the reply buffer holds.
	maxIPLen = ash.DefaultReplySize - offIP
)

// ipHeader emits the checks every IPv4 handler starts with: R6 and R7 the
// packet, R8 the reply buffer, R9 the frame length; an IPv4 header of 20
// bytes with protocol proto; R2 the IP total length, at least minL4 bytes
// of payload and no more than the frame holds. The whole IP packet is
// then copied to the reply buffer (with the Ethernet header), and R9 is
// set to the reply's length. Anything else jumps to "pass".
func ipHeader(b *ash.Builder, proto int32, minL4 int32) {
	b.LoadPacketPointers(ash.R6, ash.R7)
	b.LoadContext(ash.R8, ash.CtxReply)
	b.MovReg(ash.R9, ash.R7).ALUReg(ash.ALUSub, ash.R9, ash.R6)
	b.JumpIf(ash.JumpGT, ash.R9, ash.DefaultReplySize, "pass")
	b.JumpIf(ash.JumpLT, ash.R9, minIPFrame, "pass")
	b.MovReg(ash.R2, ash.R6).ALU(ash.ALUAdd, ash.R2, minIPFrame).JumpIfReg(ash.JumpGT, ash.R2, ash.R7, "pass")
	b.Load(ash.SizeH, ash.R2, ash.R6, offEthType).JumpIf(ash.JumpNE, ash.R2, 0x0008, "pass") // 0x0800, big-endian
	b.Load(ash.SizeB, ash.R2, ash.R6, offIP).JumpIf(ash.JumpNE, ash.R2, 0x45, "pass")
	b.Load(ash.SizeB, ash.R2, ash.R6, offIPProto).JumpIf(ash.JumpNE, ash.R2, proto, "pass")
	// Fragments are the stack's: flags MF or a fragment offset.
	b.Load(ash.SizeH, ash.R2, ash.R6, offIP+6).ToBE(ash.R2, 16)
	b.ALU(ash.ALUAnd, ash.R2, 0x3fff).JumpIf(ash.JumpNE, ash.R2, 0, "pass")
	b.Load(ash.SizeH, ash.R2, ash.R6, offIPLen).ToBE(ash.R2, 16)
	b.JumpIf(ash.JumpLT, ash.R2, 20+minL4, "pass")
	b.JumpIf(ash.JumpGT, ash.R2, maxIPLen, "pass")
	// The reply is the IP packet and its Ethernet header, without any
	// padding the frame carried.
	b.MovReg(ash.R3, ash.R2).ALU(ash.ALUAdd, ash.R3, offIP)
	b.JumpIfReg(ash.JumpGT, ash.R3, ash.R9, "pass")
	b.MovReg(ash.R9, ash.R3)
	b.Mov(ash.R1, 0).MovReg(ash.R2, ash.R8).Call(ash.HelperPacketCopy) // pkt_copy(0, reply, R3)
	b.JumpIf(ash.JumpNE, ash.R0, 0, "pass")
}

// swapAddresses emits the reply's Ethernet and IP address swap, from the
// packet into the reply buffer. The IPv4 header checksum, and the UDP and
// TCP checksums, are sums of 16-bit words and do not change.
func swapAddresses(b *ash.Builder) {
	b.Load(ash.SizeW, ash.R2, ash.R6, offEthSrc).Store(ash.SizeW, ash.R8, offEthDst, ash.R2)
	b.Load(ash.SizeH, ash.R2, ash.R6, offEthSrc+4).Store(ash.SizeH, ash.R8, offEthDst+4, ash.R2)
	b.Load(ash.SizeW, ash.R2, ash.R6, offEthDst).Store(ash.SizeW, ash.R8, offEthSrc, ash.R2)
	b.Load(ash.SizeH, ash.R2, ash.R6, offEthDst+4).Store(ash.SizeH, ash.R8, offEthSrc+4, ash.R2)
	b.Load(ash.SizeW, ash.R2, ash.R6, offIPSrc).Store(ash.SizeW, ash.R8, offIPDst, ash.R2)
	b.Load(ash.SizeW, ash.R2, ash.R6, offIPDst).Store(ash.SizeW, ash.R8, offIPSrc, ash.R2)
}

// ICMPEcho returns a handler that answers ICMP echo requests (RFC 792)
// with a correct ICMP checksum: it verifies the request's checksum over
// the whole message, swaps the addresses, sets the type to echo reply and
// updates the checksum for that one word (RFC 1624).
func ICMPEcho() []ash.Instruction {
	b := ash.NewBuilder()
	ipHeader(b, 1, 8)
	b.Load(ash.SizeB, ash.R2, ash.R6, offL4).JumpIf(ash.JumpNE, ash.R2, 8, "pass")   // echo request
	b.Load(ash.SizeB, ash.R2, ash.R6, offL4+1).JumpIf(ash.JumpNE, ash.R2, 0, "pass") // code 0
	// The message's checksum, over the copy: R9 - 34 bytes at reply+34.
	b.MovReg(ash.R1, ash.R8).ALU(ash.ALUAdd, ash.R1, offL4)
	b.MovReg(ash.R2, ash.R9).ALU(ash.ALUSub, ash.R2, offL4)
	b.JumpIf(ash.JumpGT, ash.R2, maxIPLen-20, "pass") // bounds the verifier can see
	b.Mov(ash.R3, 0).Call(ash.HelperCsum)
	b.JumpIf(ash.JumpNE, ash.R0, 0, "pass")
	swapAddresses(b)
	b.StoreImm(ash.SizeB, ash.R8, offL4, 0) // echo reply
	b.Load(ash.SizeH, ash.R1, ash.R6, offL4+2).ToBE(ash.R1, 16)
	b.Mov(ash.R2, 0x0800).Mov(ash.R3, 0x0000).Call(ash.HelperCsumUpdate)
	b.ToBE(ash.R0, 16).Store(ash.SizeH, ash.R8, offL4+2, ash.R0)
	b.MovReg(ash.R1, ash.R9).Call(ash.HelperSendReply)
	b.Return(ash.RetConsumed)
	b.Label("pass")
	b.Return(ash.RetPass)
	return must(b)
}

// UDPEcho returns a handler that answers every UDP datagram with itself
// (the echo service, RFC 862), from the port it was sent to. It verifies
// the UDP length and, when the sender computed one, the checksum over the
// pseudo-header and datagram (RFC 768); swapping the addresses and ports
// leaves the checksum as it is.
func UDPEcho() []ash.Instruction {
	b := ash.NewBuilder()
	ipHeader(b, 17, 8)
	// UDP length must be the IP payload's.
	b.Load(ash.SizeH, ash.R2, ash.R6, offL4+4).ToBE(ash.R2, 16)
	b.MovReg(ash.R3, ash.R9).ALU(ash.ALUSub, ash.R3, offL4)
	b.JumpIfReg(ash.JumpNE, ash.R2, ash.R3, "pass")
	b.Load(ash.SizeH, ash.R2, ash.R6, offL4+6).JumpIf(ash.JumpEq, ash.R2, 0, "checked") // no checksum
	// Pseudo-header: source and destination addresses, protocol, length.
	b.Load(ash.SizeH, ash.R3, ash.R6, offIPSrc).ToBE(ash.R3, 16)
	for _, off := range []int16{offIPSrc + 2, offIPDst, offIPDst + 2} {
		b.Load(ash.SizeH, ash.R4, ash.R6, off).ToBE(ash.R4, 16).ALUReg(ash.ALUAdd, ash.R3, ash.R4)
	}
	b.ALU(ash.ALUAdd, ash.R3, 17)
	b.MovReg(ash.R2, ash.R9).ALU(ash.ALUSub, ash.R2, offL4)
	b.JumpIf(ash.JumpGT, ash.R2, maxIPLen-20, "pass")
	b.ALUReg(ash.ALUAdd, ash.R3, ash.R2)
	b.MovReg(ash.R1, ash.R8).ALU(ash.ALUAdd, ash.R1, offL4)
	b.Call(ash.HelperCsum)
	b.JumpIf(ash.JumpNE, ash.R0, 0, "pass")
	b.Label("checked")
	swapAddresses(b)
	b.Load(ash.SizeH, ash.R2, ash.R6, offL4).Store(ash.SizeH, ash.R8, offL4+2, ash.R2)
	b.Load(ash.SizeH, ash.R2, ash.R6, offL4+2).Store(ash.SizeH, ash.R8, offL4, ash.R2)
	b.MovReg(ash.R1, ash.R9).Call(ash.HelperSendReply)
	b.Return(ash.RetConsumed)
	b.Label("pass")
	b.Return(ash.RetPass)
	return must(b)
}

// ARP frame offsets (RFC 826, Ethernet and IPv4).
const (
	offARP    = 14
	offARPOp  = offARP + 6
	offARPSha = offARP + 8
	offARPSpa = offARP + 14
	offARPTha = offARP + 18
	offARPTpa = offARP + 24
	arpEnd    = offARP + 28
	// minFrame is the shortest Ethernet frame without FCS: the ARP
	// reply is padded to it (with the zeroed reply buffer's bytes).
	minFrame = 60
)

// ARPReply returns a handler that answers ARP requests for ip with mac,
// the machine's addresses (RFC 826): exactly the requests for ip, from a
// frame that claims an Ethernet/IPv4 ARP. Other ARP frames (replies to
// the stack's own requests) pass to the ring.
func ARPReply(mac [6]byte, ip [4]byte) []ash.Instruction {
	le := binary.LittleEndian
	b := ash.NewBuilder()
	b.LoadPacketPointers(ash.R6, ash.R7)
	b.LoadContext(ash.R8, ash.CtxReply)
	b.MovReg(ash.R2, ash.R6).ALU(ash.ALUAdd, ash.R2, arpEnd).JumpIfReg(ash.JumpGT, ash.R2, ash.R7, "pass")
	for _, c := range []struct {
		size ash.Size
		off  int16
		v    int32
	}{
		{ash.SizeH, offEthType, 0x0608}, // ethertype 0x0806
		{ash.SizeH, offARP, 0x0100},     // hardware type 1
		{ash.SizeH, offARP + 2, 0x0008}, // protocol 0x0800
		{ash.SizeH, offARP + 4, 0x0406}, // lengths 6 and 4
		{ash.SizeH, offARPOp, 0x0100},   // request
		{ash.SizeW, offARPTpa, int32(le.Uint32(ip[:]))},
	} {
		b.Load(c.size, ash.R2, ash.R6, c.off)
		if c.size == ash.SizeW {
			// A 32-bit load is zero-extended; compare as 32 bits.
			b.JumpIf32(ash.JumpNE, ash.R2, c.v, "pass")
		} else {
			b.JumpIf(ash.JumpNE, ash.R2, c.v, "pass")
		}
	}
	// Ethernet: to the requester, from mac.
	b.Load(ash.SizeW, ash.R2, ash.R6, offARPSha).Store(ash.SizeW, ash.R8, offEthDst, ash.R2)
	b.Load(ash.SizeH, ash.R2, ash.R6, offARPSha+4).Store(ash.SizeH, ash.R8, offEthDst+4, ash.R2)
	storeMAC(b, offEthSrc, mac)
	b.StoreImm(ash.SizeH, ash.R8, offEthType, 0x0608)
	b.StoreImm(ash.SizeH, ash.R8, offARP, 0x0100)
	b.StoreImm(ash.SizeH, ash.R8, offARP+2, 0x0008)
	b.StoreImm(ash.SizeH, ash.R8, offARP+4, 0x0406)
	b.StoreImm(ash.SizeH, ash.R8, offARPOp, 0x0200) // reply
	storeMAC(b, offARPSha, mac)
	b.StoreImm(ash.SizeW, ash.R8, offARPSpa, int32(le.Uint32(ip[:])))
	b.Load(ash.SizeW, ash.R2, ash.R6, offARPSha).Store(ash.SizeW, ash.R8, offARPTha, ash.R2)
	b.Load(ash.SizeH, ash.R2, ash.R6, offARPSha+4).Store(ash.SizeH, ash.R8, offARPTha+4, ash.R2)
	b.Load(ash.SizeW, ash.R2, ash.R6, offARPSpa).Store(ash.SizeW, ash.R8, offARPTpa, ash.R2)
	b.Mov(ash.R1, minFrame).Call(ash.HelperSendReply)
	b.Return(ash.RetConsumed)
	b.Label("pass")
	b.Return(ash.RetPass)
	return must(b)
}

func storeMAC(b *ash.Builder, off int16, mac [6]byte) {
	le := binary.LittleEndian
	b.StoreImm(ash.SizeW, ash.R8, off, int32(le.Uint32(mac[0:4])))
	b.StoreImm(ash.SizeH, ash.R8, off+4, int32(le.Uint16(mac[4:6])))
}

// must builds b; the handlers are fixed programs, so a failure is a bug
// in this package, caught by its tests.
func must(b *ash.Builder) []ash.Instruction {
	insns, err := b.Build()
	if err != nil {
		panic("netash: " + err.Error())
	}
	return insns
}

// UDPVector returns a handler that delivers UDP datagrams to port by
// message vectoring: it copies each datagram's payload straight into the
// next free slot of a vector ring of slots slots (package
// libos/net/vector) in the binding's message buffer, which must be
// vector.Size(slots) bytes (vector.New's size; one too small for the
// last slot's largest payload does not verify), and
// returns ash.RetWake, so that the environment reads the payload where it
// lies, woken without a copy to its receive ring.
//
// It takes an IPv4 datagram without IP options, not a fragment, with a
// correct IP header checksum (RFC 791), to port, a UDP length equal to
// the IP payload's (RFC 768), a payload of at most vector.MaxPayload
// bytes, and a free slot. The UDP checksum is verified during the copy
// (pkt_copy_csum, seeded with the pseudo-header and UDP header sum); a
// datagram without one (checksum 0) is accepted. Only then are the slot's
// header and the producer index written. Anything else is passed to the
// ring (ash.RetPass), where the stack handles it: a bad checksum is
// counted there; a full ring is counted in the header's Full too.
//
// UDPVector panics if slots is not a power of two from 1 to
// vector.MaxSlots.
func UDPVector(port uint16, slots int) []ash.Instruction {
	if slots <= 0 || slots > vector.MaxSlots || slots&(slots-1) != 0 {
		panic(fmt.Sprintf("netash: UDPVector: %d slots: want a power of two from 1 to %d", slots, vector.MaxSlots))
	}
	const (
		offUDPLen = offL4 + 4
		offUDPSum = offL4 + 6
		offData   = offL4 + 8
	)
	b := ash.NewBuilder()
	b.LoadPacketPointers(ash.R6, ash.R7)
	b.LoadContext(ash.R8, ash.CtxMsg)
	b.MovReg(ash.R9, ash.R7).ALUReg(ash.ALUSub, ash.R9, ash.R6) // R9: the frame's length
	b.MovReg(ash.R2, ash.R6).ALU(ash.ALUAdd, ash.R2, minIPFrame).JumpIfReg(ash.JumpGT, ash.R2, ash.R7, "pass")
	b.Load(ash.SizeH, ash.R2, ash.R6, offEthType).JumpIf(ash.JumpNE, ash.R2, 0x0008, "pass") // 0x0800, big-endian
	b.Load(ash.SizeB, ash.R2, ash.R6, offIP).JumpIf(ash.JumpNE, ash.R2, 0x45, "pass")        // no options
	b.Load(ash.SizeB, ash.R2, ash.R6, offIPProto).JumpIf(ash.JumpNE, ash.R2, 17, "pass")
	// Fragments are the stack's: flags MF or a fragment offset.
	b.Load(ash.SizeH, ash.R2, ash.R6, offIP+6).ToBE(ash.R2, 16)
	b.ALU(ash.ALUAnd, ash.R2, 0x3fff).JumpIf(ash.JumpNE, ash.R2, 0, "pass")
	b.Load(ash.SizeH, ash.R2, ash.R6, offL4+2).JumpIf(ash.JumpNE, ash.R2, int32(port>>8|port<<8), "pass")
	// The IP header checksum (the kernel's demultiplexer checks it too;
	// the handler relies on nothing it has not seen).
	b.MovReg(ash.R1, ash.R6).ALU(ash.ALUAdd, ash.R1, offIP).Mov(ash.R2, 20).Mov(ash.R3, 0).Call(ash.HelperCsum)
	b.JumpIf(ash.JumpNE, ash.R0, 0, "pass")
	// Lengths: the IP packet within the frame (Ethernet padding after it
	// is allowed), the UDP length its payload's, the data a slot's.
	b.Load(ash.SizeH, ash.R2, ash.R6, offIPLen).ToBE(ash.R2, 16)
	b.MovReg(ash.R3, ash.R2).ALU(ash.ALUAdd, ash.R3, offIP).JumpIfReg(ash.JumpGT, ash.R3, ash.R9, "pass")
	b.Load(ash.SizeH, ash.R4, ash.R6, offUDPLen).ToBE(ash.R4, 16)
	b.ALU(ash.ALUSub, ash.R2, 20).JumpIfReg(ash.JumpNE, ash.R4, ash.R2, "pass")
	b.JumpIf(ash.JumpLT, ash.R4, 8, "pass")
	b.JumpIf(ash.JumpGT, ash.R4, 8+vector.MaxPayload, "pass")
	b.MovReg(ash.R5, ash.R4).ALU(ash.ALUSub, ash.R5, 8) // R5: the payload's length
	// A free slot: Prod - Cons < slots, in 32 bits.
	b.Load(ash.SizeW, ash.R1, ash.R8, vector.OffProd)
	b.Load(ash.SizeW, ash.R2, ash.R8, vector.OffCons)
	b.MovReg(ash.R3, ash.R1).ALU32Reg(ash.ALUSub, ash.R3, ash.R2)
	b.JumpIf(ash.JumpGE, ash.R3, int32(slots), "full")
	b.MovReg(ash.R9, ash.R1).ALU(ash.ALUAdd, ash.R9, 1) // R9: the next Prod
	b.MovReg(ash.R3, ash.R1).ALU(ash.ALUAnd, ash.R3, int32(slots-1)).ALU(ash.ALULsh, ash.R3, 11)
	b.MovReg(ash.R7, ash.R8).ALU(ash.ALUAdd, ash.R7, vector.HeaderSize).ALUReg(ash.ALUAdd, ash.R7, ash.R3) // R7: the slot
	// The slot's header, published only with Prod.
	b.Store(ash.SizeH, ash.R7, vector.SlotOffLen, ash.R5)
	b.Load(ash.SizeH, ash.R2, ash.R6, offL4).Store(ash.SizeH, ash.R7, vector.SlotOffPort, ash.R2)
	b.Load(ash.SizeW, ash.R2, ash.R6, offIPSrc).Store(ash.SizeW, ash.R7, vector.SlotOffAddr, ash.R2)
	b.StoreImm(ash.SizeDW, ash.R7, 8, 0)
	// The seed: the pseudo-header (source, destination, protocol, UDP
	// length) and the UDP header (ports, length, checksum).
	b.Mov(ash.R4, 17)
	for _, off := range []int16{offIPSrc, offIPSrc + 2, offIPDst, offIPDst + 2, offL4, offL4 + 2, offUDPLen, offUDPLen, offUDPSum} {
		b.Load(ash.SizeH, ash.R2, ash.R6, off).ToBE(ash.R2, 16).ALUReg(ash.ALUAdd, ash.R4, ash.R2)
	}
	b.Mov(ash.R1, offData).MovReg(ash.R2, ash.R7).ALU(ash.ALUAdd, ash.R2, vector.SlotOffPayload).MovReg(ash.R3, ash.R5)
	b.Call(ash.HelperPacketCopyCsum)
	b.JumpIf(ash.JumpGT, ash.R0, 0xffff, "pass") // the copy failed
	b.Load(ash.SizeH, ash.R2, ash.R6, offUDPSum).JumpIf(ash.JumpEq, ash.R2, 0, "publish")
	b.JumpIf(ash.JumpNE, ash.R0, 0, "pass") // a bad checksum: the stack counts it
	b.Label("publish")
	b.Store(ash.SizeW, ash.R8, vector.OffProd, ash.R9)
	b.Return(ash.RetWake)
	b.Label("full")
	b.Load(ash.SizeW, ash.R2, ash.R8, vector.OffFull).ALU(ash.ALUAdd, ash.R2, 1).Store(ash.SizeW, ash.R8, vector.OffFull, ash.R2)
	b.Label("pass")
	b.Return(ash.RetPass)
	return must(b)
}
