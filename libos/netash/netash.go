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

	"github.com/exo-os/exo/ash"
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
