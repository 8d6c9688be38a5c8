package kernel

import (
	"errors"

	"github.com/exo-os/exo/caps"
	"github.com/exo-os/exo/kernel/abi"
	"github.com/exo-os/exo/kernel/mem"
)

// Root capabilities. The first entries of an environment's capability
// list are the kernel's capabilities for what the environment holds now
// (abi.CapList): its env id, each run of its RAM, its first abi.MaxSpare
// spare runs, its first abi.MaxSlotCaps slots. Whenever one of these
// changes hands, or is revoked while it still holds it (another
// environment's revocation through a capability it derived and passed
// on), the kernel mints a fresh one in its place: an owner never loses
// the authority over what it owns to someone it gave a share to.

// rootRights are the rights of the capabilities the kernel mints for what
// an environment holds.
const (
	rootPage = caps.PageRead | caps.PageWrite | caps.PageExec | caps.PageRevoke
	rootSlot = caps.SlotUse | caps.SlotRevoke
	rootEnv  = caps.EnvControl | caps.EnvSend | caps.EnvRevoke
)

// maxRoots bounds the root entries of a capability list.
const maxRoots = 1 + abi.MaxRuns + abi.MaxSpare + abi.MaxSlotCaps + abi.MaxNetBinds

// rootSpec is what one root capability names.
type rootSpec struct {
	kind   caps.Kind
	lo, hi uint64
	rights caps.Rights
}

// rootSpecs lists e's root capabilities, in list order, into out.
func (k *Kernel) rootSpecs(e *Env, out *[maxRoots]rootSpec) int {
	n := 0
	r := rootEnv
	if e.maySpawn {
		r |= caps.EnvSpawn
	}
	out[n] = rootSpec{caps.KindEnv, uint64(e.ID), uint64(e.ID), r}
	n++
	for _, run := range e.ram {
		lo := run.PA / mem.PageSize
		out[n] = rootSpec{caps.KindPage, lo, lo + uint64(run.N) - 1, rootPage}
		n++
	}
	for _, run := range e.spare[:min(len(e.spare), abi.MaxSpare)] {
		lo := run.PA / mem.PageSize
		out[n] = rootSpec{caps.KindPage, lo, lo + uint64(run.N) - 1, rootPage}
		n++
	}
	held := 0
	for s := 0; s < k.slots.Len() && held < abi.MaxSlotCaps; s++ {
		if k.slots.Owner(s) == e.ID {
			out[n] = rootSpec{caps.KindSlot, uint64(s), uint64(s), rootSlot}
			n++
			held++
		}
	}
	for _, g := range e.guards {
		out[n] = rootSpec{caps.KindPort, g.Lo, g.Hi, rootPort}
		n++
	}
	return n
}

func (k *Kernel) mint(s rootSpec) caps.Cap {
	c, err := k.auth.Mint(s.kind, s.lo, s.hi, s.rights)
	if err != nil {
		k.printf("BUG: minting %s [%#x, %#x]: %v\n", s.kind, s.lo, s.hi, err)
	}
	return c
}

// mintRoot mints e's root capability i into its list, during its build,
// and reports whether there was one.
func (k *Kernel) mintRoot(e *Env, i int) bool {
	var want [maxRoots]rootSpec
	n := k.rootSpecs(e, &want)
	if i >= n {
		return false
	}
	l := capsPage(k.phys, e.capList)
	l.Caps[i] = k.mint(want[i])
	l.N, l.Roots = uint32(i+1), uint32(i+1)
	return true
}

// refreshRoots makes e's root capabilities match what it holds: entries
// still right are kept, the others minted afresh (a handful per change),
// and the capabilities its parent passed move up or down behind them.
func (k *Kernel) refreshRoots(e *Env) {
	if e.capList == 0 || e.state == Building && e.job.phase <= bRoots || e.finished() {
		return
	}
	var want [maxRoots]rootSpec
	n := k.rootSpecs(e, &want)
	l := capsPage(k.phys, e.capList)
	old := min(int(l.Roots), maxRoots)
	fresh := &k.rootBuf
	for i := 0; i < n; i++ {
		found := false
		for j := 0; j < old && !found; j++ {
			c := caps.Cap(l.Caps[j])
			lo, hi := c.Range()
			if e.staleRoots&(1<<j) == 0 && c.Kind() == want[i].kind && lo == want[i].lo && hi == want[i].hi && c.Rights() == want[i].rights && c.Depth() == 0 {
				fresh[i], found = c, true
			}
		}
		if !found {
			fresh[i] = k.mint(want[i])
		}
	}
	passed := max(0, min(int(l.N), abi.MaxCaps)-old)
	copy(l.Caps[n:n+passed], l.Caps[old:old+passed])
	for i := 0; i < n; i++ {
		l.Caps[i] = fresh[i]
	}
	l.N, l.Roots = uint32(n+passed), uint32(n)
	l.Generation++
	e.staleRoots = 0
	k.updateStartup(e)
}

// markStale notes that names [lo, hi] of kind were revoked while e still
// holds them, so that refreshRoots mints its roots for them afresh.
func (k *Kernel) markStale(e *Env, kind caps.Kind, lo, hi uint64) {
	if e.capList == 0 || e.state == Building && e.job.phase < bRoots {
		// Its list is not made yet (until bFixed the frame may still
		// hold its parent's bytes); the build mints current roots.
		return
	}
	l := capsPage(k.phys, e.capList)
	for j := 0; j < min(int(l.Roots), maxRoots); j++ {
		c := caps.Cap(l.Caps[j])
		clo, chi := c.Range()
		if c.Kind() == kind && clo <= hi && lo <= chi {
			e.staleRoots |= 1 << j
		}
	}
}

// capErrno is the error code for a capability the Authority refused, and
// the value to return with it: the revoked name for ErrCapRevoked.
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
	return k.verifyBytes(c[:], need)
}

// verifyBytes checks capability bytes the kernel already copied in.
func (k *Kernel) verifyBytes(c []byte, need caps.Need) (val, errno uint64) {
	if !checkCaps {
		return 0, abi.OK
	}
	if _, err := k.auth.Verify(c, need); err != nil {
		return capErrno(err)
	}
	return 0, abi.OK
}
