package kernel

import (
	"github.com/exo-os/exo/caps"
	"github.com/exo-os/exo/kernel/abi"
	"github.com/exo-os/exo/kernel/mem"
	"github.com/exo-os/exo/kernel/vm"
)

// sysRevoke revokes the capability at capVA, which must carry its kind's
// revoke right over its whole range, and writes a fresh one for the same
// names and rights to outVA. Every capability for those names minted
// before stops verifying; for pages, every binding other environments
// made of them is undone (each finds the loss in its start-up block); for
// slots, a slot another environment holds is taken from it, unless it is
// its last. The environment that holds the names keeps its authority: its
// root capabilities for them are minted afresh. The work is the caller's
// job, done in bounded steps in its slots; the call returns when it is
// done.
func sysRevoke(k *Kernel, e *Env) (uint64, uint64, outcome) {
	capVA, outVA := e.ctx.X[regA0], e.ctx.X[regA1]
	var c caps.Cap
	if !k.copyIn(e, c[:], capVA) {
		return 0, abi.ErrFault, resume
	}
	if !userRange(e.as, outVA, caps.Size, vm.R|vm.W) {
		return 0, abi.ErrFault, resume
	}
	// The MAC first, as everywhere: a forger learns nothing but that.
	v, err := k.auth.Authenticate(c[:])
	if err != nil {
		val, errno := capErrno(err)
		return val, errno, resume
	}
	var right caps.Rights
	switch v.Kind {
	case caps.KindPage:
		right = caps.PageRevoke
	case caps.KindSlot:
		right = caps.SlotRevoke
	case caps.KindEnv:
		right = caps.EnvRevoke
	case caps.KindPort:
		right = caps.PortRevoke
	default:
		return 0, abi.ErrCapKind, resume
	}
	if _, err := k.auth.Verify(c[:], caps.Need{Kind: v.Kind, Lo: v.Lo, Hi: v.Hi, Rights: right}); err != nil {
		val, errno := capErrno(err)
		return val, errno, resume
	}
	e.job = job{kind: jobRevoke, lo: v.Lo, hi: v.Hi, rights: v.Rights, out: outVA, cursor: v.Lo}
	e.job.names = names{kind: v.Kind}
	e.job.names.add(v.Lo, v.Hi-v.Lo+1)
	k.revoking = append(k.revoking, e)
	return 0, 0, working
}

// handOff notes that names [lo, hi] of kind changed hands (a frame given
// or taken back, a slot rebound, an env id freed) or were revoked: a
// revocation of any of them still running, other than by's own, must not
// hand its caller a fresh capability for them. Its stamp would come after
// this change, so its capability would outlive it: name what no longer is
// what the old capability named, or undo another's revocation.
func (k *Kernel) handOff(kind caps.Kind, lo, hi uint64, by *Env) {
	for _, r := range k.revoking {
		if r != by && r.job.names.kind == kind && r.job.lo <= hi && lo <= r.job.hi {
			r.job.tainted = true
		}
	}
}

// doneRevoking takes e off the list of running revocations.
func (k *Kernel) doneRevoking(e *Env) {
	for i, r := range k.revoking {
		if r == e {
			k.revoking[i] = k.revoking[len(k.revoking)-1]
			k.revoking = k.revoking[:len(k.revoking)-1]
			return
		}
	}
}

// Revoke phases.
const (
	rEpochs uint8 = iota // bump the names' epochs, a step at a time
	rUndo                // undo other environments' bindings of them
	rHolder              // fresh root capabilities for their holder
	rDone                // and a fresh capability for the caller
)

// revokeStep does one bounded step of e's revocation and reports whether
// it is done (then e's a0 and a1 hold the result).
func (k *Kernel) revokeStep(e *Env) bool {
	j := &e.job
	kind := j.names.kind
	switch j.phase {
	case rEpochs:
		switch kind {
		case caps.KindSlot:
			// One slot a step: taking it from its holder changes that
			// holder's capability list.
			s := int(j.cursor)
			if o := k.slots.Owner(s); o != abi.FreeSlot && o != e.ID && k.slots.Count(o) > 1 {
				// The revoker takes the slot back from another owner,
				// unless it is that owner's last (an environment with
				// no slot would never run again, nor ever finish), or
				// the owner has ended (it gives its slots up itself).
				if oe := k.envs.get(o); !oe.finished() && k.slots.ReleaseOne(o, s) == nil {
					k.lost(oe, caps.KindSlot, uint64(s), 0)
					k.slotChanged(s, e)
					k.refreshRoots(oe)
				}
			}
			k.auth.Epochs().Revoke(caps.KindSlot, uint64(s))
			k.handOff(caps.KindSlot, uint64(s), uint64(s), e)
			if o := k.slots.Owner(s); o != abi.FreeSlot {
				k.markStale(k.envs.get(o), caps.KindSlot, uint64(s), uint64(s))
				k.refreshRoots(k.envs.get(o))
			}
			j.cursor++
		case caps.KindEnv:
			id := j.cursor
			k.auth.Epochs().Revoke(caps.KindEnv, id)
			k.handOff(caps.KindEnv, id, id, e)
			if o := k.envs.get(uint32(id)); o != nil {
				k.markStale(o, caps.KindEnv, id, id)
				k.refreshRoots(o)
			}
			j.cursor++
		default:
			c := min(j.hi-j.cursor+1, stepEpochs)
			k.auth.Epochs().RevokeRange(kind, j.cursor, j.cursor+c-1)
			// Another revocation of these names still running must not
			// stamp a fresh capability after this bump.
			k.handOff(kind, j.cursor, j.cursor+c-1, e)
			j.cursor += c
		}
		if j.cursor > j.hi {
			// The fresh capability is stamped with the last epoch of
			// this revocation, so that whatever anyone revokes after
			// it stays revoked for it too.
			j.stamp = k.auth.Epochs().Now()
			j.phase, j.cursor = rUndo, 0
		}
	case rUndo:
		if kind != caps.KindPage && kind != caps.KindPort || k.revokeRecords(&j.names, e, &j.cursor, true) {
			j.phase, j.cursor = rHolder, 0
		}
	case rHolder:
		// Whoever holds the pages keeps authority over them: every
		// environment holding any of them gets fresh root capabilities.
		if kind != caps.KindPage && kind != caps.KindPort || k.refreshHolders(kind, j.lo, j.hi, &j.cursor) {
			j.phase = rDone
		}
	case rDone:
		k.doneRevoking(e)
		if e.finished() {
			return true // it ended meanwhile: no one to give a result to
		}
		a0, a1 := uint64(0), uint64(abi.OK)
		var fresh caps.Cap
		if j.tainted {
			// Some of the names changed hands while this ran: no
			// fresh capability could name what the old one did.
			a0 = 1
		} else if c, err := k.auth.MintAt(kind, j.lo, j.hi, j.rights, j.stamp); err == nil {
			fresh = c
		} else {
			k.printf("BUG: env %d: re-minting after revocation: %v\n", e.ID, err)
		}
		if !k.copyOut(e, j.out, fresh[:]) {
			a1 = abi.ErrFault // the output page went away while the revocation ran
		}
		e.ctx.X[regA0], e.ctx.X[regA1] = a0, a1
		return true
	}
	return false
}

// refreshHolders is one bounded step of looking, by env id from *cursor,
// for every environment holding any of names [lo, hi] (pages as RAM or
// spare; port names as guards the manifest gave it), and minting its root
// capabilities for them afresh. It reports whether the search is over.
func (k *Kernel) refreshHolders(kind caps.Kind, lo, hi uint64, cursor *uint64) bool {
	for n := 0; n < scanIDs; n++ {
		if *cursor++; *cursor > uint64(k.envs.high) {
			return true
		}
		o := k.envs.byID[*cursor]
		if o == nil || o.finished() {
			continue
		}
		if kind == caps.KindPort {
			for _, g := range o.guards {
				if g.Lo <= hi && lo <= g.Hi {
					k.markStale(o, caps.KindPort, lo, hi)
					k.refreshRoots(o)
					break
				}
			}
			continue
		}
		for i := 0; ; i++ {
			r, ok := o.holding(i)
			if !ok {
				break
			}
			rlo := r.PA / mem.PageSize
			if rlo <= hi && lo < rlo+uint64(r.N) {
				k.markStale(o, caps.KindPage, lo, hi)
				k.refreshRoots(o)
				break
			}
		}
	}
	return false
}
