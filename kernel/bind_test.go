package kernel

import (
	"fmt"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"

	"github.com/exo-os/exo/caps"
	"github.com/exo-os/exo/kernel/abi"
	"github.com/exo-os/exo/kernel/vm"
)

// Scratch addresses in an environment's RAM (2 MiB in these tests), below
// the image's data, where programs put capabilities and requests for the
// kernel to read.
const (
	capScratch = abi.RAMStart + 0x180000
	reqScratch = abi.RAMStart + 0x181000
	outScratch = abi.RAMStart + 0x184000
	mapVA      = 0x40000000 // above RAM: free for mappings
)

// capList reads the environment's capability list.
func (u *uenv) capList() []caps.Cap {
	raw := u.load(abi.CapsVA, int(unsafe.Sizeof(abi.CapList{})))
	l := (*abi.CapList)(unsafe.Pointer(&raw[0]))
	out := make([]caps.Cap, l.N)
	for i := range out {
		out[i] = l.Caps[i]
	}
	return out
}

// capOf returns the first capability of kind k in the list.
func (u *uenv) capOf(k caps.Kind) caps.Cap {
	for _, c := range u.capList() {
		if c.Kind() == k {
			return c
		}
	}
	u.h.t.Errorf("no %s capability in the list", k)
	return caps.Cap{}
}

// startup reads the environment's start-up block.
func (u *uenv) startup() abi.Startup {
	raw := u.load(abi.StartupVA, int(unsafe.Sizeof(abi.Startup{})))
	return *(*abi.Startup)(unsafe.Pointer(&raw[0]))
}

// ramPPN returns the page number backing the RAM page at va.
func (u *uenv) ramPPN(va uint64) uint64 {
	st := u.startup()
	for _, r := range st.Runs[:st.NumRuns] {
		if va >= r.VA && va < r.VA+r.Pages*4096 {
			return (r.PA + va - r.VA) >> 12
		}
	}
	u.h.t.Errorf("%#x is not in RAM", va)
	return 0
}

func (u *uenv) mapPage(va, ppn, perm uint64, c caps.Cap) (uint64, uint64) {
	u.store(capScratch, c[:])
	return u.ecall(abi.SysMap, va, ppn, perm, capScratch)
}

func mustDerive(t *testing.T, c caps.Cap, mask caps.Rights, lo, hi uint64) caps.Cap {
	d, err := caps.Derive(c, mask, lo, hi)
	require.NoError(t, err)
	return d
}

// mapped reports whether va is mapped in env id's page table.
func (h *harness) mapped(id uint32, va uint64) bool {
	e := h.k.Env(id)
	if e == nil || e.AddressSpace() == nil {
		return false
	}
	_, _, ok := e.AddressSpace().Lookup(va)
	return ok
}

// An environment maps one of its own pages a second time, read-only, on
// showing its root capability: the alias reads the same bytes, refuses
// writes, and unmapping it flushes the translation.
func TestMapOwnPageReadOnlyAlias(t *testing.T) {
	var got []byte
	var unmapped [2]uint64
	var again, ppn, satp uint64
	var flushedOnMap, flushedOnUnmap bool
	h := newHarness(t, map[string]program{"a": func(u *uenv) {
		satp = u.h.k.Env(1).satp
		data := uint64(abi.RAMStart + 0x100000)
		u.store(data, []byte("shared bytes"))
		ppn = u.ramPPN(data)
		root := u.capOf(caps.KindPage)
		ro := mustDerive(t, root, caps.PageRead, ppn, ppn)
		n := len(u.h.flushed)
		_, e := u.mapPage(mapVA, ppn, abi.MapRead, ro)
		require.Equal(t, uint64(abi.OK), e)
		// A new table for the new 1 GiB region: the whole table is fenced.
		flushedOnMap = len(u.h.flushed) > n && u.h.flushed[len(u.h.flushed)-1] == [2]uint64{satp, ^uint64(0)}
		got = u.load(mapVA, 12)
		n = len(u.h.flushed)
		unmapped[0], unmapped[1] = u.ecall(abi.SysUnmap, mapVA)
		flushedOnUnmap = len(u.h.flushed) > n && u.h.flushed[len(u.h.flushed)-1] == [2]uint64{satp, mapVA}
		_, again = u.ecall(abi.SysUnmap, mapVA)
		n = len(u.h.flushed)
		_, e = u.mapPage(mapVA, ppn, abi.MapRead, ro)
		require.Equal(t, uint64(abi.OK), e)
		require.Equal(t, [2]uint64{satp, mapVA}, u.h.flushed[len(u.h.flushed)-1], "a new entry in an existing table is fenced by address")
		u.store(mapVA, []byte{1}) // read-only: the hardware refuses
	}}, "exo-manifest v1\nenv a mem=2M\n")
	h.run()
	require.Equal(t, "shared bytes", string(got))
	require.Equal(t, [2]uint64{ppn, abi.OK}, unmapped)
	require.Equal(t, uint64(abi.ErrNotFound), again)
	require.True(t, flushedOnMap, "map fenced its new tables")
	require.True(t, flushedOnUnmap, "unmap flushed the translation")
	require.Regexp(t, fmt.Sprintf("killed: store page fault at pc 0x[0-9a-f]+, address %#x", mapVA), h.p.out.String())
}

// Every refusal of a map has its own error code and changes nothing.
func TestMapRefusals(t *testing.T) {
	other, err := caps.NewAuthority(make32(7), epochsLike(t))
	require.NoError(t, err)
	type result struct{ val, err uint64 }
	got := map[string]result{}
	var ppn uint64
	binds := -1
	h := newHarness(t, map[string]program{"a": func(u *uenv) {
		root := u.capOf(caps.KindPage)
		ppn = u.ramPPN(abi.RAMStart + 0x100000)
		_, lo, hi, _ := root.Effective()
		ro := mustDerive(t, root, caps.PageRead, lo, hi)
		forged := ro
		forged[32] |= byte(caps.PageWrite) // into the derivation record's mask
		flipped := root
		flipped[caps.Size-1] ^= 1
		alien, err := other.Mint(caps.KindPage, lo, hi, rootPage)
		require.NoError(t, err)
		narrow := mustDerive(t, root, caps.PageRead|caps.PageWrite, ppn+1, ppn+1)
		var zero caps.Cap
		for _, tc := range []struct {
			name     string
			va, perm uint64
			c        caps.Cap
		}{
			{"malformed", mapVA, abi.MapRead, zero},
			{"rights bit added", mapVA, abi.MapRead | abi.MapWrite, forged},
			{"MAC bit flipped", mapVA, abi.MapRead, flipped},
			{"other boot's key", mapVA, abi.MapRead, alien},
			{"wrong kind", mapVA, abi.MapRead, u.capOf(caps.KindSlot)},
			{"weakened below need", mapVA, abi.MapRead | abi.MapWrite, ro},
			{"outside the range", mapVA, abi.MapRead, narrow},
			{"write without read", mapVA, abi.MapWrite, root},
			{"write and execute", mapVA, abi.MapRead | abi.MapWrite | abi.MapExec, root},
			{"unknown permission bit", mapVA, abi.MapRead | 8, root},
			{"below RAM", abi.CapsVA, abi.MapRead, root},
			{"unaligned", mapVA + 8, abi.MapRead, root},
			{"upper half", vm.UserTop, abi.MapRead, root},
			{"already mapped", abi.RAMStart, abi.MapRead, root},
		} {
			v, e := u.mapPage(tc.va, ppn, tc.perm, tc.c)
			got[tc.name] = result{v, e}
		}
		// W^X across mappings: the text frame is executable where RAM
		// maps it, the data frame writable; neither may be mapped the
		// other way anywhere else.
		v, e := u.mapPage(mapVA, u.ramPPN(abi.TextStart), abi.MapRead|abi.MapWrite, root)
		got["writable alias of text"] = result{v, e}
		v, e = u.mapPage(mapVA, ppn, abi.MapExec, root)
		got["executable alias of data"] = result{v, e}
		v, e = u.ecall(abi.SysMap, mapVA, ppn, abi.MapRead, 0x80000000)
		got["capability in kernel memory"] = result{v, e}
		binds = u.h.k.Env(1).nbinds
		u.ecall(abi.SysExit, 0)
	}}, "exo-manifest v1\nenv a mem=2M\n")
	h.run()
	F, I := uint64(abi.ErrCapForged), uint64(abi.ErrInval)
	require.Equal(t, map[string]result{
		"malformed":                   {0, abi.ErrCapMalformed},
		"rights bit added":            {0, F},
		"MAC bit flipped":             {0, F},
		"other boot's key":            {0, F},
		"wrong kind":                  {0, abi.ErrCapKind},
		"weakened below need":         {0, abi.ErrCapRights},
		"outside the range":           {0, abi.ErrCapRange},
		"write without read":          {0, I},
		"write and execute":           {0, I},
		"writable alias of text":      {0, I},
		"executable alias of data":    {0, I},
		"unknown permission bit":      {0, I},
		"below RAM":                   {0, I},
		"unaligned":                   {0, I},
		"upper half":                  {0, I},
		"already mapped":              {0, abi.ErrExist},
		"capability in kernel memory": {0, abi.ErrFault},
	}, got)
	require.Zero(t, binds, "nothing bound")
}

func make32(b byte) []byte {
	k := make([]byte, 32)
	for i := range k {
		k[i] = b + byte(i)
	}
	return k
}

// epochsLike tracks the names the harness's kernel tracks, for a second
// authority (another boot's key).
func epochsLike(t *testing.T) *caps.Epochs {
	e := new(caps.Epochs)
	require.NoError(t, e.Track(caps.KindPage, poolBase>>12, 64<<20>>12))
	return e
}

// capFor returns the first root capability of kind k naming name.
func (u *uenv) capFor(k caps.Kind, name uint64) caps.Cap {
	for _, c := range u.capList() {
		if _, lo, hi, _ := c.Effective(); c.Kind() == k && lo <= name && name <= hi {
			return c
		}
	}
	u.h.t.Errorf("no %s capability for %#x in the list", k, name)
	return caps.Cap{}
}

// spawnReq is a request for the harness's programs to fill in: by
// default memSize of RAM and no spare, in free slot slot, from the end of
// the caller's first spare run.
func (u *uenv) spawnReq(image string, memSize uint64, slot uint32, arg string) abi.SpawnRequest {
	var r abi.SpawnRequest
	st := u.startup()
	require.NotZero(u.h.t, st.NumSpare, "the parent needs spare frames")
	run := st.Spare[0]
	r.Pages = abi.SpawnFrames(memSize, 0)
	r.FirstPage = run.PA>>12 + run.Pages - r.Pages
	r.MemCap = u.capFor(caps.KindPage, run.PA>>12)
	r.EnvCap, r.Slot, r.Mem = u.capOf(caps.KindEnv), slot, memSize
	copy(r.Image[:], image)
	r.ArgLen = uint32(copy(r.Arg[:], arg))
	return r
}

// spawnWith makes the spawn call with r and returns a0, a1 and the child's
// env capability.
func (u *uenv) spawnWith(r abi.SpawnRequest) (uint64, uint64, caps.Cap) {
	u.store(reqScratch, bytesOf(&r))
	v, e := u.ecall(abi.SysSpawn, reqScratch, outScratch+0x800)
	return v, e, caps.Cap(u.load(outScratch+0x800, caps.Size))
}

// spawn starts a child with memSize of RAM in free slot slot, passing
// pass, and returns a0 and a1.
func (u *uenv) spawn(image string, memSize uint64, slot uint32, arg string, pass ...caps.Cap) (uint64, uint64) {
	r := u.spawnReq(image, memSize, slot, arg)
	r.NCaps = uint32(len(pass))
	for i, c := range pass {
		r.Caps[i] = c
	}
	v, e, _ := u.spawnWith(r)
	return v, e
}

// The parent/child scenario of the capability issue: a parent writes data
// into one of its pages, derives a read-only capability for that page
// alone, and starts a child with it, out of its own spare frames. The
// child maps the page read-only and reads the data; asking for write
// access, widening the derivation, or forging a rights bit is refused;
// writing through the mapping faults.
func TestParentChildReadOnlySharing(t *testing.T) {
	type result struct{ val, err uint64 }
	var child result
	var childSaw string
	var refusals []uint64
	var deriveErr error
	var spareBefore, spareAfter, spareBack abi.Run
	h := newHarness(t, map[string]program{
		"parent": func(u *uenv) {
			data := uint64(abi.RAMStart + 0x100000)
			u.store(data, []byte("from the parent"))
			ppn := u.ramPPN(data)
			ro := mustDerive(t, u.capOf(caps.KindPage), caps.PageRead, ppn, ppn)
			spareBefore = u.startup().Spare[0]
			child.val, child.err = u.spawn("child", 2<<20, 3, fmt.Sprint(ppn), ro)
			spareAfter = u.startup().Spare[0]
			for u.h.k.Env(2).State() != Zombie { // the page must outlive the child's use
				u.ecall(abi.SysYield)
			}
			spareBack = u.startup().Spare[0]
			u.ecall(abi.SysExit, 0)
		},
		"child": func(u *uenv) {
			list := u.capList()
			passed := list[len(list)-1]
			_, lo, _, _ := passed.Effective()
			_, e := u.mapPage(mapVA, lo, abi.MapRead, passed)
			require.Equal(t, uint64(abi.OK), e)
			childSaw = string(u.load(mapVA, 15))
			_, e = u.mapPage(mapVA+4096, lo, abi.MapRead|abi.MapWrite, passed)
			refusals = append(refusals, e)
			_, deriveErr = caps.Derive(passed, caps.PageRead|caps.PageWrite, lo, lo)
			forged := passed
			forged[32] |= byte(caps.PageWrite) // the derivation record's mask
			_, e = u.mapPage(mapVA+4096, lo, abi.MapRead|abi.MapWrite, forged)
			refusals = append(refusals, e)
			u.store(mapVA, []byte("x"))
		},
	}, "exo-manifest v1\nslots 8\nenv parent mem=2M spare=4M spawn=yes\n")
	require.Equal(t, uint32(0), h.run())
	require.Equal(t, result{2, abi.OK}, child)
	require.Equal(t, "from the parent", childSaw)
	require.Equal(t, []uint64{abi.ErrCapRights, abi.ErrCapForged}, refusals)
	require.ErrorIs(t, deriveErr, caps.ErrRights, "derivation cannot add rights")
	require.Regexp(t, fmt.Sprintf("(?m)^exo: env 2 \\(child\\) killed: store page fault at pc 0x[0-9a-f]+, address %#x", mapVA), h.console())
	require.Equal(t, uint32(abi.FreeSlot), h.k.Slots().Owner(3), "the child had slot 3 until it died")
	// The child was made of the end of the parent's spare run, and its
	// frames came back to the parent when it ended.
	require.Equal(t, spareBefore.Pages-abi.SpawnFrames(2<<20, 0), spareAfter.Pages)
	require.Equal(t, spareBefore, spareBack)
}

// Revoking a page undoes the mappings other environments made of it, tells
// them, and kills every capability for it; the revoker gets a fresh one.
// When the revoker is not the owner (it was given a derived capability with
// the revoke right), the owner keeps authority: its root capability in its
// list is minted afresh.
func TestRevokeUndoesOtherEnvironmentsMappings(t *testing.T) {
	var sawLost abi.Startup
	var stale [2]uint64
	var freshOK, ownerOld, ownerNew uint64
	var ppn uint64
	h := newHarness(t, map[string]program{
		"parent": func(u *uenv) {
			data := uint64(abi.RAMStart + 0x100000)
			ppn = u.ramPPN(data)
			root := u.capOf(caps.KindPage)
			ro := mustDerive(t, root, caps.PageRead, ppn, ppn)
			rv := mustDerive(t, root, caps.PageRead|caps.PageRevoke, ppn, ppn)
			_, e := u.spawn("child", 2<<20, 5, "", ro, rv)
			require.Equal(t, uint64(abi.OK), e)
			for !u.h.mapped(2, mapVA) {
				u.ecall(abi.SysYield) // the child maps the page
			}
			u.ecall(abi.SysYield) // the child revokes it with rv
			_, ownerOld = u.mapPage(mapVA+0x2000, ppn, abi.MapRead, root)
			_, ownerNew = u.mapPage(mapVA+0x2000, ppn, abi.MapRead, u.capOf(caps.KindPage))
			u.store(capScratch, root[:])
			for u.h.k.Env(2).State() != Zombie {
				u.ecall(abi.SysYield)
			}
			u.ecall(abi.SysExit, 0)
		},
		"child": func(u *uenv) {
			list := u.capList()
			ro, rv := list[len(list)-2], list[len(list)-1]
			_, lo, _, _ := ro.Effective()
			_, e := u.mapPage(mapVA, lo, abi.MapRead, ro)
			require.Equal(t, uint64(abi.OK), e)
			u.ecall(abi.SysYield)
			// Another environment's mapping of the page, to be undone.
			u.store(capScratch, rv[:])
			_, e = u.ecall(abi.SysRevoke, capScratch, outScratch)
			require.Equal(t, uint64(abi.OK), e)
			fresh := caps.Cap(u.load(outScratch, caps.Size))
			_, freshOK = u.mapPage(mapVA+0x1000, lo, abi.MapRead, fresh)
			stale[0], stale[1] = u.mapPage(mapVA+0x3000, lo, abi.MapRead, ro)
			sawLost = u.startup()
			u.ecall(abi.SysExit, 0)
		},
	}, "exo-manifest v1\nslots 8\nenv parent mem=2M spare=4M spawn=yes\n")
	h.run()
	require.Equal(t, uint64(abi.OK), freshOK, "the fresh capability maps")
	require.Equal(t, [2]uint64{ppn, abi.ErrCapRevoked}, stale, "the old derived one names what was revoked")
	require.Equal(t, uint64(abi.ErrCapRevoked), ownerOld, "the owner's old root died with the rest")
	require.Equal(t, uint64(abi.OK), ownerNew, "the owner's list holds a fresh root")
	require.Zero(t, sawLost.LostCount, "the revoker keeps its own mappings")
}

// When a page's owner exits, the page's other mappings are undone, and the
// environment that lost it is told.
func TestOwnerExitUndoesMappings(t *testing.T) {
	var before, after bool
	var lost abi.Startup
	var ppn uint64
	h := newHarness(t, map[string]program{
		"parent": func(u *uenv) {
			ppn = u.ramPPN(abi.RAMStart + 0x100000)
			ro := mustDerive(t, u.capOf(caps.KindPage), caps.PageRead, ppn, ppn)
			u.spawn("child", 2<<20, 5, "", ro)
			for !u.h.mapped(2, mapVA) {
				u.ecall(abi.SysYield)
			}
			u.ecall(abi.SysExit, 0)
		},
		"child": func(u *uenv) {
			passed := u.capList()[len(u.capList())-1]
			_, lo, _, _ := passed.Effective()
			u.mapPage(mapVA, lo, abi.MapRead, passed)
			before = u.h.mapped(2, mapVA)
			for !u.h.gone(1) {
				u.ecall(abi.SysYield) // the parent exits and is torn down
			}
			after = u.h.mapped(2, mapVA)
			lost = u.startup()
			u.ecall(abi.SysExit, 0)
		},
	}, "exo-manifest v1\nslots 8\nenv parent mem=2M spare=4M spawn=yes\n")
	h.run()
	require.True(t, before)
	require.False(t, after, "the parent's frame is no longer reachable from the child")
	require.Equal(t, uint32(1), lost.LostCount)
	require.Equal(t, abi.Lost{Kind: uint32(caps.KindPage), Name: ppn, VA: mapVA}, lost.Lost[0])
	require.Equal(t, 0, h.k.frames.Count(envFrame), "the child's frames went to the pool: its parent had gone")
}

// Spawn refusals: each its own code, nothing created, nothing taken.
func TestSpawnRefusals(t *testing.T) {
	got := map[string][2]uint64{}
	var frees [2]int
	var spare [2]abi.Run
	h := newHarness(t, map[string]program{
		"parent": func(u *uenv) {
			env := u.capOf(caps.KindEnv)
			mine := u.capOf(caps.KindSlot)
			_, mySlot, _, _ := mine.Effective()
			noSpawn := mustDerive(t, env, caps.EnvControl, 1, 1)
			base := u.spawnReq("child", 1<<20, 5, "")
			memCap := caps.Cap(base.MemCap)
			_, memLo, memHi, _ := memCap.Effective()
			readOnly := mustDerive(t, memCap, caps.PageRead|caps.PageWrite|caps.PageExec, memLo, memHi)
			frees[0] = u.h.k.frames.FreeCount()
			spare[0] = u.startup().Spare[0]
			for _, tc := range []struct {
				name string
				mod  func(r *abi.SpawnRequest)
			}{
				{"no spawn right", func(r *abi.SpawnRequest) { r.EnvCap = noSpawn }},
				{"env capability forged", func(r *abi.SpawnRequest) { r.EnvCap = flip(env) }},
				{"slot capability forged", func(r *abi.SpawnRequest) { r.Slot, r.SlotCap = uint32(mySlot), flip(mine) }},
				{"slot held by another", func(r *abi.SpawnRequest) { r.Slot = 6 }},
				{"the caller's last slot", func(r *abi.SpawnRequest) { r.Slot, r.SlotCap = uint32(mySlot), mine }},
				{"unknown image", func(r *abi.SpawnRequest) { copy(r.Image[:], "nosuch") }},
				{"memory not page sized", func(r *abi.SpawnRequest) { r.Mem++ }},
				{"too much memory", func(r *abi.SpawnRequest) { r.Mem = 2 << 30 }},
				{"slot out of range", func(r *abi.SpawnRequest) { r.Slot = 99 }},
				{"too few frames", func(r *abi.SpawnRequest) { r.Pages--; r.FirstPage++ }},
				{"memory capability forged", func(r *abi.SpawnRequest) { r.MemCap = flip(caps.Cap(r.MemCap)) }},
				{"memory capability without revoke", func(r *abi.SpawnRequest) { r.MemCap = readOnly }},
				{"frames past the capability", func(r *abi.SpawnRequest) { r.FirstPage += 8 }},
				{"the caller's RAM", func(r *abi.SpawnRequest) {
					r.FirstPage, r.MemCap = u.ramPPN(abi.RAMStart), u.capOf(caps.KindPage)
				}},
				{"another's frames", func(r *abi.SpawnRequest) {
					o := u.h.k.Env(2).ram[0]
					c, err := u.h.k.auth.Mint(caps.KindPage, o.PA>>12, o.PA>>12+uint64(o.N)-1, rootPage)
					require.NoError(t, err)
					r.FirstPage, r.Pages, r.MemCap = o.PA>>12, uint64(o.N), c
				}},
				{"unknown flag", func(r *abi.SpawnRequest) { r.Flags = 2 }},
				{"argument too long", func(r *abi.SpawnRequest) { r.ArgLen = abi.MaxArg + 1 }},
				{"too many capabilities passed", func(r *abi.SpawnRequest) { r.NCaps = abi.MaxPass + 1 }},
			} {
				r := base
				tc.mod(&r)
				v, e, _ := u.spawnWith(r)
				got[tc.name] = [2]uint64{v, e}
			}
			v, e := u.ecall(abi.SysSpawn, 0x80000000, outScratch)
			got["request in kernel memory"] = [2]uint64{v, e}
			u.store(reqScratch, bytesOf(&base))
			v, e = u.ecall(abi.SysSpawn, reqScratch, abi.TextStart)
			got["capability out to read-only text"] = [2]uint64{v, e}
			frees[1] = u.h.k.frames.FreeCount()
			spare[1] = u.startup().Spare[0]
			u.ecall(abi.SysExit, 0)
		},
		"other": func(u *uenv) { u.ecall(abi.SysSleep, 1<<40); u.ecall(abi.SysExit, 0) },
		"child": exitWith(0),
	}, "exo-manifest v1\nslots 8\nenv parent mem=2M spare=4M spawn=yes\nenv other mem=1M\n")
	// "other" holds slot 1; move it to slot 6 for the test.
	require.NoError(t, h.k.slots.ReleaseOne(2, h.k.slots.Held(2)[0]))
	require.NoError(t, h.k.slots.AllocateAt(2, 6))
	h.run()
	I := uint64(abi.ErrInval)
	require.Equal(t, map[string][2]uint64{
		"no spawn right":                   {0, abi.ErrCapRights},
		"env capability forged":            {0, abi.ErrCapForged},
		"slot capability forged":           {0, abi.ErrCapForged},
		"slot held by another":             {2, abi.ErrExist},
		"the caller's last slot":           {0, I},
		"unknown image":                    {0, abi.ErrNotFound},
		"memory not page sized":            {0, I},
		"too much memory":                  {0, I},
		"slot out of range":                {0, I},
		"too few frames":                   {0, I},
		"memory capability forged":         {0, abi.ErrCapForged},
		"memory capability without revoke": {0, abi.ErrCapRights},
		"frames past the capability":       {0, abi.ErrCapRange},
		"the caller's RAM":                 {0, I},
		"another's frames":                 {0, I},
		"unknown flag":                     {0, I},
		"argument too long":                {0, abi.ErrTooBig},
		"too many capabilities passed":     {0, abi.ErrTooBig},
		"request in kernel memory":         {0, abi.ErrFault},
		"capability out to read-only text": {0, abi.ErrFault},
	}, got)
	require.Equal(t, frees[0], frees[1], "refused spawns take no memory")
	require.Equal(t, spare[0], spare[1], "nor spare frames")
	require.Nil(t, h.k.Env(3), "no environment was created")
}

func flip(c caps.Cap) caps.Cap { c[caps.Size-1] ^= 0x80; return c }

// Slots are bound by capability: a free slot is taken on the env
// capability's spawn right, a held one refused, and an environment may not
// give up its last slot.
func TestSlotBindRelease(t *testing.T) {
	got := map[string]uint64{}
	h := newHarness(t, map[string]program{
		"a": func(u *uenv) {
			env := u.capOf(caps.KindEnv)
			mine := u.capOf(caps.KindSlot)
			_, s, _, _ := mine.Effective()
			u.store(capScratch, env[:])
			_, got["bind free"] = u.ecall(abi.SysSlotBind, 5, capScratch)
			_, got["bind held"] = u.ecall(abi.SysSlotBind, 1, capScratch)
			_, got["bind out of range"] = u.ecall(abi.SysSlotBind, 9, capScratch)
			noSpawn := mustDerive(t, env, caps.EnvControl, 1, 1)
			u.store(capScratch, noSpawn[:])
			_, got["bind free without the spawn right"] = u.ecall(abi.SysSlotBind, 6, capScratch)
			u.store(capScratch, mine[:])
			_, got["bind outside capability"] = u.ecall(abi.SysSlotBind, 6, capScratch)
			_, got["release other's"] = u.ecall(abi.SysSlotRelease, 1)
			_, got["release"] = u.ecall(abi.SysSlotRelease, s)
			_, got["release last"] = u.ecall(abi.SysSlotRelease, 5)
			u.ecall(abi.SysExit, 0)
		},
		"b": func(u *uenv) { u.ecall(abi.SysExit, 0) },
	}, "exo-manifest v1\nslots 8\nenv a mem=2M spawn=yes\nenv b mem=1M\n")
	require.Equal(t, []int{0}, h.k.slots.Held(1))
	require.Equal(t, []int{1}, h.k.slots.Held(2))
	h.run()
	require.Equal(t, map[string]uint64{
		"bind free":                         abi.OK,
		"bind held":                         abi.ErrExist,
		"bind out of range":                 abi.ErrInval,
		"bind free without the spawn right": abi.ErrCapRights,
		"bind outside capability":           abi.ErrCapRange,
		"release other's":                   abi.ErrNotFound,
		"release":                           abi.OK,
		"release last":                      abi.ErrInval,
	}, got)
}

// A slot capability dies when its slot changes hands: after slot_release,
// after its holder's end, and after the hand-over in spawn, the old
// capability no longer revokes or rebinds the slot from whoever holds it
// now. The new holder's list has a fresh one.
func TestSlotCapabilityDiesWithTheHandover(t *testing.T) {
	got := map[string][2]uint64{}
	h := newHarness(t, map[string]program{
		"a": func(u *uenv) {
			env := u.capOf(caps.KindEnv)
			u.store(capScratch, env[:])
			_, e := u.ecall(abi.SysSlotBind, 4, capScratch)
			require.Equal(t, uint64(abi.OK), e)
			old := u.capFor(caps.KindSlot, 4)
			_, e = u.ecall(abi.SysSlotRelease, 4)
			require.Equal(t, uint64(abi.OK), e)
			// b takes the freed slot 4 legitimately.
			for u.h.k.slots.Owner(4) != 2 {
				u.ecall(abi.SysYield)
			}
			u.store(capScratch, old[:])
			got["revoke after release"] = u.ecall2(abi.SysRevoke, capScratch, outScratch)
			got["bind after release"] = u.ecall2(abi.SysSlotBind, 4, capScratch)
			// Give slot 3 to a child in spawn, then try the old cap.
			u.store(capScratch, env[:])
			u.ecall(abi.SysSlotBind, 3, capScratch)
			three := u.capFor(caps.KindSlot, 3)
			r := u.spawnReq("c", 1<<20, 3, "")
			r.SlotCap = three
			_, e, _ = u.spawnWith(r)
			require.Equal(t, uint64(abi.OK), e)
			u.store(capScratch, three[:])
			got["revoke after spawn"] = u.ecall2(abi.SysRevoke, capScratch, outScratch)
			// b's slot 1, after b has gone (its cap was passed... b
			// leaks it through shared memory: the test reads it).
			for !u.h.gone(2) {
				u.ecall(abi.SysYield)
			}
			u.store(capScratch, bSlot[:])
			got["revoke after exit"] = u.ecall2(abi.SysRevoke, capScratch, outScratch)
			got["bind after exit"] = u.ecall2(abi.SysSlotBind, 1, capScratch)
			u.ecall(abi.SysExit, 0)
		},
		"b": func(u *uenv) {
			bSlot = u.capOf(caps.KindSlot)
			for u.h.k.slots.Owner(4) != abi.FreeSlot || u.h.k.Env(1).Slices < 2 {
				u.ecall(abi.SysYield)
			}
			// b has the spawn right too: it takes slot 4.
			env := u.capOf(caps.KindEnv)
			u.store(capScratch, env[:])
			_, e := u.ecall(abi.SysSlotBind, 4, capScratch)
			require.Equal(t, uint64(abi.OK), e)
			fresh := u.capFor(caps.KindSlot, 4)
			require.Equal(t, caps.KindSlot, fresh.Kind(), "b's list has the fresh capability")
			for u.h.k.Env(1).Slices < 6 {
				u.ecall(abi.SysYield)
			}
			u.ecall(abi.SysExit, 0)
		},
		"c": exitWith(0),
	}, "exo-manifest v1\nslots 8\nenv a mem=2M spare=2M spawn=yes\nenv b mem=2M spawn=yes\n")
	h.run()
	rv := [2]uint64{4, abi.ErrCapRevoked}
	require.Equal(t, rv, got["revoke after release"])
	require.Equal(t, rv, got["bind after release"])
	require.Equal(t, [2]uint64{3, abi.ErrCapRevoked}, got["revoke after spawn"])
	require.Equal(t, [2]uint64{1, abi.ErrCapRevoked}, got["revoke after exit"])
	require.Equal(t, [2]uint64{1, abi.ErrCapRevoked}, got["bind after exit"])
}

var bSlot caps.Cap

func (u *uenv) ecall2(n uint64, args ...uint64) [2]uint64 {
	v, e := u.ecall(n, args...)
	return [2]uint64{v, e}
}

// A forger that tries many altered capabilities gets nothing mapped.
func TestForgeriesMapNothing(t *testing.T) {
	accepted, tries := 0, 0
	mappedAfter := true
	h := newHarness(t, map[string]program{"a": func(u *uenv) {
		root := u.capOf(caps.KindPage)
		_, lo, _, _ := root.Effective()
		for bit := 0; bit < caps.Size*8; bit++ {
			c := root
			c[bit/8] ^= 1 << (bit % 8)
			if _, e := u.mapPage(mapVA, lo, abi.MapRead, c); e == abi.OK {
				accepted++
			}
			tries++
		}
		mappedAfter = u.h.mapped(1, mapVA)
		u.ecall(abi.SysExit, 0)
	}}, "exo-manifest v1\nenv a mem=2M\n")
	h.run()
	require.Equal(t, caps.Size*8, tries)
	require.Zero(t, accepted)
	require.False(t, mappedAfter)
}
