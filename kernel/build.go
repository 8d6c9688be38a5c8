package kernel

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/exo-os/exo/caps"
	"github.com/exo-os/exo/kernel/abi"
	"github.com/exo-os/exo/kernel/elf"
	"github.com/exo-os/exo/kernel/hart"
	"github.com/exo-os/exo/kernel/manifest"
	"github.com/exo-os/exo/kernel/mem"
	"github.com/exo-os/exo/kernel/vm"
)

// Creating an environment. Its memory is [abi.RAMStart, +mem), every page
// backed by a frame it holds, zeroed, with the image's segments copied in
// at their permissions; its spare frames are zeroed and mapped nowhere; the
// start-up block, the slot vector and its capability list are mapped
// read-only below RAM. Its page tables, start-up block, capability list
// and binding records are frames charged to it.
//
// Where the frames come from: a manifest environment's from the free pool,
// at boot (createFromPool); a spawned one's from spare frames its parent
// gave (spawn.go), which the build first takes from everyone else: bumps
// their epochs, so no earlier capability for them verifies, and undoes
// every binding of them. Everything proportional to its size happens in
// the new environment's own slots, in bounded steps (buildStep).

// envFrame is the owner the frame table records for frames environments
// hold; which environment holds a frame is in its run lists. Frames the
// kernel uses on an environment's behalf (page tables, start-up block,
// capability list, binding records) are mem.Kernel's.
const envFrame mem.Owner = 1

// errNoImage marks a spawn of an image the firmware does not embed.
var errNoImage = errors.New("no such image")

// maxSpare bounds the runs of spare frames an environment holds; the first
// abi.MaxSpare (the longest) are listed in its start-up block and
// capability list. Every live environment holds a slot, so a spare list is
// split by at most one run per live descendant: with this bound, frames
// coming back from a child always fit.
const maxSpare = abi.MaxSpare + abi.MaxSlots

// maxSegments bounds the loadable segments of an image.
const maxSegments = 16

// newEnv checks an image and the sizes and returns the environment to
// build, with an id from tree; it takes nothing else yet.
func (k *Kernel) newEnv(image string, memSize uint64, arg string, t *tree) (*Env, error) {
	bin, ok := k.images[image]
	if !ok {
		return nil, fmt.Errorf("no image named %q in this firmware: %w", image, errNoImage)
	}
	if memSize%mem.PageSize != 0 || memSize == 0 || memSize > abi.MaxRAM {
		return nil, fmt.Errorf("env %s: memory size %#x invalid", image, memSize)
	}
	if len(arg) > abi.MaxArg {
		return nil, fmt.Errorf("env %s: argument of %d bytes, at most %d", image, len(arg), abi.MaxArg)
	}
	img, err := elf.Parse(bin, elf.Limits{Start: abi.RAMStart, End: abi.RAMStart + memSize, MaxSegments: maxSegments})
	if err != nil {
		return nil, fmt.Errorf("image %s: %w", image, err)
	}
	if t.envsLeft < 1 {
		return nil, fmt.Errorf("env %s: its tree holds all the environments its spawn= share allows: %w", image, mem.ErrNoMemory)
	}
	e := &Env{Name: image, mem: memSize, img: img, arg: arg, tree: t, state: Building}
	if !k.envs.take(e) {
		return nil, fmt.Errorf("env %s: all %d env ids are in use: %w", image, MaxEnvs, mem.ErrNoMemory)
	}
	t.envsLeft--
	e.prefix = []byte("[" + strconv.Itoa(int(e.ID)) + " " + image + "] ")
	return e, nil
}

// createFromPool creates manifest environment m out of the free pool.
func (k *Kernel) createFromPool(m manifest.Env, guards []manifest.Guard) (_ *Env, err error) {
	e, err := k.newEnv(m.Image, m.Mem, m.Arg, &tree{envsLeft: 1 + m.Envs})
	if err != nil {
		return nil, err
	}
	e.maySpawn, e.guards = m.Spawn, guards
	defer func() {
		if err != nil {
			k.undoCreate(e)
		}
	}()
	pages := m.Mem / mem.PageSize
	spare := m.Spare / mem.PageSize
	need := pages + spare + abi.FixedFrames + abi.TableFrames(m.Mem)
	if uint64(k.frames.FreeCount()) < need {
		return nil, fmt.Errorf("env %s: needs %d frames, %d free: %w", m.Image, need, k.frames.FreeCount(), mem.ErrNoMemory)
	}
	if e.ram, err = k.frames.AllocRuns(envFrame, int(pages), abi.MaxRuns); err != nil {
		return nil, fmt.Errorf("env %s: %w", m.Image, err)
	}
	if spare > 0 {
		if e.spare, err = k.frames.AllocRuns(envFrame, int(spare), abi.MaxSpare); err != nil {
			return nil, fmt.Errorf("env %s: spare frames: %w", m.Image, err)
		}
	}
	kf := make([]uint64, 0, abi.FixedFrames+abi.TableFrames(m.Mem))
	for range cap(kf) {
		pa, err := k.frames.Alloc(mem.Kernel)
		if err != nil {
			return nil, fmt.Errorf("env %s: %w", m.Image, err)
		}
		kf = append(kf, pa)
	}
	e.startup, e.capList, e.records, e.reserve = kf[0], kf[1], kf[2], kf[abi.FixedFrames:]
	if _, err := k.slots.Allocate(e.ID, m.Slots); err != nil {
		return nil, fmt.Errorf("env %s: %w", m.Image, err)
	}
	for _, s := range k.slots.Held(e.ID) {
		k.slotChanged(s, nil)
	}
	e.job = job{kind: jobBuild, phase: bTables}
	k.live++
	return e, nil
}

// undoCreate frees what a creation that failed took (from the pool).
func (k *Kernel) undoCreate(e *Env) {
	for _, runs := range [][]mem.Run{e.ram, e.spare} {
		for _, r := range runs {
			for i := 0; i < r.N; i++ {
				k.frames.Free(r.PA + uint64(i)*mem.PageSize)
			}
		}
	}
	for i := 0; i < e.kernelFrames(); i++ {
		if pa := e.kernelFrame(i); pa != 0 {
			k.frames.Free(pa)
		}
	}
	for _, s := range k.slots.Release(e.ID) {
		k.slotChanged(s, nil)
	}
	k.freeID(e)
}

// Build phases, in order. A manifest environment starts at bTables.
const (
	bEpochs uint8 = iota // bump the epochs of the frames given
	bUndo                // undo every binding of them
	bOwn                 // mark the kernel's frames among them
	bTables              // the address space
	bRAM                 // zero and fill RAM, map it
	bSpare               // zero the spare frames
	bFixed               // start-up block, slot vector, capability list
	bRoots               // mint the root capabilities, one per step
	bDone
)

// buildStep does one bounded step of building e and reports whether e is
// built.
func (k *Kernel) buildStep(e *Env) bool {
	j := &e.job
	switch j.phase {
	case bEpochs:
		// The frames given are one run: e's RAM, then its kernel frames,
		// then its spare frames (spawn.go).
		lo, n := e.from.lo, e.from.n
		if j.cursor >= n {
			j.phase, j.cursor = bUndo, 0
			return false
		}
		c := min(n-j.cursor, stepEpochs)
		k.auth.Epochs().RevokeRange(caps.KindPage, lo+j.cursor, lo+j.cursor+c-1)
		k.handOff(caps.KindPage, lo+j.cursor, lo+j.cursor+c-1, nil)
		j.cursor += c
	case bUndo:
		lo, n := e.from.lo, e.from.n
		s := names{kind: caps.KindPage}
		s.add(lo, n)
		if k.revokeRecords(&s, nil, &j.cursor, true) {
			j.phase, j.cursor = bOwn, 0
		}
	case bOwn:
		n := e.kernelFrames()
		for i := int(j.cursor); i < min(n, int(j.cursor)+stepFrames); i++ {
			if err := k.frames.Give(e.kernelFrame(i), envFrame, mem.Kernel); err != nil {
				k.printf("BUG: env %d: %v\n", e.ID, err)
			}
		}
		if j.cursor += stepFrames; j.cursor >= uint64(n) {
			j.phase, j.cursor = bTables, 0
		}
	case bTables:
		as, err := vm.New(k.phys, e, len(e.reserve))
		if err != nil {
			k.printf("BUG: env %d: %v\n", e.ID, err)
			k.end(e, 0, true)
			return false
		}
		e.as = as
		// The env id tags the address space's TLB entries, if the hart
		// has that many ASID bits; ASID 0 means untagged, flushed on
		// every switch.
		asid := uint16(0)
		if e.ID < 1<<k.asidBits {
			asid = uint16(e.ID)
		}
		e.satp = as.Satp(asid)
		j.phase = bRAM
	case bRAM:
		if k.fillRAM(e) {
			j.phase, j.run, j.cursor = bSpare, 0, 0
		}
	case bSpare:
		if k.zeroRuns(e, e.spare) {
			j.phase = bFixed
		}
	case bFixed:
		if err := k.fixedPages(e); err != nil {
			k.printf("env %d (%s) killed: %v\n", e.ID, e.Name, err)
			k.end(e, 0, true)
			return false
		}
		j.phase, j.cursor = bRoots, 0
	case bRoots:
		if k.mintRoot(e, int(j.cursor)) {
			j.cursor++
			return false
		}
		l := capsPage(k.phys, e.capList)
		for _, c := range e.pass {
			l.Caps[l.N] = c
			l.N++
		}
		l.Generation++
		e.pass = nil
		j.phase = bDone
	case bDone:
		// Every entry of the new table, and whatever an earlier table
		// with the same ASID left cached, is fenced before the first
		// instruction.
		k.cpu.InvalidateAll(e.satp)
		if e.staleRoots != 0 {
			// Something it holds was revoked while its roots were
			// being minted.
			k.refreshRoots(e)
		}
		e.ctx = hart.Context{PC: e.img.Entry}
		e.ctx.X[hart.RegA0] = abi.StartupVA
		e.img = nil
		e.state = Runnable
		return true
	}
	return false
}

// kernelFrames returns how many frames the kernel uses for e: its
// start-up block, capability list and binding records, and its page-table
// charge (used or not).
func (e *Env) kernelFrames() int { return abi.FixedFrames + len(e.reserve) }

// kernelBlock returns a spawned environment's kernel frames, which are one
// block of the run its parent gave, right after its RAM (spawn.go); ok is
// false for a manifest environment, and once the block has been passed on.
func (e *Env) kernelBlock() (r mem.Run, ok bool) {
	if e.from.n == 0 || e.startup == 0 {
		return mem.Run{}, false
	}
	return mem.Run{PA: e.startup, N: e.kernelFrames()}, true
}

// kernelFrame returns e's i'th kernel frame: start-up block, capability
// list, binding records, then its page-table charge.
func (e *Env) kernelFrame(i int) uint64 {
	switch i {
	case 0:
		return e.startup
	case 1:
		return e.capList
	case 2:
		return e.records
	}
	return e.reserve[i-abi.FixedFrames]
}

// fillRAM zeroes, fills and maps up to stepPages pages of e's RAM, from
// the position in e.job, and reports whether RAM is done.
func (k *Kernel) fillRAM(e *Env) bool {
	j := &e.job
	for n := 0; n < stepPages; n++ {
		if j.run == len(e.ram) {
			return true
		}
		r := e.ram[j.run]
		va := uint64(abi.RAMStart)
		for _, p := range e.ram[:j.run] {
			va += uint64(p.N) * mem.PageSize
		}
		va += j.cursor * mem.PageSize
		pa := r.PA + j.cursor*mem.PageSize
		page := k.phys.Page(pa)
		clear(page[:])
		perm := vm.R | vm.W | vm.U
		for _, s := range e.img.Segments {
			if va+mem.PageSize <= s.VA&^(mem.PageSize-1) || va >= s.VA+s.MemSize {
				continue
			}
			perm = vm.U
			if s.Perm&elf.Read != 0 {
				perm |= vm.R
			}
			if s.Perm&elf.Write != 0 {
				perm |= vm.W
			}
			if s.Perm&elf.Exec != 0 {
				perm |= vm.X
			}
			copySegment(page, va, s)
		}
		if err := k.frames.AddMapping(pa, perm&vm.W != 0, perm&vm.X != 0); err != nil {
			// Its build undid every other mapping of its frames; one
			// left means the bookkeeping is wrong: do not map it.
			k.printf("BUG: env %d: RAM page %#x: %v\n", e.ID, va, err)
			k.end(e, 0, true)
			return false
		}
		if err := e.as.Map(va, pa, perm); err != nil {
			k.printf("BUG: env %d: RAM page %#x: %v\n", e.ID, va, err)
		}
		if j.cursor++; j.cursor == uint64(r.N) {
			j.run, j.cursor = j.run+1, 0
		}
	}
	return j.run == len(e.ram)
}

// zeroRuns zeroes up to stepPages frames of runs, from the position in
// e.job, and reports whether all are done.
func (k *Kernel) zeroRuns(e *Env, runs []mem.Run) bool {
	j := &e.job
	for n := 0; n < stepPages; n++ {
		if j.run >= len(runs) {
			return true
		}
		clear(k.phys.Page(runs[j.run].PA + j.cursor*mem.PageSize)[:])
		if j.cursor++; j.cursor == uint64(runs[j.run].N) {
			j.run, j.cursor = j.run+1, 0
		}
	}
	return j.run >= len(runs)
}

// copySegment copies the part of segment s's file bytes that falls in the
// page at va into page.
func copySegment(page *[mem.PageSize]byte, va uint64, s elf.Segment) {
	lo, hi := max(va, s.VA), min(va+mem.PageSize, s.VA+uint64(len(s.Data)))
	if lo >= hi {
		return // this page of the segment is bss
	}
	copy(page[lo-va:hi-va], s.Data[lo-s.VA:hi-s.VA])
}

// fixedPages fills e's start-up block and maps it, the slot vector and
// the capability list read-only below RAM.
func (k *Kernel) fixedPages(e *Env) error {
	for _, pa := range []uint64{e.startup, e.capList, e.records} {
		clear(k.phys.Page(pa)[:])
	}
	b := startupPage(k.phys, e.startup)
	b.Magic, b.Version, b.EnvID = abi.StartupMagic, abi.StartupVersion, e.ID
	b.NumSlots = uint32(k.slots.Len())
	b.TimebaseHz = k.plat.TimebaseHz()
	b.RAMStart, b.RAMSize = abi.RAMStart, e.mem
	b.SlotsVA = abi.SlotsVA
	b.BootTicks = k.boot
	b.QuantumTicks = k.quantum
	b.ArgLen = uint32(copy(b.Arg[:], e.arg))
	copy(b.Name[:], e.Name)
	b.Net = abi.Net{MAC: k.net.mac, PrefixLen: k.net.prefix, Addr: k.net.local.Addr, Guards: uint32(len(e.guards))}
	va := uint64(abi.RAMStart)
	b.NumRuns = uint32(len(e.ram))
	for i, r := range e.ram {
		b.Runs[i] = abi.Run{VA: va, PA: r.PA, Pages: uint64(r.N)}
		va += uint64(r.N) * mem.PageSize
	}
	for _, m := range []struct {
		va, pa uint64
	}{{abi.StartupVA, e.startup}, {abi.SlotsVA, k.slotsPA}, {abi.CapsVA, e.capList}} {
		if err := e.as.Map(m.va, m.pa, vm.R|vm.U); err != nil {
			return err
		}
	}
	if pmpTest {
		// The PMP test build's hole: the first page of the kernel's
		// own memory, mapped into every environment, so that a test
		// can see PMP refuse what the page table allows.
		if err := e.as.Map(abi.PMPTestVA, k.protected[0], vm.R|vm.W|vm.X|vm.U); err != nil {
			return err
		}
	}
	k.updateStartup(e)
	return nil
}

// updateStartup rewrites the parts of e's start-up block that change
// while it runs: its spare frames, page-table use and parent.
func (k *Kernel) updateStartup(e *Env) {
	if e.startup == 0 || e.state == Building && e.job.phase < bFixed {
		return
	}
	b := startupPage(k.phys, e.startup)
	b.NumSpare = uint32(min(len(e.spare), abi.MaxSpare))
	b.Spare = [abi.MaxSpare]abi.Run{}
	for i, r := range e.spare[:b.NumSpare] {
		b.Spare[i] = abi.Run{PA: r.PA, Pages: uint64(r.N)}
	}
	if e.as != nil {
		b.TablesUsed, b.TablesMax = uint32(e.as.TableFrames()), uint32(e.as.MaxTables())
	}
	b.Parent = 0
	if e.parent != nil {
		b.Parent = e.parent.ID
	}
}
