package kernel

import (
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/exo-os/exo/ash"
	"github.com/exo-os/exo/caps"
	"github.com/exo-os/exo/kernel/abi"
	"github.com/exo-os/exo/libos/netash"
)

// acceptAll is a filter that accepts every frame it is shown.
func acceptAll(t *testing.T) []ash.Instruction { return build(t, ash.NewBuilder().Return(1)) }

// TestNetLyingFilter: a filter that accepts everything still sees only
// its own guard's frames; a bystander's traffic goes to the bystander.
func TestNetLyingFilter(t *testing.T) {
	var nic *fakeNIC
	var h *harness
	h, nic = newNetHarness(t, map[string]program{
		"a": func(u *uenv) {
			_, e := u.bind(u.guard(udpName(7)), udpName(7), udpName(7), nil, nil, 0)
			require.Equal(t, uint64(abi.OK), e)
			_, e = u.ring()
			require.Equal(t, uint64(abi.OK), e)
			n, _ := u.ecall(abi.SysNetWait, 0)
			require.Equal(t, uint64(3), n, "the bystander got every frame for its port")
			u.ecall(abi.SysExit, 0)
		},
		"b": func(u *uenv) {
			// The liar: a whole-protocol TCP guard and a filter that says
			// yes to everything, and a UDP port of its own.
			for _, g := range [][2]uint64{{caps.PortName(0x0800, 6, 0), caps.PortName(0x0800, 6, 0xffff)}, {udpName(9), udpName(9)}} {
				_, e := u.bind(u.guard(g[0]), g[0], g[1], acceptAll(t), nil, 0)
				require.Equal(t, uint64(abi.OK), e)
			}
			_, e := u.ring()
			require.Equal(t, uint64(abi.OK), e)
			for i := 0; i < 3; i++ {
				nic.rx = append(nic.rx, udpFrame(1, 7, []byte{byte(i)}, false))
			}
			nic.rx = append(nic.rx, echoRequest(1, nil), udpFrame(1, 8, nil, false))
			u.interrupt()
			require.Equal(t, uint32(0), u.ringHeader().Head, "the liar received nothing")
			u.ecall(abi.SysExit, 0)
		},
	}, netManifest)
	require.Zero(t, h.run())
	require.Equal(t, uint64(2), h.k.net.Unclaimed, "echo (a did not bind it) and port 8 reach no one")
}

// TestNetHostileRing: whatever an environment writes into its ring's
// header, the kernel writes only its own slots, never past the ring, and
// counts what it cannot deliver.
func TestNetHostileRing(t *testing.T) {
	var nic *fakeNIC
	var h *harness
	h, nic = newNetHarness(t, map[string]program{
		"a": func(u *uenv) {
			id, e := u.bind(u.guard(udpName(7)), udpName(7), udpName(7), nil, nil, 0)
			require.Equal(t, uint64(abi.OK), e)
			_, e = u.ring()
			require.Equal(t, uint64(abi.OK), e)
			_, e = u.ring()
			require.Equal(t, uint64(abi.ErrExist), e, "one ring per environment")
			guardVA := ringVA + abi.NetRingBytes(ringSlots)
			u.store(guardVA, []byte("after the ring"))
			send := func(n int) {
				for i := 0; i < n; i++ {
					nic.rx = append(nic.rx, udpFrame(1, 7, []byte{byte(i)}, false))
				}
				u.interrupt()
			}
			// Fill it, then one more: dropped and counted.
			send(ringSlots + 1)
			hd := u.ringHeader()
			require.Equal(t, uint32(ringSlots), hd.Head)
			require.Equal(t, uint64(1), hd.Dropped)
			// The env lies: slots and head rewritten, a tail ahead of the
			// head, then a tail far behind.
			for _, tail := range []uint32{ringSlots + 100, 0xffffffff, 0} {
				u.store(ringVA, make([]byte, 16))
				u.store(ringVA+4, binary.LittleEndian.AppendUint32(nil, tail))
				send(1)
			}
			hd = u.ringHeader()
			require.Equal(t, uint32(ringSlots), hd.Head, "the kernel keeps its own head")
			require.Equal(t, uint64(4), hd.Dropped)
			require.Equal(t, "after the ring", string(u.load(guardVA, 14)), "nothing written past the ring")
			s := u.stats(id)
			require.Equal(t, uint64(ringSlots), s.Delivered)
			require.Equal(t, uint64(4), s.RingFull)
			// Consuming frees the ring again.
			u.store(ringVA+4, binary.LittleEndian.AppendUint32(nil, ringSlots))
			send(1)
			require.Equal(t, uint32(ringSlots+1), u.ringHeader().Head)

			// Rings that cannot be: unaligned, not a power of two, too
			// big, outside the env's memory.
			_, e = u.ecall(abi.SysNetRing, 0, 0, 0)
			require.Equal(t, uint64(abi.OK), e, "unregister")
			c := u.capFor(caps.KindPage, u.ramPPN(ringVA))
			u.store(capVA, c[:])
			for _, tc := range []struct {
				name     string
				va, size uint64
				want     uint64
			}{
				{"unaligned", ringVA + 8, abi.NetRingBytes(4), abi.ErrInval},
				{"three slots", ringVA, abi.NetRingBytes(3), abi.ErrInval},
				{"odd size", ringVA, abi.NetRingBytes(4) + 1, abi.ErrInval},
				{"too big", ringVA, abi.NetRingBytes(abi.MaxRingSlots * 2), abi.ErrTooBig},
				{"below RAM", 0x5000, abi.NetRingBytes(1), abi.ErrInval},
				{"past RAM", abi.RAMStart + 8<<20 - 4096, abi.NetRingBytes(4), abi.ErrInval},
			} {
				_, e = u.ecall(abi.SysNetRing, tc.va, tc.size, capVA)
				require.Equal(t, tc.want, e, tc.name)
			}
			other := u.capFor(caps.KindPage, u.ramPPN(abi.RAMStart))
			weak, err := caps.Derive(other, caps.PageRead, u.ramPPN(ringVA), u.ramPPN(ringVA)+8)
			require.NoError(t, err)
			u.store(capVA, weak[:])
			_, e = u.ecall(abi.SysNetRing, ringVA, abi.NetRingBytes(4), capVA)
			require.Equal(t, uint64(abi.ErrCapRights), e, "a read-only page capability")
			u.ecall(abi.SysExit, 0)
		},
		"b": func(u *uenv) {
			_, e := u.ecall(abi.SysNetWait, 0)
			require.Equal(t, uint64(abi.ErrNotFound), e, "no ring")
			u.ecall(abi.SysExit, 0)
		},
	}, netManifest)
	require.Zero(t, h.run())
}

// TestNetSend: a frame goes out only with the machine's addresses and a
// source inside a guard bound with the send right.
func TestNetSend(t *testing.T) {
	var nic *fakeNIC
	var h *harness
	h, nic = newNetHarness(t, map[string]program{
		"a": func(u *uenv) {
			send := func(f []byte) uint64 {
				u.store(frameVA, f)
				_, e := u.ecall(abi.SysNetSend, frameVA, uint64(len(f)))
				return e
			}
			good := udpFrame(7, 4000, []byte("hi"), true)
			require.Equal(t, uint64(abi.ErrCapRange), send(good), "nothing bound yet")
			_, e := u.bind(u.guard(udpName(7)), udpName(7), udpName(7), nil, nil, 0)
			require.Equal(t, uint64(abi.OK), e)
			recvOnly, err := caps.Derive(u.guard(udpName(9000)), caps.PortReceive, udpName(9000), udpName(9000))
			require.NoError(t, err)
			_, e = u.bind(recvOnly, udpName(9000), udpName(9000), nil, nil, 0)
			require.Equal(t, uint64(abi.OK), e)
			_, e = u.bind(u.guard(echoName), echoName, echoName, nil, nil, 0)
			require.Equal(t, uint64(abi.OK), e)

			mod := func(f []byte, edit func(f []byte)) []byte { f = append([]byte(nil), f...); edit(f); return f }
			for _, tc := range []struct {
				name string
				f    []byte
				want uint64
			}{
				{"own port", good, abi.OK},
				{"echo reply under the echo guard", ipv4Frame(1, []byte{0, 0, 0, 0, 0, 0, 0, 0}, true), abi.OK},
				{"another port", udpFrame(8, 4000, nil, true), abi.ErrCapRange},
				{"a guard bound without the send right", udpFrame(9000, 4000, nil, true), abi.ErrCapRange},
				{"b's port", udpFrame(9, 4000, nil, true), abi.ErrCapRange},
				{"another MAC", mod(good, func(f []byte) { f[6] ^= 2 }), abi.ErrCapRange},
				{"another IP", mod(good, func(f []byte) { f[29] = 7 }), abi.ErrCapRange},
				{"tcp", ipv4Frame(6, make([]byte, 20), true), abi.ErrCapRange},
				{"arp without a binding", arpRequest(), abi.ErrCapRange},
				{"runt", good[:13], abi.ErrInval},
				{"oversized", make([]byte, abi.MaxFrame+1), abi.ErrTooBig},
			} {
				require.Equal(t, tc.want, send(tc.f), "%s", tc.name)
			}
			_, e = u.ecall(abi.SysNetSend, 0x10, 60)
			require.Equal(t, uint64(abi.ErrFault), e)
			require.Len(t, nic.tx, 2)
			require.Equal(t, good, nic.tx[0])
			nic.txFull = true
			require.Equal(t, uint64(abi.ErrAgain), send(good))
			nic.txFull = false
			u.ecall(abi.SysExit, 0)
		},
		"b": func(u *uenv) { u.ecall(abi.SysExit, 0) },
	}, netManifest)
	require.Zero(t, h.run())
}

// TestNetReplyClaims: a handler's reply that claims a port outside its
// guard, or another address, is not sent, and is counted.
func TestNetReplyClaims(t *testing.T) {
	var nic *fakeNIC
	var h *harness
	h, nic = newNetHarness(t, map[string]program{
		"a": func(u *uenv) {
			// A handler that echoes from the wrong port: the reply's
			// source port is the request's destination plus one.
			b := ash.NewBuilder()
			b.LoadPacketPointers(ash.R6, ash.R7).LoadContext(ash.R8, ash.CtxReply)
			b.MovReg(ash.R3, ash.R7).ALUReg(ash.ALUSub, ash.R3, ash.R6)
			b.JumpIf(ash.JumpGT, ash.R3, ash.DefaultReplySize, "out")
			b.MovReg(ash.R2, ash.R6).ALU(ash.ALUAdd, ash.R2, 42).JumpIfReg(ash.JumpGT, ash.R2, ash.R7, "out")
			b.Mov(ash.R1, 0).MovReg(ash.R2, ash.R8).Call(ash.HelperPacketCopy)
			b.Load(ash.SizeW, ash.R2, ash.R6, 6).Store(ash.SizeW, ash.R8, 0, ash.R2)
			b.Load(ash.SizeH, ash.R2, ash.R6, 10).Store(ash.SizeH, ash.R8, 4, ash.R2)
			b.Load(ash.SizeW, ash.R2, ash.R6, 0).Store(ash.SizeW, ash.R8, 6, ash.R2)
			b.Load(ash.SizeH, ash.R2, ash.R6, 4).Store(ash.SizeH, ash.R8, 10, ash.R2)
			b.Load(ash.SizeW, ash.R2, ash.R6, 26).Store(ash.SizeW, ash.R8, 30, ash.R2)
			b.Load(ash.SizeW, ash.R2, ash.R6, 30).Store(ash.SizeW, ash.R8, 26, ash.R2)
			b.StoreImm(ash.SizeH, ash.R8, 34, 0x0800) // source port 8, big-endian
			b.Mov(ash.R1, 42).Call(ash.HelperSendReply)
			b.Label("out").Return(ash.RetConsumed)
			id, e := u.bind(u.guard(udpName(7)), udpName(7), udpName(7), nil, build(t, b), 0)
			require.Equal(t, uint64(abi.OK), e)
			nic.rx = append(nic.rx, udpFrame(4000, 7, nil, false))
			u.interrupt()
			require.Empty(t, nic.tx)
			s := u.stats(id)
			require.Equal(t, uint64(1), s.ReplyRefused)
			require.Zero(t, s.Replies)

			// A full transmit queue drops a good reply and counts it.
			id2, e := u.bind(u.guard(echoName), echoName, echoName, nil, netash.ICMPEcho(), 0)
			require.Equal(t, uint64(abi.OK), e)
			nic.txFull = true
			nic.rx = append(nic.rx, echoRequest(1, nil))
			u.interrupt()
			require.Equal(t, uint64(1), u.stats(id2).ReplyDropped)
			nic.txFull = false
			u.ecall(abi.SysExit, 0)
		},
		"b": func(u *uenv) { u.ecall(abi.SysExit, 0) },
	}, netManifest)
	require.Zero(t, h.run())
}

// TestNetRevokeUnbinds: revoking a guard undoes every binding other
// environments made under it; each learns of the loss in its start-up
// block, frames for the names reach no one, and the revoker binds them
// afresh with its new root.
func TestNetRevokeUnbinds(t *testing.T) {
	var nic *fakeNIC
	var h *harness
	h, nic = newNetHarness(t, map[string]program{
		"a": func(u *uenv) {
			d, err := caps.Derive(u.guard(udpName(9000)), caps.PortReceive, udpName(9005), udpName(9005))
			require.NoError(t, err)
			child, e := u.spawn("c", 8<<20, 2, "", d)
			require.Equal(t, uint64(abi.OK), e)
			k := u.h.k
			for k.Env(uint32(child)).nnet == 0 {
				u.ecall(abi.SysYield)
			}
			nic.rx = append(nic.rx, udpFrame(1, 9005, nil, false))
			u.interrupt()
			require.Equal(t, uint32(1), k.Env(uint32(child)).ring.head, "the child's binding delivers")
			g := u.guard(udpName(9000))
			u.store(capVA, g[:])
			_, e = u.ecall(abi.SysRevoke, capVA, capVA+0x200)
			require.Equal(t, uint64(abi.OK), e)
			require.Zero(t, k.Env(uint32(child)).nnet, "unbound")
			nic.rx = append(nic.rx, udpFrame(1, 9005, nil, false))
			u.interrupt()
			require.Equal(t, uint32(1), k.Env(uint32(child)).ring.head, "the frame reached no one")
			_, e = u.bind(u.guard(udpName(9000)), udpName(9005), udpName(9005), nil, nil, 0)
			require.Equal(t, uint64(abi.OK), e, "the revoker's fresh root binds the names")
			for k.Env(uint32(child)) != nil && k.Env(uint32(child)).State() < Zombie {
				u.ecall(abi.SysYield)
			}
			u.ecall(abi.SysExit, 0)
		},
		"c": func(u *uenv) {
			_, e := u.ring()
			require.Equal(t, uint64(abi.OK), e)
			_, e = u.bind(u.guard(udpName(9005)), udpName(9005), udpName(9005), nil, nil, 0)
			require.Equal(t, uint64(abi.OK), e)
			lost := u.startup().LostCount
			for u.startup().LostCount == lost {
				u.ecall(abi.SysYield)
			}
			st := u.startup()
			require.Equal(t, abi.Lost{Kind: uint32(caps.KindPort), Name: udpName(9005), VA: udpName(9005)}, st.Lost[lost%abi.MaxLost])
			u.ecall(abi.SysExit, 0)
		},
	}, `exo-manifest v1
slots 4
env a mem=8M spare=24M spawn=yes
net address=198.18.0.2/24
net env=a guards=udp:9000-9009
`)
	require.Zero(t, h.run())
}

// TestNetReceiveAllocs drives the receive path as the interrupt does —
// classification, filter, handler, reply, ring — and counts allocations.
func TestNetReceiveAllocs(t *testing.T) {
	var nic *fakeNIC
	var h *harness
	frames := [][]byte{echoRequest(1, make([]byte, 56)), udpFrame(1, 9000, make([]byte, 100), false), udpFrame(1, 7, []byte("x"), false)}
	h, nic = newNetHarness(t, map[string]program{
		"a": func(u *uenv) {
			_, e := u.bind(u.guard(echoName), echoName, echoName, acceptAll(t), netash.ICMPEcho(), 0)
			require.Equal(t, uint64(abi.OK), e)
			_, e = u.bind(u.guard(udpName(9000)), udpName(9000), udpName(9000), nil, nil, 0)
			require.Equal(t, uint64(abi.OK), e)
			_, e = u.bind(u.guard(udpName(7)), udpName(7), udpName(7), nil, netash.UDPEcho(), 64)
			require.Equal(t, uint64(abi.OK), e)
			_, e = u.ring()
			require.Equal(t, uint64(abi.OK), e)
			sink := &allocNIC{frames: frames}
			k := u.h.k
			k.net.nic = sink
			allocs := testing.AllocsPerRun(200, func() {
				sink.next = 0
				u.store(ringVA+4, binary.LittleEndian.AppendUint32(nil, k.Env(1).ring.head)) // consume
				k.netReceive()
			})
			require.Zero(t, allocs)
			require.Equal(t, 2*201, sink.sent, "both handlers replied every time")
			k.net.nic = nic
			u.ecall(abi.SysExit, 0)
		},
		"b": func(u *uenv) { u.ecall(abi.SysExit, 0) },
	}, netManifest)
	require.Zero(t, h.run())
}

// allocNIC replays frames without allocating.
type allocNIC struct {
	frames [][]byte
	next   int
	sent   int
}

func (n *allocNIC) MAC() [6]byte { return nicMAC }
func (n *allocNIC) Receive() []byte {
	if n.next == len(n.frames) {
		return nil
	}
	n.next++
	return n.frames[n.next-1]
}
func (n *allocNIC) Release()                {}
func (n *allocNIC) Transmit(f []byte) error { n.sent++; return nil }
func (n *allocNIC) Interrupt()              {}

// countingPlat is the harness's platform with an instructions-retired
// counter that advances by 100 at every read.
type countingPlat struct {
	*plat
	n uint64
}

func (p *countingPlat) Instret() uint64 { p.n += 100; return p.n }

// TestNetKernelInsns: where the platform counts instructions, each frame
// charges its binding the instructions between taking it from the NIC
// and giving its buffer back; an unclaimed frame charges no one.
func TestNetKernelInsns(t *testing.T) {
	nic := &fakeNIC{}
	h := newHarnessWith(t, map[string]program{
		"a": func(u *uenv) {
			id, e := u.bind(u.guard(echoName), echoName, echoName, nil, netash.ICMPEcho(), 0)
			require.Equal(t, uint64(abi.OK), e)
			nic.rx = append(nic.rx, echoRequest(1, nil), udpFrame(1, 12345, nil, false), echoRequest(2, nil))
			u.interrupt()
			s := u.stats(id)
			require.Equal(t, uint64(2), s.Replies)
			require.Equal(t, uint64(200), s.KernelInsns, "two frames, one counter step each")
			u.ecall(abi.SysExit, 0)
		},
		"b": func(u *uenv) { u.ecall(abi.SysExit, 0) },
	}, netManifest, func(c *Config) {
		c.NIC = nic
		c.Platform = &countingPlat{plat: c.Platform.(*plat)}
	})
	require.Zero(t, h.run())
}

// TestNetMessageVectoring: a handler copies each datagram's payload
// straight into the message buffer the environment registered, where the
// environment reads it without a copy of its own; a second frame
// overwrites the first in place, and the buffer's bounds are the
// verified ones.
func TestNetMessageVectoring(t *testing.T) {
	var nic *fakeNIC
	var h *harness
	h, nic = newNetHarness(t, map[string]program{
		"a": func(u *uenv) {
			// pkt_copy(42, msg, 16): the first 16 payload bytes of a
			// UDP datagram; consumed.
			b := ash.NewBuilder()
			b.LoadContext(ash.R2, ash.CtxMsg)
			b.Mov(ash.R1, 42).Mov(ash.R3, 16).Call(ash.HelperPacketCopy)
			b.Return(ash.RetConsumed)
			id, e := u.bind(u.guard(udpName(7)), udpName(7), udpName(7), nil, build(t, b), 4096)
			require.Equal(t, uint64(abi.OK), e)
			for _, msg := range []string{"first datagram!!", "second datagram."} {
				nic.rx = append(nic.rx, udpFrame(1, 7, []byte(msg+" and more"), false))
				u.interrupt()
				require.Equal(t, msg, string(u.load(msgVA, 16)))
			}
			s := u.stats(id)
			require.Equal(t, uint64(2), s.Consumed)
			require.Zero(t, s.Delivered)
			// A short frame: pkt_copy fails at run time, nothing copied.
			nic.rx = append(nic.rx, udpFrame(1, 7, []byte("tiny"), false))
			u.interrupt()
			require.Equal(t, "second datagram.", string(u.load(msgVA, 16)))

			// A handler that writes past a 64-byte buffer does not verify.
			over := ash.NewBuilder()
			over.LoadContext(ash.R2, ash.CtxMsg).StoreImm(ash.SizeB, ash.R2, 64, 1).Return(0)
			_, e = u.bind(u.guard(udpName(9000)), udpName(9000), udpName(9000), nil, build(t, over), 64)
			require.Equal(t, uint64(abi.ErrProgram), e)
			u.ecall(abi.SysExit, 0)
		},
		"b": func(u *uenv) { u.ecall(abi.SysExit, 0) },
	}, netManifest)
	require.Zero(t, h.run())
}
