package kernel

import (
	"github.com/exo-os/exo/caps"
	"github.com/exo-os/exo/kernel/abi"
	"github.com/exo-os/exo/kernel/mem"
	"github.com/exo-os/exo/kernel/vm"
)

// Virtual memory primitives (docs/ABI.md, "Virtual memory primitives"):
// the rights of a mapping changed in place, and the accessed and dirty bits
// exposed, for user-level memory management as in ExOS (Engler et al.,
// SOSP'95 §7.3; Appel and Li, ASPLOS'91). Both calls do at most 512 pages:
// a walk and a few stores each, a bounded amount of work with interrupts
// masked (docs/ABI.md, "Time with interrupts masked").

// fenceAllOver is the page count above which a call fences the whole
// address space once rather than page by page.
const fenceAllOver = 16

// protPerm translates SysProtect's permissions: the PTE permissions and the
// page rights a capability must carry for them. ok is false for what
// SysMap would refuse (an unknown bit, write without read, write with
// execute). abi.ProtNone is a mapping without U: mapped, not accessible.
func protPerm(perm uint64) (p vm.Perm, need caps.Rights, ok bool) {
	if perm == abi.ProtNone {
		return vm.R, 0, true
	}
	if perm&^uint64(abi.MapRead|abi.MapWrite|abi.MapExec) != 0 {
		return 0, 0, false
	}
	if perm&abi.MapRead != 0 {
		p, need = p|vm.R, need|caps.PageRead
	}
	if perm&abi.MapWrite != 0 {
		p, need = p|vm.W, need|caps.PageWrite
	}
	if perm&abi.MapExec != 0 {
		p, need = p|vm.X, need|caps.PageExec
	}
	if p&(vm.R|vm.X) == 0 || p&(vm.R|vm.W) == vm.W || p&(vm.W|vm.X) == vm.W|vm.X {
		return 0, 0, false
	}
	return p | vm.U, need, true
}

// sysProtect sets the permissions of a1 pages from a0 to a2 on showing the
// page capability at a3 (abi.SysProtect). It checks every page before it
// changes any, so a refusal leaves them all as they were.
func sysProtect(k *Kernel, e *Env) (uint64, uint64, outcome) {
	va, n, perm, capVA := e.ctx.X[regA0], e.ctx.X[regA1], e.ctx.X[regA2], e.ctx.X[regA3]
	switch {
	case n > abi.MaxProtect:
		return 0, abi.ErrTooBig, resume
	case n == 0:
		return 0, abi.ErrInval, resume
	}
	p, need, ok := protPerm(perm)
	if !ok || !userMappable(va) || va+n*mem.PageSize > vm.UserTop {
		return 0, abi.ErrInval, resume
	}
	end := va + n*mem.PageSize
	lo, hi := ^uint64(0), uint64(0)
	for v := va; v < end; v += mem.PageSize {
		pa, old, ok := e.as.Lookup(v)
		if !ok {
			return v, abi.ErrNotFound, resume
		}
		lo, hi = min(lo, pa/mem.PageSize), max(hi, pa/mem.PageSize)
		// W^X across mappings (mem.Frames.AddMapping), counting the
		// other mappings of the frame: this one's rights go.
		w, x := k.frames.Mappings(pa)
		if old&vm.W != 0 {
			w--
		}
		if old&vm.X != 0 {
			x--
		}
		if p&vm.W != 0 && (x > 0 || w >= 0xffff) || p&vm.X != 0 && (w > 0 || x >= 0xffff) {
			return 0, abi.ErrInval, resume
		}
	}
	if perm != abi.ProtNone {
		if val, errno := k.verify(e, capVA, caps.Need{Kind: caps.KindPage, Lo: lo, Hi: hi, Rights: need}); errno != abi.OK {
			return val, errno, resume
		}
	}
	for v := va; v < end; v += mem.PageSize {
		pa, old, err := e.as.Protect(v, p)
		if err != nil {
			k.printf("BUG: env %d: protect %#x: %v\n", e.ID, v, err)
			continue
		}
		k.frames.DropMapping(pa, old&vm.W != 0, old&vm.X != 0)
		if err := k.frames.AddMapping(pa, p&vm.W != 0, p&vm.X != 0); err != nil {
			k.printf("BUG: env %d: protect %#x: frame %#x: %v\n", e.ID, v, pa, err)
		}
	}
	// The records of pages mapped with SysMap say how they are mapped,
	// for the mapping counts when revocation or the end undoes them.
	if e.nbinds > 0 {
		r := k.recordsOf(e)
		for i := 0; i < e.nbinds; i++ {
			if r[i].kind == caps.KindPage && r[i].where >= va && r[i].where < end {
				r[i].perm = p &^ vm.U
			}
		}
	}
	// Fewer rights, or more: either way the hart may hold the old entry
	// (priv §4.2.1); a stale one with more rights must go before the
	// environment runs again.
	k.fenceRange(e, va, n)
	return n, abi.OK, resume
}

// fenceRange invalidates e's translations of n pages from va.
func (k *Kernel) fenceRange(e *Env, va, n uint64) {
	if n > fenceAllOver {
		k.cpu.InvalidateAll(e.satp)
		return
	}
	for i := uint64(0); i < n; i++ {
		k.cpu.Invalidate(e.satp, va+i*mem.PageSize)
	}
}

// sysPageBits reads, and optionally clears, the accessed and dirty bits of
// a1 pages from a0 into the bytes at a2 (abi.SysPageBits).
func sysPageBits(k *Kernel, e *Env) (uint64, uint64, outcome) {
	va, n, buf, flags := e.ctx.X[regA0], e.ctx.X[regA1], e.ctx.X[regA2], e.ctx.X[regA3]
	switch {
	case n > abi.MaxPageBits:
		return 0, abi.ErrTooBig, resume
	case n == 0:
		return 0, abi.OK, resume
	case flags&^uint64(abi.PageClearAccessed|abi.PageClearDirty) != 0,
		!userMappable(va), va+n*mem.PageSize > vm.UserTop:
		return 0, abi.ErrInval, resume
	}
	if !userRange(e.as, buf, n, vm.R|vm.W) {
		return buf, abi.ErrFault, resume
	}
	var clr vm.Bits
	if flags&abi.PageClearAccessed != 0 {
		clr |= vm.Accessed
	}
	if flags&abi.PageClearDirty != 0 {
		clr |= vm.Dirty
	}
	var out [abi.MaxPageBits]byte
	mapped, cleared := uint64(0), uint64(0)
	for i := uint64(0); i < n; i++ {
		b, ok := e.as.Bits(va+i*mem.PageSize, clr)
		if !ok {
			continue
		}
		mapped++
		o := byte(abi.PageMapped)
		if b&vm.Accessed != 0 {
			o |= abi.PageAccessed
		}
		if b&vm.Dirty != 0 {
			o |= abi.PageDirty
		}
		out[i] = o
		if b&clr != 0 {
			cleared++
		}
	}
	if cleared > 0 {
		// A hart sets A and D only when it walks the table (QEMU
		// caches a page as writable only once D is set): the cleared
		// entries must be walked again.
		k.fenceRange(e, va, n)
	}
	k.copyOut(e, buf, out[:n])
	return mapped, abi.OK, resume
}
