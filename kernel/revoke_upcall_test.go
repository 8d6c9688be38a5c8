package kernel

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/exo-os/exo/caps"
	"github.com/exo-os/exo/kernel/abi"
)

// spareOf is how many spare frames the start-up block lists.
func spareOf(st abi.Startup) uint64 {
	n := uint64(0)
	for _, r := range st.Spare[:st.NumSpare] {
		n += r.Pages
	}
	return n
}

// revRequest makes SysRevokeRequest with capability c.
func (u *uenv) revRequest(c caps.Cap, kind, count, deadline uint64) (uint64, uint64) {
	u.store(capScratch, c[:])
	return u.ecall(abi.SysRevokeRequest, capScratch, kind, count, deadline)
}

// spawnSpare spawns image with 2 MiB of RAM and spare spare frames in
// free slot 3, and returns its id and env capability.
func (u *uenv) spawnSpare(image string, spare uint64) (uint64, caps.Cap) {
	r := u.spawnReq(image, 2<<20, 3, "")
	run := u.startup().Spare[0]
	r.Pages += spare
	r.FirstPage = run.PA>>12 + run.Pages - r.Pages
	id, errno, c := u.spawnWith(r)
	require.Equal(u.h.t, uint64(abi.OK), errno, "spawn")
	return id, c
}

// yieldTold yields and reports whether the kernel delivered a revocation
// request instead of returning after the ecall.
func (u *uenv) yieldTold() bool {
	pc := u.ctx.PC
	u.ecall(abi.SysYield)
	return u.ctx.PC != pc+4
}

// Every bad request is refused with its own error and records nothing; a
// child without a handler that ignores the accepted one loses, at the
// deadline, exactly the frames its loss log names, and they go to its
// parent.
func TestRevokeRequestRefusalsAndForce(t *testing.T) {
	const spare = 8
	var childSt abi.Startup
	var before, after abi.Startup
	var deadline uint64
	got := map[string][2]uint64{}
	progs := map[string]program{
		"p": func(u *uenv) {
			_, envCap := u.spawnSpare("c", spare)
			req := func(name string, c caps.Cap, kind, count uint64) {
				v, e := u.revRequest(c, kind, count, u.h.p.now+1000)
				got[name] = [2]uint64{v, e}
			}
			forged := envCap
			forged[len(forged)-1] ^= 1
			req("wrong kind", envCap, 3, 1)
			req("count 0", envCap, abi.RevokePages, 0)
			req("count above the limit", envCap, abi.RevokePages, abi.MaxRevokeCount+1)
			req("more pages than held", envCap, abi.RevokePages, spare+1)
			req("more slots than held", envCap, abi.RevokeSlots, 1)
			req("forged", forged, abi.RevokePages, 1)
			_, lo, hi, _ := envCap.Effective()
			req("no control right", mustDerive(t, envCap, caps.EnvSend, lo, hi), abi.RevokePages, 1)
			req("page capability", u.capOf(caps.KindPage), abi.RevokePages, 1)
			require.Equal(t, uint64(0), u.h.k.revokeWake()^^uint64(0), "nothing recorded")
			before = u.startup()
			deadline = u.h.p.now + 1000
			_, e := u.revRequest(envCap, abi.RevokePages, 3, deadline)
			require.Equal(t, uint64(abi.OK), e, "the request")
			_, e = u.revRequest(envCap, abi.RevokePages, 1, deadline)
			got["second request"] = [2]uint64{0, e}
			// A revoked capability is refused too.
			u.store(capScratch, envCap[:])
			_, e = u.ecall(abi.SysRevoke, capScratch, outScratch)
			require.Equal(t, uint64(abi.OK), e, "revoke")
			v, e := u.revRequest(envCap, abi.RevokePages, 1, deadline)
			got["revoked"] = [2]uint64{v, e}
			u.ecall(abi.SysSleep, deadline+5000)
			after = u.startup()
			u.ecall(abi.SysExit, 0)
		},
		"c": func(u *uenv) {
			for u.h.p.now < deadline+2000 || deadline == 0 {
				u.ecall(abi.SysSleep, u.h.p.now+500)
			}
			childSt = u.startup()
			u.ecall(abi.SysSleep, deadline+10_000) // the parent looks first
			u.ecall(abi.SysExit, 0)
		},
	}
	h := newHarness(t, progs, "exo-manifest v1\nslots 8\nenv p mem=4M spare=4M spawn=4\n")
	h.p.now = 1 // deadlines are absolute
	require.Equal(t, uint32(0), h.run())
	for name, want := range map[string][2]uint64{
		"wrong kind":            {0, abi.ErrInval},
		"count 0":               {0, abi.ErrInval},
		"count above the limit": {0, abi.ErrTooBig},
		"more pages than held":  {spare, abi.ErrInval},
		"more slots than held":  {0, abi.ErrInval},
		"forged":                {0, abi.ErrCapForged},
		"no control right":      {0, abi.ErrCapRights},
		"page capability":       {0, abi.ErrCapKind},
		"second request":        {0, abi.ErrExist},
	} {
		require.Equal(t, want, got[name], name)
	}
	require.Equal(t, uint64(abi.ErrCapRevoked), got["revoked"][1], "revoked")

	require.Equal(t, uint32(3), childSt.LostCount, "the child lost 3 frames")
	require.Equal(t, uint64(spare-3), spareOf(childSt), "exactly 3 left the child")
	require.Equal(t, spareOf(before)+3, spareOf(after), "and went to its parent")
	// The log names the highest 3 of its spare frames, mapped nowhere.
	top := childSt.Spare[0].PA>>12 + childSt.Spare[0].Pages
	for i := uint32(0); i < 3; i++ {
		l := childSt.Lost[i]
		require.Equal(t, uint32(caps.KindPage), l.Kind)
		require.Equal(t, top+uint64(i), l.Name, "lost frame %d", i)
		require.Zero(t, l.VA)
	}
}

// A child with a handler is told (kind, count, deadline in its frame),
// gives back the frames it chooses and resumes where it was: nothing is
// logged, and exactly those frames leave it.
func TestRevokeRequestCooperative(t *testing.T) {
	const spare = 8
	var frame abi.ExceptionFrame
	var chosen uint64
	var owed, errno uint64
	var childBefore, childAfter abi.Startup
	var deadline uint64
	resumed, done := false, false
	progs := map[string]program{
		"p": func(u *uenv) {
			_, envCap := u.spawnSpare("c", spare)
			u.ecall(abi.SysSleep, u.h.p.now+100) // the child registers
			deadline = u.h.p.now + 1_000_000
			_, e := u.revRequest(envCap, abi.RevokePages, 2, deadline)
			require.Equal(t, uint64(abi.OK), e)
			for !done { // its frames come back here
				u.ecall(abi.SysSleep, u.h.p.now+1000)
			}
			u.ecall(abi.SysExit, 0)
		},
		"c": func(u *uenv) {
			_, e := u.ecall(abi.SysRevokeAnswer, abi.RevokeHandler, excEntry, excSave)
			require.Equal(t, uint64(abi.OK), e)
			childBefore = u.startup()
			for !u.yieldTold() {
				u.spin(100)
			}
			frame = u.frameAt(excSave)
			chosen = childBefore.Spare[0].PA >> 12 // its lowest two
			owed, errno = u.ecall(abi.SysRevokeAnswer, abi.RevokeGive, chosen, 2)
			back := frame.PC
			u.ecall(abi.SysRevokeAnswer, abi.RevokeDone, excSave)
			resumed = u.ctx.PC == back
			childAfter = u.startup()
			done = true
			u.ecall(abi.SysExit, 0)
		},
	}
	h := newHarness(t, progs, "exo-manifest v1\nslots 8\nenv p mem=4M spare=4M spawn=4\n")
	h.p.now = 1
	require.Equal(t, uint32(0), h.run())
	require.Equal(t, uint64(abi.RevokePages), frame.Cause, "the kind")
	require.Equal(t, uint64(2), frame.Tval, "the count")
	require.Equal(t, deadline, frame.Reserved[0], "the deadline")
	require.Equal(t, [2]uint64{0, abi.OK}, [2]uint64{owed, errno}, "give")
	require.True(t, resumed, "resumed after its yield")
	require.Zero(t, childAfter.LostCount, "nothing taken by force")
	require.Equal(t, uint64(spare-2), spareOf(childAfter))
	for _, r := range childAfter.Spare[:childAfter.NumSpare] {
		require.False(t, r.PA>>12 <= chosen+1 && chosen < r.PA>>12+r.Pages, "the chosen frames left")
	}
}

// Slots, requested by the kernel (as a test or the manifest would): one
// environment gives back the slot it chooses; one with no handler loses
// its highest slots at the deadline, never its last, as its log says.
func TestRevokeRequestSlots(t *testing.T) {
	for _, tc := range []struct {
		name    string
		handler bool
	}{{"cooperative", true}, {"ignores", false}} {
		t.Run(tc.name, func(t *testing.T) {
			var st abi.Startup
			var slotsBefore, slotsAfter []int
			var giveErr uint64
			progs := map[string]program{
				"a": func(u *uenv) {
					tgt := u.h.k.envs.get(2)
					for s := 0; s < u.h.k.slots.Len(); s++ {
						if u.h.k.slots.Owner(s) == 2 {
							slotsBefore = append(slotsBefore, s)
						}
					}
					_, e, _ := u.h.k.RequestRevoke(tgt, caps.KindSlot, 2, u.h.p.now+50_000)
					require.Equal(t, uint64(abi.OK), e)
					_, e, _ = u.h.k.RequestRevoke(tgt, caps.KindSlot, 1, u.h.p.now+50_000)
					require.Equal(t, uint64(abi.ErrExist), e)
					u.ecall(abi.SysExit, 0)
				},
				"b": func(u *uenv) {
					if tc.handler {
						u.ecall(abi.SysRevokeAnswer, abi.RevokeHandler, excEntry, excSave)
					}
					for u.h.p.now < 200_000 {
						if u.yieldTold() {
							_, e1 := u.ecall(abi.SysRevokeAnswer, abi.RevokeGive, uint64(slotsBefore[0]), 1)
							_, e2 := u.ecall(abi.SysRevokeAnswer, abi.RevokeGive, uint64(slotsBefore[1]), 1)
							giveErr = e1 | e2
							u.ecall(abi.SysRevokeAnswer, abi.RevokeDone, excSave)
						}
						u.spin(1000)
					}
					for s := 0; s < u.h.k.slots.Len(); s++ {
						if u.h.k.slots.Owner(s) == 2 {
							slotsAfter = append(slotsAfter, s)
						}
					}
					st = u.startup()
					u.ecall(abi.SysExit, 0)
				},
			}
			h := newHarness(t, progs, "exo-manifest v1\nslots 8\nenv a mem=2M\nenv b mem=2M slots=4\n")
			h.p.now = 1
			h.run()
			require.Len(t, slotsBefore, 4)
			require.Len(t, slotsAfter, 2, "exactly 2 slots left it")
			if tc.handler {
				require.Equal(t, uint64(abi.OK), giveErr)
				require.Zero(t, st.LostCount)
				require.Equal(t, slotsBefore[2:], slotsAfter, "the ones it chose left")
				return
			}
			require.Equal(t, uint32(2), st.LostCount)
			require.Equal(t, slotsBefore[:2], slotsAfter, "its highest went")
			for i, want := range []int{slotsBefore[3], slotsBefore[2]} {
				require.Equal(t, abi.Lost{Kind: uint32(caps.KindSlot), Name: uint64(want)}, st.Lost[i])
			}
		})
	}
}

// Registration refusals change nothing; giving back without a request, or
// more than asked, is refused.
func TestRevokeAnswerRefusals(t *testing.T) {
	got := map[string][2]uint64{}
	progs := map[string]program{
		"a": func(u *uenv) {
			call := func(name string, args ...uint64) {
				v, e := u.ecall(abi.SysRevokeAnswer, args...)
				got[name] = [2]uint64{v, e}
			}
			call("bad op", 9)
			call("entry misaligned", abi.RevokeHandler, excEntry+1, excSave)
			call("save misaligned", abi.RevokeHandler, excEntry, excSave+4)
			call("entry not executable", abi.RevokeHandler, excSave, excSave+512)
			call("save not writable", abi.RevokeHandler, excEntry, excRO)
			call("give without a request", abi.RevokeGive, 0, 1)
			call("done without a request", abi.RevokeDone, 0)
			tgt := u.h.k.envs.get(1)
			_, e, _ := u.h.k.RequestRevoke(tgt, caps.KindSlot, 1, ^uint64(0))
			require.Equal(t, uint64(abi.OK), e)
			call("give more than asked", abi.RevokeGive, 0, 2)
			call("give another's slot", abi.RevokeGive, 7, 1)
			call("done takes the rest", abi.RevokeDone, 0)
			got["lost"] = [2]uint64{uint64(u.startup().LostCount), uint64(u.h.k.slots.Count(1))}
			u.ecall(abi.SysExit, 0)
		},
	}
	h := newHarness(t, progs, "exo-manifest v1\nslots 8\nenv a mem=2M slots=2\n")
	require.Equal(t, uint32(0), h.run())
	for name, want := range map[string][2]uint64{
		"bad op":                 {0, abi.ErrInval},
		"entry misaligned":       {0, abi.ErrInval},
		"save misaligned":        {0, abi.ErrInval},
		"entry not executable":   {excSave, abi.ErrFault},
		"save not writable":      {excRO, abi.ErrFault},
		"give without a request": {0, abi.ErrNotFound},
		"done without a request": {0, abi.OK},
		"give more than asked":   {1, abi.ErrInval},
		"give another's slot":    {7, abi.ErrNotFound},
		"done takes the rest":    {0, abi.OK},
		"lost":                   {1, 1},
	} {
		require.Equal(t, want, got[name], name)
	}
}
