// Package kernel is the Exo exokernel: it owns the hart in Machine mode and
// runs environments (separate Go programs, each in User mode with its own
// Sv39 address space) in a loop: pick the next environment from the slot
// vector, enter it, come back on its next trap, handle the trap.
//
// The kernel protects and does not manage: it knows which frames, slots
// and env ids each environment holds and checks every request against
// that, and leaves scheduling policy within a slot, memory management
// within an address space, and everything above to the library OS in the
// environment. Everything an environment makes the kernel hold is charged
// to it, and no kernel work runs longer than a small constant with
// interrupts masked: what is proportional to a request's size is done in
// bounded steps in the requester's own slots (work.go).
//
// This package is plain Go. The hart (trap entry, CSRs) and the board
// (console, timer, entropy, interrupt controller) come in through the CPU
// and Platform interfaces, so host tests run the kernel against a scripted
// hart.
package kernel

import (
	"errors"
	"fmt"

	"github.com/exo-os/exo/caps"
	"github.com/exo-os/exo/kernel/abi"
	"github.com/exo-os/exo/kernel/hart"
	"github.com/exo-os/exo/kernel/manifest"
	"github.com/exo-os/exo/kernel/mem"
	"github.com/exo-os/exo/kernel/sched"
	"github.com/exo-os/exo/riscv"
)

// Platform is what the kernel needs from the board.
type Platform interface {
	// Serial is the console's transmitter; the kernel buffers for it
	// (console.go).
	Serial() Serial
	// Now returns the machine timer, in ticks of TimebaseHz.
	Now() uint64
	TimebaseHz() uint64
	// ArmTimer raises the timer interrupt when Now reaches deadline.
	ArmTimer(deadline uint64)
	// Pending reports which interrupts are waiting to be taken: the
	// kernel runs with them masked and looks between bounded steps of
	// long work.
	Pending() Pending
	// Idle waits until an interrupt is pending.
	Idle()
	// Entropy fills b from the board's entropy source, waiting as long as
	// the source needs (boards bound it). Only boot uses it, for the
	// capability key.
	Entropy(b []byte) error
	// TryEntropy copies up to len(b) bytes of entropy the board has
	// gathered into b without waiting, returns how many, and starts
	// gathering more.
	TryEntropy(b []byte) int
}

// Pending is a set of pending interrupts.
type Pending uint8

// Pending interrupts.
const (
	PendingTimer  Pending = 1 << 0
	PendingDevice Pending = 1 << 1
)

// Serial is a console transmitter.
type Serial interface {
	// Send gives the transmitter as many of p's bytes as it takes
	// without waiting and returns how many. While any are left over, the
	// device raises its interrupt when it can take more.
	Send(p []byte) int
}

// Interrupts is the interrupt controller's claim and complete for the
// kernel's hart in Machine mode.
type Interrupts interface {
	// Claim returns the highest-priority pending device interrupt and
	// marks it in service, or 0 if none is pending.
	Claim() uint32
	// Complete ends the service of irq.
	Complete(irq uint32)
}

// Device is one source of device interrupts and its driver's handler,
// which acknowledges the device; the kernel then does its own part
// (drains the console, wakes what waited).
type Device struct {
	Name   string
	IRQ    uint32
	Handle func()
}

// CPU runs environments on the hart.
type CPU interface {
	// Enter runs ctx in User mode under page table satp until its next
	// trap, which it describes in ctx.Cause, ctx.Tval and ctx.PC.
	Enter(ctx *hart.Context, satp uint64)
	// Invalidate orders the kernel's change to the leaf entry for va in
	// the table satp (installed or not) before the hart's next use of
	// it, and drops any cached translation of va there.
	Invalidate(satp, va uint64)
	// InvalidateAll is Invalidate for every entry of the table satp,
	// upper levels included: after the kernel built or extended it, and
	// before its ASID, which an earlier table may have used, first runs.
	InvalidateAll(satp uint64)
	// Forget drops cached state about an environment being destroyed.
	Forget(ctx *hart.Context)
}

// Config is everything the kernel is built from.
type Config struct {
	Platform Platform
	CPU      CPU
	Phys     mem.Phys
	Frames   *mem.Frames
	// Interrupts and Devices are the board's interrupt controller and
	// interrupt sources; without them, only the timer interrupts.
	Interrupts Interrupts
	Devices    []Device
	// NIC is the network interface, nil if the board has none; its
	// interrupt is one of Devices.
	NIC NIC
	// Images are the environment images by name.
	Images map[string][]byte
	// Manifest says what to start.
	Manifest *manifest.Manifest
	// ASIDBits is how many address-space-id bits the hart implements.
	ASIDBits int
	// Protected is the physical range User mode must never reach (the
	// kernel's own memory), as PMP enforces it; only the PMP test build
	// uses it (pmptest.go).
	Protected [2]uint64
}

// Kernel is the exokernel's state.
type Kernel struct {
	// The fields the trap and scheduling paths use come first, where one
	// instruction reaches each (RISC-V loads take a 12-bit offset); the
	// big buffers come last.
	plat     Platform
	cpu      CPU
	envs     envTable
	slots    *sched.Vector
	cur      *Env
	deadline uint64 // when the current interval ends
	quantum  uint64 // ticks
	live     int    // environments not yet finished and torn down
	phys     mem.Phys
	frames   *mem.Frames
	auth     *caps.Authority // the capability key and epochs
	irq      Interrupts
	devs     []Device
	images   map[string][]byte
	slotsPA  uint64
	boot     uint64 // ticks at New
	first    *Env   // the first environment started: its status is the machine's

	asidBits  int
	protected [2]uint64
	revoking  []*Env // environments whose revocation is running
	xfer      *Env   // where a protected control transfer goes (outcome transferred)

	// revRequests are the environments with a visible revocation
	// request pending (revoke_upcall.go).
	revRequests []*Env

	// Idles counts waits for an interrupt with nothing runnable.
	Idles uint64
	// Interrupts counts device interrupts served, Spurious those with no
	// device.
	Interrupts, Spurious uint64
	// MaxLate is the longest a due timer interrupt waited for the
	// kernel, in ticks: the worst time the kernel kept interrupts
	// masked, as environments see it.
	MaxLate uint64
	// MaxStep is the longest one step of kernel work took (work.go), in
	// ticks.
	MaxStep uint64

	// callTime is the longest each system call took, in the measurement
	// build (measureCalls).
	callTime [numSyscalls]uint64

	entropy  entropyPool
	writeBuf [abi.MaxWrite]byte // SysWrite's copy of the bytes
	spawnBuf abi.SpawnRequest   // SysSpawn's copy of the request
	rootBuf  [maxRoots]caps.Cap // refreshRoots' scratch
	con      console
	net      netState
}

// New builds the kernel and creates the manifest's environments (each
// finishes building in its own slots). An environment that cannot be
// created is an error: booting with part of the requested system would
// hide the failure.
func New(c Config) (*Kernel, error) {
	if c.Platform == nil || c.CPU == nil || c.Phys == nil || c.Frames == nil || c.Manifest == nil {
		return nil, errors.New("kernel: incomplete configuration")
	}
	k := &Kernel{
		plat: c.Platform, cpu: c.CPU, phys: c.Phys, frames: c.Frames,
		images: c.Images, irq: c.Interrupts, devs: c.Devices,
		envs: newEnvTable(MaxEnvs), asidBits: min(c.ASIDBits, 16),
		protected: c.Protected,
	}
	k.con.serial = c.Platform.Serial()
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
		{caps.KindEnv, 0, MaxEnvs + 1},
		// The port namespace is 40 bits wide; only the guard tables
		// are tracked (abi.GuardTables).
		{caps.KindPort, abi.GuardTables[0].Lo, abi.GuardTables[0].Hi - abi.GuardTables[0].Lo + 1},
		{caps.KindPort, abi.GuardTables[1].Lo, abi.GuardTables[1].Hi - abi.GuardTables[1].Lo + 1},
		{caps.KindPort, abi.GuardTables[2].Lo, abi.GuardTables[2].Hi - abi.GuardTables[2].Lo + 1},
		{caps.KindPort, abi.GuardTables[3].Lo, abi.GuardTables[3].Hi - abi.GuardTables[3].Lo + 1},
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
	if pmpTest {
		k.printf("WARNING: PMP test build: every environment maps the kernel page at %#x\n", k.protected[0])
	}
	k.quantum = abi.NsToTicks(uint64(c.Manifest.Quantum.Nanoseconds()), k.plat.TimebaseHz())
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
	ids := 0
	for _, m := range c.Manifest.Envs {
		ids += 1 + m.Envs
	}
	if ids > MaxEnvs {
		return nil, fmt.Errorf("kernel: the manifest's environments and their spawn= shares need %d env ids, at most %d exist", ids, MaxEnvs)
	}
	k.initNet(c.NIC, &c.Manifest.Net)
	if c.NIC != nil && !c.Manifest.Net.Addr.IsValid() {
		k.printf("network: a NIC but no net address= line in the manifest: IPv4 frames reach no one\n")
	}
	for i, m := range c.Manifest.Envs {
		e, err := k.createFromPool(m, c.Manifest.Guards(i))
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
func (k *Kernel) Env(id uint32) *Env { return k.envs.get(id) }

// Live returns the number of environments that have not finished.
func (k *Kernel) Live() int { return k.live }

// Run runs environments until all have finished and returns the machine's
// exit status: the exit status of the first environment started, or 255 if
// it was killed. The console is drained before it returns.
func (k *Kernel) Run() uint32 {
	why := preempted // the first pick starts an interval
	for k.live > 0 {
		if k.net.pending {
			k.netReceive() // frames a bounded pass left in the NIC
		}
		e := k.pick(why)
		if e == nil {
			k.idle()
			why = preempted
			continue
		}
		why = k.runEnv(e)
	}
	k.printf("all environments finished\n")
	hz := k.plat.TimebaseHz()
	k.printf("longest wait of a due timer interrupt: %d us; longest step of kernel work: %d us; device interrupts served: %d\n", abi.TicksToNs(k.MaxLate, hz)/1000, abi.TicksToNs(k.MaxStep, hz)/1000, k.Interrupts)
	if measureCalls {
		var b []byte
		for n, t := range k.callTime {
			if t != 0 && callNames[n] != "" { // not sysNoSys
				b = fmt.Appendf(b, " %s %.1f", callNames[n], float64(abi.TicksToNs(t, hz))/1000)
			}
		}
		k.printf("longest system calls (us):%s\n", b)
	}
	k.con.flush()
	if k.first.killed {
		return 255
	}
	return k.first.status
}

// runEnv runs e until it leaves the CPU, and says why. A system call that
// returns to its caller goes straight back, without a trip through the
// scheduler; work the kernel does for e in bounded steps (its
// construction, its teardown, a long call) runs here, in e's time.
func (k *Kernel) runEnv(e *Env) outcome {
	if e.job.kind != jobNone {
		if out := k.doJob(e); out != resume {
			return out
		}
	}
	if e.rv.kind != 0 {
		k.tellRevoke(e) // a visible revocation request: its handler first
	}
	c := &e.ctx
	for {
		k.cpu.Enter(c, e.satp)
		var out outcome
		if c.Cause == riscv.CauseEcallU {
			// A system call, dispatched here rather than in a function
			// of its own (the fast path): a7 is the number, a0..a5 the
			// arguments; a0 and a1 return the value and the error code.
			// A call that blocks leaves them and the pc as they were, so
			// that it runs again; one that finishes its caller returns
			// nothing. A number with no handler returns ErrNoSys: past
			// the table here, inside it through sysNoSys.
			e.Syscalls++
			c.PC += 4 // resume after the ecall, which is never compressed
			n := c.X[hart.RegA7]
			if n >= uint64(len(syscalls)) {
				c.X[regA0], c.X[regA1] = 0, abi.ErrNoSys
				continue
			}
			var t0 uint64
			if measureCalls {
				t0 = k.plat.Now()
			}
			var val, errno uint64
			val, errno, out = syscalls[n](k, e)
			if measureCalls {
				k.callTime[n] = max(k.callTime[n], k.plat.Now()-t0)
			}
			if out == resume { // the common case, tested first
				c.X[regA0], c.X[regA1] = val, errno
				continue
			}
			switch out {
			case yielded, preempted:
				c.X[regA0], c.X[regA1] = val, errno
			case block:
				c.PC -= 4
			case restored:
				continue
			}
			// working, finished: the job (or nothing, for a
			// finished caller) sets a0 and a1.
		} else {
			out = k.trap(e)
		}
		if out != resume {
			if out != working {
				return out
			}
			if out = k.doJob(e); out != resume {
				return out
			}
		}
	}
}

// doJob does e's job and says whether e runs on.
func (k *Kernel) doJob(e *Env) outcome {
	if out := k.work(e); out != resume {
		return out
	}
	if e.state != Runnable || e.stopped {
		return yielded
	}
	return resume
}

// pick returns the environment to run next, or nil if none can. After a
// timer tick (or an idle wait), the slot vector starts its next interval
// and the timer is armed for the one after, once per quantum on a fixed
// grid; when the runner yielded, blocked or finished, the rest of the
// interval passes to the next slot's owner that can run.
func (k *Kernel) pick(why outcome) *Env {
	if why == transferred {
		// A protected control transfer: the interval goes on, in the
		// callee (or the caller it returned to).
		e := k.xfer
		k.xfer = nil
		e.Slices++
		k.cur = e
		return e
	}
	// The clock is read only if an environment's readiness depends on it
	// (a sleeper) or the interval is over: a yield between runnable
	// environments reads no clock.
	var now uint64
	clock := func() uint64 {
		if now == 0 {
			now = k.plat.Now()
		}
		return now
	}
	ready := func(id uint32) bool {
		e := k.envs.byID[id]
		if e.pct.callee != nil {
			e = donee(e) // a caller's slots run its callee
		}
		if e.state == Runnable && !e.stopped {
			return true
		}
		return k.ready(e, clock())
	}
	var id uint32
	var ok bool
	if why == preempted || k.cur == nil {
		clock()
		if now > k.deadline && k.deadline != 0 && why == preempted {
			k.MaxLate = max(k.MaxLate, now-k.deadline)
		}
		if len(k.revRequests) > 0 {
			k.revokeDeadlines(now) // what is still owed at a deadline goes by force
		}
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
	if !ok {
		k.cur = nil
		return nil
	}
	e := k.envs.byID[id]
	if e.pct.callee != nil {
		e = donee(e) // a caller's slots run its callee
	}
	e.Slices++
	k.cur = e
	return e
}

// ready reports whether e can use the CPU now: to run, or for the kernel
// to build or tear it down. A sleeper whose deadline passed and a waiter
// whose device delivered become runnable here.
func (k *Kernel) ready(e *Env, now uint64) bool {
	switch {
	case e.stopped && e.state < Dying && e.job.kind == jobNone:
		// Stopped, it runs none of its own code; a job it has (a
		// revocation half done, its build) still gets its slots: the
		// holders of what it revoked are owed fresh roots.
		return false
	case e.state == Sleeping && now >= e.wake:
		e.state = Runnable
	case e.state == Waiting && k.waitOver(e):
		e.state, e.wait = Runnable, waitNone
	}
	return e.state == Runnable || e.state == Building || e.state == Dying
}

// idle waits for an interrupt: the earliest sleeper's deadline, a device,
// or, while an environment waits on a device that may not interrupt, the
// next quantum. The interval after it starts afresh.
func (k *Kernel) idle() {
	wake := ^uint64(0)
	for _, e := range k.envs.byID[:k.envs.high+1] {
		switch {
		case e == nil:
		case e.state == Sleeping && !e.stopped:
			wake = min(wake, e.wake)
		case e.state == Waiting && !e.stopped:
			wake = min(wake, k.plat.Now()+k.quantum)
		}
	}
	if len(k.revRequests) > 0 {
		wake = min(wake, k.revokeWake())
	}
	k.plat.ArmTimer(wake)
	k.Idles++
	k.plat.Idle()
	k.deadline = 0
	if k.plat.Pending()&PendingDevice != 0 {
		k.interrupt()
	}
}
