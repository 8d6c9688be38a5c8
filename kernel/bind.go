package kernel

import (
	"errors"
	"unsafe"

	"github.com/exo-os/exo/caps"
	"github.com/exo-os/exo/kernel/abi"
	"github.com/exo-os/exo/kernel/mem"
	"github.com/exo-os/exo/kernel/vm"
)

// Secure bindings (Engler et al., SOSP'95 §3.2): the kernel checks a
// capability when an environment binds a resource — installs a page-table
// entry, takes a slot — and never again on use. It keeps no table of who
// holds which capability; it knows only who owns each frame and slot, the
// mappings environments made of frames they do not own (so that it can undo
// them), and the epochs in k.auth.

// rootRights are the rights of the capabilities the kernel mints for what
// an environment is given.
const (
	rootPage = caps.PageRead | caps.PageWrite | caps.PageExec | caps.PageRevoke
	rootSlot = caps.SlotUse | caps.SlotRevoke
	rootEnv  = caps.EnvControl | caps.EnvSend | caps.EnvRevoke
)

// mintRoots fills e's capability list: its env id, each run of its
// memory, its slots (the first abi.MaxSlotCaps), the whole vector if it may
// spawn, then what its parent passed.
func (k *Kernel) mintRoots(e *Env, list *abi.CapList, sp spawnSpec) error {
	add := func(c caps.Cap) { list.Caps[list.N] = c; list.N++ }
	mint := func(kind caps.Kind, lo, hi uint64, r caps.Rights) error {
		c, err := k.auth.Mint(kind, lo, hi, r)
		if err == nil {
			add(c)
		}
		return err
	}
	envRights := rootEnv
	if sp.maySpawn {
		envRights |= caps.EnvSpawn
	}
	if err := mint(caps.KindEnv, uint64(e.ID), uint64(e.ID), envRights); err != nil {
		return err
	}
	for _, r := range e.runs {
		lo := r.PA / mem.PageSize
		if err := mint(caps.KindPage, lo, lo+uint64(r.N)-1, rootPage); err != nil {
			return err
		}
	}
	for i, s := range k.slots.Held(e.ID) {
		if i == abi.MaxSlotCaps {
			break
		}
		if err := mint(caps.KindSlot, uint64(s), uint64(s), rootSlot); err != nil {
			return err
		}
	}
	if sp.maySpawn {
		if err := mint(caps.KindSlot, 0, uint64(k.slots.Len()-1), caps.SlotUse); err != nil {
			return err
		}
	}
	list.Roots = list.N
	for _, c := range sp.pass {
		add(c)
	}
	return nil
}

// capErrno is the error code for a capability Verify refused, and the
// value to return with it: the revoked name for ErrCapRevoked.
func capErrno(err error) (val, errno uint64) {
	if r, ok := err.(*caps.RevokedError); ok {
		return r.Name, abi.ErrCapRevoked
	}
	switch {
	case errors.Is(err, caps.ErrForged):
		return 0, abi.ErrCapForged
	case errors.Is(err, caps.ErrWrongKind):
		return 0, abi.ErrCapKind
	case errors.Is(err, caps.ErrRights):
		return 0, abi.ErrCapRights
	case errors.Is(err, caps.ErrRange):
		return 0, abi.ErrCapRange
	case errors.Is(err, caps.ErrRevoked):
		return 0, abi.ErrCapRevoked
	}
	return 0, abi.ErrCapMalformed
}

// verify reads the capability at user address va and checks it grants
// need. It returns (0, OK) or the value and error code to return.
func (k *Kernel) verify(e *Env, va uint64, need caps.Need) (val, errno uint64) {
	var c caps.Cap
	if !k.copyIn(e, c[:], va) {
		return 0, abi.ErrFault
	}
	if !checkCaps {
		return 0, abi.OK
	}
	if _, err := k.auth.Verify(c[:], need); err != nil {
		return capErrno(err)
	}
	return 0, abi.OK
}

// sysMap maps page ppn at va with perm (abi.Map*), on showing the page
// capability at capVA.
func (k *Kernel) sysMap(e *Env, va, ppn, perm, capVA uint64) (uint64, uint64) {
	var p vm.Perm
	var need caps.Rights
	if perm&^uint64(abi.MapRead|abi.MapWrite|abi.MapExec) != 0 {
		return 0, abi.ErrInval
	}
	for _, b := range []struct {
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
	// and executable: the W^X rule the loader keeps, kept here too.
	if p&(vm.R|vm.X) == 0 || p&(vm.R|vm.W) == vm.W || p&(vm.W|vm.X) == vm.W|vm.X {
		return 0, abi.ErrInval
	}
	if !userMappable(va) {
		return 0, abi.ErrInval
	}
	if val, errno := k.verify(e, capVA, caps.Need{Kind: caps.KindPage, Lo: ppn, Hi: ppn, Rights: need}); errno != abi.OK {
		return val, errno
	}
	pa := ppn * mem.PageSize
	owner, err := k.frames.Owner(pa)
	if err != nil || owner == mem.Free || owner == mem.Kernel {
		// A genuine, current capability names only frames environments
		// hold: the kernel mints none for its own frames and revokes a
		// frame's capabilities before it frees it.
		k.printf("BUG: env %d: a verified capability names frame %#x (owner %#x)\n", e.ID, pa, uint32(owner))
		return 0, abi.ErrInval
	}
	foreign := owner != mem.Owner(e.ID)
	if foreign && len(e.binds) == cap(e.binds) {
		return 0, abi.ErrNoMem
	}
	if err := e.as.Map(va, pa, p|vm.U); err != nil {
		if errors.Is(err, vm.ErrMapped) {
			return 0, abi.ErrExist
		}
		return 0, abi.ErrNoMem
	}
	if foreign {
		e.binds = append(e.binds, binding{va: va, pa: pa})
	}
	return 0, abi.OK
}

// userMappable reports whether an environment may map or unmap the page at
// va: page aligned, at or above its RAM (the pages below are the kernel's
// read-only ones), in the user half.
func userMappable(va uint64) bool {
	return va%mem.PageSize == 0 && va >= abi.RAMStart && va < vm.UserTop
}

// sysUnmap removes e's mapping at va and returns the page number it mapped.
// It needs no capability: an environment may always drop its own mappings.
func (k *Kernel) sysUnmap(e *Env, va uint64) (uint64, uint64) {
	if !userMappable(va) {
		return 0, abi.ErrInval
	}
	pa, err := e.as.Unmap(va)
	if err != nil {
		return 0, abi.ErrNotFound
	}
	k.cpu.Invalidate(e.satp, va)
	for i, b := range e.binds {
		if b.va == va {
			e.binds[i] = e.binds[len(e.binds)-1]
			e.binds = e.binds[:len(e.binds)-1]
			break
		}
	}
	return pa / mem.PageSize, abi.OK
}

// revokePages undoes every mapping of pages [lo, hi] that environments
// other than keep made with capabilities, tells each what it lost, and
// revokes the pages' capabilities.
func (k *Kernel) revokePages(lo, hi uint64, keep *Env) {
	for _, o := range k.envs {
		if o == nil || o == keep || o.state == Dead {
			continue
		}
		for i := 0; i < len(o.binds); {
			b := o.binds[i]
			if ppn := b.pa / mem.PageSize; ppn < lo || ppn > hi {
				i++
				continue
			}
			if _, err := o.as.Unmap(b.va); err != nil {
				k.printf("BUG: env %d: binding at %#x: %v\n", o.ID, b.va, err)
			}
			k.cpu.Invalidate(o.satp, b.va)
			k.lost(o, caps.KindPage, b.pa/mem.PageSize, b.va)
			o.binds[i] = o.binds[len(o.binds)-1]
			o.binds = o.binds[:len(o.binds)-1]
		}
	}
	if _, err := k.auth.Epochs().RevokeRange(caps.KindPage, lo, hi); err != nil {
		k.printf("BUG: revoking pages [%#x, %#x]: %v\n", lo, hi, err)
	}
}

// lost records in e's start-up block that revocation took name (mapped at
// va, for a page) from it.
func (k *Kernel) lost(e *Env, kind caps.Kind, name, va uint64) {
	b := startupPage(k.phys, e.startup)
	b.Lost[b.LostCount%abi.MaxLost] = abi.Lost{Kind: uint32(kind), Name: name, VA: va}
	b.LostCount++
}

// sysRevoke revokes the capability at capVA, which must carry its kind's
// revoke right over its whole range, and writes a fresh one for the same
// names and rights to outVA.
func (k *Kernel) sysRevoke(e *Env, capVA, outVA uint64) (uint64, uint64) {
	var c caps.Cap
	if !k.copyIn(e, c[:], capVA) {
		return 0, abi.ErrFault
	}
	if !userRange(e.as, outVA, caps.Size, vm.R|vm.W) {
		return 0, abi.ErrFault
	}
	var right caps.Rights
	switch c.Kind() {
	case caps.KindPage:
		right = caps.PageRevoke
	case caps.KindSlot:
		right = caps.SlotRevoke
	case caps.KindEnv:
		right = caps.EnvRevoke
	default:
		if _, err := caps.Parse(c[:]); err != nil {
			return 0, abi.ErrCapMalformed
		}
		return 0, abi.ErrCapKind
	}
	rights, lo, hi, ok := c.Effective()
	if !ok {
		// An empty range: refuse as Verify would, after the MAC check.
		lo, hi = 1, 0
	}
	v, err := k.auth.Verify(c[:], caps.Need{Kind: c.Kind(), Lo: lo, Hi: hi, Rights: right})
	if err != nil {
		return capErrno(err)
	}
	switch v.Kind {
	case caps.KindPage:
		k.revokePages(lo, hi, e)
	case caps.KindSlot:
		for s := lo; s <= hi; s++ {
			if o := k.slots.Owner(int(s)); o != abi.FreeSlot && o != e.ID && k.slots.Count(o) > 1 {
				// The revoker takes the slot back from another owner,
				// unless it is that owner's last: an environment with
				// no slot would never run again, nor ever finish.
				if err := k.slots.ReleaseOne(o, int(s)); err == nil {
					k.lost(k.envs[o], caps.KindSlot, s, 0)
				}
			}
		}
		k.auth.Epochs().RevokeRange(caps.KindSlot, lo, hi)
	case caps.KindEnv:
		k.auth.Epochs().RevokeRange(caps.KindEnv, lo, hi)
	}
	fresh, err := k.auth.Mint(v.Kind, lo, hi, rights)
	if err != nil {
		k.printf("BUG: env %d: re-minting after revocation: %v\n", e.ID, err)
		return 0, abi.ErrInval
	}
	k.copyOut(e, outVA, fresh[:])
	return 0, abi.OK
}

// sysSlotBind makes e the owner of slot s, which must be free or e's, on
// showing a slot capability for it.
func (k *Kernel) sysSlotBind(e *Env, s, capVA uint64) (uint64, uint64) {
	if s >= uint64(k.slots.Len()) {
		return 0, abi.ErrInval
	}
	if val, errno := k.verify(e, capVA, caps.Need{Kind: caps.KindSlot, Lo: s, Hi: s, Rights: caps.SlotUse}); errno != abi.OK {
		return val, errno
	}
	switch o := k.slots.Owner(int(s)); o {
	case e.ID:
	case abi.FreeSlot:
		k.slots.AllocateAt(e.ID, int(s))
	default:
		return uint64(o), abi.ErrExist
	}
	return 0, abi.OK
}

// sysSlotRelease gives up e's slot s, unless it is e's last.
func (k *Kernel) sysSlotRelease(e *Env, s uint64) (uint64, uint64) {
	if s >= uint64(k.slots.Len()) {
		return 0, abi.ErrInval
	}
	if k.slots.Owner(int(s)) != e.ID {
		return 0, abi.ErrNotFound
	}
	if k.slots.Count(e.ID) == 1 {
		return 0, abi.ErrInval
	}
	k.slots.ReleaseOne(e.ID, int(s))
	return 0, abi.OK
}

// copyIn copies len(dst) bytes at user address va into dst, if every byte
// is in a User-readable page of e; it copies nothing otherwise.
func (k *Kernel) copyIn(e *Env, dst []byte, va uint64) bool {
	n := uint64(len(dst))
	if !userRange(e.as, va, n, vm.R) {
		return false
	}
	for done := uint64(0); done < n; {
		pa, _, _ := e.as.Lookup(va + done)
		off := pa % mem.PageSize
		done += uint64(copy(dst[done:], k.phys.Page(pa - off)[off:]))
	}
	return true
}

// copyOut copies src to user address va, if every byte is in a
// User-writable page of e; it copies nothing otherwise.
func (k *Kernel) copyOut(e *Env, va uint64, src []byte) bool {
	n := uint64(len(src))
	if !userRange(e.as, va, n, vm.R|vm.W) {
		return false
	}
	for done := uint64(0); done < n; {
		pa, _, _ := e.as.Lookup(va + done)
		off := pa % mem.PageSize
		done += uint64(copy(k.phys.Page(pa - off)[off:], src[done:]))
	}
	return true
}

// bytesOf views a fixed-size ABI structure as bytes, for copyIn.
func bytesOf[T any](p *T) []byte {
	return unsafe.Slice((*byte)(unsafe.Pointer(p)), unsafe.Sizeof(*p))
}
