package kernel

// Regression tests for the races and holes an adversarial review of the
// reshaped kernel found on 2026-12-03 (revocations spanning hand-overs,
// teardowns racing revocations, builds interrupted early, orphans, the
// console at page boundaries, spare-run bookkeeping). Each failed before
// its fix; the comments say what went wrong.

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/exo-os/exo/caps"
	"github.com/exo-os/exo/kernel/abi"
	"github.com/exo-os/exo/kernel/mem"
)

// runCatch is run, but a kernel panic is returned instead of killing the
// test binary.
func (h *harness) runCatch() (status uint32, perr any) {
	done := make(chan struct{})
	go func() {
		defer func() { perr = recover(); close(done) }()
		status = h.k.Run()
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		h.t.Fatalf("kernel did not finish; console:\n%s", h.p.out.String())
	}
	return
}

// spinTo burns CPU until `left` ticks remain in the current slot.
func (u *uenv) spinTo(left uint64) {
	p := u.h.p
	if p.armed > p.now+left {
		u.spin(p.armed - p.now - left)
	}
}

// Found by review: SysRevoke of a Building child's env capability calls markStale on
// the child, which reads CapList.Roots from the child's capList frame
// before bFixed has cleared it: the frame still holds whatever the parent
// wrote into it while it was its spare frame.
func TestRevokeOfABuildingChildDoesNotReadItsUnmadeList(t *testing.T) {
	h := newHarness(t, map[string]program{
		"parent": func(u *uenv) {
			r := u.spawnReq("child", 1<<20, 4, "")
			capListPPN := r.FirstPage + (1<<20)/4096 + 1 // RAM, startup, capList
			_, e := u.mapPage(mapVA, capListPPN, abi.MapRead|abi.MapWrite, caps.Cap(r.MemCap))
			require.Equal(t, uint64(abi.OK), e)
			u.store(mapVA+4, []byte{0xff, 0xff, 0, 0}) // CapList.Roots = 65535
			_, e, child := u.spawnWith(r)
			require.Equal(t, uint64(abi.OK), e)
			u.store(capScratch, child[:])
			u.ecall(abi.SysRevoke, capScratch, outScratch)
			u.ecall(abi.SysExit, 0)
		},
		"child": exitWith(0),
	}, "exo-manifest v1\nslots 8\nenv parent mem=2M spare=4M spawn=yes\n")
	_, perr := h.runCatch()
	require.Nil(t, perr, "kernel panicked")
}

// Found by review: a revoke job that spans a slot boundary mints its fresh capability
// at the epoch current when it ends. A parent that revokes its old spare
// root right after spawning (the old root is still current until the
// child's bEpochs) gets, once the child has built in between, a current
// capability for all of the child's frames: RAM, page tables, start-up
// block. The child's own roots die too (only the holder of lo is
// refreshed).
func TestRevokeSpanningASpawnGivesNoCapabilityForTheChild(t *testing.T) {
	var mapChildRAM, childOwn [2]uint64
	var childPPN uint64
	h := newHarness(t, map[string]program{
		"parent": func(u *uenv) {
			r := u.spawnReq("child", 2<<20, 4, "")
			old := caps.Cap(r.MemCap)
			_, e, _ := u.spawnWith(r)
			require.Equal(t, uint64(abi.OK), e)
			childPPN = r.FirstPage + 0x100 // a page of the child's RAM (heap/stack, RW)
			u.spinTo(500)
			u.store(capScratch, old[:])
			_, e = u.ecall(abi.SysRevoke, capScratch, outScratch)
			require.Equal(t, uint64(abi.OK), e)
			fresh := caps.Cap(u.load(outScratch, caps.Size))
			for u.h.k.Env(2).State() == Building {
				u.ecall(abi.SysYield)
			}
			mapChildRAM = u.ecall2(abi.SysMap, mapVA, childPPN, abi.MapRead|abi.MapWrite, func() uint64 { u.store(capScratch, fresh[:]); return capScratch }())
			if mapChildRAM[1] == abi.OK {
				u.store(mapVA, []byte("parent was here"))
			}
			// The child's kernel frames (its root page table):
			root := u.h.k.Env(2).as.Root() / 4096
			u.ecall2(abi.SysMap, mapVA+0x1000, root, abi.MapRead, capScratch)
			for u.h.k.Env(2).State() != Zombie {
				u.ecall(abi.SysYield)
			}
			u.ecall(abi.SysExit, 0)
		},
		"child": func(u *uenv) {
			for u.h.k.Env(1).job.kind != jobNone || u.h.k.Env(1).Slices < 3 {
				u.ecall(abi.SysYield)
			}
			for i := 0; i < 3; i++ {
				u.ecall(abi.SysYield)
			}
			// the child maps its own RAM page with its own root
			root := u.capOf(caps.KindPage)
			_, lo, _, _ := root.Effective()
			childOwn[0], childOwn[1] = u.mapPage(mapVA, lo, abi.MapRead, root)
			u.ecall(abi.SysExit, 0)
		},
	}, "exo-manifest v1\nslots 8\nenv parent mem=2M spare=4M spawn=yes\n")
	h.p.workTick = 1000
	h.run()
	t.Logf("parent maps child's RAM ppn %#x with the fresh cap: %v", childPPN, mapChildRAM)
	t.Logf("child maps its own RAM with its root: %v", childOwn)
	require.NotContains(t, h.console(), "BUG", "console:\n%s", h.console())
	require.NotEqual(t, uint64(abi.OK), mapChildRAM[1], "the parent got a current capability for its child's RAM")
	require.Equal(t, uint64(abi.OK), childOwn[1], "the child lost authority over its own RAM")
}

// Found by review: revoking a slot held by a Dying environment whose start-up block
// has already been handed on (passOn set e.startup = 0) wrote the loss
// record into physical page 0. The window is between two steps of the
// teardown; the test puts the environment in it directly.
func TestSlotRevokeOfADyingHolder(t *testing.T) {
	h := newHarness(t, map[string]program{"a": exitWith(0), "d": exitWith(0)}, "exo-manifest v1\nslots 8\nenv a mem=2M\nenv d mem=2M slots=2\n")
	h.built()
	a, d := h.k.Env(1), h.k.Env(2)
	held := h.k.slots.Held(2)
	d.state, d.startup = Dying, 0 // as after passOn, slots still held
	c, err := h.k.auth.Mint(caps.KindSlot, uint64(held[1]), uint64(held[1]), rootSlot)
	require.NoError(t, err)
	copy(h.arena.Page(mustLookup(t, a, capScratch))[:], c[:])
	a.ctx.X[regA0], a.ctx.X[regA1] = capScratch, outScratch
	_, errno, out := sysRevoke(h.k, a)
	require.Equal(t, [2]uint64{0, uint64(working)}, [2]uint64{errno, uint64(out)})
	require.NotPanics(t, func() {
		for a.job.kind != jobNone {
			h.k.work(a)
		}
	})
	require.Equal(t, uint64(abi.OK), a.ctx.X[regA1])
	require.Equal(t, d.ID, h.k.slots.Owner(held[1]), "a dying environment gives its slots up itself")
}

// Found by review: valid UTF-8 that straddles a page boundary in one SysWrite is shown
// as \x escapes: the kernel corrupts a well-formed write.
func TestConsoleUTF8AcrossAPageBoundary(t *testing.T) {
	h := newHarness(t, map[string]program{"a": func(u *uenv) {
		va := uint64(abi.RAMStart + 0x100000 + 4096 - 1)
		u.store(va, []byte("\u00e9!\n")) // c3 | a9 21 0a
		u.ecall(abi.SysWrite, va, 4)
		u.ecall(abi.SysExit, 0)
	}}, "exo-manifest v1\nenv a mem=2M\n")
	h.run()
	require.Contains(t, h.console(), "[1 a] \u00e9!\n")
}

// revokerRequest asks for "a" (slot 4, may spawn, room for a child)
// holding a capability to revoke page ppn of the caller's RAM: the
// revoker, below, of the tests that use it.
func revokerRequest(t *testing.T, u *uenv, ppn uint64) abi.SpawnRequest {
	r := u.spawnReq("a", 2<<20, 4, "")
	extra := abi.SpawnFrames(2<<20, 0)
	r.FirstPage -= extra
	r.Pages += extra
	r.Flags = abi.SpawnMaySpawn
	r.NCaps = 1
	r.Caps[0] = mustDerive(t, u.capOf(caps.KindPage), caps.PageRead|caps.PageRevoke, ppn, ppn)
	return r
}

// revoker is "a": it spawns "k" (env 3, slot 5), waits until its own slot
// 4 is the one running, and revokes the page it was given late in the
// slice, so that the revocation runs on in the slots that follow.
func revoker(u *uenv) {
	list := u.capList()
	rv := list[len(list)-1]
	_, e := u.spawn("k", 2<<20, 5, "", u.capOf(caps.KindEnv))
	require.Equal(u.h.t, uint64(abi.OK), e)
	for u.h.k.Env(3).State() != Runnable {
		u.ecall(abi.SysYield)
	}
	for u.h.k.slots.Current() != 4 || u.h.k.slots.Running() != 4 {
		u.ecall(abi.SysYield)
	}
	u.spinTo(1500)
	u.store(capScratch, rv[:])
	u.ecall(abi.SysRevoke, capScratch, outScratch)
	u.ecall(abi.SysExit, 0)
}

// Found by review: a revoker that is destroyed (or otherwise ends) between rEpochs and
// rHolder leaves the holder's root capability dead for good: rHolder,
// which would have re-minted it, never runs, and the entry still matches
// what refreshRoots wants, so no later refresh replaces it either.
func TestRevokerEndingMidJobLeavesTheHolderItsAuthority(t *testing.T) {
	var ppn uint64
	var ownerMap, ownerRevoke, sawPhase [2]uint64
	h := newHarness(t, map[string]program{
		"parent": func(u *uenv) {
			ppn = u.ramPPN(abi.RAMStart + 0x100000)
			r := revokerRequest(t, u, ppn)
			_, e, _ := u.spawnWith(r)
			require.Equal(t, uint64(abi.OK), e)
			for !u.h.gone(2) && u.h.k.Env(2).State() != Zombie {
				u.ecall(abi.SysSleep, u.h.p.now+500_000)
			}
			root := u.capFor(caps.KindPage, ppn)
			ownerMap[0], ownerMap[1] = u.mapPage(mapVA, ppn, abi.MapRead, root)
			u.store(capScratch, root[:])
			ownerRevoke = u.ecall2(abi.SysRevoke, capScratch, outScratch)
			u.ecall(abi.SysExit, 0)
		},
		"a": revoker,
		"k": func(u *uenv) {
			list := u.capList()
			aCap := list[len(list)-1]
			for {
				a := u.h.k.Env(2)
				if a.job.kind == jobRevoke && a.job.phase > rEpochs {
					sawPhase[0], sawPhase[1] = 1, uint64(a.job.phase)
					u.store(capScratch, aCap[:])
					u.ecall(abi.SysEnvControl, abi.EnvDestroy, capScratch)
					break
				}
				if a.State() >= Dying {
					break
				}
				u.ecall(abi.SysYield)
			}
			u.ecall(abi.SysExit, 0)
		},
	}, "exo-manifest v1\nslots 8\nenv parent mem=2M spare=6M spawn=yes\n")
	h.p.workTick = 1000
	h.run()
	t.Log(h.console())
	t.Logf("k destroyed a mid-revoke: %v; owner maps its own page: %v; owner revokes its own run: %v", sawPhase, ownerMap, ownerRevoke)
	require.Equal(t, uint64(1), sawPhase[0], "did not hit the window")
	require.Equal(t, uint64(abi.OK), ownerMap[1], "the owner lost authority over its own page")
	require.Equal(t, uint64(abi.OK), ownerRevoke[1], "the owner can no longer revoke its own RAM run")
}

// Found by review: the same fresh-mint race with env ids, across trees. A holds an
// env capability for C (given by their parent D). A's revoke of it is
// preempted after rEpochs; S (A's sibling, holding A's env capability)
// stops A; C exits and its id is freed (its parent D is gone); q, the root
// of another manifest tree, spawns a child, which gets C's old id. S
// resumes A; A's revoke ends by minting a "fresh" capability for that id,
// with control: A destroys the other tree's environment.
func TestRevokeSpanningAnIdReuseGivesNoCapabilityForTheNewEnv(t *testing.T) {
	var qSpawn, destroyed [2]uint64
	var qGo, cGo bool
	var aPhaseStopped uint8
	h := newHarness(t, map[string]program{
		"d": func(u *uenv) {
			_, e, cCap := u.spawnWith(u.spawnReq("c", 2<<20, 5, ""))
			require.Equal(t, uint64(abi.OK), e)
			r := u.spawnReq("a", 2<<20, 4, "")
			r.NCaps, r.Caps[0] = 1, cCap
			_, e, aCap := u.spawnWith(r)
			require.Equal(t, uint64(abi.OK), e)
			_, e = u.spawn("s", 2<<20, 6, "", aCap)
			require.Equal(t, uint64(abi.OK), e)
			u.ecall(abi.SysExit, 0) // its children are orphans now
		},
		"c": func(u *uenv) {
			for !cGo {
				u.ecall(abi.SysYield)
			}
			u.ecall(abi.SysExit, 0)
		},
		"a": func(u *uenv) {
			list := u.capList()
			cCap := list[len(list)-1]
			for !u.h.gone(1) || u.h.k.slots.Current() != 4 || u.h.k.slots.Running() != 4 {
				u.ecall(abi.SysYield)
			}
			u.spinTo(1500)
			u.store(capScratch, cCap[:])
			_, e := u.ecall(abi.SysRevoke, capScratch, outScratch)
			require.Equal(t, uint64(abi.OK), e)
			fresh := caps.Cap(u.load(outScratch, caps.Size))
			u.store(capScratch, fresh[:])
			destroyed = u.ecall2(abi.SysEnvControl, abi.EnvDestroy, capScratch)
			u.ecall(abi.SysExit, 0)
		},
		"s": func(u *uenv) {
			list := u.capList()
			aCap := list[len(list)-1]
			for u.h.k.Env(4).job.kind != jobRevoke {
				u.ecall(abi.SysYield)
			}
			aPhaseStopped = u.h.k.Env(4).job.phase
			u.store(capScratch, aCap[:])
			_, e := u.ecall(abi.SysEnvControl, abi.EnvStop, capScratch)
			require.Equal(t, uint64(abi.OK), e)
			cGo = true
			for !u.h.gone(3) {
				u.ecall(abi.SysYield)
			}
			qGo = true
			for qSpawn == [2]uint64{} {
				u.ecall(abi.SysYield)
			}
			u.store(capScratch, aCap[:])
			_, e = u.ecall(abi.SysEnvControl, abi.EnvResume, capScratch)
			require.Equal(t, uint64(abi.OK), e)
			u.ecall(abi.SysExit, 0)
		},
		"q": func(u *uenv) {
			for !qGo {
				u.ecall(abi.SysYield)
			}
			v, e, _ := u.spawnWith(u.spawnReq("qc", 2<<20, 7, ""))
			qSpawn = [2]uint64{v, e}
			for !u.h.gone(4) && u.h.k.Env(4).State() < Dying {
				u.ecall(abi.SysYield)
			}
			u.ecall(abi.SysExit, 0)
		},
		"qc": func(u *uenv) {
			for !u.h.gone(4) {
				u.ecall(abi.SysYield)
			}
			u.ecall(abi.SysExit, 0)
		},
	}, "exo-manifest v1\nslots 8\nenv d mem=2M spare=12M spawn=yes\nenv q mem=2M spare=4M spawn=yes\n")
	h.p.workTick = 1000
	h.run()
	t.Logf("a's revoke stopped at phase %d; q's spawn: %v; a destroys with its fresh cap: %v", aPhaseStopped, qSpawn, destroyed)
	t.Log(h.console())
	require.Equal(t, [2]uint64{3, abi.OK}, qSpawn, "q's child got C's old id")
	require.NotEqual(t, uint64(abi.OK), destroyed[1], "a destroyed another tree's environment")
}

// Found by review: a live child of an environment that ends is handed to its heir;
// when it later finishes it becomes the heir's Zombie, but the heir has no
// capability naming it, so it can never reap it: the id stays charged to
// the tree until the heir itself ends.
func TestOrphansAreNotUnreapableZombies(t *testing.T) {
	var before, after uint32
	var rState State
	var rParent *Env
	h := newHarness(t, map[string]program{
		"p": func(u *uenv) {
			before = uint32(u.h.k.Env(1).tree.envsLeft)
			r := u.spawnReq("q", 2<<20, 4, "")
			extra := abi.SpawnFrames(2<<20, 0)
			r.FirstPage -= extra
			r.Pages += extra
			r.Flags = abi.SpawnMaySpawn
			_, e, qCap := u.spawnWith(r)
			require.Equal(t, uint64(abi.OK), e)
			for u.h.k.Env(2).State() != Zombie {
				u.ecall(abi.SysYield)
			}
			for !u.h.gone(3) {
				u.ecall(abi.SysYield)
			}
			rState = Dead
			u.store(capScratch, qCap[:])
			_, e = u.ecall(abi.SysEnvControl, abi.EnvReap, capScratch) // q: fine
			require.Equal(t, uint64(abi.OK), e)
			t.Logf("start-up block says EnvsLeft %d, tree has %d", 0, u.h.k.Env(1).tree.envsLeft)
			after = uint32(u.h.k.Env(1).tree.envsLeft) // r: no capability names it
			u.ecall(abi.SysExit, 0)
		},
		"q": func(u *uenv) {
			_, e := u.spawn("r", 2<<20, 5, "")
			require.Equal(t, uint64(abi.OK), e)
			u.ecall(abi.SysExit, 0)
		},
		"r": func(u *uenv) {
			for !u.h.gone(2) && u.h.k.Env(2).State() != Zombie {
				u.ecall(abi.SysYield)
			}
			u.ecall(abi.SysExit, 0)
		},
	}, "exo-manifest v1\nslots 8\nenv p mem=2M spare=8M spawn=4\n")
	h.run()
	pid := uint32(0)
	if rParent != nil {
		pid = rParent.ID
	}
	t.Logf("EnvsLeft before %d after %d; r %v, parent id %d", before, after, rState, pid)
	require.Equal(t, before, after, "an id is held by a zombie nobody can reap")
}

// Found by review: revoking a Building child's env id while it is in bRoots kills the
// env root it already minted; refreshRoots skips Building environments and
// nothing refreshes the stale entry when bRoots ends.
func TestRevokeDuringBuildLeavesCurrentRoots(t *testing.T) {
	var own [2]uint64
	hit := false
	h := newHarness(t, map[string]program{
		"p": func(u *uenv) {
			r := u.spawnReq("c", 2<<20, 4, "")
			r.Flags = abi.SpawnMaySpawn
			_, e, cCap := u.spawnWith(r)
			require.Equal(t, uint64(abi.OK), e)
			for {
				c := u.h.k.Env(2)
				if c.State() != Building {
					break
				}
				if c.job.phase == bRoots && c.job.cursor >= 1 {
					hit = true
					u.store(capScratch, cCap[:])
					u.ecall(abi.SysEnvControl, abi.EnvStop, capScratch)
					_, e := u.ecall(abi.SysRevoke, capScratch, outScratch)
					require.Equal(t, uint64(abi.OK), e)
					fresh := caps.Cap(u.load(outScratch, caps.Size))
					u.store(capScratch, fresh[:])
					u.ecall(abi.SysEnvControl, abi.EnvResume, capScratch)
					break
				}
				u.ecall(abi.SysYield)
			}
			for !u.h.gone(2) && u.h.k.Env(2).State() != Zombie {
				u.ecall(abi.SysYield)
			}
			u.ecall(abi.SysExit, 0)
		},
		"c": func(u *uenv) {
			env := u.capOf(caps.KindEnv)
			u.store(capScratch, env[:])
			own = u.ecall2(abi.SysSlotBind, 6, capScratch) // a free slot, on its own spawn right
			u.ecall(abi.SysExit, 0)
		},
	}, "exo-manifest v1\nslots 8\nenv p mem=2M spare=8M spawn=yes\n")
	h.p.workTick = 30_000 // about three build steps a slot
	h.run()
	require.True(t, hit, "did not catch the child in bRoots")
	require.Equal(t, uint64(abi.OK), own[1], "the child lost its own env root: %v", own)
}

// Found by review: a child destroyed before its bEpochs/bUndo ran leaves other
// environments' mappings (and capabilities) of its kernel frames alone:
// teardown bumps and undoes only RAM and spare. With no heir, the frames
// go to the free pool still mapped.
func TestDestroyBeforeTheTransferUndoesKernelFrameBindings(t *testing.T) {
	var f uint64
	var still bool
	var owner uint32
	h := newHarness(t, map[string]program{
		"p": func(u *uenv) {
			// x gets a read/write capability for the spare frame that
			// will be C's capability list frame.
			r := u.spawnReq("c", 2<<20, 5, "")
			f = r.FirstPage + (2<<20)/4096 + 1
			share := mustDerive(t, caps.Cap(r.MemCap), caps.PageRead|caps.PageWrite, f, f)
			rx := u.spawnReq("x", 2<<20, 4, "")
			rx.FirstPage -= abi.SpawnFrames(2<<20, 0) + 64 // keep clear of c's frames
			rx.NCaps, rx.Caps[0] = 1, share
			_, e, _ := u.spawnWith(rx)
			require.Equal(t, uint64(abi.OK), e)
			for !u.h.mapped(2, mapVA) {
				u.ecall(abi.SysYield)
			}
			_, e, cCap := u.spawnWith(r)
			require.Equal(t, uint64(abi.OK), e)
			u.store(capScratch, cCap[:])
			_, e = u.ecall(abi.SysEnvControl, abi.EnvDestroy, capScratch)
			require.Equal(t, uint64(abi.OK), e)
			u.ecall(abi.SysExit, 0)
		},
		"c": func(u *uenv) { t.Error("c ran") },
		"x": func(u *uenv) {
			list := u.capList()
			c := list[len(list)-1]
			_, lo, _, _ := c.Effective()
			_, e := u.mapPage(mapVA, lo, abi.MapRead|abi.MapWrite, c)
			require.Equal(t, uint64(abi.OK), e)
			for !u.h.gone(3) || !u.h.gone(1) {
				u.ecall(abi.SysYield)
			}
			still = u.h.mapped(2, mapVA)
			o, _ := u.h.k.frames.Owner(lo * 4096)
			owner = uint32(o)
			u.store(mapVA, []byte("scribble in a free frame"))
			u.ecall(abi.SysExit, 0)
		},
	}, "exo-manifest v1\nslots 8\nenv p mem=2M spare=8M spawn=yes\n")
	h.run()
	t.Logf("frame %#x: still mapped by x %v, owner %#x", f, still, owner)
	require.False(t, still && owner == 0, "a frame in the free pool is still mapped")
}

// Found by review: adding a run that ends where one begins did not look
// for a run that ends where it begins, so touching runs stayed apart.
// mergeRuns coalesces every touching run, keeps the longest maxSpare,
// longest first, and returns the rest.
func TestMergeRunsCoalesces(t *testing.T) {
	const P = 4096
	l := []mem.Run{{PA: 20 * P, N: 10}, {PA: 0, N: 10}}
	require.Empty(t, mergeRuns(&l, []mem.Run{{PA: 10 * P, N: 10}}))
	require.Equal(t, []mem.Run{{PA: 0, N: 30}}, l)

	var many []mem.Run
	for i := 0; i < maxSpare+2; i++ {
		many = append(many, mem.Run{PA: uint64(100+4*i) * P, N: 1 + i%3}) // gaps: none touch
	}
	l = nil
	left := mergeRuns(&l, many)
	require.Len(t, l, maxSpare)
	require.Len(t, left, 2)
	for i := 1; i < len(l); i++ {
		require.GreaterOrEqual(t, l[i-1].N, l[i].N, "longest first")
	}
	for _, r := range left {
		require.LessOrEqual(t, r.N, l[len(l)-1].N, "the shortest are left over")
	}
}

// Found by review: while a revoker is stopped half-way through a
// revocation, the holder keeps authority over its own page (it maps it and
// revokes it), and destroying the revoker lets the revocation end.
func TestStoppedRevokerStillFinishes(t *testing.T) {
	var ppn uint64
	var ownerMap, ownerRevoke [2]uint64
	var sawPhase uint8
	var destroy [2]uint64
	stopped := false
	h := newHarness(t, map[string]program{
		"parent": func(u *uenv) {
			ppn = u.ramPPN(abi.RAMStart + 0x100000)
			r := revokerRequest(t, u, ppn)
			_, e, aCap := u.spawnWith(r)
			require.Equal(t, uint64(abi.OK), e)
			for !stopped {
				u.ecall(abi.SysSleep, u.h.p.now+500_000)
			}
			// Let plenty of slots pass: the revocation is still half done.
			for i := 0; i < 20; i++ {
				u.ecall(abi.SysSleep, u.h.p.now+200_000)
			}
			root := u.capFor(caps.KindPage, ppn)
			ownerMap[0], ownerMap[1] = u.mapPage(mapVA, ppn, abi.MapRead, root)
			u.store(capScratch, root[:])
			ownerRevoke = u.ecall2(abi.SysRevoke, capScratch, outScratch)
			// Let the machine finish: destroying a lets its revocation end.
			u.store(capScratch, aCap[:])
			destroy = u.ecall2(abi.SysEnvControl, abi.EnvDestroy, capScratch, 0)
			u.ecall(abi.SysExit, 0)
		},
		"a": revoker,
		"k": func(u *uenv) {
			list := u.capList()
			aCap := list[len(list)-1]
			for {
				a := u.h.k.Env(2)
				if a.job.kind == jobRevoke && a.job.phase > rEpochs && a.job.phase < rDone {
					sawPhase = a.job.phase
					u.store(capScratch, aCap[:])
					_, e := u.ecall(abi.SysEnvControl, abi.EnvStop, capScratch, 0)
					require.Equal(t, uint64(abi.OK), e)
					stopped = true
					break
				}
				if a.State() >= Dying {
					break
				}
				u.ecall(abi.SysYield)
			}
			u.ecall(abi.SysExit, 0)
		},
	}, "exo-manifest v1\nslots 8\nenv parent mem=2M spare=6M spawn=yes\n")
	h.p.workTick = 1000
	h.run()
	t.Logf("destroy: %v", destroy)
	require.NotZero(t, sawPhase, "did not hit the window")
	t.Logf("a stopped in revoke phase %d; owner maps its page: %v; owner revokes: %v", sawPhase, ownerMap, ownerRevoke)
	require.Equal(t, uint64(abi.OK), ownerMap[1], "the owner lost authority over its own page while the revoker is stopped")
	require.Equal(t, uint64(abi.OK), ownerRevoke[1], "the owner cannot revoke its own page while the revoker is stopped")
}

// R2: a page revocation longer than stepEpochs bumps its names over
// several steps but stamps its fresh capability with the epoch of its last
// step. An owner's revocation of some of those names that lands between the
// revoker's bump of them and its last step is undone by the revoker's fresh
// capability: the revoker ends with a current read/write capability for
// pages the owner revoked from it. (The taint only covers hand-overs, not
// concurrent revocations.)
func TestLongRevokeDoesNotUndoAConcurrentOne(t *testing.T) {
	var shared, fresh caps.Cap
	var lo uint64
	var ownerRevoked bool
	var rRevoke, rMapAfter, ownerRev [2]uint64
	h := newHarness(t, map[string]program{
		"o": func(u *uenv) {
			_, e := u.spawn("r", 2<<20, 4, "")
			require.Equal(t, uint64(abi.OK), e)
			st := u.startup()
			lo = st.Spare[0].PA >> 12
			root := u.capFor(caps.KindPage, lo)
			shared = mustDerive(t, root, caps.PageRead|caps.PageWrite|caps.PageRevoke, lo, lo+8191)
			for {
				r := u.h.k.Env(2)
				if r.job.kind == jobRevoke && r.job.phase == rEpochs && r.job.cursor > lo {
					break // r has bumped [lo, lo+4096) and been preempted
				}
				u.spin(2000)
			}
			// The owner takes [lo+4096, lo+8191] back from r.
			part := mustDerive(t, root, rootPage, lo+4096, lo+8191)
			u.store(capScratch, part[:])
			ownerRev = u.ecall2(abi.SysRevoke, capScratch, outScratch, 0)
			ownerRevoked = true
			for u.h.k.Env(2).State() != Zombie {
				u.spin(2000)
			}
			u.ecall(abi.SysExit, 0)
		},
		"r": func(u *uenv) {
			for shared == (caps.Cap{}) {
				u.spin(2000)
			}
			for u.h.k.slots.Current() != 4 || u.h.k.slots.Running() != 4 {
				u.spin(2000)
			}
			u.spinTo(1500)
			u.store(capScratch, shared[:])
			rRevoke = u.ecall2(abi.SysRevoke, capScratch, outScratch, 0)
			fresh = caps.Cap(u.load(outScratch, caps.Size))
			require.True(t, ownerRevoked, "the owner's revocation ran inside r's")
			rMapAfter[0], rMapAfter[1] = u.mapPage(mapVA, lo+5000, abi.MapRead|abi.MapWrite, fresh)
			if rMapAfter[1] == abi.OK {
				u.store(mapVA, []byte("still writing the owner's page"))
			}
			u.ecall(abi.SysExit, 0)
		},
	}, "exo-manifest v1\nslots 8\nenv o mem=2M spare=48M spawn=yes\n")
	h.p.workTick = 1000
	h.run()
	t.Logf("owner's revoke %v; r's revoke %v; r maps page %#x (revoked by the owner) RW with its fresh cap: %v", ownerRev, rRevoke, lo+5000, rMapAfter)
	require.Equal(t, uint64(abi.OK), ownerRev[1])
	require.Equal(t, uint64(abi.OK), rRevoke[1])
	require.NotEqual(t, uint64(abi.OK), rMapAfter[1], "r holds a current capability for pages its owner revoked from it")
}

// R3: a child can make its parent lose the frames it gave for good. A
// spawned environment's frames come back to its heir as one run per piece
// its own children cut out of it (up to 1 + maxSpare); passOn keeps what
// does not fit the heir's maxSpare list "for the pool", and the pool is
// never drawn from after boot. Here C takes its first grandchild from the
// start of its spare run and 15 more from the middle, so it comes back as
// 17 runs: the last one goes to the pool, and the parent ends with fewer
// spare frames than it started with though every descendant is gone.
func TestEveryFrameGivenComesBack(t *testing.T) {
	var before, after uint64
	var spawned int
	spareTotal := func(e *Env) (n uint64) {
		for _, r := range e.spare {
			n += uint64(r.N)
		}
		return n
	}
	h := newHarness(t, map[string]program{
		"p": func(u *uenv) {
			me := u.h.k.Env(1)
			before = spareTotal(me)
			const per = 296 // SpawnFrames(1M, 0)
			r := u.spawnReq("c", 2<<20, 4, "")
			extra := uint64(16*per + 16*20)
			r.FirstPage -= extra
			r.Pages += extra
			r.Flags = abi.SpawnMaySpawn
			_, e, _ := u.spawnWith(r)
			require.Equal(t, uint64(abi.OK), e)
			for {
				done := true
				for _, x := range u.h.k.envs.byID {
					if x != nil && x != me && x.state != Dead && x.state != Zombie {
						done = false
					}
				}
				if done {
					break
				}
				u.ecall(abi.SysSleep, u.h.p.now+100_000, 0, 0, 0)
			}
			after = spareTotal(me)
			u.ecall(abi.SysExit, 0)
		},
		"c": func(u *uenv) {
			for i := 0; i < 16; i++ {
				st := u.startup()
				run := st.Spare[0]
				r := u.spawnReq("g", 1<<20, uint32(5+i), "")
				r.FirstPage = run.PA>>12 + 10
				if i == 0 {
					r.FirstPage = run.PA >> 12 // from the start: no piece before it
				}
				r.MemCap = u.capFor(caps.KindPage, run.PA>>12)
				if _, e, _ := u.spawnWith(r); e == abi.OK {
					spawned++
				} else {
					t.Logf("grandchild %d: error %d", i, e)
				}
			}
			u.ecall(abi.SysExit, 0)
		},
		"g": func(u *uenv) {
			for !u.h.gone(2) && u.h.k.Env(2).State() != Zombie {
				u.ecall(abi.SysSleep, u.h.p.now+100_000, 0, 0, 0)
			}
			u.ecall(abi.SysExit, 0)
		},
	}, "exo-manifest v1\nslots 24\nenv p mem=2M spare=24M spawn=40\n")
	h.run()
	t.Logf("c spawned %d grandchildren; p's spare frames before %d, after everyone ended %d; free pool %d", spawned, before, after, h.k.frames.FreeCount())
	require.Equal(t, 16, spawned)
	require.Equal(t, before, after, "frames the parent gave did not come back to it")
}

// stuckPlat ends a run that idles forever with environments still live.
type stuckPlat struct {
	*plat
	idles int
}

func (s *stuckPlat) Idle() {
	if s.idles++; s.idles > 10_000 {
		panic("the kernel idles forever with environments live")
	}
	s.plat.Idle()
}

// R4: finalStep releases the ending environment's slots in its first step,
// then scans env ids scanIDs a step. Once more than scanIDs ids have ever
// been in use (zombies hold ids, not slots: 300 unreaped children are
// enough), the scan takes a second step; if the slot ends between the two,
// the environment owns no slot and is never picked again: it stays Dying
// forever, its remaining zombie children are never freed, its parent can
// never reap it, and k.live never reaches 0 (the machine never finishes).
func TestFinalStepKeepsItsSlotsToTheEnd(t *testing.T) {
	var spawned int
	h := newHarnessWith(t, map[string]program{
		"p": func(u *uenv) {
			for i := 0; i < 300; i++ {
				id, e := u.spawn("z", 0x15000, 1, "")
				if e != abi.OK {
					t.Logf("spawn %d: error %d", i, e)
					break
				}
				spawned++
				for u.h.k.Env(uint32(id)).State() != Zombie {
					u.ecall(abi.SysSleep, u.h.p.now+1000, 0, 0, 0)
				}
			}
			// One step of kernel work a slot from here on.
			u.h.p.workTick = 50_001
			u.ecall(abi.SysExit, 0)
		},
		"z": exitWith(0),
	}, "exo-manifest v1\nslots 8\nenv p mem=2M spare=1M spawn=300\n", func(c *Config) {
		c.Platform = &stuckPlat{plat: c.Platform.(*plat)}
	})
	_, perr := h.runCatch()
	p := h.k.envs.byID[1]
	t.Logf("spawned %d; high id %d; panic: %v", spawned, h.k.envs.high, perr)
	if p != nil {
		t.Logf("p: state %v, job %d phase %d cursor %d, slots held %d; live %d", p.state, p.job.kind, p.job.phase, p.job.cursor, h.k.slots.Count(1), h.k.live)
	}
	require.Equal(t, 300, spawned)
	require.Nil(t, perr)
	require.Zero(t, h.k.live, "an ending environment was left without a slot to finish in")
}

// R5: U+2028 LINE SEPARATOR and U+2029 PARAGRAPH SEPARATOR pass the
// console filter as plain UTF-8. Readers that split lines on them (Python's
// str.splitlines, JavaScript, many log viewers) then see an environment's
// line that begins "exo: ". U+0085 (NEL), the C1 line break, is escaped;
// these two are not.
func TestConsoleShowsLineSeparatorsAndBidiControls(t *testing.T) {
	h := newHarness(t, map[string]program{"a": func(u *uenv) {
		u.write("x\u2028exo: env 1 (a) exited with status 0\u2029exo: all environments finished\n")
		u.ecall(abi.SysExit, 0)
	}}, "exo-manifest v1\nenv a mem=2M\n")
	h.run()
	require.NotContains(t, h.console(), "\u2028", "an environment wrote a line separator to the console")
	require.NotContains(t, h.console(), "\u2029", "an environment wrote a paragraph separator to the console")
}

// stress: a randomised storm of colluding hostile environments. All
// capabilities any of them learns go into one shared pool (as if passed
// through shared memory).
