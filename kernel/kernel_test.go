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
	"github.com/exo-os/exo/kernel/hart"
	"github.com/exo-os/exo/kernel/manifest"
	"github.com/exo-os/exo/kernel/mem"
	"github.com/exo-os/exo/kernel/vm"
	"github.com/exo-os/exo/riscv"
)

func exitWith(s uint64) program { return func(u *uenv) { u.ecall(abi.SysExit, s) } }

func TestSpawnLayout(t *testing.T) {
	h := newHarness(t, map[string]program{"a": exitWith(0)}, "exo-manifest v1\nslots 8\nenv a mem=1M slots=2 arg=\"x y\"\n")
	e := h.k.Env(1)
	require.Equal(t, Building, e.State(), "an environment builds in its own slots")
	require.Nil(t, e.AddressSpace())
	h.built()
	require.Equal(t, Runnable, e.State())
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
	require.Equal(t, uint64(abi.StartupVA), e.Context().X[hart.RegA0])

	// Frames: 256 memory pages, the start-up block, the capability list
	// and the binding records, and the page-table charge, of which the
	// root, two levels for RAM and one for the fixed pages are in use.
	require.Equal(t, 256+3+int(abi.TableFrames(1<<20)), frames(e))
	require.Equal(t, 4, as.TableFrames())
	require.Equal(t, uint32(4), st.TablesUsed)
	require.Equal(t, uint32(abi.TableFrames(1<<20)), st.TablesMax)
	require.Contains(t, h.flushed, [2]uint64{e.satp, ^uint64(0)}, "the whole new table is fenced before the first instruction")

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
	h := newHarness(t, map[string]program{"a": exitWith(42), "b": exitWith(7)}, "exo-manifest v1\nenv a mem=1M\nenv b mem=2M slots=3 spare=1M\n")
	h.built()
	root := caps.Cap(capsPage(h.arena, h.k.Env(2).capList).Caps[1])
	before := h.k.frames.FreeCount()
	held := frames(h.k.Env(1)) + frames(h.k.Env(2))
	require.Equal(t, uint32(42), h.run(), "the machine's status is the first env's")
	out := h.p.out.String()
	require.Contains(t, out, "exo: env 1 (a) exited with status 42 (")
	require.Contains(t, out, "exo: env 2 (b) exited with status 7 (")
	require.Equal(t, before+held, h.k.frames.FreeCount(), "memory, spare frames and page tables returned")
	require.Equal(t, 0, h.k.frames.Count(envFrame))
	require.Equal(t, 1, h.k.frames.Count(mem.Kernel), "only the slot vector page stays with the kernel")
	// Freed memory is revoked: the runs' capabilities no longer verify.
	_, lo, _, _ := root.Effective()
	_, err := h.k.auth.Verify(root[:], caps.Need{Kind: caps.KindPage, Lo: lo, Hi: lo, Rights: caps.PageRead})
	require.ErrorIs(t, err, caps.ErrRevoked)
	for i := 0; i < h.k.Slots().Len(); i++ {
		require.Equal(t, uint32(abi.FreeSlot), h.k.Slots().Owner(i))
	}
	require.True(t, h.gone(1), "no parent to reap it: its id is free")
	require.Nil(t, h.k.envs.get(1))
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
	require.Equal(t, "[1 a] hello\n[1 a] world\n[1 a] no newline\nexo: env 1 (a) exited with status 0 (1 slices, 0 preempted, 4 system calls)\nexo: all environments finished\nexo: longest wait of a due timer interrupt: 0 us; longest step of kernel work: 0 us; device interrupts served: 0\n", h.p.out.String())
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
		// Zero bytes are never looked at, wherever they are.
		for _, va := range []uint64{abi.StartupVA, 0x4000, 0x4001, 0x80000000, ^uint64(0)} {
			v, e := u.ecall(abi.SysWrite, va, 0)
			got = append(got, res{v, e})
		}
		u.ecall(abi.SysExit, 0)
	}}, "exo-manifest v1\nenv a mem=2M\n")
	h.run()
	F, B, OK := uint64(abi.ErrFault), uint64(abi.ErrTooBig), uint64(abi.OK)
	require.Equal(t, []res{{0, F}, {0, F}, {0, F}, {0, F}, {0, F}, {0, F}, {0, F}, {0, B}, {0, OK}, {0, OK}, {0, OK}, {0, OK}, {0, OK}}, got)
	require.NotContains(t, h.p.out.String(), "[1 a]", "a refused write prints nothing")
}

func TestRandom(t *testing.T) {
	var errs []uint64
	var n uint64
	var bytes []byte
	h := newHarness(t, map[string]program{"a": func(u *uenv) {
		buf := uint64(abi.RAMStart + 0x100ffc) // straddles two pages
		n, _ = u.ecall(abi.SysRandom, buf, 8)
		bytes = u.load(buf, 8)
		for _, tc := range [][2]uint64{
			{abi.TextStart, 8},       // read-only text
			{abi.StartupVA, 8},       // read-only block
			{buf, abi.MaxRandom + 1}, // too long
			{0x4000, 0},              // zero bytes: never looked at
		} {
			_, e := u.ecall(abi.SysRandom, tc[0], tc[1])
			errs = append(errs, e)
		}
		u.ecall(abi.SysExit, 0)
	}}, "exo-manifest v1\nenv a mem=2M\n")
	h.run()
	require.Equal(t, []uint64{abi.ErrFault, abi.ErrFault, abi.ErrTooBig, abi.OK}, errs)
	require.Equal(t, uint64(8), n)
	// The pool fills from the board's bytes 1, 2, ... and hands them out
	// from its end: each byte once.
	require.Equal(t, []byte{249, 250, 251, 252, 253, 254, 255, 0}, bytes)
}

// With no entropy gathered, SysRandom waits inside the call (its slots
// pass to others) and completes when the board has bytes again; a short
// supply gives a short count, never a byte twice.
func TestRandomWaitsForEntropy(t *testing.T) {
	var got []uint64
	var woke uint64
	h := newHarness(t, map[string]program{
		"a": func(u *uenv) {
			buf := uint64(abi.RAMStart + 0x100000)
			n, e := u.ecall(abi.SysRandom, buf, 16)
			got = append(got, n, e)
			woke = u.h.p.now
			u.ecall(abi.SysExit, 0)
		},
		"b": func(u *uenv) {
			u.spin(300_000) // three of a's slots
			u.h.p.entropy = 5
			u.ecall(abi.SysExit, 0)
		},
	}, "exo-manifest v1\nenv a mem=2M\nenv b mem=2M\n")
	h.p.entropy = 0
	h.run()
	require.Equal(t, []uint64{5, abi.OK}, got)
	require.GreaterOrEqual(t, woke, uint64(300_000))
	require.True(t, h.gone(1))
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
		{"illegal", func(u *uenv) { u.ctx.PC = abi.TextStart + 4; u.fault(riscv.CauseIllegalInsn, 0x30200073) }, fmt.Sprintf("illegal instruction at pc %#x (instruction 0x30200073)\n", abi.TextStart+4)},
		{"illegal, no encoding", func(u *uenv) { u.ctx.PC = abi.TextStart + 4; u.fault(riscv.CauseIllegalInsn, 0) }, fmt.Sprintf("illegal instruction at pc %#x\n", abi.TextStart+4)},
		{"ebreak without an address", func(u *uenv) { u.ctx.PC = abi.TextStart + 8; u.fault(riscv.CauseBreakpoint, 0) }, fmt.Sprintf("breakpoint at pc %#x, address %#x\n", abi.TextStart+8, abi.TextStart+8)},
		{"ebreak with one", func(u *uenv) { u.ctx.PC = abi.TextStart + 8; u.fault(riscv.CauseBreakpoint, abi.TextStart+8) }, fmt.Sprintf("breakpoint at pc %#x, address %#x\n", abi.TextStart+8, abi.TextStart+8)},
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
			require.Equal(t, 0, h.k.frames.Count(envFrame), "a killed env's frames are freed")
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
	a, b := h.k.Env(1), h.k.Env(2)
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
	require.Greater(t, a.Preemptions, uint64(2))
	require.Greater(t, b.Preemptions, uint64(2))
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
	a := h.k.Env(1)
	h.run()
	require.Equal(t, []string{"a", "b", "a", "b", "a", "b"}, trace)
	require.Zero(t, a.Preemptions)
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

func TestCreateErrorsLeaveNothing(t *testing.T) {
	h := newHarness(t, map[string]program{"a": exitWith(0)}, "exo-manifest v1\nslots 4\nenv a mem=1M slots=2\n")
	free := h.k.frames.FreeCount()
	ids := len(h.k.envs.free)
	try := func(m manifest.Env) error {
		if m.Slots == 0 {
			m.Slots = 1
		}
		_, err := h.k.createFromPool(m, nil)
		return err
	}
	require.ErrorContains(t, try(manifest.Env{Image: "nope", Mem: 1 << 20}), `no image named "nope"`)
	require.ErrorContains(t, try(manifest.Env{Image: "bad", Mem: 1 << 20}), "image bad: elf: header")
	require.ErrorIs(t, try(manifest.Env{Image: "a", Mem: 1 << 30}), mem.ErrNoMemory)
	require.ErrorIs(t, try(manifest.Env{Image: "a", Mem: 1 << 20, Spare: 80 << 20}), mem.ErrNoMemory)
	require.ErrorContains(t, try(manifest.Env{Image: "a", Mem: 1 << 20, Slots: 3}), "not enough free slots") // 2 free
	require.ErrorContains(t, try(manifest.Env{Image: "a", Mem: 4096 + 1}), "memory size")
	require.ErrorContains(t, try(manifest.Env{Image: "a", Mem: 64 << 10}), "outside the allowed range") // too small for the segments
	require.Equal(t, free, h.k.frames.FreeCount(), "failed creations leak no frames")
	require.Equal(t, ids, len(h.k.envs.free), "nor ids")
	require.Len(t, h.k.Slots().Held(2), 0)
}

func TestNewRejectsBadManifestEnv(t *testing.T) {
	frames, _ := mem.NewFrames(poolBase, 8<<20)
	m, err := manifest.Parse("exo-manifest v1\nenv missing\n")
	require.NoError(t, err)
	_, err = New(Config{Platform: &plat{}, CPU: &harness{}, Phys: mem.NewArena(poolBase, 8<<20), Frames: frames, Manifest: m, Images: map[string][]byte{}})
	require.ErrorContains(t, err, `manifest line 2: no image named "missing"`)
}

// scriptCPU is a hart that answers Enter from a script of system calls,
// without goroutines, then ends the slot with a timer interrupt: it drives
// runEnv, the loop production runs, for the allocation test.
type scriptCPU struct {
	calls [][5]uint64 // a7, a0..a3
	next  int
}

func (s *scriptCPU) Enter(ctx *hart.Context, satp uint64) {
	if s.next == len(s.calls) {
		s.next = 0
		ctx.Cause = riscv.IntMachineTimer
		return
	}
	c := s.calls[s.next]
	s.next++
	ctx.X[hart.RegA7] = c[0]
	copy(ctx.X[hart.RegA0:], c[1:])
	ctx.Cause = riscv.CauseEcallU
}
func (s *scriptCPU) Invalidate(satp, va uint64) {}
func (s *scriptCPU) InvalidateAll(satp uint64)  {}
func (s *scriptCPU) Forget(ctx *hart.Context)   {}

// The system call path allocates nothing, so the garbage collector never
// runs inside a round trip: runEnv, trap, dispatch and every call that
// returns to its caller, including the binding calls that verify a
// capability, accepted, forged or revoked.
func TestSyscallPathDoesNotAllocate(t *testing.T) {
	h := newHarness(t, map[string]program{"a": exitWith(0)}, "exo-manifest v1\nenv a mem=2M\n")
	h.built()
	h.k.con.serial = &plat{}
	e := h.k.Env(1)
	list := capsPage(h.arena, e.capList)
	root := caps.Cap(list.Caps[1])
	copy(h.arena.Page(mustLookup(t, e, capScratch))[:], root[:])
	ppn := e.ram[0].PA >> 12
	forged := root
	forged[caps.Size-1] ^= 1
	copy(h.arena.Page(mustLookup(t, e, capScratch+4096))[:], forged[:])
	cpu := &scriptCPU{}
	h.k.cpu = cpu
	for _, tc := range []struct {
		name  string
		calls [][5]uint64
		errno uint64
	}{
		{"null", [][5]uint64{{abi.SysNull}}, abi.OK},
		{"write", [][5]uint64{{abi.SysWrite, abi.TextStart, 100}}, abi.OK},
		{"random", [][5]uint64{{abi.SysRandom, abi.RAMStart + 0x100000, 64}}, abi.OK},
		{"unknown", [][5]uint64{{999}}, abi.ErrNoSys},
		{"map and unmap", [][5]uint64{{abi.SysMap, mapVA, ppn, abi.MapRead, capScratch}, {abi.SysUnmap, mapVA}}, abi.OK},
		{"forged map", [][5]uint64{{abi.SysMap, mapVA, ppn, abi.MapRead, capScratch + 4096}}, abi.ErrCapForged},
		{"unmapped unmap", [][5]uint64{{abi.SysUnmap, mapVA}}, abi.ErrNotFound},
	} {
		cpu.calls, cpu.next = tc.calls, 0
		var out outcome
		allocs := testing.AllocsPerRun(100, func() { out = h.k.runEnv(e) })
		require.Zero(t, allocs, "%s allocates", tc.name)
		require.Equal(t, preempted, out, tc.name)
		require.Equal(t, tc.errno, e.ctx.X[hart.RegA1], tc.name)
	}
	h.k.auth.Epochs().Revoke(caps.KindPage, ppn)
	cpu.calls, cpu.next = [][5]uint64{{abi.SysMap, mapVA, ppn, abi.MapRead, capScratch}}, 0
	allocs := testing.AllocsPerRun(100, func() { h.k.runEnv(e) })
	require.Zero(t, allocs, "revoked map allocates")
	require.Equal(t, uint64(abi.ErrCapRevoked), e.ctx.X[hart.RegA1])
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
		u.ctx.Cause, u.ctx.Tval = riscv.CauseIllegalInsn, rdtime(hart.RegA5)
		u.trap()
		got[0], got[1] = u.ctx.X[hart.RegA5], u.ctx.PC
		// mtval 0: the kernel fetches the instruction from the text page
		u.ctx.Cause, u.ctx.Tval = riscv.CauseIllegalInsn, 0
		u.ctx.PC = abi.TextStart + 0x100
		u.trap()
		u.ecall(abi.SysExit, u.ctx.X[hart.RegA0])
	}}, "exo-manifest v1\nenv a mem=1M\n")
	// put "csrr a0, time" at TextStart+0x100 in a's text page
	h.built()
	a := h.k.Env(1)
	pa, _, _ := a.AddressSpace().Lookup(abi.TextStart + 0x100)
	binary.LittleEndian.PutUint32(h.arena.Page(pa &^ 4095)[pa&4095:], uint32(rdtime(hart.RegA0)))
	require.Equal(t, uint32(123456), h.run(), "a0 read the time")
	require.Equal(t, [2]uint64{123456, abi.TextStart + 12}, got)
	require.Equal(t, uint64(2), a.Emulated)

	// csrr a0, mstatus stays illegal
	h = newHarness(t, map[string]program{"a": func(u *uenv) {
		u.ctx.Cause, u.ctx.Tval = riscv.CauseIllegalInsn, uint64(0x300<<20|2<<12|10<<7|0x73)
		u.trap()
	}}, "exo-manifest v1\nenv a mem=1M\n")
	h.run()
	require.Contains(t, h.p.out.String(), "killed: illegal instruction")
}
