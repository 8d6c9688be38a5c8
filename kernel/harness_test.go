package kernel

import (
	"bytes"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/exo-os/exo/kernel/abi"
	"github.com/exo-os/exo/kernel/elf/elftest"
	"github.com/exo-os/exo/kernel/hart"
	"github.com/exo-os/exo/kernel/manifest"
	"github.com/exo-os/exo/kernel/mem"
	"github.com/exo-os/exo/kernel/vm"
	"github.com/exo-os/exo/riscv"
)

// The host harness runs the kernel against a scripted hart: each
// environment is a Go function (a "program") running in its own goroutine
// as a coroutine of the kernel. Enter resumes the program until it traps
// (an ecall, a fault, or the timer going off while it spins); the program
// sees its memory only through its page table, with the hardware's checks.

const (
	poolBase = 0x84000000
	hz       = 10_000_000
)

type plat struct {
	now   uint64
	armed uint64
	// out is what the serial line sent; sendMax, if set, is the most it
	// takes per Send (a slow line).
	out     bytes.Buffer
	sendMax int
	// workTick is the time each look for pending interrupts costs: it
	// models the kernel's work taking time, so that long work meets the
	// timer.
	workTick uint64
	// device is a pending device interrupt.
	device bool
	// entropy is how many bytes TryEntropy still has (-1: no end).
	entropy int
	drawn   byte
}

func (p *plat) Serial() Serial { return p }
func (p *plat) Send(b []byte) int {
	n := len(b)
	if p.sendMax > 0 {
		n = min(n, p.sendMax)
	}
	p.out.Write(b[:n])
	return n
}
func (p *plat) Now() uint64        { return p.now }
func (p *plat) TimebaseHz() uint64 { return hz }
func (p *plat) ArmTimer(d uint64)  { p.armed = d }
func (p *plat) Pending() Pending {
	p.now += p.workTick
	var r Pending
	if p.armed != 0 && p.now >= p.armed {
		r |= PendingTimer
	}
	if p.device {
		r |= PendingDevice
	}
	return r
}
func (p *plat) Idle() {
	if p.armed > p.now {
		p.now = p.armed
	}
}
func (p *plat) Entropy(b []byte) error {
	for i := range b {
		b[i] = byte(0xa0 + i)
	}
	return nil
}
func (p *plat) TryEntropy(b []byte) int {
	n := len(b)
	if p.entropy >= 0 {
		n = min(n, p.entropy)
		p.entropy -= n
	}
	for i := range b[:n] {
		p.drawn++
		b[i] = p.drawn
	}
	return n
}

// program is an environment's behaviour in the harness.
type program func(u *uenv)

type uenv struct {
	h       *harness
	ctx     *hart.Context
	resume  chan struct{}
	trapped chan struct{}
	dead    chan struct{}
}

type harness struct {
	t     *testing.T
	p     *plat
	k     *Kernel
	arena *mem.Arena
	progs map[string]program
	envs  map[*hart.Context]*uenv
	satp  uint64
	// flushed lists the (satp, va) translations the kernel invalidated.
	flushed [][2]uint64
}

func (h *harness) Enter(ctx *hart.Context, satp uint64) {
	h.satp = satp
	u := h.envs[ctx]
	if u == nil {
		u = &uenv{h: h, ctx: ctx, resume: make(chan struct{}), trapped: make(chan struct{}), dead: make(chan struct{})}
		h.envs[ctx] = u
		prog := h.progs[h.envByCtx(ctx).Name]
		go func() {
			defer close(u.trapped)
			prog(u)
			// A program that returns without exiting falls off its
			// code: model that as an instruction fault.
			u.fault(riscv.CauseFetchPageFault, 0)
		}()
	} else {
		u.resume <- struct{}{}
	}
	<-u.trapped
}

// Invalidate records the flush; the harness has no TLB, but the kernel
// must ask for one whenever it removes a mapping.
func (h *harness) Invalidate(satp, va uint64) {
	h.flushed = append(h.flushed, [2]uint64{satp, va})
}

// InvalidateAll records a whole-table flush as va ^0.
func (h *harness) InvalidateAll(satp uint64) {
	h.flushed = append(h.flushed, [2]uint64{satp, ^uint64(0)})
}

func (h *harness) Forget(ctx *hart.Context) {
	if u := h.envs[ctx]; u != nil {
		close(u.dead)
		delete(h.envs, ctx)
	}
}

func (h *harness) envByCtx(ctx *hart.Context) *Env {
	for _, e := range h.k.envs.byID {
		if e != nil && &e.ctx == ctx {
			return e
		}
	}
	h.t.Fatalf("no env for context %p", ctx)
	return nil
}

// trap hands control to the kernel and waits to be resumed; if the kernel
// destroys the environment instead, the program's goroutine ends.
func (u *uenv) trap() {
	u.trapped <- struct{}{}
	select {
	case <-u.resume:
	case <-u.dead:
		runtime.Goexit()
	}
}

// ecall makes system call n. A call the kernel restarts (it leaves the pc
// on the ecall: the caller waited) is made again, as the hart would.
func (u *uenv) ecall(n uint64, args ...uint64) (uint64, uint64) {
	u.ctx.X[hart.RegA7] = n
	for i := 0; i < 6; i++ {
		u.ctx.X[hart.RegA0+i] = 0 // as libos's stubs do: no stale arguments
	}
	for i, a := range args {
		u.ctx.X[hart.RegA0+i] = a
	}
	for pc := u.ctx.PC; ; {
		u.ctx.Cause = riscv.CauseEcallU
		u.trap()
		if u.ctx.PC != pc {
			break
		}
	}
	return u.ctx.X[hart.RegA0], u.ctx.X[hart.RegA1]
}

func (u *uenv) fault(cause, addr uint64) {
	u.ctx.Cause, u.ctx.Tval = cause, addr
	u.trap()
	u.h.t.Errorf("env resumed after a fault")
	runtime.Goexit()
}

// spin burns ticks of CPU time; the timer interrupts it when its slot ends.
func (u *uenv) spin(ticks uint64) {
	p := u.h.p
	for ticks > 0 {
		if p.now >= p.armed {
			u.ctx.Cause = riscv.IntMachineTimer
			u.trap()
			continue
		}
		step := min(ticks, p.armed-p.now)
		p.now += step
		ticks -= step
	}
}

// access translates va as the hardware would for a User-mode access with
// perm, faulting like the hardware if the page table forbids it.
func (u *uenv) access(va uint64, perm vm.Perm, cause uint64) []byte {
	as := u.h.envByCtx(u.ctx).as
	pa, got, ok := as.Lookup(va)
	if !ok || got&(perm|vm.U) != perm|vm.U {
		u.fault(cause, va)
	}
	if !u.h.arena.Contains(pa &^ 4095) {
		u.fault(riscv.CauseLoadAccess, va) // PMP: not RAM the env may touch
	}
	return u.h.arena.Page(pa &^ 4095)[pa&4095:]
}

func (u *uenv) store(va uint64, b []byte) {
	for i, c := range b {
		u.access(va+uint64(i), vm.W, riscv.CauseStorePageFault)[0] = c
	}
}

func (u *uenv) load(va uint64, n int) []byte {
	out := make([]byte, n)
	for i := range out {
		out[i] = u.access(va+uint64(i), vm.R, riscv.CauseLoadPageFault)[0]
	}
	return out
}

func (u *uenv) write(s string) (uint64, uint64) {
	va := uint64(abi.RAMStart + 0x100000) // a heap page
	u.store(va, []byte(s))
	return u.ecall(abi.SysWrite, va, uint64(len(s)))
}

// console returns what the serial line sent.
func (h *harness) console() string { return h.p.out.String() }

// image is a small env image: one text page, one read-only data page, and
// a data segment with bss.
var image = elftest.Build(abi.TextStart, []elftest.Prog{
	{Type: elftest.PTLoad, Flags: elftest.PFR | elftest.PFX, Off: 0, VA: abi.TextStart, FileSz: 0x200, MemSz: 0x200},
	{Type: elftest.PTLoad, Flags: elftest.PFR, Off: 0x200, VA: abi.TextStart + 0x1000, FileSz: 0x100, MemSz: 0x100},
	{Type: elftest.PTLoad, Flags: elftest.PFR | elftest.PFW, Off: 0x300, VA: abi.TextStart + 0x2000, FileSz: 0x80, MemSz: 0x3000},
}, 0x400)

func newHarness(t *testing.T, progs map[string]program, text string) *harness {
	t.Helper()
	return newHarnessWith(t, progs, text, nil)
}

// newHarnessWith is newHarness with a last look at the configuration.
func newHarnessWith(t *testing.T, progs map[string]program, text string, mod func(*Config)) *harness {
	t.Helper()
	const pool = 64 << 20
	h := &harness{t: t, p: &plat{entropy: -1}, progs: progs, envs: map[*hart.Context]*uenv{}}
	h.arena = mem.NewArena(poolBase, pool)
	frames, err := mem.NewFrames(poolBase, pool)
	require.NoError(t, err)
	m, err := manifest.Parse(text)
	require.NoError(t, err)
	images := map[string][]byte{"bad": []byte("not an elf")}
	for name := range progs {
		images[name] = image
	}
	c := Config{Platform: h.p, CPU: h, Phys: h.arena, Frames: frames, Images: images, Manifest: m}
	if mod != nil {
		mod(&c)
	}
	h.k, err = New(c)
	require.NoError(t, err)
	return h
}

// built finishes building every environment, as their first slots would,
// so that a test can look at them before they run.
func (h *harness) built() {
	for _, e := range h.k.envs.byID {
		if e != nil && e.state == Building {
			for e.job.kind != jobNone {
				h.k.work(e)
			}
		}
	}
}

// frames returns how many frames e is charged: RAM, spare frames, and the
// kernel's frames for it (start-up block, capability list, binding
// records, page tables used and unused).
func frames(e *Env) int {
	n := 0
	for _, r := range append(append([]mem.Run(nil), e.ram...), e.spare...) {
		n += r.N
	}
	for _, pa := range []uint64{e.startup, e.capList, e.records} {
		if pa != 0 {
			n++
		}
	}
	n += len(e.reserve)
	if e.as != nil {
		n += e.as.TableFrames()
	}
	return n
}

// run runs the kernel to completion with a deadline, and returns the exit
// status.
func (h *harness) run() uint32 {
	done := make(chan uint32, 1)
	go func() { done <- h.k.Run() }()
	select {
	case s := <-done:
		return s
	case <-time.After(10 * time.Second):
		h.t.Fatalf("kernel did not finish; console:\n%s", h.p.out.String())
		return 0
	}
}

// gone reports whether env id has finished and been forgotten.
func (h *harness) gone(id uint32) bool {
	e := h.k.Env(id)
	return e == nil || e.State() == Dead
}
