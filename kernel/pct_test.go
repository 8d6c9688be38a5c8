package kernel

import (
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"

	"github.com/exo-os/exo/caps"
	"github.com/exo-os/exo/kernel/abi"
	"github.com/exo-os/exo/kernel/hart"
	"github.com/exo-os/exo/riscv"
)

// Where the harness image has what a transfer needs: an entry point in its
// text page and a frame in a heap page of RAM.
const (
	pctEntryVA = abi.TextStart + 0x80
	pctFrameVA = abi.RAMStart + 0x100400
	pctCapVA   = abi.RAMStart + 0x180800
)

// The environments of the transfer tests, by id (manifest order).
const (
	idCaller    = 1
	idCallee    = 2
	idBystander = 3
)

// pctBoot runs caller (env 1) and callee (env 2) beside a bystander that
// must finish its work, and returns the harness and the console.
func pctBoot(t *testing.T, caller, callee program) (*harness, string) {
	t.Helper()
	steps := 0
	h := newHarness(t, map[string]program{
		"caller": caller,
		"callee": callee,
		"bystander": func(u *uenv) {
			for i := 0; i < 10; i++ {
				u.spin(100_000)
				steps++
			}
			u.ecall(abi.SysExit, 0)
		},
	}, "exo-manifest v1\nenv caller mem=2M\nenv callee mem=2M\nenv bystander mem=2M\n")
	status := h.run()
	out := h.console()
	require.Equal(t, uint32(0), status, "the caller's status; console:\n%s", out)
	require.Equal(t, 10, steps, "the bystander ran to its end")
	return h, out
}

// sendCap mints an env capability for id with rights.
func (h *harness) sendCap(id uint32, rights caps.Rights) caps.Cap {
	return h.k.mint(rootSpec{caps.KindEnv, uint64(id), uint64(id), rights})
}

// call makes transfer n (SysPCTCall or SysPCTAsync) with the capability c
// and arguments args (a0..a5); it returns a0..a5 after the call.
func (u *uenv) call(n uint64, c caps.Cap, args [6]uint64) (res [6]uint64) {
	u.store(pctCapVA, c[:])
	u.ctx.X[hart.RegA0+6] = pctCapVA
	u.ctx.X[hart.RegA7] = n
	copy(u.ctx.X[hart.RegA0:hart.RegA0+6], args[:])
	pc := u.ctx.PC
	for {
		u.ctx.Cause = riscv.CauseEcallU
		u.trap()
		if u.ctx.PC != pc {
			break
		}
	}
	copy(res[:], u.ctx.X[hart.RegA0:hart.RegA0+6])
	return res
}

// waitEntry yields until the kernel enters u at its entry point.
func (u *uenv) waitEntry() {
	for u.ctx.PC != pctEntryVA {
		u.ecall(abi.SysYield)
	}
}

// ret makes SysPCTReturn with results (a0..a5). It never blocks, so it is
// not made again: the pc after it may be the entry point again, if a
// transfer came before the environment ran again.
func (u *uenv) ret(results [6]uint64) (uint64, uint64) {
	u.ctx.X[hart.RegA7] = abi.SysPCTReturn
	copy(u.ctx.X[hart.RegA0:hart.RegA0+6], results[:])
	u.ctx.Cause = riscv.CauseEcallU
	u.trap()
	return u.ctx.X[hart.RegA0], u.ctx.X[hart.RegA1]
}

func (u *uenv) pctFrame() abi.PCTFrame {
	var f abi.PCTFrame
	copy(unsafe.Slice((*byte)(unsafe.Pointer(&f)), abi.PCTFrameSize), u.load(pctFrameVA, abi.PCTFrameSize))
	return f
}

// waitRegistered yields until the callee has registered its entry point.
func (u *uenv) waitRegistered() {
	for u.h.k.Env(idCallee).pct.entry == 0 {
		u.ecall(abi.SysYield)
	}
}

// register registers the test entry point and frame.
func (u *uenv) register() {
	val, errno := u.ecall(abi.SysPCTEntry, pctEntryVA, pctFrameVA)
	require.Equal(u.h.t, [2]uint64{0, abi.OK}, [2]uint64{val, errno})
}

// A synchronous ping-pong: values go over in a0..a5, the caller's id in
// a6 and PCTSync in a7; they come back in a0, a2..a5 with OK in a1; the
// callee's interrupted pc and a0..a7 are in its frame at each entry and
// are what it resumes with; the bystander keeps running throughout.
func TestPCTSyncPingPong(t *testing.T) {
	const rounds = 50
	var served, restored int
	_, out := pctBoot(t, func(u *uenv) {
		c := u.h.sendCap(idCallee, caps.EnvSend)
		u.waitRegistered()
		for i := uint64(0); i < rounds; i++ {
			args := [6]uint64{i, 100 + i, 200 + i, 300 + i, 400 + i, 500 + i}
			res := u.call(abi.SysPCTCall, c, args)
			require.Equal(t, [6]uint64{i * 2, abi.OK, 201 + i, 301 + i, 401 + i, 501 + i}, res, "round %d", i)
		}
		u.ecall(abi.SysExit, 0)
	}, func(u *uenv) {
		u.register()
		for served < rounds {
			if u.ctx.PC != pctEntryVA {
				u.ecall(abi.SysYield)
				continue
			}
			before := u.pctFrame()
			x := u.ctx.X[hart.RegA0 : hart.RegA0+8]
			i := x[0]
			require.Equal(t, [8]uint64{i, 100 + i, 200 + i, 300 + i, 400 + i, 500 + i, idCaller, abi.PCTSync}, [8]uint64(x))
			require.Equal(t, uint64(abi.SysYield), before.A[7], "a7 of the yield it was in")
			served++
			val, _ := u.ret([6]uint64{i * 2, 0xdead, 201 + i, 301 + i, 401 + i, 501 + i})
			if u.ctx.PC != pctEntryVA {
				// Not entered again before it ran: back where the
				// transfer found it.
				require.Equal(t, [3]uint64{before.PC, before.A[0], before.A[7]}, [3]uint64{u.ctx.PC, val, u.ctx.X[hart.RegA7]})
				restored++
			}
		}
		u.ecall(abi.SysExit, 0)
	})
	require.Equal(t, rounds, served)
	require.NotZero(t, restored)
	require.NotContains(t, out, "killed")
}

// Synchronous donation: while the callee is in its entry, every instance
// of the caller's slot runs the callee, so work the callee does there
// takes two of every three intervals, not one.
func TestPCTSyncDonatesFutureSlots(t *testing.T) {
	var elapsed, quantum uint64
	_, out := pctBoot(t, func(u *uenv) {
		u.waitRegistered()
		res := u.call(abi.SysPCTCall, u.h.sendCap(idCallee, caps.EnvSend), [6]uint64{7})
		require.Equal(t, uint64(abi.OK), res[1])
		require.Equal(t, uint64(8), res[0])
		u.ecall(abi.SysExit, 0)
	}, func(u *uenv) {
		u.register()
		u.waitEntry()
		quantum = u.h.k.quantum
		start := u.h.p.now
		u.spin(6 * quantum)
		elapsed = u.h.p.now - start
		u.ret([6]uint64{u.ctx.X[hart.RegA0] + 1})
		u.ecall(abi.SysExit, 0)
	})
	require.NotContains(t, out, "killed")
	// Its own slot alone (the caller's skipped): one interval of two, 12
	// quanta. Donated: two of three, about 9.
	require.Less(t, elapsed, 11*quantum, "the caller's slots ran the callee")
	require.GreaterOrEqual(t, elapsed, 6*quantum)
}

// Asynchronous: the call returns (0, OK) to the caller, the callee sees
// a7 = 0, and its return (no caller waiting) resumes what the transfer
// interrupted, in the same environment.
func TestPCTAsync(t *testing.T) {
	var got [8]uint64
	var back bool
	_, out := pctBoot(t, func(u *uenv) {
		u.waitRegistered()
		res := u.call(abi.SysPCTAsync, u.h.sendCap(idCallee, caps.EnvSend), [6]uint64{1, 2, 3, 4, 5, 6})
		require.Equal(t, [2]uint64{0, abi.OK}, [2]uint64(res[:2]))
		require.Equal(t, [4]uint64{3, 4, 5, 6}, [4]uint64(res[2:]), "the caller's a2..a5 untouched")
		u.ecall(abi.SysExit, 0)
	}, func(u *uenv) {
		u.register()
		u.waitEntry()
		got = [8]uint64(u.ctx.X[hart.RegA0 : hart.RegA0+8])
		f := u.pctFrame()
		val, _ := u.ret([6]uint64{99})
		back = u.ctx.PC == f.PC && val == f.A[0] && u.ctx.X[hart.RegA7] == abi.SysYield
		u.ecall(abi.SysExit, 0)
	})
	require.Equal(t, [8]uint64{1, 2, 3, 4, 5, 6, idCaller, 0}, got)
	require.True(t, back)
	require.NotContains(t, out, "killed")
}

// A callee that ends in its entry ends the call: (callee id, ErrFinished).
func TestPCTCalleeEnds(t *testing.T) {
	_, out := pctBoot(t, func(u *uenv) {
		u.waitRegistered()
		res := u.call(abi.SysPCTCall, u.h.sendCap(idCallee, caps.EnvSend), [6]uint64{1})
		require.Equal(t, [2]uint64{idCallee, abi.ErrFinished}, [2]uint64(res[:2]))
		u.ecall(abi.SysExit, 0)
	}, func(u *uenv) {
		u.register()
		u.waitEntry()
		u.ecall(abi.SysExit, 5)
	})
	require.Contains(t, out, "exo: env 2 (callee) exited with status 5")
}

// Every refused transfer has its own error and changes nothing: the
// caller's registers but a0 and a1, the callee's pc and state; a transfer
// afterwards still works.
func TestPCTRefusals(t *testing.T) {
	var calleePC uint64
	var entered int
	_, out := pctBoot(t, func(u *uenv) {
		h := u.h
		u.waitRegistered()
		good := h.sendCap(idCallee, caps.EnvSend|caps.EnvControl)
		stale := h.sendCap(idCallee, caps.EnvSend)
		for _, tc := range []struct {
			name  string
			c     func() caps.Cap
			errno uint64
			val   uint64
		}{
			{"wrong kind", func() caps.Cap { return u.capOf(caps.KindPage) }, abi.ErrCapKind, 0},
			{"forged", func() caps.Cap { return flip(good) }, abi.ErrCapForged, 0},
			{"no send right", func() caps.Cap { return h.sendCap(idCallee, caps.EnvControl) }, abi.ErrCapRights, 0},
			{"revoked", func() caps.Cap {
				_, err := h.k.auth.Epochs().Revoke(caps.KindEnv, idCallee)
				require.NoError(t, err)
				good = h.sendCap(idCallee, caps.EnvSend|caps.EnvControl)
				return stale
			}, abi.ErrCapRevoked, idCallee},
			{"to itself", func() caps.Cap { return u.capOf(caps.KindEnv) }, abi.ErrInval, 0},
			{"no entry point", func() caps.Cap { return h.sendCap(idBystander, caps.EnvSend) }, abi.ErrNotFound, idBystander},
			{"target stopped", func() caps.Cap {
				u.store(capScratch, good[:])
				_, errno := u.ecall(abi.SysEnvControl, abi.EnvStop, capScratch)
				require.Equal(t, uint64(abi.OK), errno)
				return good
			}, abi.ErrBusy, idCallee},
		} {
			for _, n := range []uint64{abi.SysPCTCall, abi.SysPCTAsync} {
				e := h.k.Env(idCallee)
				pc, state := e.ctx.PC, e.state
				res := u.call(n, tc.c(), [6]uint64{1, 2, 3, 4, 5, 6})
				require.Equal(t, abi.ErrorName(tc.errno), abi.ErrorName(res[1]), "%s (call %d)", tc.name, n)
				require.Equal(t, tc.val, res[0], tc.name)
				require.Equal(t, [4]uint64{3, 4, 5, 6}, [4]uint64(res[2:]), tc.name)
				require.Equal(t, pc, e.ctx.PC, tc.name)
				require.Equal(t, state, e.state, tc.name)
				require.False(t, e.pct.in, tc.name)
			}
		}
		u.store(capScratch, good[:])
		_, errno := u.ecall(abi.SysEnvControl, abi.EnvResume, capScratch)
		require.Equal(t, uint64(abi.OK), errno)
		res := u.call(abi.SysPCTCall, good, [6]uint64{41})
		require.Equal(t, [2]uint64{42, abi.OK}, [2]uint64(res[:2]), "a transfer after the refusals")
		// A finished target: destroyed, it is dying until its teardown
		// has run (its own slots).
		u.store(capScratch, good[:])
		_, errno = u.ecall(abi.SysEnvControl, abi.EnvDestroy, capScratch)
		require.Equal(t, uint64(abi.OK), errno)
		res = u.call(abi.SysPCTCall, good, [6]uint64{1})
		require.Equal(t, [2]uint64{idCallee, abi.ErrFinished}, [2]uint64(res[:2]), "finished")
		u.ecall(abi.SysExit, 0)
	}, func(u *uenv) {
		u.register()
		calleePC = u.ctx.PC
		u.waitEntry()
		entered++
		// In its entry, a transfer back to its caller (in a call) is
		// refused: chains never loop.
		res := u.call(abi.SysPCTCall, u.h.sendCap(idCaller, caps.EnvSend), [6]uint64{})
		require.Equal(t, "EBUSY", abi.ErrorName(res[1]))
		u.ret([6]uint64{42})
		for {
			u.ecall(abi.SysYield)
		}
	})
	require.Equal(t, 1, entered)
	require.NotZero(t, calleePC)
	require.Contains(t, out, "env 2 (callee) destroyed by env 1")
}

// Registration refusals, each its own error, change nothing: a transfer
// afterwards enters the entry point registered before.
func TestPCTEntryRefusals(t *testing.T) {
	for _, tc := range []struct {
		name         string
		entry, frame uint64
		errno, val   uint64
	}{
		{"entry misaligned", pctEntryVA + 1, pctFrameVA, abi.ErrInval, 0},
		{"frame misaligned", pctEntryVA, pctFrameVA + 4, abi.ErrInval, 0},
		{"entry unmapped", 0xdead0000, pctFrameVA, abi.ErrFault, 0xdead0000},
		{"entry in the kernel half", 0xffffffc000000000, pctFrameVA, abi.ErrFault, 0xffffffc000000000},
		{"entry not executable", pctFrameVA, pctFrameVA + 512, abi.ErrFault, pctFrameVA},
		{"frame in text", pctEntryVA, abi.TextStart + 0x100, abi.ErrFault, abi.TextStart + 0x100},
		{"frame read-only", pctEntryVA, excRO, abi.ErrFault, excRO},
		{"frame in the start-up block", pctEntryVA, abi.StartupVA, abi.ErrFault, abi.StartupVA},
		{"frame past the end of RAM", pctEntryVA, abi.RAMStart + 2<<20 - 40, abi.ErrFault, abi.RAMStart + 2<<20 - 40},
		{"frame wraps", pctEntryVA, ^uint64(0) - 7, abi.ErrFault, ^uint64(0) - 7},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var pc uint64
			pctBoot(t, func(u *uenv) {
				u.waitRegistered()
				res := u.call(abi.SysPCTCall, u.h.sendCap(idCallee, caps.EnvSend), [6]uint64{})
				require.Equal(t, uint64(abi.OK), res[1])
				u.ecall(abi.SysExit, 0)
			}, func(u *uenv) {
				u.register()
				val, errno := u.ecall(abi.SysPCTEntry, tc.entry, tc.frame)
				require.Equal(t, abi.ErrorName(tc.errno), abi.ErrorName(errno))
				require.Equal(t, tc.val, val)
				u.waitEntry()
				pc = u.ctx.PC
				u.ret([6]uint64{})
				u.ecall(abi.SysExit, 0)
			})
			require.Equal(t, uint64(pctEntryVA), pc)
		})
	}
}

// Unregistered, an environment takes no transfers.
func TestPCTEntryUnregister(t *testing.T) {
	pctBoot(t, func(u *uenv) {
		u.ecall(abi.SysYield)
		res := u.call(abi.SysPCTCall, u.h.sendCap(idCallee, caps.EnvSend), [6]uint64{})
		require.Equal(t, [2]uint64{idCallee, abi.ErrNotFound}, [2]uint64(res[:2]))
		u.ecall(abi.SysExit, 0)
	}, func(u *uenv) {
		u.register()
		val, errno := u.ecall(abi.SysPCTEntry, 0, 0xdead0001)
		require.Equal(t, [2]uint64{0, abi.OK}, [2]uint64{val, errno})
		for i := 0; i < 3; i++ {
			u.ecall(abi.SysYield)
		}
		u.ecall(abi.SysExit, 0)
	})
}

// The return refuses outside an entry, a frame it cannot read and a frame
// pc that is not a user address, and changes nothing: still in its entry,
// a good return afterwards goes back to the caller.
func TestPCTReturnRefusals(t *testing.T) {
	pctBoot(t, func(u *uenv) {
		u.waitRegistered()
		res := u.call(abi.SysPCTCall, u.h.sendCap(idCallee, caps.EnvSend), [6]uint64{})
		require.Equal(t, [2]uint64{77, abi.OK}, [2]uint64(res[:2]))
		u.ecall(abi.SysExit, 0)
	}, func(u *uenv) {
		_, errno := u.ret([6]uint64{})
		require.Equal(t, "EINVAL", abi.ErrorName(errno), "not in its entry")
		u.register()
		u.waitEntry()
		f := u.pctFrame()
		bad := f
		for _, pc := range []uint64{1 << 38, 0xffffffff80000000, abi.TextStart + 1} {
			bad.PC = pc
			u.store(pctFrameVA, unsafe.Slice((*byte)(unsafe.Pointer(&bad)), abi.PCTFrameSize))
			_, errno = u.ret([6]uint64{})
			require.Equal(t, "EINVAL", abi.ErrorName(errno), "pc %#x", pc)
			require.True(t, u.h.k.Env(idCallee).pct.in)
		}
		u.store(pctFrameVA, unsafe.Slice((*byte)(unsafe.Pointer(&f)), abi.PCTFrameSize))
		// Unmapped, the frame cannot be read.
		ppn, errno := u.ecall(abi.SysUnmap, pctFrameVA&^4095)
		require.Equal(t, uint64(abi.OK), errno)
		_, errno = u.ret([6]uint64{})
		require.Equal(t, "EFAULT", abi.ErrorName(errno))
		_, errno = u.mapPage(pctFrameVA&^4095, ppn, abi.MapRead|abi.MapWrite, u.capFor(caps.KindPage, ppn))
		require.Equal(t, uint64(abi.OK), errno)
		u.ret([6]uint64{77})
		u.ecall(abi.SysExit, 0)
	})
}
