package kernel

import (
	"encoding/binary"

	"github.com/exo-os/exo/ash"
	"github.com/exo-os/exo/caps"
	"github.com/exo-os/exo/kernel/abi"
	"github.com/exo-os/exo/kernel/demux"
	"github.com/exo-os/exo/kernel/manifest"
)

// The network path (docs/NETWORK.md). A frame is taken from the NIC when
// its interrupt is served, whoever holds the CPU (interrupt.go); it is
// named in the port namespace (demux.Classify), given to the one binding
// whose guard covers the name, run through that binding's filter and
// handler in the kernel, and, if the handler passes it (or there is
// none), copied into the binding's environment's receive ring; a handler
// that returns ash.RetWake has delivered it itself, and the environment
// is woken without a copy. Nothing
// on the way allocates. A handler's reply is sent at once, if its source
// is the binding's own to claim.

// NIC is a network interface (board.NIC is the same interface).
type NIC interface {
	// MAC returns the interface's Ethernet address.
	MAC() [6]byte
	// Receive returns the next received frame, or nil; it stays valid
	// until Release.
	Receive() []byte
	// Release gives the last received frame's buffer back to the device.
	Release()
	// Transmit copies frame into a transmit buffer and sends it; it fails
	// when the frame's length is out of range or the queue is full.
	Transmit(frame []byte) error
	// Interrupt acknowledges the device's interrupt.
	Interrupt()
}

// maxNetBindings bounds the bindings on the machine; handles are
// 1..maxNetBindings.
const maxNetBindings = 256

// maxRxPass bounds the frames one pass of the receive path takes from the
// NIC with interrupts masked, and rxPassSteps the bytecode instructions
// its filters and handlers may run (a frame that starts within the budget
// finishes: at most 2·abi.MaxNetProgram more); more wait for the next
// pass (the scheduler makes one at every decision while any are left, and
// every device interrupt makes one).
const (
	maxRxPass   = 32
	rxPassSteps = 2048
)

// netBinding is one bound guard.
type netBinding struct {
	env    *Env
	lo, hi uint64
	table  int
	send   bool // the guard capability had the send right
	filter *ash.Program
	ash    *ash.Program
	msg    []byte // the handler's message buffer, in the env's memory
	stats  abi.NetStats
}

// netRing is an environment's receive ring, in its own memory.
type netRing struct {
	mem     []byte // header and slots, viewed through Phys.Bytes
	slots   uint32
	head    uint32
	dropped uint64
}

// netState is the kernel's network state: the NIC, the machine's
// addresses, the guard index and the bindings.
type netState struct {
	nic     NIC
	mac     [6]byte
	local   demux.Local
	prefix  uint8
	index   *demux.Index
	binds   [maxNetBindings + 1]netBinding // by handle; 0 unused
	machine *ash.Machine
	reply   [abi.MaxFrame]byte
	pending bool // frames may be left in the NIC after a bounded pass
	// counter reads instructions retired, if the platform can (nil
	// otherwise); cur is the binding deliver gave the frame to.
	counter instretCounter
	cur     *netBinding

	// Received counts frames taken from the NIC; Unclaimed those no
	// guard covered (or malformed, or for another address).
	Received, Unclaimed uint64
}

// instretCounter is what a Platform implements if it can count the
// instructions the hart retires.
type instretCounter interface{ Instret() uint64 }

// initNet sets up the network from the configuration: the machine's
// address from the manifest, the NIC if the board has one.
func (k *Kernel) initNet(nic NIC, n *manifest.Net) {
	k.net.nic = nic
	if nic != nil {
		k.net.mac = nic.MAC()
	}
	if n.Addr.IsValid() {
		k.net.local.Addr = n.Addr.As4()
		k.net.prefix = uint8(n.PrefixLen)
		host := ^uint32(0) >> n.PrefixLen
		bc := binary.BigEndian.Uint32(k.net.local.Addr[:]) | host
		binary.BigEndian.PutUint32(k.net.local.Broadcast[:], bc)
	}
	k.net.index = demux.New()
	k.net.machine = ash.NewMachine()
	k.net.counter, _ = k.plat.(instretCounter)
}

// netReceive takes up to maxRxPass frames from the NIC and delivers each.
func (k *Kernel) netReceive() {
	n := &k.net
	if n.nic == nil {
		return
	}
	var now uint64
	steps := 0
	for i := 0; i < maxRxPass && steps < rxPassSteps; i++ {
		f := n.nic.Receive()
		if f == nil {
			n.pending = false
			return
		}
		if now == 0 {
			now = k.plat.Now()
		}
		n.Received++
		if n.counter == nil {
			steps += k.deliver(f, now)
			n.nic.Release()
			continue
		}
		// The first Receive's cost is not counted: it is the look that
		// found the frame, shared by a pass's frames.
		t0 := n.counter.Instret()
		n.cur = nil
		steps += k.deliver(f, now)
		n.nic.Release()
		if b := n.cur; b != nil {
			b.stats.KernelInsns += n.counter.Instret() - t0
		}
	}
	n.pending = true
}

// deliver is one frame's way through the kernel. It returns the bytecode
// instructions the frame's filter and handler ran.
func (k *Kernel) deliver(f []byte, now uint64) (steps int) {
	n := &k.net
	ti, name, whole, ok := demux.Classify(f, &n.local)
	if !ok || len(f) > abi.MaxFrame {
		n.Unclaimed++
		return 0
	}
	id := n.index.Lookup(ti, name, whole)
	if id == 0 {
		n.Unclaimed++
		return 0
	}
	b := &n.binds[id]
	if b.env == nil || b.env.finished() {
		n.Unclaimed++
		return 0
	}
	b.stats.Frames++
	n.cur = b
	in := ash.Input{Packet: f}
	if b.filter != nil {
		res, err := n.machine.Run(b.filter, &in)
		steps += res.Steps
		b.stats.Insns += uint64(res.Steps)
		if err != nil || res.R0 == 0 {
			b.stats.Rejected++
			return steps
		}
	}
	if b.ash != nil {
		// A fresh reply buffer every run: no handler may see another's
		// bytes, its own earlier runs' included.
		clear(n.reply[:])
		in.Reply, in.Msg = n.reply[:], b.msg
		res, err := n.machine.Run(b.ash, &in)
		steps += res.Steps
		b.stats.Runs++
		b.stats.Insns += uint64(res.Steps)
		if err != nil {
			b.stats.Faults++
		} else {
			if res.ReplyLen >= 0 {
				k.sendReply(b, n.reply[:res.ReplyLen])
			}
			switch res.R0 {
			case ash.RetConsumed:
				b.stats.Consumed++
				return steps
			case ash.RetWake:
				// The handler delivered the data itself (into its
				// message buffer): nothing goes to the ring, but the
				// environment is told as if it had (netWaitOver).
				b.stats.Vectored++
				b.env.notified = true
				return steps
			}
		}
		b.stats.Passed++
	}
	k.toRing(b, uint32(id), f, now)
	return steps
}

// sendReply transmits a handler's reply if its source is the machine's
// own and inside the binding's guard.
func (k *Kernel) sendReply(b *netBinding, f []byte) {
	n := &k.net
	sti, name, whole, ok := demux.Source(f, n.mac, &n.local)
	if !ok || !demux.Claims(b.table, b.lo, b.hi, sti, name, whole) {
		b.stats.ReplyRefused++
		return
	}
	if err := n.nic.Transmit(f); err != nil {
		b.stats.ReplyDropped++
		return
	}
	b.stats.Replies++
}

// toRing copies frame f into the receive ring of b's environment, or
// drops and counts it if the ring is full (by the kernel's head and the
// tail the environment wrote, whatever it wrote) or absent.
func (k *Kernel) toRing(b *netBinding, id uint32, f []byte, now uint64) {
	e := b.env
	r := &e.ring
	if r.slots == 0 {
		b.stats.RingFull++
		return
	}
	le := binary.LittleEndian
	tail := le.Uint32(r.mem[4:])
	if r.head-tail >= r.slots {
		r.dropped++
		b.stats.RingFull++
	} else {
		slot := r.mem[abi.RingHeaderSize+int(r.head%r.slots)*abi.RingSlotSize:][:abi.RingSlotSize]
		le.PutUint32(slot[0:], uint32(len(f)))
		le.PutUint32(slot[4:], id)
		le.PutUint64(slot[8:], now)
		copy(slot[abi.NetSlotHeader:], f)
		r.head++
		b.stats.Delivered++
	}
	r.publish()
}

// publish rewrites the kernel's fields of the ring header from its own
// copy, whatever the environment wrote over them.
func (r *netRing) publish() {
	le := binary.LittleEndian
	le.PutUint32(r.mem[0:], r.head)
	le.PutUint32(r.mem[8:], r.slots)
	le.PutUint32(r.mem[12:], abi.RingSlotSize)
	le.PutUint64(r.mem[16:], r.dropped)
}

// ringCount returns the frames waiting in e's ring, as its tail says
// (a tail beyond the head reads as a full ring).
func (r *netRing) count() uint32 {
	if r.slots == 0 {
		return 0
	}
	return min(r.head-binary.LittleEndian.Uint32(r.mem[4:]), r.slots)
}

// rootPort is the rights of the root capabilities for an environment's
// guards (roots.go lists them after its slots).
const rootPort = caps.PortReceive | caps.PortSend | caps.PortRevoke
