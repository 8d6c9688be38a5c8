package kernel

import (
	"net/netip"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/exo-os/exo/ash"
	"github.com/exo-os/exo/kernel/abi"
	"github.com/exo-os/exo/libos/net/vector"
	"github.com/exo-os/exo/libos/netash"
)

// TestNetHandlerReturns: what each handler return value does with the
// frame. RetConsumed ends it; RetWake ends it too, without a copy to the
// ring, counts it as Vectored and notifies the environment, whose next
// net_wait returns at once and clears the notification; RetPass and every
// other value deliver to the ring as before.
func TestNetHandlerReturns(t *testing.T) {
	var nic *fakeNIC
	var h *harness
	// yields counts b's yields; stage orders the two environments (the
	// harness runs one at a time): 1 when a is about to wait, 2 when b
	// sent the frame.
	yields, stage := 0, 0
	var wakeID uint64
	h, nic = newNetHarness(t, map[string]program{
		"a": func(u *uenv) {
			k := u.h.k
			_, e := u.ring()
			require.Equal(t, uint64(abi.OK), e)
			var me *Env
			for _, x := range k.envs.byID {
				if x != nil && x.Name == "a" {
					me = x
				}
			}
			require.NotNil(t, me)
			for i, tc := range []struct {
				name     string
				ret      int32
				want     abi.NetStats // but Insns
				toRing   bool
				notified bool
			}{
				{"RetConsumed", ash.RetConsumed, abi.NetStats{Frames: 1, Runs: 1, Consumed: 1}, false, false},
				{"RetPass", ash.RetPass, abi.NetStats{Frames: 1, Runs: 1, Passed: 1, Delivered: 1}, true, false},
				{"RetWake", ash.RetWake, abi.NetStats{Frames: 1, Runs: 1, Vectored: 1}, false, true},
				{"3 passes", 3, abi.NetStats{Frames: 1, Runs: 1, Passed: 1, Delivered: 1}, true, false},
				{"-1 passes", -1, abi.NetStats{Frames: 1, Runs: 1, Passed: 1, Delivered: 1}, true, false},
			} {
				port := uint16(9000 + i)
				id, e := u.bind(u.guard(udpName(port)), udpName(port), udpName(port), nil, build(t, ash.NewBuilder().Return(tc.ret)), 0)
				require.Equal(t, uint64(abi.OK), e, tc.name)
				if tc.ret == ash.RetWake {
					wakeID = id
				}
				head := u.ringHeader().Head
				f := udpFrame(1, port, []byte(tc.name), false)
				nic.rx = append(nic.rx, f)
				u.interrupt()
				s := u.stats(id)
				tc.want.Insns = s.Insns
				require.Equal(t, tc.want, s, tc.name)
				require.Equal(t, tc.notified, me.notified, tc.name)
				if tc.toRing {
					require.Equal(t, head+1, u.ringHeader().Head, tc.name)
					_, got := u.popFrame()
					require.Equal(t, f, got, tc.name)
				} else {
					require.Equal(t, head, u.ringHeader().Head, "%s: nothing in the ring", tc.name)
				}
				if tc.notified {
					// Already notified: net_wait returns at once, the
					// ring empty, and clears the notification.
					before := yields
					n, e := u.ecall(abi.SysNetWait, u.h.p.now+hz)
					require.Equal(t, uint64(abi.OK), e)
					require.Zero(t, n)
					require.Equal(t, before, yields, "net_wait did not block")
					require.False(t, me.notified)
				}
			}
			// Blocked in net_wait with an empty ring, a RetWake from the
			// other environment's interrupt wakes it.
			require.False(t, me.notified)
			stage = 1
			n, e := u.ecall(abi.SysNetWait, 0)
			require.Equal(t, uint64(abi.OK), e)
			require.Zero(t, n, "woken with the ring empty")
			require.Equal(t, 2, stage, "woken by the frame")
			require.False(t, me.notified, "cleared by the return")
			require.Equal(t, uint64(2), u.stats(wakeID).Vectored)
			require.Equal(t, uint32(3), u.ringHeader().Head, "no copy to the ring")
			u.ecall(abi.SysExit, 0)
		},
		"b": func(u *uenv) {
			k := u.h.k
			var a *Env
			for _, x := range k.envs.byID {
				if x != nil && x.Name == "a" {
					a = x
				}
			}
			for i := 0; i < 100000 && !(stage == 1 && a.State() == Waiting); i++ {
				yields++
				u.ecall(abi.SysYield)
			}
			require.Equal(t, Waiting, a.State())
			stage = 2
			nic.rx = append(nic.rx, udpFrame(1, 9002, []byte("wake"), false))
			u.interrupt()
			u.ecall(abi.SysExit, 0)
		},
	}, netManifest)
	require.Zero(t, h.run())
}

// TestNetUDPVector: libos's vectoring handler bound in the kernel puts
// each datagram's payload into the ring of datagrams in the message
// buffer, where the environment reads it without a copy of its own;
// net_wait returns for it with the receive ring empty; a datagram with a
// bad checksum goes to the receive ring for the stack instead.
func TestNetUDPVector(t *testing.T) {
	var nic *fakeNIC
	var h *harness
	h, nic = newNetHarness(t, map[string]program{
		"a": func(u *uenv) {
			const slots = 4
			_, e := u.ring()
			require.Equal(t, uint64(abi.OK), e)
			id, e := u.bind(u.guard(udpName(9000)), udpName(9000), udpName(9000), nil, netash.UDPVector(9000, slots), uint64(vector.Size(slots)))
			require.Equal(t, uint64(abi.OK), e)
			// The environment's view of its message buffer.
			r, err := vector.New(u.h.k.net.binds[id].msg, slots)
			require.NoError(t, err)
			want := []string{"one", "two", "three"}
			for _, m := range want {
				f := udpFrame(4000, 9000, []byte(m), false)
				nic.rx = append(nic.rx, f)
			}
			bad := udpFrame(4000, 9000, []byte("bad sum"), false)
			bad[40] = 0x12 // a checksum, and a wrong one
			nic.rx = append(nic.rx, bad)
			u.interrupt()
			n, e := u.ecall(abi.SysNetWait, 0)
			require.Equal(t, uint64(abi.OK), e)
			require.Equal(t, uint64(1), n, "only the bad datagram is in the receive ring")
			for _, m := range want {
				p, from, ok := r.Next()
				require.True(t, ok)
				require.Equal(t, m, string(p))
				require.Equal(t, netip.AddrPortFrom(netip.AddrFrom4(hostIP), 4000), from)
				r.Done()
			}
			_, _, ok := r.Next()
			require.False(t, ok)
			_, f := u.popFrame()
			require.Equal(t, bad, f)
			s := u.stats(id)
			require.Equal(t, uint64(3), s.Vectored)
			require.Equal(t, uint64(1), s.Delivered)
			u.ecall(abi.SysExit, 0)
		},
		"b": func(u *uenv) { u.ecall(abi.SysExit, 0) },
	}, netManifest)
	require.Zero(t, h.run())
}
