package kernel

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"

	"github.com/exo-os/exo/caps"
	"github.com/exo-os/exo/kernel/abi"
	"github.com/exo-os/exo/kernel/manifest"
	"github.com/exo-os/exo/kernel/mem"
	"github.com/exo-os/exo/kernel/riscv"
	"github.com/exo-os/exo/kernel/vm"
)

func exitWith(s uint64) program { return func(u *uenv) { u.ecall(abi.SysExit, s) } }

func TestSpawnLayout(t *testing.T) {
	h := newHarness(t, map[string]program{"a": exitWith(0)}, "exo-manifest v1\nslots 8\nenv a mem=1M slots=2 arg=\"x y\"\n")
	e := h.k.Env(1)
	as := e.AddressSpace()
	for _, tc := range []struct {
		va   uint64
		perm vm.Perm
	}{
		{abi.StartupVA, vm.R | vm.U},
		{abi.SlotsVA, vm.R | vm.U},
		{abi.CapsVA, vm.R | vm.U},
		{abi.RAMStart, vm.R | vm.W | vm.U},
		{abi.TextStart, vm.R | vm.X | vm.U},
		{abi.TextStart + 0x1000, vm.R | vm.U},
		{abi.TextStart + 0x2000, vm.R | vm.W | vm.U},
		{abi.TextStart + 0x4000, vm.R | vm.W | vm.U}, // bss
		{abi.RAMStart + 1<<20 - 4096, vm.R | vm.W | vm.U},
	} {
		_, perm, ok := as.Lookup(tc.va)
		require.True(t, ok, "%#x mapped", tc.va)
		require.Equal(t, tc.perm, perm, "%#x", tc.va)
	}
	for _, va := range []uint64{0, 0x4000, abi.RAMStart - 4096, abi.RAMStart + 1<<20, 0x80000000} {
		_, _, ok := as.Lookup(va)
		require.False(t, ok, "%#x must not be mapped", va)
	}

	// Segment contents: file bytes copied, the rest of the page and bss zero.
	page := func(va uint64) []byte {
		pa, _, _ := as.Lookup(va)
		return h.arena.Page(pa)[:]
	}
	require.Equal(t, image[0:0x200], page(abi.TextStart)[:0x200])
	require.Equal(t, make([]byte, 4096-0x200), page(abi.TextStart)[0x200:])
	require.Equal(t, image[0x300:0x380], page(abi.TextStart + 0x2000)[:0x80])
	require.Equal(t, make([]byte, 4096), page(abi.TextStart+0x3000))

	// The start-up block.
	st := (*abi.Startup)(unsafe.Pointer(&page(abi.StartupVA)[0]))
	require.Equal(t, uint32(abi.StartupMagic), st.Magic)
	require.Equal(t, uint32(1), st.EnvID)
	require.Equal(t, uint64(hz), st.TimebaseHz)
	require.Equal(t, uint64(abi.RAMStart), st.RAMStart)
	require.Equal(t, uint64(1<<20), st.RAMSize)
	require.Equal(t, "x y", string(st.Arg[:st.ArgLen]))
	require.Equal(t, uint64(100_000), st.QuantumTicks, "10ms at 10 MHz")
	require.Equal(t, "a", strings.TrimRight(string(st.Name[:]), "\x00"))

	// The slot vector page is the scheduler's state, shared.
	sl := (*abi.Slots)(unsafe.Pointer(&page(abi.SlotsVA)[0]))
	require.Equal(t, uint32(8), sl.N)
	require.Len(t, h.k.Slots().Held(1), 2)
	n := 0
	for i := 0; i < int(sl.N); i++ {
		if sl.Owner[i] == 1 {
			n++
		}
	}
	require.Equal(t, 2, n)

	// Registers at entry.
	require.Equal(t, uint64(abi.TextStart), e.Context().PC)
	require.Equal(t, uint64(abi.StartupVA), e.Context().X[riscv.RegA0])

	// Frames: 256 memory pages, the start-up block and the capability
	// list belong to the env.
	require.Equal(t, 258, h.k.frames.Count(1))

	// A fresh pool gives the memory as one physical run, which the
	// start-up block names.
	require.Equal(t, uint32(1), st.NumRuns)
	ramPA, _, _ := as.Lookup(abi.RAMStart)
	require.Equal(t, abi.Run{VA: abi.RAMStart, PA: ramPA, Pages: 256}, st.Runs[0])
	for va := uint64(abi.RAMStart); va < abi.RAMStart+1<<20; va += 4096 {
		pa, _, _ := as.Lookup(va)
		require.Equal(t, ramPA+va-abi.RAMStart, pa, "VA %#x is RunPA + offset", va)
	}

	// The capability list: env, the run, two slots; all genuine.
	list := (*abi.CapList)(unsafe.Pointer(&page(abi.CapsVA)[0]))
	require.Equal(t, uint32(4), list.N)
	require.Equal(t, uint32(4), list.Roots, "all of them the kernel's")
	want := []struct {
		kind   caps.Kind
		lo, hi uint64
		rights caps.Rights
	}{
		{caps.KindEnv, 1, 1, rootEnv},
		{caps.KindPage, ramPA >> 12, ramPA>>12 + 255, rootPage},
		{caps.KindSlot, uint64(h.k.Slots().Held(1)[0]), uint64(h.k.Slots().Held(1)[0]), rootSlot},
		{caps.KindSlot, uint64(h.k.Slots().Held(1)[1]), uint64(h.k.Slots().Held(1)[1]), rootSlot},
	}
	for i, w := range want {
		c := caps.Cap(list.Caps[i])
		v, err := h.k.auth.Verify(c[:], caps.Need{Kind: w.kind, Lo: w.lo, Hi: w.hi, Rights: w.rights})
		require.NoError(t, err, "capability %d", i)
		require.Equal(t, [3]uint64{uint64(w.rights), w.lo, w.hi}, [3]uint64{uint64(v.Rights), v.Lo, v.Hi}, "capability %d", i)
	}
}

func TestExitStatusAndRelease(t *testing.T) {
	h := newHarness(t, map[string]program{"a": exitWith(42), "b": exitWith(7)}, "exo-manifest v1\nenv a mem=1M\nenv b mem=2M slots=3\n")
	before := h.k.frames.FreeCount()
	held := h.k.frames.Count(1) + h.k.frames.Count(2)
	require.Equal(t, uint32(42), h.run(), "the machine's status is the first env's")
	out := h.p.out.String()
	require.Contains(t, out, "exo: env 1 (a) exited with status 42 (")
	require.Contains(t, out, "exo: env 2 (b) exited with status 7 (")
	require.Equal(t, 0, h.k.frames.Count(1)+h.k.frames.Count(2))
	require.Greater(t, h.k.frames.FreeCount(), before+held, "memory and page tables returned")
	require.Equal(t, 1, h.k.frames.Count(mem.Kernel), "only the slot vector page stays with the kernel")
	// Freed memory is revoked: the runs' capabilities no longer verify.
	require.Equal(t, uint64(2), h.k.auth.Epochs().Now(), "one revocation per run")
	for i := 0; i < h.k.Slots().Len(); i++ {
		require.Equal(t, uint32(abi.FreeSlot), h.k.Slots().Owner(i))
	}
}

func TestExitStatusFullWidth(t *testing.T) {
	h := newHarness(t, map[string]program{"a": exitWith(1 << 31)}, "exo-manifest v1\nenv a mem=1M\n")
	require.Equal(t, uint32(1<<31), h.run())
	require.Contains(t, h.p.out.String(), "exited with status 2147483648")
}

func TestWrite(t *testing.T) {
	var got [2]uint64
	h := newHarness(t, map[string]program{"a": func(u *uenv) {
		got[0], got[1] = u.write("hello\nwor")
		u.write("ld\n")
		u.write("no newline")
		u.ecall(abi.SysExit, 0)
	}}, "exo-manifest v1\nenv a mem=2M\n")
	h.run()
	require.Equal(t, [2]uint64{9, abi.OK}, got)
	require.Equal(t, "[1 a] hello\n[1 a] world\n[1 a] no newline\nexo: env 1 (a) exited with status 0 (1 slices, 0 preempted, 4 system calls)\nexo: all environments finished\n", h.p.out.String())
}

func TestWriteRefusesBadBuffers(t *testing.T) {
	type res struct{ val, err uint64 }
	var got []res
	h := newHarness(t, map[string]program{"a": func(u *uenv) {
		end := uint64(abi.RAMStart + 2<<20)
		for _, tc := range [][2]uint64{
			{0x80000000, 16},                 // the kernel's memory
			{0x0, 1},                         // page 0
			{0x4000, 1},                      // unmapped below RAM
			{end - 8, 16},                    // runs off the end of RAM
			{end, 1},                         // just past RAM
			{^uint64(0) - 4, 16},             // wraps around
			{vm.UserTop - 1, 2},              // crosses into the upper half
			{abi.RAMStart, abi.MaxWrite + 1}, // too long
		} {
			v, e := u.ecall(abi.SysWrite, tc[0], tc[1])
			got = append(got, res{v, e})
		}
		v, e := u.ecall(abi.SysWrite, abi.StartupVA, 0) // zero bytes of a readable page
		got = append(got, res{v, e})
		u.ecall(abi.SysExit, 0)
	}}, "exo-manifest v1\nenv a mem=2M\n")
	h.run()
	F, B := uint64(abi.ErrFault), uint64(abi.ErrTooBig)
	require.Equal(t, []res{{0, F}, {0, F}, {0, F}, {0, F}, {0, F}, {0, F}, {0, F}, {0, B}, {0, abi.OK}}, got)
	require.NotContains(t, h.p.out.String(), "[1 a]", "a refused write prints nothing")
}

func TestRandom(t *testing.T) {
	var errs []uint64
	var bytes []byte
	h := newHarness(t, map[string]program{"a": func(u *uenv) {
		buf := uint64(abi.RAMStart + 0x100ffc) // straddles two pages
		_, e := u.ecall(abi.SysRandom, buf, 8)
		errs = append(errs, e)
		bytes = u.load(buf, 8)
		_, e = u.ecall(abi.SysRandom, abi.TextStart, 8) // read-only text
		errs = append(errs, e)
		_, e = u.ecall(abi.SysRandom, abi.StartupVA, 8) // read-only block
		errs = append(errs, e)
		_, e = u.ecall(abi.SysRandom, buf, abi.MaxRandom+1)
		errs = append(errs, e)
		u.ecall(abi.SysExit, 0)
	}}, "exo-manifest v1\nenv a mem=2M\n")
	h.run()
	require.Equal(t, []uint64{abi.OK, abi.ErrFault, abi.ErrFault, abi.ErrTooBig}, errs)
	require.Equal(t, []byte{0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7}, bytes)
}

func TestUnknownSyscall(t *testing.T) {
	var e uint64
	h := newHarness(t, map[string]program{"a": func(u *uenv) {
		_, e = u.ecall(999)
		u.ecall(abi.SysExit, 0)
	}}, "exo-manifest v1\nenv a mem=1M\n")
	h.run()
	require.Equal(t, uint64(abi.ErrNoSys), e)
}

// Faulting environments are killed with a one-line report; a bystander
// that writes and spins throughout completes its work.
func TestFaultsKillOnlyTheFaulter(t *testing.T) {
	for _, tc := range []struct {
		name string
		prog program
		want string
	}{
		{"kernel-write", func(u *uenv) { u.store(0x80000000, []byte{1}) }, "store page fault at pc 0x1010000, address 0x80000000"},
		{"text-write", func(u *uenv) { u.store(abi.TextStart, []byte{1}) }, "store page fault at pc 0x1010000, address 0x1010000"},
		{"startup-write", func(u *uenv) { u.store(abi.StartupVA+8, []byte{1}) }, "store page fault at pc 0x1010000, address 0x1008"},
		{"null-read", func(u *uenv) { u.load(0, 1) }, "load page fault at pc 0x1010000, address 0x0"},
		{"illegal", func(u *uenv) { u.ctx.PC = abi.TextStart + 4; u.fault(riscv.CauseIllegalInsn, 0x30200073) }, fmt.Sprintf("illegal instruction at pc %#x\n", abi.TextStart+4)},
		{"jump-unmapped", func(u *uenv) { u.ctx.PC = 0xdead000; u.fault(riscv.CauseFetchPageFault, 0xdead000) }, "instruction page fault at pc 0xdead000, address 0xdead000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			steps := 0
			h := newHarness(t, map[string]program{
				"bystander": func(u *uenv) {
					for i := 0; i < 5; i++ {
						u.write(fmt.Sprintf("step %d\n", i))
						u.spin(150_000)
						steps++
					}
					u.ecall(abi.SysExit, 0)
				},
				"hostile": func(u *uenv) { u.spin(50_000); tc.prog(u) },
			}, "exo-manifest v1\nenv bystander mem=2M\nenv hostile mem=2M\n")
			require.Equal(t, uint32(0), h.run())
			out := h.p.out.String()
			require.Contains(t, out, "exo: env 2 (hostile) killed: "+tc.want)
			require.Equal(t, 5, steps)
			require.Contains(t, out, "[1 bystander] step 4\n")
			require.Equal(t, 0, h.k.frames.Count(2), "a killed env's frames are freed")
			require.Equal(t, 1, strings.Count(out, "killed"), "one report line")
		})
	}
}

func TestKilledFirstEnvStatus(t *testing.T) {
	h := newHarness(t, map[string]program{"a": func(u *uenv) { u.load(0, 1) }}, "exo-manifest v1\nenv a mem=1M\n")
	require.Equal(t, uint32(255), h.run())
}

func TestFallOffEndIsKilled(t *testing.T) {
	h := newHarness(t, map[string]program{"a": func(u *uenv) {}}, "exo-manifest v1\nenv a mem=1M\n")
	h.run()
	require.Contains(t, h.p.out.String(), "killed: instruction page fault")
}

// Two spinners share the CPU slot by slot: neither starves, and each slot
// ends with a timer preemption.
func TestPreemption(t *testing.T) {
	var trace []string
	spinner := func(name string) program {
		return func(u *uenv) {
			for i := 0; i < 10; i++ {
				u.spin(40_000) // 4 ms of a 10 ms slot
				trace = append(trace, name)
			}
			u.ecall(abi.SysExit, 0)
		}
	}
	h := newHarness(t, map[string]program{"a": spinner("a"), "b": spinner("b")}, "exo-manifest v1\nenv a mem=1M\nenv b mem=1M\n")
	h.run()
	require.Len(t, trace, 20)
	// Each 10 ms slot holds two or three 4 ms steps, so neither spinner
	// runs more than three steps in a row.
	run := 1
	for i := 1; i < len(trace); i++ {
		if trace[i] == trace[i-1] {
			run++
			require.LessOrEqual(t, run, 3, "trace %v", trace)
		} else {
			run = 1
		}
	}
	require.Greater(t, h.k.Env(1).Preemptions, uint64(2))
	require.Greater(t, h.k.Env(2).Preemptions, uint64(2))
}

func TestYield(t *testing.T) {
	var trace []string
	yielder := func(name string) program {
		return func(u *uenv) {
			for i := 0; i < 3; i++ {
				trace = append(trace, name)
				u.ecall(abi.SysYield)
			}
			u.ecall(abi.SysExit, 0)
		}
	}
	h := newHarness(t, map[string]program{"a": yielder("a"), "b": yielder("b")}, "exo-manifest v1\nenv a mem=1M\nenv b mem=1M\n")
	h.run()
	require.Equal(t, []string{"a", "b", "a", "b", "a", "b"}, trace)
	require.Zero(t, h.k.Env(1).Preemptions)
}

func TestSleepIdles(t *testing.T) {
	var woke uint64
	h := newHarness(t, map[string]program{"a": func(u *uenv) {
		start := u.h.p.now
		u.ecall(abi.SysSleep, start+5_000_000) // half a second
		woke = u.h.p.now - start
		u.ecall(abi.SysSleep, 0) // in the past: returns at once
		u.ecall(abi.SysExit, 0)
	}}, "exo-manifest v1\nenv a mem=1M\n")
	h.run()
	require.GreaterOrEqual(t, woke, uint64(5_000_000))
	require.Less(t, woke, uint64(5_000_000+100_000), "woken within a slot of its deadline")
	require.Equal(t, uint64(1), h.k.Idles, "one wait for the deadline, no busy loop")
}

func TestManyEnvs(t *testing.T) {
	progs := map[string]program{}
	text := "exo-manifest v1\nslots 16\n"
	done := map[string]bool{}
	for i := 0; i < 12; i++ {
		name := fmt.Sprintf("e%d", i)
		progs[name] = func(u *uenv) {
			for j := 0; j < 3; j++ {
				u.write(fmt.Sprintf("%s %d\n", name, j))
				u.spin(30_000)
			}
			done[name] = true
			u.ecall(abi.SysExit, 0)
		}
		text += "env " + name + " mem=2M\n"
	}
	h := newHarness(t, progs, text)
	h.run()
	require.Len(t, done, 12)
	require.Equal(t, 0, h.k.Live())
}

func TestSpawnErrorsLeaveNothing(t *testing.T) {
	h := newHarness(t, map[string]program{"a": exitWith(0)}, "exo-manifest v1\nslots 4\nenv a mem=1M slots=2\n")
	free := h.k.frames.FreeCount()
	_, err := h.k.Spawn("nope", 1<<20, 1, "", false)
	require.ErrorContains(t, err, `no image named "nope"`)
	_, err = h.k.Spawn("bad", 1<<20, 1, "", false)
	require.ErrorContains(t, err, "image bad: elf: header")
	_, err = h.k.Spawn("a", 1<<30, 1, "", false)
	require.ErrorIs(t, err, mem.ErrNoMemory)
	_, err = h.k.Spawn("a", 1<<20, 3, "", false) // the vector has 2 free slots
	require.ErrorContains(t, err, "not enough free slots")
	_, err = h.k.Spawn("a", 4096+1, 1, "", false)
	require.ErrorContains(t, err, "memory size")
	_, err = h.k.Spawn("a", 64<<10, 1, "", false) // too small for the image's segments
	require.ErrorContains(t, err, "outside the allowed range")
	require.Equal(t, free, h.k.frames.FreeCount(), "failed spawns leak no frames")
	require.Len(t, h.k.Slots().Held(2), 0)
}

func TestNewRejectsBadManifestEnv(t *testing.T) {
	frames, _ := mem.NewFrames(poolBase, 8<<20)
	m, err := manifest.Parse("exo-manifest v1\nenv missing\n")
	require.NoError(t, err)
	_, err = New(Config{Platform: &plat{}, CPU: &harness{}, Phys: mem.NewArena(poolBase, 8<<20), Frames: frames, Manifest: m, Images: map[string][]byte{}})
	require.ErrorContains(t, err, `manifest line 2: no image named "missing"`)
}

// The system call path allocates nothing, so the garbage collector never
// runs inside a round trip.
func TestSyscallPathDoesNotAllocate(t *testing.T) {
	h := newHarness(t, map[string]program{"a": exitWith(0)}, "exo-manifest v1\nenv a mem=2M\n")
	h.k.console = discard{}
	e := h.k.Env(1)
	c := e.Context()
	// The root page capability, where the binding calls read it.
	list := capsPage(h.arena, mustLookup(t, e, abi.CapsVA))
	root := caps.Cap(list.Caps[1])
	copy(h.arena.Page(mustLookup(t, e, capScratch))[:], root[:])
	ppn := e.runs[0].PA >> 12
	forged := root
	forged[caps.Size-1] ^= 1
	copy(h.arena.Page(mustLookup(t, e, capScratch+4096))[:], forged[:])
	call := func(n uint64, a ...uint64) uint64 {
		c.X[riscv.RegA7] = n
		copy(c.X[riscv.RegA0:], a)
		c.Cause = riscv.CauseEcallU
		h.k.trap(e)
		return c.X[riscv.RegA1]
	}
	for _, tc := range []struct {
		name string
		do   func()
	}{
		{"null", func() { call(abi.SysNull) }},
		{"write", func() { call(abi.SysWrite, abi.TextStart, 100) }},
		{"random", func() { call(abi.SysRandom, abi.RAMStart+0x100000, 64) }},
		{"yield", func() { call(abi.SysYield) }},
		{"unknown", func() { call(999) }},
		{"map and unmap", func() {
			require.Equal(t, uint64(abi.OK), call(abi.SysMap, mapVA, ppn, abi.MapRead, capScratch))
			require.Equal(t, uint64(abi.OK), call(abi.SysUnmap, mapVA))
		}},
		{"forged map", func() {
			require.Equal(t, uint64(abi.ErrCapForged), call(abi.SysMap, mapVA, ppn, abi.MapRead, capScratch+4096))
		}},
		{"revoked map", func() {
			h.k.auth.Epochs().Revoke(caps.KindPage, ppn)
			require.Equal(t, uint64(abi.ErrCapRevoked), call(abi.SysMap, mapVA, ppn, abi.MapRead, capScratch))
		}},
	} {
		allocs := testing.AllocsPerRun(100, tc.do)
		require.Zero(t, allocs, "%s allocates", tc.name)
	}
}

func mustLookup(t *testing.T, e *Env, va uint64) uint64 {
	pa, _, ok := e.AddressSpace().Lookup(va)
	require.True(t, ok, "%#x mapped", va)
	return pa
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

type noEntropy struct{ *plat }

func (noEntropy) Entropy([]byte) error { return errors.New("no entropy source here") }

func TestNoEntropyNoBoot(t *testing.T) {
	frames, _ := mem.NewFrames(poolBase, 8<<20)
	m, err := manifest.Parse("exo-manifest v1\nenv a\n")
	require.NoError(t, err)
	_, err = New(Config{Platform: noEntropy{&plat{}}, CPU: &harness{}, Phys: mem.NewArena(poolBase, 8<<20), Frames: frames, Manifest: m})
	require.ErrorContains(t, err, "kernel: capability key: no entropy source here")
}

// A read of the time counter that the hart refuses (no hardware time CSR)
// is completed by the kernel; any other illegal instruction still kills.
func TestEmulatedTimeRead(t *testing.T) {
	rdtime := func(rd uint32) uint64 { return uint64(0xc01<<20 | 2<<12 | rd<<7 | 0x73) }
	var got [2]uint64
	h := newHarness(t, map[string]program{"a": func(u *uenv) {
		u.h.p.now = 123456
		u.ctx.PC = abi.TextStart + 8
		u.ctx.Cause, u.ctx.Tval = riscv.CauseIllegalInsn, rdtime(riscv.RegA5)
		u.trap()
		got[0], got[1] = u.ctx.X[riscv.RegA5], u.ctx.PC
		// mtval 0: the kernel fetches the instruction from the text page
		u.ctx.Cause, u.ctx.Tval = riscv.CauseIllegalInsn, 0
		u.ctx.PC = abi.TextStart + 0x100
		u.trap()
		u.ecall(abi.SysExit, u.ctx.X[riscv.RegA0])
	}}, "exo-manifest v1\nenv a mem=1M\n")
	// put "csrr a0, time" at TextStart+0x100 in a's text page
	pa, _, _ := h.k.Env(1).AddressSpace().Lookup(abi.TextStart + 0x100)
	binary.LittleEndian.PutUint32(h.arena.Page(pa &^ 4095)[pa&4095:], uint32(rdtime(riscv.RegA0)))
	require.Equal(t, uint32(123456), h.run(), "a0 read the time")
	require.Equal(t, [2]uint64{123456, abi.TextStart + 12}, got)
	require.Equal(t, uint64(2), h.k.Env(1).Emulated)

	// csrr a0, mstatus stays illegal
	h = newHarness(t, map[string]program{"a": func(u *uenv) {
		u.ctx.Cause, u.ctx.Tval = riscv.CauseIllegalInsn, uint64(0x300<<20|2<<12|10<<7|0x73)
		u.trap()
	}}, "exo-manifest v1\nenv a mem=1M\n")
	h.run()
	require.Contains(t, h.p.out.String(), "killed: illegal instruction")
}
