package abi

import "github.com/exo-os/exo/caps"

// The network interface (docs/NETWORK.md). The kernel owns the NIC and
// demultiplexes; the protocols are the environments' own. An environment
// holds port capabilities (caps.KindPort) for slices of the packet
// namespace, the guards, which the manifest's net lines give it at boot.
// It binds a guard with SysNetBind, optionally narrowing it with a
// verified filter program and answering in the kernel with a verified
// application-specific handler (ASH); frames the handler passes, or every
// frame when there is none, go to the environment's receive ring
// (SysNetRing), where SysNetWait waits for them (and for a handler that
// delivered a frame's data itself and returned RetWake). SysNetSend
// transmits a frame whose source the environment's bound guards allow.

// Network system calls.
const (
	// SysNetBind binds the guard the NetBind at user address a0 names,
	// and returns the binding's handle. The guard capability must cover
	// [Lo, Hi] with the receive right; the names must lie in one guard
	// table (GuardTables) and overlap no guard already bound (ErrBusy).
	// Programs that do not verify are refused (ErrProgram), and so are
	// bindings beyond MaxNetBinds for the environment (ErrNoMem).
	SysNetBind = 13
	// SysNetUnbind undoes binding a0, which the caller made.
	SysNetUnbind = 14
	// SysNetRing registers the caller's receive ring: a1 bytes at user
	// address a0 (page aligned, NetRingBytes(n) for a power of two n up
	// to MaxRingSlots), inside one physically contiguous run of the
	// caller's own memory (Startup.Runs), shown the page capability at
	// a2 covering those pages with the write right. The kernel sets the
	// header (NetRing) and starts producing. a1 = 0 unregisters. A second
	// registration is refused (ErrExist).
	SysNetRing = 15
	// SysNetWait blocks until the caller's receive ring holds a frame,
	// one of its handlers has returned RetWake (ash.RetWake: it consumed
	// a frame and delivered the data itself, into its message buffer)
	// since the last SysNetWait returned, or the time counter reaches a0
	// ticks (0: no deadline), and returns the frames waiting in the ring
	// (0 at the deadline, and may be 0 after a RetWake: look in the
	// message buffers). Without a ring: ErrNotFound.
	SysNetWait = 16
	// SysNetSend transmits the a1-byte Ethernet frame (no FCS) at user
	// address a0. Its source must be the machine's own (the NIC's MAC,
	// and for IPv4 and ARP the machine's address) and its source name
	// (SourceName) inside a guard the caller has bound with the send
	// right; otherwise ErrCapRange and nothing is sent. A full transmit
	// queue is ErrAgain. Lengths outside [MinFrame, MaxFrame]: ErrTooBig
	// or ErrInval.
	SysNetSend = 17
	// SysNetStats copies binding a0's counters (NetStats) to user address
	// a1.
	SysNetStats = 18
)

// Network error codes.
const (
	// ErrBusy: the guard overlaps one another binding holds.
	ErrBusy = 14
	// ErrAgain: the transmit queue is full; try again.
	ErrAgain = 15
	// ErrProgram: the verifier refused the filter or handler program.
	ErrProgram = 16
)

// Frame sizes.
const (
	MinFrame = 14   // an Ethernet header
	MaxFrame = 1514 // 1500 bytes of payload, no VLAN tag, no FCS
)

// NetBind is what SysNetBind reads from the caller's memory.
type NetBind struct {
	// Guard is a port capability covering [Lo, Hi] with the receive
	// right. Its send right, if it has it, lets the binding's handler
	// and SysNetSend use the names as a source.
	Guard [caps.Size]byte
	// MsgCap is a page capability with the write right covering the
	// message buffer's pages (read only when MsgLen > 0).
	MsgCap [caps.Size]byte
	// Lo and Hi are the guard's names (caps.PortName): what the binding
	// receives.
	Lo, Hi uint64
	// Filter is the user address of FilterLen 8-byte instructions, a
	// program of type filter; FilterLen 0 accepts every frame of the
	// guard.
	Filter, FilterLen uint64
	// ASH is the user address of ASHLen instructions, a program of type
	// ash run on every frame the filter accepts; ASHLen 0 delivers every
	// such frame to the ring.
	ASH, ASHLen uint64
	// Msg is the user address of the handler's message buffer, MsgLen
	// bytes (up to MaxMsg) in one physically contiguous run of the
	// caller's own memory; 0 for none.
	Msg, MsgLen uint64
}

// Limits of the network calls.
const (
	// MaxNetBinds bounds the bindings one environment holds.
	MaxNetBinds = 8
	// MaxNetProgram bounds a bound program, in instruction slots.
	MaxNetProgram = 256
	// NetVerifySteps is the verifier's budget for a bound program, in
	// symbolically executed instructions (ash.Config.MaxSteps): the
	// kernel verifies with interrupts masked, so a program whose paths
	// need more is refused (ErrProgram) rather than verified for longer.
	NetVerifySteps = 16384
	// MaxMsg bounds a message buffer.
	MaxMsg = 64 << 10
	// MaxRingSlots bounds a receive ring.
	MaxRingSlots = 1024
	// RingSlotSize is the size of a ring slot: a NetSlot header and up
	// to MaxFrame bytes of frame.
	RingSlotSize = 2048
	// RingHeaderSize is the size of the ring header (NetRing).
	RingHeaderSize = 64
)

// NetRingBytes is the size of a ring of n slots.
func NetRingBytes(n int) uint64 { return RingHeaderSize + uint64(n)*RingSlotSize }

// NetRing is the header of a receive ring, at its start. The kernel
// produces at Head, the environment consumes at Tail; slot i%Slots holds
// frame i. The kernel keeps its own copy of everything but Tail: whatever
// the environment writes here changes nothing but its own view, and a
// Tail that is not within Slots of the kernel's head counts as a full
// ring (frames are dropped and counted, never written over unread ones).
type NetRing struct {
	// Head counts the frames the kernel has written (kernel-written).
	Head uint32
	// Tail counts the frames the environment has consumed (env-written).
	Tail uint32
	// Slots is the ring's size in slots, SlotSize RingSlotSize
	// (kernel-written at registration).
	Slots, SlotSize uint32
	// Dropped counts frames the kernel could not deliver because the
	// ring was full (kernel-written).
	Dropped uint64
	_       [40]byte
}

// NetSlot is the header of one ring slot; the frame follows it.
type NetSlot struct {
	// Len is the frame's length in bytes.
	Len uint32
	// Binding is the handle of the binding that delivered it.
	Binding uint32
	// Time is the time counter when the kernel took it from the NIC.
	Time uint64
}

// NetSlotHeader is the size of NetSlot.
const NetSlotHeader = 16

// NetStats are one binding's counters, as SysNetStats copies them.
type NetStats struct {
	// Frames matched the guard; Rejected of them the filter refused.
	Frames, Rejected uint64
	// Runs of the handler; Replies it sent; Consumed it handled without
	// waking the environment; Passed to the ring. Vectored (last, below)
	// counts the runs that returned RetWake.
	Runs, Replies, Consumed, Passed uint64
	// ReplyRefused: replies not sent because their source was not the
	// binding's to claim, or were malformed. ReplyDropped: replies the
	// transmit queue had no room for. Faults: runs the interpreter
	// stopped (a verifier bug), treated as a pass.
	ReplyRefused, ReplyDropped, Faults uint64
	// Delivered frames to the ring; RingFull dropped because the ring
	// was full or absent.
	Delivered, RingFull uint64
	// Insns executed by the filter and the handler.
	Insns uint64
	// KernelInsns is the hart's instructions retired while the kernel
	// handled this binding's frames, from taking each from the NIC to
	// giving its buffer back: classification, lookup, filter, handler,
	// reply, ring. Zero where the board cannot count them; on QEMU
	// meaningful only under -icount.
	KernelInsns uint64
	// Vectored: runs of the handler that returned RetWake (ash.RetWake):
	// it consumed the frame, having delivered the data itself into the
	// message buffer (message vectoring), and the environment was woken
	// without a copy to the ring.
	Vectored uint64
}

// Guard tables: the slices of the port namespace the kernel tracks, and
// how it names a received frame (the demultiplexing key). A guard lies in
// one table.
//
//	ARP:  PortName(0x0806, 0, oper)       oper: the ARP operation (1 request, 2 reply)
//	ICMP: PortName(0x0800, 1, type)       type: the ICMP type (8 echo request)
//	TCP:  PortName(0x0800, 6, port)       port: the destination port
//	UDP:  PortName(0x0800, 17, port)      port: the destination port
//
// A non-first IPv4 fragment carries no ports: it reaches only a guard
// over a whole table (every port). IPv4 frames to another address, other
// ethertypes and other IP protocols reach no one.
var GuardTables = [...]struct {
	Name   string
	Lo, Hi uint64
}{
	{"arp", caps.PortName(0x0806, 0, 0), caps.PortName(0x0806, 0, 0xffff)},
	{"icmp", caps.PortName(0x0800, 1, 0), caps.PortName(0x0800, 1, 0xff)},
	{"tcp", caps.PortName(0x0800, 6, 0), caps.PortName(0x0800, 6, 0xffff)},
	{"udp", caps.PortName(0x0800, 17, 0), caps.PortName(0x0800, 17, 0xffff)},
}

// Net is the machine's network configuration, in the start-up block.
type Net struct {
	// MAC is the NIC's Ethernet address; all zero without a NIC.
	MAC [6]byte
	// PrefixLen is the length of the network prefix of Addr.
	PrefixLen uint8
	_         uint8
	// Addr is the machine's IPv4 address (manifest net address=).
	Addr [4]byte
	// Guards is how many of the environment's capabilities (at
	// CapList.Roots-Guards) are its guards from the manifest.
	Guards uint32
}
