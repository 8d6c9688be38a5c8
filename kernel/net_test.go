package kernel

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"

	"github.com/exo-os/exo/ash"
	"github.com/exo-os/exo/caps"
	"github.com/exo-os/exo/kernel/abi"
	"github.com/exo-os/exo/kernel/demux"
	"github.com/exo-os/exo/libos/netash"
	"github.com/exo-os/exo/riscv"
)

// fakeNIC is a NIC for host tests: frames queued for receive, frames
// sent, and a transmit queue that can be full.
type fakeNIC struct {
	rx       [][]byte
	tx       [][]byte
	txFull   bool
	released int
	taken    []byte
}

var nicMAC = [6]byte{0x52, 0x54, 0x00, 0x12, 0x34, 0x56}

func (n *fakeNIC) MAC() [6]byte { return nicMAC }
func (n *fakeNIC) Receive() []byte {
	if len(n.rx) == 0 {
		return nil
	}
	n.taken, n.rx = n.rx[0], n.rx[1:]
	return n.taken
}
func (n *fakeNIC) Release() { n.released++; n.taken = nil }
func (n *fakeNIC) Transmit(f []byte) error {
	if n.txFull {
		return errors.New("full")
	}
	if len(f) < abi.MinFrame || len(f) > abi.MaxFrame {
		return errors.New("length")
	}
	n.tx = append(n.tx, bytes.Clone(f))
	return nil
}
func (n *fakeNIC) Interrupt() {}

// User memory the network tests use.
const (
	netBindVA = abi.RAMStart + 0x200000 // a NetBind
	progVA    = abi.RAMStart + 0x201000 // programs: filter, then handler at +0x4000
	ringVA    = abi.RAMStart + 0x400000 // the receive ring
	msgVA     = abi.RAMStart + 0x300000 // a message buffer
	frameVA   = abi.RAMStart + 0x210000 // a frame to send
	statsVA   = abi.RAMStart + 0x211000
	capVA     = abi.RAMStart + 0x212000
	ringSlots = 8
)

var (
	hostMAC = [6]byte{2, 0, 0, 0, 0, 1}
	hostIP  = [4]byte{198, 18, 0, 1}
	exoIP   = [4]byte{198, 18, 0, 2}
)

const netManifest = `exo-manifest v1
slots 4
env a mem=8M
env b mem=8M
net address=198.18.0.2/24
net env=a guards=arp,icmp-echo,udp:7,udp:9000-9009
net env=b guards=udp:9,tcp
`

// newNetHarness is a harness with a fake NIC and the network manifest.
func newNetHarness(t *testing.T, progs map[string]program, text string) (*harness, *fakeNIC) {
	nic := &fakeNIC{}
	h := newHarnessWith(t, progs, text, func(c *Config) { c.NIC = nic })
	return h, nic
}

// interrupt is the NIC's interrupt arriving while u runs.
func (u *uenv) interrupt() {
	u.ctx.Cause = riscv.IntMachineExternal
	u.trap()
}

// guard returns the root port capability covering name.
func (u *uenv) guard(name uint64) caps.Cap { return u.capFor(caps.KindPort, name) }

// bind binds [lo, hi] under guard g with optional filter and handler
// programs and message buffer.
func (u *uenv) bind(g caps.Cap, lo, hi uint64, filter, handler []ash.Instruction, msgLen uint64) (uint64, uint64) {
	req := abi.NetBind{Guard: g, Lo: lo, Hi: hi}
	if filter != nil {
		u.store(progVA, ash.Encode(filter))
		req.Filter, req.FilterLen = progVA, uint64(len(filter))
	}
	if handler != nil {
		u.store(progVA+0x4000, ash.Encode(handler))
		req.ASH, req.ASHLen = progVA+0x4000, uint64(len(handler))
	}
	if msgLen > 0 {
		req.Msg, req.MsgLen, req.MsgCap = msgVA, msgLen, u.capFor(caps.KindPage, u.ramPPN(msgVA))
	}
	u.store(netBindVA, bytesOf(&req))
	return u.ecall(abi.SysNetBind, netBindVA)
}

// ring registers a ring of ringSlots slots at ringVA.
func (u *uenv) ring() (uint64, uint64) {
	c := u.capFor(caps.KindPage, u.ramPPN(ringVA))
	u.store(capVA, c[:])
	return u.ecall(abi.SysNetRing, ringVA, abi.NetRingBytes(ringSlots), capVA)
}

// ringHeader reads the ring's header.
func (u *uenv) ringHeader() abi.NetRing {
	raw := u.load(ringVA, abi.RingHeaderSize)
	return *(*abi.NetRing)(unsafe.Pointer(&raw[0]))
}

// popFrame takes the next frame from the ring and advances the tail.
func (u *uenv) popFrame() (abi.NetSlot, []byte) {
	h := u.ringHeader()
	at := ringVA + abi.RingHeaderSize + uint64(h.Tail%h.Slots)*abi.RingSlotSize
	raw := u.load(at, abi.NetSlotHeader)
	s := *(*abi.NetSlot)(unsafe.Pointer(&raw[0]))
	f := u.load(at+abi.NetSlotHeader, int(s.Len))
	u.store(ringVA+4, binary.LittleEndian.AppendUint32(nil, h.Tail+1))
	return s, f
}

func (u *uenv) stats(id uint64) abi.NetStats {
	_, e := u.ecall(abi.SysNetStats, id, statsVA)
	require.Equal(u.h.t, uint64(abi.OK), e)
	raw := u.load(statsVA, int(unsafe.Sizeof(abi.NetStats{})))
	return *(*abi.NetStats)(unsafe.Pointer(&raw[0]))
}

func netCsum(b []byte, sum uint32) uint16 {
	for i := 0; i+1 < len(b); i += 2 {
		sum += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		sum += uint32(b[len(b)-1]) << 8
	}
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}

// ipv4Frame builds a frame from the host to the machine (or, swapped,
// from the machine to the host).
func ipv4Frame(proto uint8, l4 []byte, fromExo bool) []byte {
	f := make([]byte, 34+len(l4))
	dmac, smac, sip, dip := nicMAC, hostMAC, hostIP, exoIP
	if fromExo {
		dmac, smac, sip, dip = hostMAC, nicMAC, exoIP, hostIP
	}
	copy(f[0:], dmac[:])
	copy(f[6:], smac[:])
	f[12] = 0x08
	ip := f[14:34]
	ip[0], ip[8], ip[9] = 0x45, 64, proto
	binary.BigEndian.PutUint16(ip[2:], uint16(20+len(l4)))
	copy(ip[12:], sip[:])
	copy(ip[16:], dip[:])
	binary.BigEndian.PutUint16(ip[10:], netCsum(ip, 0))
	copy(f[34:], l4)
	return f
}

func echoRequest(seq uint16, payload []byte) []byte {
	m := append([]byte{8, 0, 0, 0, 0, 9, byte(seq >> 8), byte(seq)}, payload...)
	binary.BigEndian.PutUint16(m[2:], netCsum(m, 0))
	return ipv4Frame(1, m, false)
}

func udpFrame(sport, dport uint16, payload []byte, fromExo bool) []byte {
	d := make([]byte, 8+len(payload))
	binary.BigEndian.PutUint16(d[0:], sport)
	binary.BigEndian.PutUint16(d[2:], dport)
	binary.BigEndian.PutUint16(d[4:], uint16(len(d)))
	copy(d[8:], payload)
	return ipv4Frame(17, d, fromExo)
}

func arpRequest() []byte {
	f := make([]byte, 42)
	copy(f, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	copy(f[6:], hostMAC[:])
	f[12], f[13] = 0x08, 0x06
	a := f[14:]
	a[1], a[2], a[4], a[5], a[7] = 1, 0x08, 6, 4, 1
	copy(a[8:], hostMAC[:])
	copy(a[14:], hostIP[:])
	copy(a[24:], exoIP[:])
	return f
}

func build(t *testing.T, b *ash.Builder) []ash.Instruction {
	insns, err := b.Build()
	require.NoError(t, err)
	return insns
}

func udpName(p uint16) uint64 { return caps.PortName(0x0800, 17, p) }

var (
	arpLo, arpHi = abi.GuardTables[0].Lo, abi.GuardTables[0].Hi
	echoName     = caps.PortName(0x0800, 1, 8)
)

// TestNetPaths: one environment answers ICMP echo, UDP echo and ARP with
// handlers in the kernel, and takes a second UDP port from its ring; the
// replies are byte-correct and the handlers' counters show the frames
// never reached the ring.
func TestNetPaths(t *testing.T) {
	var h *harness
	var nic *fakeNIC
	h, nic = newNetHarness(t, map[string]program{
		"a": func(u *uenv) {
			id := map[string]uint64{}
			for _, b := range []struct {
				name    string
				lo, hi  uint64
				handler []ash.Instruction
			}{
				{"icmp", echoName, echoName, netash.ICMPEcho()},
				{"udp7", udpName(7), udpName(7), netash.UDPEcho()},
				{"arp", arpLo, arpHi, netash.ARPReply(nicMAC, exoIP)},
				{"upcall", udpName(9000), udpName(9000), nil},
			} {
				v, e := u.bind(u.guard(b.lo), b.lo, b.hi, nil, b.handler, 0)
				require.Equal(t, uint64(abi.OK), e, b.name)
				id[b.name] = v
			}
			_, e := u.ring()
			require.Equal(t, uint64(abi.OK), e)
			n, _ := u.ecall(abi.SysNetWait, 1) // a deadline long past
			require.Zero(t, n)

			req := echoRequest(1, bytes.Repeat([]byte{0x5a}, 56))
			nic.rx = append(nic.rx, req, udpFrame(4000, 7, []byte("echo me"), false), arpRequest(), udpFrame(4000, 9000, []byte("to the ring"), false))
			u.interrupt()
			require.Len(t, nic.tx, 3, "three replies from the handlers")
			want := bytes.Clone(req)
			copy(want[0:], hostMAC[:])
			copy(want[6:], nicMAC[:])
			copy(want[26:], exoIP[:])
			copy(want[30:], hostIP[:])
			want[34], want[36], want[37] = 0, 0, 0
			binary.BigEndian.PutUint16(want[36:], netCsum(want[34:], 0))
			require.Equal(t, want, nic.tx[0], "ICMP echo reply")
			require.Equal(t, udpFrame(7, 4000, []byte("echo me"), true), nic.tx[1], "UDP echo reply")
			require.Equal(t, uint16(2), binary.BigEndian.Uint16(nic.tx[2][20:]), "ARP reply")
			require.Equal(t, exoIP[:], nic.tx[2][28:32])

			n, e = u.ecall(abi.SysNetWait, 0)
			require.Equal(t, uint64(abi.OK), e)
			require.Equal(t, uint64(1), n, "only the upcall port's frame is in the ring")
			slot, f := u.popFrame()
			require.Equal(t, udpFrame(4000, 9000, []byte("to the ring"), false), f)
			require.Equal(t, uint32(id["upcall"]), slot.Binding)
			for _, name := range []string{"icmp", "udp7", "arp"} {
				s := u.stats(id[name])
				require.Equal(t, abi.NetStats{Frames: 1, Runs: 1, Replies: 1, Consumed: 1, Insns: s.Insns}, s, name)
				require.NotZero(t, s.Insns)
			}
			require.Equal(t, uint64(1), u.stats(id["upcall"]).Delivered)
			u.ecall(abi.SysExit, 0)
		},
		"b": func(u *uenv) { u.ecall(abi.SysExit, 0) },
	}, netManifest)
	require.Zero(t, h.run())
	require.Equal(t, 4, nic.released, "every buffer went back to the NIC")
}

// TestNetBindRefusals: each way a bind can be wrong is refused with its
// own error and binds nothing.
func TestNetBindRefusals(t *testing.T) {
	h, _ := newNetHarness(t, map[string]program{
		"a": func(u *uenv) {
			g := u.guard(udpName(7))
			page := u.capOf(caps.KindPage)
			forged := g
			forged[len(forged)-1] ^= 1
			weak, err := caps.Derive(g, caps.PortSend, udpName(7), udpName(7))
			require.NoError(t, err)
			bad := []ash.Instruction{{Op: 0xff}}
			long := make([]ash.Instruction, abi.MaxNetProgram+1)
			for _, tc := range []struct {
				name    string
				g       caps.Cap
				lo, hi  uint64
				filter  []ash.Instruction
				handler []ash.Instruction
				msg     uint64
				want    uint64
			}{
				{"forged", forged, udpName(7), udpName(7), nil, nil, 0, abi.ErrCapForged},
				{"wrong kind", page, udpName(7), udpName(7), nil, nil, 0, abi.ErrCapKind},
				{"too weak", weak, udpName(7), udpName(7), nil, nil, 0, abi.ErrCapRights},
				{"outside the capability", g, udpName(8), udpName(8), nil, nil, 0, abi.ErrCapRange},
				{"across tables", g, caps.PortName(0x0800, 6, 0xffff), udpName(7), nil, nil, 0, abi.ErrInval},
				{"unverifiable filter", g, udpName(7), udpName(7), bad, nil, 0, abi.ErrProgram},
				{"handler reads a predicate's field", g, udpName(7), udpName(7), nil, build(t, ash.NewBuilder().LoadContext(ash.R2, ash.CtxMem).Return(0)), 0, abi.ErrProgram},
				{"program too long", g, udpName(7), udpName(7), long, nil, 0, abi.ErrTooBig},
				{"message buffer too big", g, udpName(7), udpName(7), nil, nil, abi.MaxMsg + 1, abi.ErrTooBig},
			} {
				_, e := u.bind(tc.g, tc.lo, tc.hi, tc.filter, tc.handler, tc.msg)
				require.Equal(t, tc.want, e, "%s: %s", tc.name, abi.ErrorName(e))
			}
			// A bad address for the request, and a message buffer outside
			// the environment's memory.
			_, e := u.ecall(abi.SysNetBind, 0x10)
			require.Equal(t, uint64(abi.ErrFault), e)
			req := abi.NetBind{Guard: g, Lo: udpName(7), Hi: udpName(7), Msg: 0x5000, MsgLen: 64, MsgCap: page}
			u.store(netBindVA, bytesOf(&req))
			_, e = u.ecall(abi.SysNetBind, netBindVA)
			require.Equal(t, uint64(abi.ErrInval), e)

			// Overlap: the same guard twice, and a guard over one bound.
			id, e := u.bind(g, udpName(7), udpName(7), nil, nil, 0)
			require.Equal(t, uint64(abi.OK), e)
			_, e = u.bind(g, udpName(7), udpName(7), nil, nil, 0)
			require.Equal(t, uint64(abi.ErrBusy), e)
			_, e = u.ecall(abi.SysNetUnbind, id)
			require.Equal(t, uint64(abi.OK), e)
			_, e = u.ecall(abi.SysNetUnbind, id)
			require.Equal(t, uint64(abi.ErrNotFound), e)
			_, e = u.bind(g, udpName(7), udpName(7), nil, nil, 0)
			require.Equal(t, uint64(abi.OK), e, "unbinding frees the guard")

			// Revoked: a derived capability for a range, revoked through
			// the root (whose holder keeps a fresh one).
			rg := u.guard(udpName(9000))
			d, err := caps.Derive(rg, caps.PortReceive|caps.PortRevoke, udpName(9001), udpName(9002))
			require.NoError(t, err)
			u.store(capVA, d[:])
			_, e = u.ecall(abi.SysRevoke, capVA, capVA+0x200)
			require.Equal(t, uint64(abi.OK), e)
			v, e := u.bind(rg, udpName(9001), udpName(9001), nil, nil, 0)
			require.Equal(t, uint64(abi.ErrCapRevoked), e)
			require.Equal(t, udpName(9001), v)
			_, e = u.bind(u.guard(udpName(9000)), udpName(9001), udpName(9001), nil, nil, 0)
			require.Equal(t, uint64(abi.OK), e, "the holder's root was minted afresh")

			// Too many: MaxNetBinds per environment.
			n := 2
			for p := uint16(9003); p <= 9009 && n < abi.MaxNetBinds; p++ {
				_, e = u.bind(u.guard(udpName(9000)), udpName(p), udpName(p), nil, nil, 0)
				require.Equal(t, uint64(abi.OK), e)
				n++
			}
			_, e = u.bind(u.guard(echoName), echoName, echoName, nil, nil, 0)
			require.Equal(t, uint64(abi.ErrNoMem), e)
			u.ecall(abi.SysExit, 0)
		},
		"b": func(u *uenv) {
			// Another environment's guard: b holds tcp, not udp:7.
			_, e := u.bind(u.guard(caps.PortName(0x0800, 6, 80)), udpName(7), udpName(7), nil, nil, 0)
			require.Equal(t, uint64(abi.ErrCapRange), e)
			u.ecall(abi.SysExit, 0)
		},
	}, netManifest)
	require.Zero(t, h.run())
	require.Zero(t, h.k.net.index.Lookup(demux.TableUDP, udpName(7), false), "the teardown unbound everything")
}
