package kernel

import (
	"errors"

	"github.com/exo-os/exo/ash"
	"github.com/exo-os/exo/caps"
	"github.com/exo-os/exo/kernel/abi"
	"github.com/exo-os/exo/kernel/demux"
	"github.com/exo-os/exo/kernel/mem"
	"github.com/exo-os/exo/kernel/vm"
)

// The network system calls (abi/net.go). Each names the authority it
// uses: a port capability for a guard, a page capability for the memory
// a ring or message buffer lies in; sending uses the guards the caller
// has bound, checked when it bound them.

// ownRun returns the physical address of [va, va+n) if it lies inside one
// physically contiguous run of e's own memory (its RAM, which lives as
// long as it does), page aligned if aligned is set.
func ownRun(e *Env, va, n uint64) (uint64, bool) {
	if n == 0 || va+n < va {
		return 0, false
	}
	at := uint64(abi.RAMStart)
	for _, r := range e.ram {
		size := uint64(r.N) * mem.PageSize
		if va >= at && va+n <= at+size {
			return r.PA + (va - at), true
		}
		at += size
	}
	return 0, false
}

// showPages checks page capability c for the frames under physical
// [pa, pa+n) with the write right.
func (k *Kernel) showPages(c []byte, pa, n uint64) (uint64, uint64) {
	return k.verifyBytes(c, caps.Need{Kind: caps.KindPage, Lo: pa / mem.PageSize, Hi: (pa + n - 1) / mem.PageSize, Rights: caps.PageWrite})
}

// loadProgram copies count instructions at va from e and starts their
// verification as a program of type cfg.Type; count 0 is no program. The
// control-flow analysis is done here, linear in the program's length
// (bounded by abi.MaxNetProgram); the exploration is the caller's job, a
// step at a time (netBindStep).
func (k *Kernel) loadProgram(e *Env, va, count uint64, cfg ash.Config) (*ash.Verification, uint64) {
	if count == 0 {
		return nil, abi.OK
	}
	if count > abi.MaxNetProgram {
		return nil, abi.ErrTooBig
	}
	raw := make([]byte, count*8) // bounded: MaxNetProgram·8 bytes
	if !k.copyIn(e, raw, va) {
		return nil, abi.ErrFault
	}
	insns, err := ash.Decode(raw)
	if err != nil {
		return nil, abi.ErrProgram
	}
	cfg.MaxSteps = abi.NetVerifySteps
	return ash.NewVerification(insns, cfg), abi.OK
}

// netBind is a SysNetBind whose programs are being verified.
type netBind struct {
	req             abi.NetBind
	table           int
	msg             []byte
	filter, handler *ash.Verification
}

// sysNetBind binds a guard (abi.SysNetBind). What it can check at once it
// checks here; the programs are verified in bounded steps in the caller's
// slots (netBindStep), and the binding is made when both are, after its
// capabilities are checked again.
func sysNetBind(k *Kernel, e *Env) (uint64, uint64, outcome) {
	b := &netBind{}
	req := &b.req
	if !k.copyIn(e, bytesOf(req), e.ctx.X[regA0]) {
		return 0, abi.ErrFault, resume
	}
	if b.table = demux.Table(req.Lo, req.Hi); b.table < 0 {
		return 0, abi.ErrInval, resume
	}
	if val, errno := k.verifyBytes(req.Guard[:], caps.Need{Kind: caps.KindPort, Lo: req.Lo, Hi: req.Hi, Rights: caps.PortReceive}); errno != abi.OK {
		return val, errno, resume
	}
	if req.MsgLen != 0 {
		if req.MsgLen > abi.MaxMsg {
			return 0, abi.ErrTooBig, resume
		}
		pa, ok := ownRun(e, req.Msg, req.MsgLen)
		if !ok {
			return 0, abi.ErrInval, resume
		}
		if val, errno := k.showPages(req.MsgCap[:], pa, req.MsgLen); errno != abi.OK {
			return val, errno, resume
		}
		b.msg = k.phys.Bytes(pa, int(req.MsgLen))
	}
	if e.nnet == abi.MaxNetBinds || e.nbinds == maxBindings {
		return 0, abi.ErrNoMem, resume
	}
	var errno uint64
	if b.filter, errno = k.loadProgram(e, req.Filter, req.FilterLen, ash.Config{Type: ash.TypeFilter}); errno != abi.OK {
		return 0, errno, resume
	}
	if b.handler, errno = k.loadProgram(e, req.ASH, req.ASHLen, ash.Config{Type: ash.TypeASH, MsgSize: int(req.MsgLen)}); errno != abi.OK {
		return 0, errno, resume
	}
	e.job = job{kind: jobNetBind, bind: b}
	return 0, 0, working
}

// netBindStep does one bounded step of e's SysNetBind and reports whether
// it is over (then e's a0 and a1 hold the result).
func (k *Kernel) netBindStep(e *Env) bool {
	b := e.job.bind
	for _, x := range []*ash.Verification{b.filter, b.handler} {
		if x != nil && !x.Continue(stepVerify) {
			return false
		}
	}
	e.ctx.X[regA0], e.ctx.X[regA1] = k.bindNet(e, b)
	return true
}

// bindNet makes the binding b describes, once its programs are verified.
// The capabilities are checked again (they may have been revoked while
// the programs were), and so are the caller's bindings and the guard's
// overlap. It returns a0 and a1.
func (k *Kernel) bindNet(e *Env, b *netBind) (uint64, uint64) {
	n := &k.net
	req := &b.req
	var progs [2]*ash.Program
	for i, x := range []*ash.Verification{b.filter, b.handler} {
		if x == nil {
			continue
		}
		p, err := x.Result()
		if err != nil {
			return 0, abi.ErrProgram
		}
		progs[i] = p
	}
	send := true
	if checkCaps {
		v, err := k.auth.Verify(req.Guard[:], caps.Need{Kind: caps.KindPort, Lo: req.Lo, Hi: req.Hi, Rights: caps.PortReceive})
		if err != nil {
			return capErrno(err)
		}
		send = v.Rights&caps.PortSend != 0
	}
	if req.MsgLen != 0 {
		pa, _ := ownRun(e, req.Msg, req.MsgLen)
		if val, errno := k.showPages(req.MsgCap[:], pa, req.MsgLen); errno != abi.OK {
			return val, errno
		}
	}
	if e.nnet == abi.MaxNetBinds || e.nbinds == maxBindings {
		return 0, abi.ErrNoMem
	}
	id := 0
	for i := 1; i <= maxNetBindings; i++ {
		if n.binds[i].env == nil {
			id = i
			break
		}
	}
	if id == 0 {
		return 0, abi.ErrNoMem
	}
	if err := n.index.Add(req.Lo, req.Hi, demux.ID(id)); err != nil {
		if errors.Is(err, demux.ErrRanges) {
			return 0, abi.ErrNoMem
		}
		return 0, abi.ErrBusy
	}
	n.binds[id] = netBinding{env: e, lo: req.Lo, hi: req.Hi, table: b.table, send: send, filter: progs[0], ash: progs[1], msg: b.msg}
	e.netIDs[e.nnet] = uint16(id)
	e.nnet++
	k.record(e, binding{kind: caps.KindPort, name: req.Lo, where: req.Hi})
	return uint64(id), abi.OK
}

// unbindNet removes binding id (its holder's count, the index entry; the
// caller drops the record).
func (k *Kernel) unbindNet(id int) {
	b := &k.net.binds[id]
	k.net.index.Remove(b.lo, b.hi)
	e := b.env
	for i := 0; i < e.nnet; i++ {
		if int(e.netIDs[i]) == id {
			e.nnet--
			e.netIDs[i], e.netIDs[e.nnet] = e.netIDs[e.nnet], 0
			break
		}
	}
	*b = netBinding{}
}

// netBindingOf returns the handle of e's binding of guard [lo, hi].
func (k *Kernel) netBindingOf(e *Env, lo, hi uint64) int {
	for _, id := range e.netIDs[:e.nnet] {
		if b := &k.net.binds[id]; b.lo == lo && b.hi == hi {
			return int(id)
		}
	}
	return 0
}

// sysNetUnbind undoes the caller's binding a0.
func sysNetUnbind(k *Kernel, e *Env) (uint64, uint64, outcome) {
	id := e.ctx.X[regA0]
	if id == 0 || id > maxNetBindings || k.net.binds[id].env != e {
		return 0, abi.ErrNotFound, resume
	}
	b := k.net.binds[id]
	r := k.recordsOf(e)
	for i := 0; i < e.nbinds; i++ {
		if r[i].kind == caps.KindPort && r[i].name == b.lo && r[i].where == b.hi {
			k.undo(e, i, false)
			return 0, abi.OK, resume
		}
	}
	k.printf("BUG: env %d: binding %d has no record\n", e.ID, id)
	return 0, abi.ErrNotFound, resume
}

// sysNetRing registers (or, a1 = 0, unregisters) the caller's receive
// ring.
func sysNetRing(k *Kernel, e *Env) (uint64, uint64, outcome) {
	va, size, capVA := e.ctx.X[regA0], e.ctx.X[regA1], e.ctx.X[regA2]
	if size == 0 {
		if e.ring.slots == 0 {
			return 0, abi.ErrNotFound, resume
		}
		e.ring = netRing{}
		return 0, abi.OK, resume
	}
	if e.ring.slots != 0 {
		return 0, abi.ErrExist, resume
	}
	if size > abi.NetRingBytes(abi.MaxRingSlots) {
		return 0, abi.ErrTooBig, resume
	}
	slots := (size - abi.RingHeaderSize) / abi.RingSlotSize
	if va%mem.PageSize != 0 || size < abi.NetRingBytes(1) || slots&(slots-1) != 0 || size != abi.NetRingBytes(int(slots)) {
		return 0, abi.ErrInval, resume
	}
	pa, ok := ownRun(e, va, size)
	if !ok {
		return 0, abi.ErrInval, resume
	}
	var c caps.Cap
	if !k.copyIn(e, c[:], capVA) {
		return 0, abi.ErrFault, resume
	}
	if val, errno := k.showPages(c[:], pa, size); errno != abi.OK {
		return val, errno, resume
	}
	r := netRing{mem: k.phys.Bytes(pa, int(size)), slots: uint32(slots)}
	clear(r.mem[:abi.RingHeaderSize])
	r.publish()
	e.ring = r
	return 0, abi.OK, resume
}

// sysNetWait waits for the caller's ring to hold a frame, for one of its
// handlers to return ash.RetWake, or for the deadline a0. A call that
// blocks runs again when the wait is over, so every return, and only a
// return, clears the notification.
func sysNetWait(k *Kernel, e *Env) (uint64, uint64, outcome) {
	if e.ring.slots == 0 {
		return 0, abi.ErrNotFound, resume
	}
	if c := e.ring.count(); c > 0 || e.notified {
		e.notified = false
		return uint64(c), abi.OK, resume
	}
	deadline := e.ctx.X[regA0]
	if deadline != 0 && k.plat.Now() >= deadline {
		return 0, abi.OK, resume
	}
	e.state, e.wait, e.wake = Waiting, waitNet, deadline
	return 0, abi.OK, block
}

// netWaitOver reports whether a waitNet is over.
func (k *Kernel) netWaitOver(e *Env, now uint64) bool {
	return e.ring.slots == 0 || e.ring.count() > 0 || e.notified || e.wake != 0 && now >= e.wake
}

// sysNetSend transmits a frame from the caller's memory.
func sysNetSend(k *Kernel, e *Env) (uint64, uint64, outcome) {
	va, n := e.ctx.X[regA0], e.ctx.X[regA1]
	switch {
	case n > abi.MaxFrame:
		return 0, abi.ErrTooBig, resume
	case n < abi.MinFrame:
		return 0, abi.ErrInval, resume
	case k.net.nic == nil:
		return 0, abi.ErrNotFound, resume
	}
	f := k.net.reply[:n]
	if !k.copyIn(e, f, va) {
		return 0, abi.ErrFault, resume
	}
	sti, name, whole, ok := demux.Source(f, k.net.mac, &k.net.local)
	allowed := false
	for _, id := range e.netIDs[:e.nnet] {
		b := &k.net.binds[id]
		if ok && b.send && demux.Claims(b.table, b.lo, b.hi, sti, name, whole) {
			allowed = true
			break
		}
	}
	if !allowed {
		return 0, abi.ErrCapRange, resume
	}
	if err := k.net.nic.Transmit(f); err != nil {
		return 0, abi.ErrAgain, resume
	}
	return 0, abi.OK, resume
}

// sysNetStats copies binding a0's counters to a1.
func sysNetStats(k *Kernel, e *Env) (uint64, uint64, outcome) {
	id, out := e.ctx.X[regA0], e.ctx.X[regA1]
	if id == 0 || id > maxNetBindings || k.net.binds[id].env != e {
		return 0, abi.ErrNotFound, resume
	}
	if !userRange(e.as, out, uint64(len(bytesOf(&k.net.binds[id].stats))), vm.R|vm.W) {
		return 0, abi.ErrFault, resume
	}
	k.copyOut(e, out, bytesOf(&k.net.binds[id].stats))
	return 0, abi.OK, resume
}
