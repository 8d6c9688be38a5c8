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
	_, _, ok := h.k.Env(id).AddressSpace().Lookup(va)
	return ok
}

// An environment maps one of its own pages a second time, read-only, on
// showing its root capability: the alias reads the same bytes, refuses
// writes, and unmapping it flushes the translation.
func TestMapOwnPageReadOnlyAlias(t *testing.T) {
	var got []byte
	var unmapped [2]uint64
	var again, ppn uint64
	h := newHarness(t, map[string]program{"a": func(u *uenv) {
		data := uint64(abi.RAMStart + 0x100000)
		u.store(data, []byte("shared bytes"))
		ppn = u.ramPPN(data)
		root := u.capOf(caps.KindPage)
		ro := mustDerive(t, root, caps.PageRead, ppn, ppn)
		_, e := u.mapPage(mapVA, ppn, abi.MapRead, ro)
		require.Equal(t, uint64(abi.OK), e)
		got = u.load(mapVA, 12)
		unmapped[0], unmapped[1] = u.ecall(abi.SysUnmap, mapVA)
		_, again = u.ecall(abi.SysUnmap, mapVA)
		_, e = u.mapPage(mapVA, ppn, abi.MapRead, ro)
		require.Equal(t, uint64(abi.OK), e)
		u.store(mapVA, []byte{1}) // read-only: the hardware refuses
	}}, "exo-manifest v1\nenv a mem=2M\n")
	h.run()
	require.Equal(t, "shared bytes", string(got))
	e := h.k.Env(1)
	require.Equal(t, [2]uint64{ppn, abi.OK}, unmapped)
	require.Equal(t, uint64(abi.ErrNotFound), again)
	require.Contains(t, h.flushed, [2]uint64{e.satp, mapVA}, "unmap flushed the translation")
	require.Regexp(t, fmt.Sprintf("killed: store page fault at pc 0x[0-9a-f]+, address %#x", mapVA), h.p.out.String())
}

// Every refusal of a map has its own error code and changes nothing.
func TestMapRefusals(t *testing.T) {
	other, err := caps.NewAuthority(make32(7), epochsLike(t))
	require.NoError(t, err)
	type result struct{ val, err uint64 }
	got := map[string]result{}
	var ppn uint64
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
		v, e := u.ecall(abi.SysMap, mapVA, ppn, abi.MapRead, 0x80000000)
		got["capability in kernel memory"] = result{v, e}
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
		"unknown permission bit":      {0, I},
		"below RAM":                   {0, I},
		"unaligned":                   {0, I},
		"upper half":                  {0, I},
		"already mapped":              {0, abi.ErrExist},
		"capability in kernel memory": {0, abi.ErrFault},
	}, got)
	require.Len(t, h.k.Env(1).binds, 0)
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

// spawnReq writes a spawn request to the program's memory and makes the
// call.
func (u *uenv) spawn(image string, memSize uint64, slot uint32, arg string, flags uint32, envCap, slotCap caps.Cap, pass ...caps.Cap) (uint64, uint64) {
	var r abi.SpawnRequest
	r.EnvCap, r.SlotCap, r.Slot, r.Flags, r.Mem = envCap, slotCap, slot, flags, memSize
	copy(r.Image[:], image)
	r.ArgLen = uint32(copy(r.Arg[:], arg))
	r.NCaps = uint32(len(pass))
	for i, c := range pass {
		r.Caps[i] = c
	}
	u.store(reqScratch, bytesOf(&r))
	return u.ecall(abi.SysSpawn, reqScratch)
}

// The parent/child scenario of the capability issue: a parent writes data
// into one of its pages, derives a read-only capability for that page
// alone, and starts a child with it. The child maps the page read-only and
// reads the data; asking for write access, widening the derivation, or
// forging a rights bit is refused; writing through the mapping faults.
func TestParentChildReadOnlySharing(t *testing.T) {
	type result struct{ val, err uint64 }
	var child result
	var childSaw string
	var refusals []uint64
	var deriveErr error
	h := newHarness(t, map[string]program{
		"parent": func(u *uenv) {
			data := uint64(abi.RAMStart + 0x100000)
			u.store(data, []byte("from the parent"))
			ppn := u.ramPPN(data)
			ro := mustDerive(t, u.capOf(caps.KindPage), caps.PageRead, ppn, ppn)
			vector := u.capList()[len(u.capList())-1] // the whole vector: spawn=yes
			require.Equal(t, caps.KindSlot, vector.Kind())
			slot := mustDerive(t, vector, caps.SlotUse, 3, 3)
			child.val, child.err = u.spawn("child", 2<<20, 3, fmt.Sprint(ppn), 0, u.capOf(caps.KindEnv), slot, ro)
			for u.h.k.Env(2).State() != Dead { // the page must outlive the child's use
				u.ecall(abi.SysYield)
			}
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
	}, "exo-manifest v1\nslots 8\nenv parent mem=2M spawn=yes\n")
	require.Equal(t, uint32(0), h.run())
	require.Equal(t, result{2, abi.OK}, child)
	require.Equal(t, "from the parent", childSaw)
	require.Equal(t, []uint64{abi.ErrCapRights, abi.ErrCapForged}, refusals)
	require.ErrorIs(t, deriveErr, caps.ErrRights, "derivation cannot add rights")
	require.Regexp(t, fmt.Sprintf("exo: env 2 \\(child\\) killed: store page fault at pc 0x[0-9a-f]+, address %#x", mapVA), h.p.out.String())
	require.Equal(t, uint32(abi.FreeSlot), h.k.Slots().Owner(3), "the child had slot 3 until it died")
}

// Revoking a page undoes the mappings other environments made of it, tells
// them, and kills every capability for it; the revoker gets a fresh one.
func TestRevokeUndoesOtherEnvironmentsMappings(t *testing.T) {
	var sawLost abi.Startup
	var stale [2]uint64
	var freshOK uint64
	var ppn uint64
	h := newHarness(t, map[string]program{
		"parent": func(u *uenv) {
			data := uint64(abi.RAMStart + 0x100000)
			ppn = u.ramPPN(data)
			root := u.capOf(caps.KindPage)
			ro := mustDerive(t, root, caps.PageRead, ppn, ppn)
			vector := u.capList()[len(u.capList())-1]
			_, e := u.spawn("child", 2<<20, 5, "", 0, u.capOf(caps.KindEnv), vector, ro)
			require.Equal(t, uint64(abi.OK), e)
			u.ecall(abi.SysYield) // the child maps the page
			require.True(t, u.h.mapped(2, mapVA))
			u.store(capScratch, root[:])
			_, e = u.ecall(abi.SysRevoke, capScratch, outScratch)
			require.Equal(t, uint64(abi.OK), e)
			fresh := caps.Cap(u.load(outScratch, caps.Size))
			_, freshOK = u.mapPage(mapVA, ppn, abi.MapRead, fresh)
			stale[0], stale[1] = u.mapPage(mapVA+4096, ppn, abi.MapRead, ro)
			u.ecall(abi.SysYield) // the child sees its loss
			u.ecall(abi.SysExit, 0)
		},
		"child": func(u *uenv) {
			list := u.capList()
			passed := list[len(list)-1]
			_, lo, _, _ := passed.Effective()
			_, e := u.mapPage(mapVA, lo, abi.MapRead, passed)
			require.Equal(t, uint64(abi.OK), e)
			u.ecall(abi.SysYield)
			sawLost = u.startup()
			u.ecall(abi.SysExit, 0)
		},
	}, "exo-manifest v1\nslots 8\nenv parent mem=2M spawn=yes\n")
	h.run()
	require.Equal(t, uint64(abi.OK), freshOK, "the fresh capability maps")
	require.Equal(t, [2]uint64{ppn, abi.ErrCapRevoked}, stale, "the old derived one names what was revoked")
	require.Equal(t, uint32(1), sawLost.LostCount)
	require.Equal(t, abi.Lost{Kind: uint32(caps.KindPage), Name: ppn, VA: mapVA}, sawLost.Lost[0])
	require.Contains(t, h.flushed, [2]uint64{h.k.Env(2).satp, mapVA})
}

// When the owner of a page exits, the page's other mappings are undone
// before its frame returns to the pool.
func TestOwnerExitUndoesMappings(t *testing.T) {
	var before, after bool
	var lost abi.Startup
	h := newHarness(t, map[string]program{
		"parent": func(u *uenv) {
			ppn := u.ramPPN(abi.RAMStart + 0x100000)
			ro := mustDerive(t, u.capOf(caps.KindPage), caps.PageRead, ppn, ppn)
			vector := u.capList()[len(u.capList())-1]
			u.spawn("child", 2<<20, 5, "", 0, u.capOf(caps.KindEnv), vector, ro)
			u.ecall(abi.SysYield)
			u.ecall(abi.SysExit, 0)
		},
		"child": func(u *uenv) {
			passed := u.capList()[len(u.capList())-1]
			_, lo, _, _ := passed.Effective()
			u.mapPage(mapVA, lo, abi.MapRead, passed)
			before = u.h.mapped(2, mapVA)
			u.ecall(abi.SysYield) // the parent exits
			after = u.h.mapped(2, mapVA)
			lost = u.startup()
			u.ecall(abi.SysExit, 0)
		},
	}, "exo-manifest v1\nslots 8\nenv parent mem=2M spawn=yes\n")
	h.run()
	require.True(t, before)
	require.False(t, after, "the parent's frame is no longer reachable from the child")
	require.Equal(t, uint32(1), lost.LostCount)
}

// Spawn refusals: each its own code, nothing created, nothing taken.
func TestSpawnRefusals(t *testing.T) {
	got := map[string][2]uint64{}
	var frees [2]int
	h := newHarness(t, map[string]program{
		"parent": func(u *uenv) {
			env := u.capOf(caps.KindEnv)
			vector := u.capList()[len(u.capList())-1]
			mine := u.capOf(caps.KindSlot)
			_, mySlot, _, _ := mine.Effective()
			noSpawn := mustDerive(t, env, caps.EnvControl, 1, 1)
			frees[0] = u.h.k.frames.FreeCount()
			for _, tc := range []struct {
				name         string
				image        string
				mem          uint64
				slot         uint32
				env, slotCap caps.Cap
				pass         int
			}{
				{"no spawn right", "child", 1 << 20, 5, noSpawn, vector, 0},
				{"slot capability forged", "child", 1 << 20, 5, env, flip(vector), 0},
				{"slot held by another", "child", 1 << 20, 6, env, vector, 0},
				{"the caller's last slot", "child", 1 << 20, uint32(mySlot), env, mine, 0},
				{"unknown image", "nosuch", 1 << 20, 5, env, vector, 0},
				{"memory not page sized", "child", 1<<20 + 1, 5, env, vector, 0},
				{"too much memory", "child", 1 << 30, 5, env, vector, 0},
				{"slot out of range", "child", 1 << 20, 99, env, vector, 0},
			} {
				v, e := u.spawn(tc.image, tc.mem, tc.slot, "", 0, tc.env, tc.slotCap)
				got[tc.name] = [2]uint64{v, e}
			}
			var r abi.SpawnRequest
			r.NCaps = abi.MaxPass + 1
			u.store(reqScratch, bytesOf(&r))
			v, e := u.ecall(abi.SysSpawn, reqScratch)
			got["too many capabilities passed"] = [2]uint64{v, e}
			v, e = u.ecall(abi.SysSpawn, 0x80000000)
			got["request in kernel memory"] = [2]uint64{v, e}
			frees[1] = u.h.k.frames.FreeCount()
			u.ecall(abi.SysExit, 0)
		},
		"other": func(u *uenv) { u.ecall(abi.SysSleep, 1<<40); u.ecall(abi.SysExit, 0) },
		"child": exitWith(0),
	}, "exo-manifest v1\nslots 8\nenv parent mem=2M spawn=yes\nenv other mem=1M\n")
	// "other" holds slot 1 — move it to slot 6 for the test.
	require.NoError(t, h.k.slots.ReleaseOne(2, h.k.slots.Held(2)[0]))
	require.NoError(t, h.k.slots.AllocateAt(2, 6))
	h.run()
	require.Equal(t, map[string][2]uint64{
		"no spawn right":               {0, abi.ErrCapRights},
		"slot capability forged":       {0, abi.ErrCapForged},
		"slot held by another":         {2, abi.ErrExist},
		"the caller's last slot":       {0, abi.ErrInval},
		"unknown image":                {0, abi.ErrNotFound},
		"memory not page sized":        {0, abi.ErrInval},
		"too much memory":              {0, abi.ErrNoMem},
		"slot out of range":            {0, abi.ErrInval},
		"too many capabilities passed": {0, abi.ErrTooBig},
		"request in kernel memory":     {0, abi.ErrFault},
	}, got)
	require.Equal(t, frees[0], frees[1], "refused spawns take no memory")
	require.Len(t, h.k.envs, 3, "no environment was created")
}

func flip(c caps.Cap) caps.Cap { c[caps.Size-1] ^= 0x80; return c }

// Slots are bound by capability: a free slot is taken, a held one refused,
// and an environment may not give up its last slot.
func TestSlotBindRelease(t *testing.T) {
	got := map[string]uint64{}
	h := newHarness(t, map[string]program{
		"a": func(u *uenv) {
			vector := u.capList()[len(u.capList())-1]
			mine := u.capOf(caps.KindSlot)
			_, s, _, _ := mine.Effective()
			u.store(capScratch, vector[:])
			_, got["bind free"] = u.ecall(abi.SysSlotBind, 5, capScratch)
			_, got["bind held"] = u.ecall(abi.SysSlotBind, 1, capScratch)
			_, got["bind out of range"] = u.ecall(abi.SysSlotBind, 9, capScratch)
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
		"bind free":               abi.OK,
		"bind held":               abi.ErrExist,
		"bind out of range":       abi.ErrInval,
		"bind outside capability": abi.ErrCapRange,
		"release other's":         abi.ErrNotFound,
		"release":                 abi.OK,
		"release last":            abi.ErrInval,
	}, got)
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
