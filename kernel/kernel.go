// Package kernel is the Exo exokernel: it owns the hart in Machine mode and
// runs environments (separate Go programs, each in User mode with its own
// Sv39 address space) in a loop: pick the next environment from the slot
// vector, enter it, come back on its next trap, handle the trap.
//
// The kernel protects and does not manage: it knows which frames and slots
// each environment holds and checks every request against that, and leaves
// scheduling policy within a slot, memory management within an address
// space, and everything above to the library OS in the environment.
//
// This package is plain Go. The hart (trap entry, CSRs) and the board
// (console, timer, entropy) come in through the CPU and Platform interfaces,
// so host tests can run the kernel against a scripted hart.
package kernel

import (
	"errors"
	"fmt"
	"io"

	"github.com/exo-os/exo/board/driver/clint"
	"github.com/exo-os/exo/caps"
	"github.com/exo-os/exo/kernel/abi"
	"github.com/exo-os/exo/kernel/manifest"
	"github.com/exo-os/exo/kernel/mem"
	"github.com/exo-os/exo/kernel/riscv"
	"github.com/exo-os/exo/kernel/sched"
)

// Platform is what the kernel needs from the board.
type Platform interface {
	// Console receives the kernel's and environments' output.
	Console() io.Writer
	// Now returns the machine timer, in ticks of TimebaseHz.
	Now() uint64
	TimebaseHz() uint64
	// ArmTimer raises the timer interrupt when Now reaches deadline.
	ArmTimer(deadline uint64)
	// Idle waits until an interrupt is pending.
	Idle()
	// Entropy fills b from the board's entropy source.
	Entropy(b []byte) error
}

// CPU runs environments on the hart.
type CPU interface {
	// Enter runs ctx in User mode under page table satp until its next
	// trap, which it describes in ctx.Cause, ctx.Tval and ctx.PC.
	Enter(ctx *riscv.Context, satp uint64)
	// Invalidate drops the hart's cached translation of the page at va in
	// the address space satp (installed or not), after the kernel
	// removed that mapping.
	Invalidate(satp, va uint64)
	// Forget drops cached state about an environment being destroyed.
	Forget(ctx *riscv.Context)
}

// Config is everything the kernel is built from.
type Config struct {
	Platform Platform
	CPU      CPU
	Phys     mem.Phys
	Frames   *mem.Frames
	// Images are the environment images by name.
	Images map[string][]byte
	// Manifest says what to start.
	Manifest *manifest.Manifest
	// ASIDBits is how many address-space-id bits the hart implements.
	ASIDBits int
}

// Kernel is the exokernel's state.
type Kernel struct {
	plat    Platform
	cpu     CPU
	phys    mem.Phys
	frames  *mem.Frames
	images  map[string][]byte
	console io.Writer

	asidBits int
	auth     *caps.Authority // the capability key and epochs

	randomBuf [abi.MaxRandom]byte // SysRandom's bounce buffer

	envs    []*Env // by id; envs[0] is nil
	live    int
	slots   *sched.Vector
	slotsPA uint64

	quantum  uint64 // ticks
	boot     uint64 // ticks at New
	cur      *Env
	tick     bool   // the timer went off: start the next interval
	pass     bool   // cur gave up the rest of the interval
	deadline uint64 // when the current interval ends
	first    *Env   // the first environment started: its status is the machine's
	open     *Env   // the environment whose console line is unfinished

	// Idles counts waits for an interrupt with nothing runnable.
	Idles uint64
}

// New builds the kernel and starts the manifest's environments. An
// environment that cannot be started is an error: booting with part of the
// requested system would hide the failure.
func New(c Config) (*Kernel, error) {
	if c.Platform == nil || c.CPU == nil || c.Phys == nil || c.Frames == nil || c.Manifest == nil {
		return nil, errors.New("kernel: incomplete configuration")
	}
	k := &Kernel{
		plat: c.Platform, cpu: c.CPU, phys: c.Phys, frames: c.Frames,
		images: c.Images, console: c.Platform.Console(),
		envs: []*Env{nil}, asidBits: min(c.ASIDBits, 16),
	}
	k.boot = k.plat.Now()
	// The key that seals capabilities: it must be secret and fresh each
	// boot, so a board without an entropy source cannot boot. Only the
	// HMAC pads derived from it are kept.
	var key [32]byte
	if err := k.plat.Entropy(key[:]); err != nil {
		return nil, fmt.Errorf("kernel: capability key: %w", err)
	}
	// Every name a capability can carry has an epoch, so that it can be
	// revoked: each frame of the pool, each slot, each env id.
	epochs := new(caps.Epochs)
	for _, t := range []struct {
		kind    caps.Kind
		base, n uint64
	}{
		{caps.KindPage, c.Frames.Base / mem.PageSize, uint64(c.Frames.Len())},
		{caps.KindSlot, 0, uint64(c.Manifest.Slots)},
		{caps.KindEnv, 0, MaxEnvs},
	} {
		if err := epochs.Track(t.kind, t.base, t.n); err != nil {
			return nil, fmt.Errorf("kernel: %w", err)
		}
	}
	auth, err := caps.NewAuthority(key[:], epochs)
	clear(key[:])
	if err != nil {
		return nil, fmt.Errorf("kernel: capability key: %w", err)
	}
	k.auth = auth
	if !checkCaps {
		k.printf("WARNING: measurement build: capabilities are NOT checked on binding calls\n")
	}
	k.quantum = clint.NsToTicks(uint64(c.Manifest.Quantum.Nanoseconds()), k.plat.TimebaseHz())
	if k.quantum == 0 {
		k.quantum = 1
	}
	pa, err := k.frames.Alloc(mem.Kernel)
	if err != nil {
		return nil, fmt.Errorf("kernel: slot vector page: %w", err)
	}
	clear(k.phys.Page(pa)[:])
	k.slotsPA = pa
	if k.slots, err = sched.New(slotsPage(k.phys, pa), c.Manifest.Slots); err != nil {
		return nil, err
	}
	for _, m := range c.Manifest.Envs {
		e, err := k.Spawn(m.Image, m.Mem, m.Slots, m.Arg, m.Spawn)
		if err != nil {
			return nil, fmt.Errorf("kernel: manifest line %d: %w", m.Line, err)
		}
		if k.first == nil {
			k.first = e
		}
	}
	return k, nil
}

// Slots returns the slot vector.
func (k *Kernel) Slots() *sched.Vector { return k.slots }

// Env returns the environment with id, or nil.
func (k *Kernel) Env(id uint32) *Env {
	if int(id) >= len(k.envs) {
		return nil
	}
	return k.envs[id]
}

// Live returns the number of environments that have not finished.
func (k *Kernel) Live() int { return k.live }

// Run runs environments until all have finished and returns the machine's
// exit status: the exit status of the first environment started, or 255 if
// it was killed.
func (k *Kernel) Run() uint32 {
	for k.live > 0 {
		e := k.pick()
		if e == nil {
			k.idle()
			continue
		}
		k.runEnv(e)
	}
	k.printf("all environments finished\n")
	if k.first.killed {
		return 255
	}
	return k.first.status
}

// runEnv enters e and handles its traps until one of them takes it off the
// CPU. A system call that returns to its caller goes straight back, without
// a trip through the scheduler.
func (k *Kernel) runEnv(e *Env) {
	for {
		k.cpu.Enter(&e.ctx, e.satp)
		if e.ctx.Cause != riscv.CauseEcallU {
			k.trap(e)
			return
		}
		e.Syscalls++
		k.syscall(e)
		if e.state != Runnable || k.pass || k.cur != e {
			return
		}
	}
}

// pick returns the environment to enter. The current one continues until
// the timer ticks or it yields or blocks, so returning from a system call
// reads no clock and programs no timer. On a tick, the slot vector starts
// its next interval and the timer is armed for the one after (once per
// quantum, on a fixed grid); on a yield or block, the rest of the interval
// passes to the next slot's owner that can run.
func (k *Kernel) pick() *Env {
	if e := k.cur; e != nil && e.state == Runnable && !k.tick && !k.pass {
		return e
	}
	now := k.plat.Now()
	ready := func(id uint32) bool { return k.envs[id].ready(now) }
	var id uint32
	var ok bool
	if k.tick || k.cur == nil {
		if _, id, ok = k.slots.Tick(ready); ok {
			k.deadline += k.quantum
			if k.deadline <= now {
				k.deadline = now + k.quantum
			}
			k.plat.ArmTimer(k.deadline)
		}
	} else {
		_, id, ok = k.slots.Pass(ready)
	}
	k.tick, k.pass = false, false
	if !ok {
		k.cur = nil
		return nil
	}
	e := k.envs[id]
	e.Slices++
	k.cur = e
	return e
}

// idle waits for the earliest sleeper's deadline; the interval after it
// starts afresh.
func (k *Kernel) idle() {
	wake := ^uint64(0)
	for _, e := range k.envs {
		if e != nil && e.state == Sleeping && e.wake < wake {
			wake = e.wake
		}
	}
	k.plat.ArmTimer(wake)
	k.Idles++
	k.plat.Idle()
	k.tick = true
}

// endSlice passes the rest of the interval on at the next pick.
func (k *Kernel) endSlice() { k.pass = true }
