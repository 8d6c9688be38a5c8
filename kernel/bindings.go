package kernel

import (
	"unsafe"

	"github.com/exo-os/exo/caps"
	"github.com/exo-os/exo/kernel/abi"
	"github.com/exo-os/exo/kernel/mem"
	"github.com/exo-os/exo/kernel/vm"
)

// Secure bindings (Engler et al., SOSP'95 §3.2): the kernel checks a
// capability when an environment binds a resource and never again on use.
// It keeps no table of who holds which capability. What it keeps is a
// record of every binding made with one that the resource's revocation
// must undo: today the pages an environment mapped with SysMap (its own
// or another's); packet filters, handlers, message buffers, rings and
// predicate windows are bound the same way. A record names the
// capability kind and name it was made under, so revocation is one
// operation for every kind: undo the records naming the revoked names
// (revokeRecords), then bump their epochs.
//
// The records live in a frame charged to the environment that made them
// (maxBindings of them); the mappings of its RAM that the kernel made at
// creation are not records, since they end with the environment itself.

// binding is one record: a binding of name (of kind) into its holder.
type binding struct {
	// where: for a page, the virtual address it is mapped at; for a
	// guard (KindPort), the last of its names.
	where uint64
	name  uint64 // the page number, for a page; a guard's first name
	kind  caps.Kind
	perm  vm.Perm // for a page: how it is mapped
	_     [6]byte
}

const bindingSize = int(unsafe.Sizeof(binding{}))

// recordsOf returns e's records (the first e.nbinds are in use).
func (k *Kernel) recordsOf(e *Env) *[maxBindings]binding {
	return pageAs[[maxBindings]binding](k.phys, e.records)
}

// record adds a binding to e's records; the caller checked there is room.
func (k *Kernel) record(e *Env, b binding) {
	k.recordsOf(e)[e.nbinds] = b
	e.nbinds++
}

// dropRecord removes record i of e, without undoing it.
func (k *Kernel) dropRecord(e *Env, i int) {
	r := k.recordsOf(e)
	e.nbinds--
	r[i] = r[e.nbinds]
	r[e.nbinds] = binding{}
}

// undo reverses binding b of holder and forgets it: for a page, the
// mapping is removed and its translation flushed. If lost, holder is told
// in its start-up block's loss log (another environment's revocation
// took it).
func (k *Kernel) undo(holder *Env, i int, lost bool) {
	b := k.recordsOf(holder)[i]
	switch b.kind {
	case caps.KindPage:
		if pa, err := holder.as.Unmap(b.where); err == nil {
			k.cpu.Invalidate(holder.satp, b.where)
			k.frames.DropMapping(pa, b.perm&vm.W != 0, b.perm&vm.X != 0)
		} else {
			k.printf("BUG: env %d: binding at %#x: %v\n", holder.ID, b.where, err)
		}
	case caps.KindPort:
		if id := k.netBindingOf(holder, b.name, b.where); id != 0 {
			k.unbindNet(id)
		} else {
			k.printf("BUG: env %d: no network binding for guard [%#x, %#x]\n", holder.ID, b.name, b.where)
		}
	}
	if lost {
		k.lost(holder, b.kind, b.name, b.where)
	}
	k.dropRecord(holder, i)
}

// names is a set of names of one kind, as up to a few ranges: what a
// revocation or a transfer is about.
type names struct {
	kind caps.Kind
	n    int
	r    [abi.MaxRuns + maxSpare + 1]mem.Run // as page numbers: PA is the first name, N the count
}

func (s *names) add(lo, count uint64) {
	s.r[s.n] = mem.Run{PA: lo, N: int(count)}
	s.n++
}

// hits reports whether record b names any of s: its page, or any name of
// its guard.
func (s *names) hits(b *binding) bool {
	if b.kind != s.kind {
		return false
	}
	lo, hi := b.name, b.name
	if b.kind == caps.KindPort {
		hi = b.where
	}
	for _, r := range s.r[:s.n] {
		if lo < r.PA+uint64(r.N) && r.PA <= hi {
			return true
		}
	}
	return false
}

// revokeRecords is one bounded step of undoing, in every environment but
// except, the records naming any of s, scanning environments by id from
// *cursor. It returns true when the scan is complete. A step looks at up
// to scanIDs ids and undoes the records of at most one environment.
func (k *Kernel) revokeRecords(s *names, except *Env, cursor *uint64, lost bool) bool {
	for n := 0; n < scanIDs; n++ {
		*cursor++
		if *cursor > uint64(k.envs.high) {
			return true
		}
		o := k.envs.byID[*cursor]
		if o == nil || o == except || o.nbinds == 0 || o.as == nil {
			continue
		}
		r := k.recordsOf(o)
		for i := 0; i < o.nbinds; {
			if s.hits(&r[i]) {
				k.undo(o, i, lost)
				continue
			}
			i++
		}
		return *cursor >= uint64(k.envs.high)
	}
	return false
}

// scanIDs bounds the env ids one step of a scan looks at.
const scanIDs = 256

// lost records in e's start-up block that revocation took name (mapped at
// va, for a page) from it.
func (k *Kernel) lost(e *Env, kind caps.Kind, name, va uint64) {
	if e.startup == 0 || e.finished() {
		return // no block to tell, or no one left to read it
	}
	b := startupPage(k.phys, e.startup)
	b.Lost[b.LostCount%abi.MaxLost] = abi.Lost{Kind: uint32(kind), Name: name, VA: va}
	b.LostCount++
}
