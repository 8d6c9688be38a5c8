package kernel

import (
	"encoding/binary"
	"testing"

	"github.com/exo-os/exo/ash"
	"github.com/exo-os/exo/kernel/abi"
	"github.com/exo-os/exo/kernel/demux"
	"github.com/exo-os/exo/libos/netash"
)

// FuzzNetReceive sends arbitrary frames through the whole receive path —
// classification, guard lookup, filters, the three libOS handlers, the
// ring — of a kernel whose environment bound them as the echo env does.
// No frame may make the kernel panic, send a reply that claims another's
// source, write outside the ring, or leave a buffer with the NIC.
func FuzzNetReceive(f *testing.F) {
	h, nic := newNetHarness(&testing.T{}, map[string]program{"a": func(*uenv) {}, "b": func(*uenv) {}}, netManifest)
	h.built()
	k := h.k
	e := k.Env(1)
	must := func(p *ash.Program, err error) *ash.Program {
		if err != nil {
			panic(err)
		}
		return p
	}
	accept := must(ash.NewBuilder().Return(1).Program(ash.Config{Type: ash.TypeFilter}))
	for i, b := range []struct {
		lo, hi  uint64
		handler []ash.Instruction
		filter  *ash.Program
	}{
		{echoName, echoName, netash.ICMPEcho(), accept},
		{udpName(7), udpName(7), netash.UDPEcho(), nil},
		{arpLo, arpHi, netash.ARPReply(nicMAC, exoIP), nil},
		{udpName(9000), udpName(9009), nil, nil},
	} {
		id := i + 1
		if err := k.net.index.Add(b.lo, b.hi, demux.ID(id)); err != nil {
			panic(err)
		}
		nb := netBinding{env: e, lo: b.lo, hi: b.hi, table: demux.Table(b.lo, b.hi), filter: b.filter}
		if b.handler != nil {
			nb.ash = must(ash.Verify(b.handler, ash.Config{Type: ash.TypeASH}))
		}
		k.net.binds[id] = nb
	}
	ringPA := e.ram[0].PA + 0x400000
	size := abi.NetRingBytes(ringSlots)
	e.ring = netRing{mem: k.phys.Bytes(ringPA, int(size)+64), slots: ringSlots}
	e.ring.mem = e.ring.mem[:size]
	after := k.phys.Bytes(ringPA+size, 64)

	f.Add(echoRequest(1, []byte("seed")))
	f.Add(udpFrame(1, 7, []byte("seed"), false))
	f.Add(udpFrame(1, 9003, []byte("seed"), false))
	f.Add(arpRequest())
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, frame []byte) {
		nic.rx, nic.tx, nic.released = append(nic.rx[:0], frame), nic.tx[:0], 0
		// The environment consumes everything before each frame, but
		// writes a random tail sometimes.
		tail := e.ring.head
		if len(frame) > 0 && frame[0]&1 != 0 {
			tail = uint32(len(frame)) * 977
		}
		binary.LittleEndian.PutUint32(e.ring.mem[4:], tail)
		k.netReceive()
		if nic.released != 1 {
			t.Fatalf("the frame's buffer was released %d times", nic.released)
		}
		for _, r := range nic.tx {
			ti, name, whole, ok := demux.Source(r, nicMAC, &k.net.local)
			if !ok {
				t.Fatalf("a reply that does not claim the machine's addresses: %x", r)
			}
			claimed := false
			for id := 1; id <= 4; id++ {
				b := &k.net.binds[id]
				claimed = claimed || demux.Claims(b.table, b.lo, b.hi, ti, name, whole)
			}
			if !claimed {
				t.Fatalf("a reply outside every guard: %x", r)
			}
		}
		for _, c := range after {
			if c != 0 {
				t.Fatalf("the kernel wrote past the ring")
			}
		}
	})
}
