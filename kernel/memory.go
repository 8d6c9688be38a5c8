package kernel

import (
	"errors"

	"github.com/exo-os/exo/caps"
	"github.com/exo-os/exo/kernel/abi"
	"github.com/exo-os/exo/kernel/mem"
	"github.com/exo-os/exo/kernel/vm"
)

// sysMap maps page ppn at va with perm (abi.Map*), on showing the page
// capability at capVA, and records the binding (bindings.go). W^X holds
// across mappings: a frame is never writable in one mapping and
// executable in another (mem.Frames.AddMapping). A mapping that needs a
// page table takes it from the caller's charge (ErrNoMem when spent).
func sysMap(k *Kernel, e *Env) (uint64, uint64, outcome) {
	va, ppn, perm, capVA := e.ctx.X[regA0], e.ctx.X[regA1], e.ctx.X[regA2], e.ctx.X[regA3]
	var p vm.Perm
	var need caps.Rights
	if perm&^uint64(abi.MapRead|abi.MapWrite|abi.MapExec) != 0 {
		return 0, abi.ErrInval, resume
	}
	for _, b := range [...]struct {
		bit   uint64
		p     vm.Perm
		right caps.Rights
	}{{abi.MapRead, vm.R, caps.PageRead}, {abi.MapWrite, vm.W, caps.PageWrite}, {abi.MapExec, vm.X, caps.PageExec}} {
		if perm&b.bit != 0 {
			p |= b.p
			need |= b.right
		}
	}
	// Readable or executable, writable only if readable, never writable
	// and executable.
	if p&(vm.R|vm.X) == 0 || p&(vm.R|vm.W) == vm.W || p&(vm.W|vm.X) == vm.W|vm.X {
		return 0, abi.ErrInval, resume
	}
	if !userMappable(va) {
		return 0, abi.ErrInval, resume
	}
	if val, errno := k.verify(e, capVA, caps.Need{Kind: caps.KindPage, Lo: ppn, Hi: ppn, Rights: need}); errno != abi.OK {
		return val, errno, resume
	}
	pa := ppn * mem.PageSize
	if owner, err := k.frames.Owner(pa); err != nil || owner != envFrame {
		// A genuine, current capability names only frames environments
		// hold: the kernel mints none for its own frames and revokes a
		// frame's capabilities before it changes hands.
		k.printf("BUG: env %d: a verified capability names frame %#x (owner %#x)\n", e.ID, pa, uint32(owner))
		return 0, abi.ErrInval, resume
	}
	if e.nbinds == maxBindings {
		return 0, abi.ErrNoMem, resume
	}
	if _, _, ok := e.as.Lookup(va); ok {
		return 0, abi.ErrExist, resume
	}
	if err := k.frames.AddMapping(pa, p&vm.W != 0, p&vm.X != 0); err != nil {
		return 0, abi.ErrInval, resume
	}
	tables := e.as.TableFrames()
	if err := e.as.Map(va, pa, p|vm.U); err != nil {
		k.frames.DropMapping(pa, p&vm.W != 0, p&vm.X != 0)
		if errors.Is(err, vm.ErrMapped) {
			return 0, abi.ErrExist, resume
		}
		return 0, abi.ErrNoMem, resume
	}
	k.record(e, binding{kind: caps.KindPage, name: ppn, where: va, perm: p})
	// Order the new entry (and any new table) before the hart's next
	// translation of va: priv §4.2.1 lets it have cached the invalid one.
	if e.as.TableFrames() != tables {
		k.cpu.InvalidateAll(e.satp)
		k.updateStartup(e)
	} else {
		k.cpu.Invalidate(e.satp, va)
	}
	return 0, abi.OK, resume
}

// userMappable reports whether an environment may map or unmap the page at
// va: page aligned, at or above its RAM (the pages below are the kernel's
// read-only ones), in the user half.
func userMappable(va uint64) bool {
	return va%mem.PageSize == 0 && va >= abi.RAMStart && va < vm.UserTop
}

// sysUnmap removes e's mapping at va and returns the page number it mapped.
// It needs no capability: an environment may always drop its own mappings
// (of its RAM too; the frames stay its own).
func sysUnmap(k *Kernel, e *Env) (uint64, uint64, outcome) {
	va := e.ctx.X[regA0]
	if !userMappable(va) {
		return 0, abi.ErrInval, resume
	}
	pa, perm, ok := e.as.Lookup(va)
	if !ok {
		return 0, abi.ErrNotFound, resume
	}
	r := k.recordsOf(e)
	for i := 0; i < e.nbinds; i++ {
		if r[i].where == va {
			k.undo(e, i, false)
			return pa / mem.PageSize, abi.OK, resume
		}
	}
	if _, err := e.as.Unmap(va); err != nil {
		return 0, abi.ErrNotFound, resume
	}
	k.cpu.Invalidate(e.satp, va)
	k.frames.DropMapping(pa, perm&vm.W != 0, perm&vm.X != 0)
	return pa / mem.PageSize, abi.OK, resume
}
