package kernel

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/exo-os/exo/caps"
	"github.com/exo-os/exo/kernel/abi"
	"github.com/exo-os/exo/riscv"
)

// An environment's construction and teardown run in its own slots, in
// bounded steps: with every step costing time (workTick), a 32 MiB
// environment takes many slots to build and to tear down, while a
// bystander keeps getting its slots, and no due timer interrupt waits
// longer than about one step.
func TestBuildAndTeardownAreChunked(t *testing.T) {
	var ran []uint64 // when the bystander ran
	bigRan := false
	h := newHarness(t, map[string]program{
		"big": func(u *uenv) { bigRan = true; u.ecall(abi.SysExit, 0) },
		"bystander": func(u *uenv) {
			for i := 0; i < 40; i++ {
				ran = append(ran, u.h.p.now)
				u.spin(20_000)
			}
			u.ecall(abi.SysExit, 0)
		},
	}, "exo-manifest v1\nslots 4\nenv big mem=32M spare=8M\nenv bystander mem=1M\n")
	const stepCost = 2_000 // ticks per look between steps: 200 us
	h.p.workTick = stepCost
	big := h.k.Env(1)
	h.run()
	require.True(t, bigRan, "it built and ran")
	// 8192 RAM pages, 2048 spare, at 16 a step; and the teardown.
	require.Greater(t, big.Steps, uint64((8192+2048)/stepPages))
	require.Greater(t, big.Preemptions, uint64(10), "the build and the teardown took many slots")
	require.Len(t, ran, 40)
	require.Less(t, ran[0], uint64(200_000), "the bystander's first slot came while big was still building")
	require.LessOrEqual(t, h.k.MaxLate, uint64(2*stepCost), "a due tick waits at most about a step")
	require.Equal(t, 0, h.k.frames.Count(envFrame))
}

// A parent's children are made of its spare frames and its tree's env
// ids, and of nothing else: when those run out, spawn fails for it alone
// (another tree still spawns); reaping gives frames and ids back; an id's
// next holder is not named by the old holder's capability.
func TestSpawnChargesTheParentAndReapGivesBack(t *testing.T) {
	var first, second []uint64
	var spareBefore, spareAfter uint64
	var oldCap [2]uint64
	var oldID, otherSpawn uint64
	spare := func(u *uenv) uint64 {
		st := u.startup()
		n := uint64(0)
		for _, r := range st.Spare[:st.NumSpare] {
			n += r.Pages
		}
		return n
	}
	h := newHarness(t, map[string]program{
		"parent": func(u *uenv) {
			spareBefore = spare(u)
			var kids []caps.Cap
			slot := uint32(4)
			spawnOne := func() uint64 {
				st := u.startup()
				if st.NumSpare == 0 || st.Spare[0].Pages < abi.SpawnFrames(1<<20, 0) {
					return abi.ErrNoMem // libos would say ErrNoSpare
				}
				_, e, c := u.spawnWith(u.spawnReq("kid", 1<<20, slot, ""))
				if e == abi.OK {
					kids = append(kids, c)
					slot++
				}
				return e
			}
			for i := 0; i < 4; i++ {
				first = append(first, spawnOne())
			}
			// Wait for them to finish, then reap them all.
			for _, c := range kids {
				for {
					u.store(capScratch, c[:])
					st, e := u.ecall(abi.SysEnvControl, abi.EnvStatus, capScratch)
					require.Equal(t, uint64(abi.OK), e)
					if st == abi.EnvStateZombie {
						break
					}
					u.ecall(abi.SysYield)
				}
				v, e := u.ecall(abi.SysEnvControl, abi.EnvReap, capScratch)
				require.Equal(t, [2]uint64{7, abi.OK}, [2]uint64{v, e})
			}
			spareAfter = spare(u)
			_, oldID, _, _ = kids[0].Effective()
			u.store(capScratch, kids[0][:])
			oldCap[0], oldCap[1] = u.ecall(abi.SysEnvControl, abi.EnvStatus, capScratch)
			kids, slot = nil, 4
			for i := 0; i < 3; i++ {
				second = append(second, spawnOne())
			}
			u.ecall(abi.SysExit, 0)
		},
		"other": func(u *uenv) {
			_, otherSpawn, _ = u.spawnWith(u.spawnReq("kid", 1<<20, 7, ""))
			u.ecall(abi.SysExit, 0)
		},
		"kid": exitWith(7),
	}, "exo-manifest v1\nslots 8\nenv parent mem=2M spare=3M spawn=2\nenv other mem=2M spare=2M spawn=yes\n")
	h.run()
	// 3 MiB of spare frames hold two 1 MiB children (SpawnFrames: 296
	// frames each), but the share of ids is the limit first.
	require.Equal(t, []uint64{abi.OK, abi.OK, abi.ErrNoMem, abi.ErrNoMem}, first)
	require.Equal(t, spareBefore, spareAfter, "every frame came back")
	require.NotZero(t, oldID)
	require.Equal(t, [2]uint64{oldID, abi.ErrCapRevoked}, oldCap, "the reaped id's old capability names no one")
	require.Equal(t, []uint64{abi.OK, abi.OK, abi.ErrNoMem}, second, "reaping gave the ids back")
	require.Equal(t, uint64(abi.OK), otherSpawn, "another tree was never short of anything")
	require.Equal(t, 0, h.k.frames.Count(envFrame))
}

// EnvControl stops, resumes, destroys and reports on the environment its
// capability names; only a parent reaps, and only a finished child.
func TestEnvControl(t *testing.T) {
	got := map[string][2]uint64{}
	var slicesStopped, slicesResumed uint64
	var spareBefore, spareAfter abi.Run
	h := newHarness(t, map[string]program{
		"parent": func(u *uenv) {
			spareBefore = u.startup().Spare[0]
			_, e, c := u.spawnWith(u.spawnReq("spinner", 1<<20, 4, ""))
			require.Equal(t, uint64(abi.OK), e)
			ctl := func(name string, op uint64, cp caps.Cap) {
				u.store(capScratch, cp[:])
				got[name] = u.ecall2(abi.SysEnvControl, op, capScratch)
			}
			for u.h.k.Env(2).State() != Runnable {
				u.ecall(abi.SysYield)
			}
			ctl("status running", abi.EnvStatus, c)
			ctl("stop", abi.EnvStop, c)
			ctl("status stopped", abi.EnvStatus, c)
			s := u.h.k.Env(2).Slices
			for i := 0; i < 5; i++ {
				u.ecall(abi.SysYield)
			}
			slicesStopped = u.h.k.Env(2).Slices - s
			ctl("resume", abi.EnvResume, c)
			ctl("resume again", abi.EnvResume, c)
			s = u.h.k.Env(2).Slices
			for i := 0; i < 5; i++ {
				u.ecall(abi.SysYield)
			}
			slicesResumed = u.h.k.Env(2).Slices - s
			ctl("reap a running child", abi.EnvReap, c)
			ctl("no control right", abi.EnvStop, mustDerive(t, c, caps.EnvSend, 2, 2))
			ctl("forged", abi.EnvStop, flip(c))
			ctl("unknown op", 99, c)
			ctl("reap another's", abi.EnvReap, u.capOf(caps.KindEnv))
			ctl("destroy", abi.EnvDestroy, c)
			ctl("destroy again", abi.EnvDestroy, c)
			for u.h.k.Env(2).State() != Zombie {
				u.ecall(abi.SysYield)
			}
			ctl("status zombie", abi.EnvStatus, c)
			ctl("reap", abi.EnvReap, c)
			ctl("status after reap", abi.EnvStatus, c)
			spareAfter = u.startup().Spare[0]
			u.ecall(abi.SysExit, 0)
		},
		"spinner": func(u *uenv) {
			for {
				u.spin(50_000)
			}
		},
	}, "exo-manifest v1\nslots 8\nenv parent mem=2M spare=2M spawn=yes\n")
	h.run()
	require.Equal(t, map[string][2]uint64{
		"status running":       {abi.EnvStateRunnable, abi.OK},
		"stop":                 {0, abi.OK},
		"status stopped":       {abi.EnvStateStopped, abi.OK},
		"resume":               {0, abi.OK},
		"resume again":         {0, abi.ErrInval},
		"reap a running child": {0, abi.ErrInval},
		"no control right":     {0, abi.ErrCapRights},
		"forged":               {0, abi.ErrCapForged},
		"unknown op":           {0, abi.ErrInval},
		"reap another's":       {0, abi.ErrInval},
		"destroy":              {0, abi.OK},
		"destroy again":        {0, abi.ErrInval},
		"status zombie":        {abi.EnvStateZombie, abi.OK},
		"reap":                 {1 << 32, abi.OK},
		"status after reap":    {2, abi.ErrCapRevoked},
	}, got)
	require.Zero(t, slicesStopped, "a stopped environment gets no slot")
	require.Positive(t, slicesResumed)
	require.Equal(t, spareBefore, spareAfter)
	require.Regexp(t, `(?m)^exo: env 2 \(spinner\) destroyed by env 1$`, h.console())
}

// An environment destroyed while it is still building (half its memory
// filled, its frames partly taken from its parent) is torn down cleanly:
// every frame goes back to the parent, and nothing is left bound.
func TestDestroyWhileBuilding(t *testing.T) {
	var before, after abi.Run
	var phase uint8
	h := newHarness(t, map[string]program{
		"parent": func(u *uenv) {
			before = u.startup().Spare[0]
			_, e, c := u.spawnWith(u.spawnReq("child", 8<<20, 4, ""))
			require.Equal(t, uint64(abi.OK), e)
			for u.h.k.Env(2).job.phase < bRAM {
				u.ecall(abi.SysYield)
			}
			phase = u.h.k.Env(2).job.phase
			u.store(capScratch, c[:])
			_, e = u.ecall(abi.SysEnvControl, abi.EnvDestroy, capScratch)
			require.Equal(t, uint64(abi.OK), e)
			for u.h.k.Env(2).State() != Zombie {
				u.ecall(abi.SysYield)
			}
			u.ecall(abi.SysEnvControl, abi.EnvReap, capScratch)
			after = u.startup().Spare[0]
			u.ecall(abi.SysExit, 0)
		},
		"child": func(u *uenv) { t.Error("the child ran") },
	}, "exo-manifest v1\nslots 8\nenv parent mem=2M spare=12M spawn=yes\n")
	h.p.workTick = 20_000 // each step of the child's build takes 2 ms
	h.run()
	require.Equal(t, uint8(bRAM), phase, "destroyed mid-build")
	require.Equal(t, before, after, "every frame came back to the parent")
	require.NotContains(t, h.console(), "BUG")
	require.Equal(t, 0, h.k.frames.Count(envFrame))
}

// Page tables are charged to the environment whose mappings need them:
// mapping one of its pages in every 2 MiB region from 1 GiB up takes a
// new table each time, from its own charge, until the charge is spent and
// it alone gets ENOMEM; the kernel's free frames never change meanwhile.
func TestPageTablesChargedToTheMapper(t *testing.T) {
	var maps int
	var last uint64
	var free []int
	var st abi.Startup
	h := newHarness(t, map[string]program{"a": func(u *uenv) {
		root := u.capOf(caps.KindPage)
		ppn := u.ramPPN(abi.RAMStart + 0x100000)
		ro := mustDerive(t, root, caps.PageRead, ppn, ppn)
		for va := uint64(1 << 30); va < 1<<38; va += 2 << 20 {
			free = append(free, u.h.k.frames.FreeCount())
			_, e := u.mapPage(va, ppn, abi.MapRead, ro)
			if e != abi.OK {
				last = e
				break
			}
			maps++
			if maps == maxBindings {
				break
			}
		}
		st = u.startup()
		u.ecall(abi.SysExit, 0)
	}}, "exo-manifest v1\nenv a mem=2M\n")
	h.run()
	require.Equal(t, uint64(abi.ErrNoMem), last)
	// One leaf table a mapping, and a second-level table for the second
	// GiB, which the charge's second second-level table pays for (this
	// RAM does not cross a 1 GiB boundary).
	require.Equal(t, abi.PageTableSpare, maps)
	require.Equal(t, st.TablesMax, st.TablesUsed)
	for _, f := range free {
		require.Equal(t, free[0], f, "the pool never paid for a table")
	}
}

// revoke checks a capability's MAC before anything about its contents,
// for every kind: a well-formed port capability (sealed under another key:
// this kernel mints none yet) is forged, not of a kind revoke does not
// take.
func TestRevokeChecksTheMACFirst(t *testing.T) {
	var forged [2]uint64
	ep := new(caps.Epochs)
	require.NoError(t, ep.Track(caps.KindPort, 0, 1<<21))
	other, err := caps.NewAuthority(make32(9), ep)
	require.NoError(t, err)
	port, err := other.Mint(caps.KindPort, caps.PortName(0, 17, 7), caps.PortName(0, 17, 7), caps.PortReceive)
	require.NoError(t, err)
	_, err = caps.Parse(port[:])
	require.NoError(t, err, "well-formed")
	h := newHarness(t, map[string]program{"a": func(u *uenv) {
		u.store(capScratch, port[:])
		forged = u.ecall2(abi.SysRevoke, capScratch, outScratch)
		u.ecall(abi.SysExit, 0)
	}}, "exo-manifest v1\nenv a mem=2M\n")
	h.run()
	require.Equal(t, [2]uint64{0, abi.ErrCapForged}, forged)
}

// An environment's control bytes are shown, not sent to the terminal, so
// no environment can move the cursor, clear the screen, or write a line
// that looks like the kernel's.
func TestConsoleShowsControlBytes(t *testing.T) {
	h := newHarness(t, map[string]program{"a": func(u *uenv) {
		u.write("ok\rexo: env 1 (a) exited with status 0\n")
		u.write("\x1b[2J\x07bell\x7f\ttab\n")
		u.write("utf-8: h\u00e9llo \u4e16\u754c, c1: \u009b, bad: \xff\xc3(\n")
		u.ecall(abi.SysExit, 3)
	}}, "exo-manifest v1\nenv a mem=2M\n")
	require.Equal(t, uint32(3), h.run())
	out := h.console()
	require.Contains(t, out, "[1 a] ok\\x0dexo: env 1 (a) exited with status 0\n")
	require.Contains(t, out, "[1 a] \\x1b[2J\\x07bell\\x7f\ttab\n")
	require.Contains(t, out, "[1 a] utf-8: h\u00e9llo \u4e16\u754c, c1: \\u009b, bad: \\xff\\xc3(\n")
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "exo: env 1 (a) exited") {
			require.Equal(t, "exo: env 1 (a) exited with status 3 (1 slices, 0 preempted, 4 system calls)", l, "only the kernel's own line")
		}
	}
	for _, b := range []byte(out) {
		require.False(t, b < 0x20 && b != '\n' && b != '\t' || b == 0x7f, "control byte %#x on the console", b)
	}
}

// When the console's buffer is full (a slow serial line), a write takes
// what fits and returns a short count, and with no room at all waits
// inside the call while others run; nothing is lost or reordered, and the
// kernel's own lines still get through.
func TestConsoleWaitsWhenFull(t *testing.T) {
	const lines = 600
	var short, spun int
	h := newHarness(t, map[string]program{
		"writer": func(u *uenv) {
			for i := 0; i < lines; i++ {
				s := fmt.Sprintf("line %04d %s\n", i, strings.Repeat("x", 60))
				for len(s) > 0 {
					n, e := u.write(s)
					require.Equal(t, uint64(abi.OK), e)
					if n < uint64(len(s)) {
						short++
					}
					s = s[n:]
				}
			}
			u.ecall(abi.SysExit, 0)
		},
		"spinner": func(u *uenv) {
			for i := 0; i < 30; i++ {
				u.spin(10_000)
				spun++
			}
			u.ecall(abi.SysExit, 0)
		},
	}, "exo-manifest v1\nenv writer mem=2M\nenv spinner mem=2M\n")
	h.p.sendMax = 8 // the line takes 8 bytes at a time
	h.run()
	out := h.console()
	n := 0
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "[1 writer] line ") {
			require.Equal(t, fmt.Sprintf("[1 writer] line %04d %s", n, strings.Repeat("x", 60)), l)
			n++
		}
	}
	require.Equal(t, lines, n, "every line, in order")
	require.Positive(t, short, "some writes were short")
	require.Equal(t, 30, spun)
	require.Contains(t, out, "exo: env 2 (spinner) exited with status 0")
	require.Contains(t, out, "exo: all environments finished\n")
}

// fakeIRQ is an interrupt controller with a queue of pending sources.
type fakeIRQ struct {
	pending   []uint32
	always    uint32 // a source that never stops interrupting
	completed []uint32
}

func (f *fakeIRQ) Claim() uint32 {
	if f.always != 0 {
		return f.always
	}
	if len(f.pending) == 0 {
		return 0
	}
	irq := f.pending[0]
	f.pending = f.pending[1:]
	return irq
}
func (f *fakeIRQ) Complete(irq uint32) { f.completed = append(f.completed, irq) }

// A device interrupt taken while an environment runs is claimed,
// dispatched to its driver's handler and completed, and the environment
// resumes; a source no driver has is counted and completed; a source that
// never stops is served a bounded number of times per interrupt.
func TestDeviceInterrupts(t *testing.T) {
	irq := &fakeIRQ{}
	handled := map[string]int{}
	var after uint64
	h := newHarnessWith(t, map[string]program{"a": func(u *uenv) {
		irq.pending = []uint32{10, 3, 99}
		u.ctx.Cause = riscv.IntMachineExternal
		u.trap()
		after, _ = u.ecall(abi.SysNull)
		irq.always = 3
		u.ctx.Cause = riscv.IntMachineExternal
		u.trap()
		irq.always = 0
		u.ecall(abi.SysExit, 0)
	}}, "exo-manifest v1\nenv a mem=2M\n", func(c *Config) {
		c.Interrupts = irq
		c.Devices = []Device{
			{Name: "uart", IRQ: 10, Handle: func() { handled["uart"]++ }},
			{Name: "rng", IRQ: 3, Handle: func() { handled["rng"]++ }},
		}
	})
	h.run()
	require.Equal(t, uint64(0), after, "the environment went on")
	require.Equal(t, 1, handled["uart"])
	require.Equal(t, 1+maxClaims, handled["rng"], "a source that never stops: maxClaims a pass")
	require.Equal(t, uint64(1), h.k.Spurious)
	require.Equal(t, []uint32{10, 3, 99}, irq.completed[:3], "every claim completed, the unknown one too")
	require.Len(t, irq.completed, 3+maxClaims)
}

// A parent keeps authority over its children through its own env
// capability (a2 = the child's id), even after the capability spawn gave
// it is revoked; it cannot name another's child that way.
func TestEnvControlOfAChildThroughTheParentsOwnCapability(t *testing.T) {
	got := map[string][2]uint64{}
	h := newHarness(t, map[string]program{
		"parent": func(u *uenv) {
			kid, e, c := u.spawnWith(u.spawnReq("kid", 1<<20, 4, ""))
			require.Equal(t, uint64(abi.OK), e)
			own := u.capOf(caps.KindEnv)
			u.store(capScratch, c[:])
			u.ecall(abi.SysRevoke, capScratch, outScratch) // the child's own root is re-minted; c is dead
			got["old capability"] = u.ecall2(abi.SysEnvControl, abi.EnvStatus, capScratch)
			u.store(capScratch, own[:])
			for {
				st := u.ecall2(abi.SysEnvControl, abi.EnvStatus, capScratch, kid)
				if st[0] == abi.EnvStateZombie {
					break
				}
				u.ecall(abi.SysYield)
			}
			got["reap through own"] = u.ecall2(abi.SysEnvControl, abi.EnvReap, capScratch, kid)
			got["not a child"] = u.ecall2(abi.SysEnvControl, abi.EnvStatus, capScratch, 2)
			got["itself as a child"] = u.ecall2(abi.SysEnvControl, abi.EnvStatus, capScratch, 1)
			u.ecall(abi.SysExit, 0)
		},
		"other": func(u *uenv) {
			for !u.h.gone(1) {
				u.ecall(abi.SysYield)
			}
			u.ecall(abi.SysExit, 0)
		},
		"kid": exitWith(9),
	}, "exo-manifest v1\nslots 8\nenv parent mem=2M spare=2M spawn=yes\nenv other mem=2M\n")
	h.run()
	require.Equal(t, [2]uint64{3, abi.ErrCapRevoked}, got["old capability"])
	require.Equal(t, [2]uint64{9, abi.OK}, got["reap through own"])
	require.Equal(t, uint64(abi.ErrNotFound), got["not a child"][1])
	require.Equal(t, uint64(abi.ErrNotFound), got["itself as a child"][1])
}
