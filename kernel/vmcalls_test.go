package kernel

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/exo-os/exo/caps"
	"github.com/exo-os/exo/kernel/abi"
	"github.com/exo-os/exo/kernel/vm"
	"github.com/exo-os/exo/riscv"
)

// vmData is a run of heap pages of the harness image's RAM (rw-), clear of
// the scratch areas.
const vmData = abi.RAMStart + 0x110000

// permAt returns how va is mapped in e (0 if it is not).
func permAt(e *Env, va uint64) vm.Perm {
	_, p, ok := e.as.Lookup(va)
	if !ok {
		return 0
	}
	return p
}

// protect makes the protect call with c stored at capScratch.
func (u *uenv) protect(va, n, perm uint64, c caps.Cap) (uint64, uint64) {
	u.store(capScratch, c[:])
	return u.ecall(abi.SysProtect, va, n, perm, capScratch)
}

// Protect changes a range of the caller's own pages in place: the frames
// and their contents stay, the rights change both ways, no-access keeps
// the mapping, and each change is fenced.
func TestProtectInPlace(t *testing.T) {
	type step struct {
		name  string
		perm  uint64
		n     uint64
		want  vm.Perm
		fence [2]uint64 // the last flush: (satp, va or ^0)
	}
	var got []vm.Perm
	var vals, errs []uint64
	var fences [][2]uint64
	var frames []uint64
	var kept []byte
	var satp uint64
	h := newHarness(t, map[string]program{"a": func(u *uenv) {
		e := u.h.envByCtx(u.ctx)
		satp = e.satp
		u.store(vmData, []byte("kept in place"))
		root := u.capOf(caps.KindPage)
		for _, perm := range []uint64{abi.MapRead, abi.ProtNone, abi.MapRead | abi.MapWrite, abi.MapRead | abi.MapExec, abi.MapRead | abi.MapWrite} {
			for _, n := range []uint64{1, 20} {
				v, errno := u.protect(vmData, n, perm, root)
				vals, errs = append(vals, v), append(errs, errno)
				got = append(got, permAt(e, vmData), permAt(e, vmData+(n-1)*4096))
				fences = append(fences, u.h.flushed[len(u.h.flushed)-1])
				pa, _, _ := e.as.Lookup(vmData)
				frames = append(frames, pa)
			}
		}
		kept = u.load(vmData, 13)
		u.ecall(abi.SysExit, 0)
	}}, "exo-manifest v1\nenv a mem=2M\n")
	require.Equal(t, uint32(0), h.run())
	want := []vm.Perm{vm.R | vm.U, vm.R, vm.R | vm.W | vm.U, vm.R | vm.X | vm.U, vm.R | vm.W | vm.U}
	for i := range vals {
		n := []uint64{1, 20}[i%2]
		require.Equal(t, [2]uint64{n, abi.OK}, [2]uint64{vals[i], errs[i]}, "call %d", i)
		require.Equal(t, want[i/2], got[2*i], "first page, call %d", i)
		require.Equal(t, want[i/2], got[2*i+1], "last page, call %d", i)
		if n == 1 {
			require.Equal(t, [2]uint64{satp, vmData}, fences[i], "one page: fenced by address")
		} else {
			require.Equal(t, [2]uint64{satp, ^uint64(0)}, fences[i], "20 pages: one whole-table fence")
		}
		require.Equal(t, frames[0], frames[i], "the frame stays")
	}
	require.Equal(t, "kept in place", string(kept))
}

// A page made read-only refuses the write that follows (the hart faults and
// the kernel does not take it for a stale translation); one made
// inaccessible refuses a load.
func TestProtectedPageFaults(t *testing.T) {
	for _, tc := range []struct {
		name   string
		perm   uint64
		access func(u *uenv)
		report string
	}{
		{"read-only, store", abi.MapRead, func(u *uenv) { u.except(riscv.CauseStorePageFault, vmData+8) }, "store page fault"},
		{"none, load", abi.ProtNone, func(u *uenv) { u.except(riscv.CauseLoadPageFault, vmData+8) }, "load page fault"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, map[string]program{"a": func(u *uenv) {
				_, errno := u.protect(vmData, 1, tc.perm, u.capOf(caps.KindPage))
				require.Equal(t, uint64(abi.OK), errno)
				tc.access(u)
				u.ecall(abi.SysExit, 0)
			}}, "exo-manifest v1\nenv a mem=2M\n")
			h.run()
			require.Regexp(t, fmt.Sprintf(`env 1 \(a\) killed: %s at pc 0x[0-9a-f]+, address %#x`, tc.report, vmData+8), h.console())
			require.NotContains(t, h.console(), "exited with status")
		})
	}
}

// Every refusal has its own error, and changes no page: the range is
// checked whole before anything is done.
func TestProtectRefusals(t *testing.T) {
	other, err := caps.NewAuthority(make32(7), epochsLike(t))
	require.NoError(t, err)
	type result struct{ val, err uint64 }
	got := map[string]result{}
	var ppn, revokedPPN uint64
	var before, after [4]vm.Perm
	h := newHarness(t, map[string]program{"a": func(u *uenv) {
		e := u.h.envByCtx(u.ctx)
		root := u.capOf(caps.KindPage)
		ppn = u.ramPPN(vmData)
		_, lo, hi, _ := root.Effective()
		ro := mustDerive(t, root, caps.PageRead, lo, hi)
		flipped := root
		flipped[caps.Size-1] ^= 1
		forged := ro
		forged[32] |= byte(caps.PageWrite)
		alien, err := other.Mint(caps.KindPage, lo, hi, rootPage)
		require.NoError(t, err)
		narrow := mustDerive(t, root, caps.PageRead|caps.PageWrite, ppn, ppn)
		// The heap page after vmData+3 pages is mapped at mapVA too,
		// writable: W^X then refuses making that frame executable.
		alias := u.ramPPN(vmData + 3*4096)
		_, errno := u.mapPage(mapVA, alias, abi.MapRead|abi.MapWrite, root)
		require.Equal(t, uint64(abi.OK), errno)
		// The text frame is mapped executable a second time: W^X then
		// refuses making its RAM mapping writable.
		_, errno = u.mapPage(mapVA+0x8000, u.ramPPN(abi.TextStart), abi.MapRead|abi.MapExec, root)
		require.Equal(t, uint64(abi.OK), errno)
		// A capability revoked since: revoke a derived one with the
		// revoke right for another page (the root's authority over that
		// page dies with it; the list gets a new root).
		revokedPPN = u.ramPPN(vmData + 5*4096)
		rv := mustDerive(t, root, caps.PageRead|caps.PageRevoke, revokedPPN, revokedPPN)
		u.store(capScratch, rv[:])
		_, errno = u.ecall(abi.SysRevoke, capScratch, outScratch)
		require.Equal(t, uint64(abi.OK), errno)
		fresh := u.capOf(caps.KindPage)
		var zero caps.Cap
		for i := range before {
			before[i] = permAt(e, vmData+uint64(i)*4096)
		}
		rw := uint64(abi.MapRead | abi.MapWrite)
		for _, tc := range []struct {
			name        string
			va, n, perm uint64
			c           caps.Cap
		}{
			{"malformed", vmData, 2, abi.MapRead, zero},
			{"forged: MAC bit flipped", vmData, 2, abi.MapRead, flipped},
			{"forged: rights bit added", vmData, 2, rw, forged},
			{"other boot's key", vmData, 2, abi.MapRead, alien},
			{"wrong kind", vmData, 2, abi.MapRead, u.capOf(caps.KindSlot)},
			{"revoked", vmData + 5*4096, 1, abi.MapRead, root},
			{"too weak: write on a read-only capability", vmData, 2, rw, ro},
			{"outside the capability's range", vmData, 2, abi.MapRead, narrow},
			{"range not mapped", mapVA + 0x10000, 1, abi.MapRead, fresh},
			{"range runs off the mapping", mapVA, 2, abi.MapRead, fresh},
			{"write and execute", vmData, 2, abi.MapRead | abi.MapWrite | abi.MapExec, fresh},
			{"write without read", vmData, 2, abi.MapWrite, fresh},
			{"unknown permission bit", vmData, 2, abi.MapRead | 8, fresh},
			{"executable while writable elsewhere", vmData + 2*4096, 2, abi.MapRead | abi.MapExec, fresh},
			{"writable while executable elsewhere", abi.TextStart, 1, rw, fresh},
			{"no pages", vmData, 0, abi.MapRead, fresh},
			{"too many pages", vmData, abi.MaxProtect + 1, abi.MapRead, fresh},
			{"unaligned", vmData + 8, 1, abi.MapRead, fresh},
			{"below RAM", abi.StartupVA, 1, abi.MapRead, fresh},
			{"upper half", vm.UserTop - 4096, 2, abi.MapRead, fresh},
			{"capability in kernel memory", vmData, 2, abi.MapRead, zero},
		} {
			var v, errno uint64
			if tc.name == "capability in kernel memory" {
				v, errno = u.ecall(abi.SysProtect, tc.va, tc.n, tc.perm, 0x80000000)
			} else {
				v, errno = u.protect(tc.va, tc.n, tc.perm, tc.c)
			}
			got[tc.name] = result{v, errno}
		}
		for i := range after {
			after[i] = permAt(e, vmData+uint64(i)*4096)
		}
		u.ecall(abi.SysExit, 0)
	}}, "exo-manifest v1\nenv a mem=2M\n")
	require.Equal(t, uint32(0), h.run())
	F, I := uint64(abi.ErrCapForged), uint64(abi.ErrInval)
	require.Equal(t, map[string]result{
		"malformed":                {0, abi.ErrCapMalformed},
		"forged: MAC bit flipped":  {0, F},
		"forged: rights bit added": {0, F},
		"other boot's key":         {0, F},
		"wrong kind":               {0, abi.ErrCapKind},
		"revoked":                  {revokedPPN, abi.ErrCapRevoked},
		"too weak: write on a read-only capability": {0, abi.ErrCapRights},
		"outside the capability's range":            {0, abi.ErrCapRange},
		"range not mapped":                          {mapVA + 0x10000, abi.ErrNotFound},
		"range runs off the mapping":                {mapVA + 0x1000, abi.ErrNotFound},
		"write and execute":                         {0, I},
		"write without read":                        {0, I},
		"unknown permission bit":                    {0, I},
		"executable while writable elsewhere":       {0, I},
		"writable while executable elsewhere":       {0, I},
		"no pages":                                  {0, I},
		"too many pages":                            {0, abi.ErrTooBig},
		"unaligned":                                 {0, I},
		"below RAM":                                 {0, I},
		"upper half":                                {0, I},
		"capability in kernel memory":               {0, abi.ErrFault},
	}, got)
	require.Equal(t, before, after, "no refusal changed a page")
	for _, p := range after {
		require.Equal(t, vm.R|vm.W|vm.U, p)
	}
}

// A page mapped with SysMap and then protected keeps its record in step:
// the frame's writable-mapping count follows the protection, and
// unmapping it returns the count to what it was.
func TestProtectKeepsMappingCounts(t *testing.T) {
	var w0, wMapped, wProt, wBack, wUnmapped int
	var x0, xUnmapped int
	h := newHarness(t, map[string]program{"a": func(u *uenv) {
		k := u.h.k
		root := u.capOf(caps.KindPage)
		ppn := u.ramPPN(vmData)
		pa := ppn * 4096
		w0, x0 = k.frames.Mappings(pa)
		_, errno := u.mapPage(mapVA, ppn, abi.MapRead|abi.MapWrite, root)
		require.Equal(t, uint64(abi.OK), errno)
		wMapped, _ = k.frames.Mappings(pa)
		_, errno = u.protect(mapVA, 1, abi.MapRead, root)
		require.Equal(t, uint64(abi.OK), errno)
		_, errno = u.protect(vmData, 1, abi.ProtNone, root)
		require.Equal(t, uint64(abi.OK), errno)
		wProt, _ = k.frames.Mappings(pa)
		_, errno = u.protect(vmData, 1, abi.MapRead|abi.MapWrite, root)
		require.Equal(t, uint64(abi.OK), errno)
		wBack, _ = k.frames.Mappings(pa)
		_, errno = u.ecall(abi.SysUnmap, mapVA)
		require.Equal(t, uint64(abi.OK), errno)
		wUnmapped, xUnmapped = k.frames.Mappings(pa)
		u.ecall(abi.SysExit, 0)
	}}, "exo-manifest v1\nenv a mem=2M\n")
	require.Equal(t, uint32(0), h.run())
	require.Equal(t, 1, w0)
	require.Equal(t, 2, wMapped)
	require.Equal(t, 0, wProt, "both mappings lost write")
	require.Equal(t, 1, wBack, "the RAM mapping is writable again, the alias is not")
	require.Equal(t, 1, wUnmapped)
	require.Equal(t, x0, xUnmapped)
}

// The accessed and dirty bits: mapped pages come with both preset (A only
// for a page that is not writable), clearing them is fenced, a hart that
// faults to have them set (Svade) gets them set by the kernel, a page not
// mapped reads 0, and a refusal clears nothing.
func TestPageBits(t *testing.T) {
	const buf = outScratch
	type result struct{ val, err uint64 }
	var initial, cleared, touched, text []byte
	var rInit, rClear result
	var fence [2]uint64
	var satp uint64
	refusals := map[string]result{}
	var afterRefusals []byte
	h := newHarness(t, map[string]program{"a": func(u *uenv) {
		satp = u.h.envByCtx(u.ctx).satp
		bits := func(va, n, flags uint64) (result, []byte) {
			v, e := u.ecall(abi.SysPageBits, va, n, buf, flags)
			return result{v, e}, u.load(buf, int(n))
		}
		rInit, initial = bits(vmData, 3, 0)
		n := len(u.h.flushed)
		rClear, _ = bits(vmData, 3, abi.PageClearAccessed|abi.PageClearDirty)
		require.Greater(t, len(u.h.flushed), n, "clearing fenced")
		fence = u.h.flushed[len(u.h.flushed)-1]
		_, cleared = bits(vmData, 3, 0)
		// The hart faults on an entry without A (load) or D (store):
		// the kernel sets them and the access goes on.
		u.except(riscv.CauseLoadPageFault, vmData+5)
		u.except(riscv.CauseStorePageFault, vmData+2*4096+5)
		_, touched = bits(vmData, 3, 0)
		_, text = bits(abi.TextStart, 1, 0)
		u.ecall(abi.SysPageBits, vmData, 3, buf, abi.PageClearDirty) // D off again, A stays
		for _, tc := range []struct {
			name              string
			va, n, buf, flags uint64
		}{
			{"buffer read-only", vmData, 3, abi.TextStart + 0x1000, abi.PageClearAccessed},
			{"buffer unmapped", vmData, 3, 0xdead0000, abi.PageClearAccessed},
			{"too many pages", vmData, abi.MaxPageBits + 1, buf, 0},
			{"unknown flag", vmData, 3, buf, 4},
			{"unaligned", vmData + 1, 3, buf, 0},
			{"below RAM", abi.StartupVA, 1, buf, 0},
			{"upper half", vm.UserTop - 4096, 2, buf, 0},
		} {
			v, e := u.ecall(abi.SysPageBits, tc.va, tc.n, tc.buf, tc.flags)
			refusals[tc.name] = result{v, e}
		}
		v, e := u.ecall(abi.SysPageBits, vmData, 0, 0xdead0000, 0)
		refusals["no pages"] = result{v, e}
		_, afterRefusals = bits(vmData, 3, 0)
		u.ecall(abi.SysExit, 0)
	}}, "exo-manifest v1\nenv a mem=2M\n")
	require.Equal(t, uint32(0), h.run())
	M, A, D := byte(abi.PageMapped), byte(abi.PageAccessed), byte(abi.PageDirty)
	require.Equal(t, result{3, abi.OK}, rInit)
	require.Equal(t, []byte{M | A | D, M | A | D, M | A | D}, initial)
	require.Equal(t, result{3, abi.OK}, rClear)
	require.Equal(t, [2]uint64{satp, vmData + 2*4096}, fence, "each cleared page fenced")
	require.Equal(t, []byte{M, M, M}, cleared)
	require.Equal(t, []byte{M | A, M, M | A | D}, touched)
	require.Equal(t, []byte{M | A}, text, "text: accessed, never dirty")
	require.Equal(t, map[string]result{
		"buffer read-only": {abi.TextStart + 0x1000, abi.ErrFault},
		"buffer unmapped":  {0xdead0000, abi.ErrFault},
		"too many pages":   {0, abi.ErrTooBig},
		"unknown flag":     {0, abi.ErrInval},
		"unaligned":        {0, abi.ErrInval},
		"below RAM":        {0, abi.ErrInval},
		"upper half":       {0, abi.ErrInval},
		"no pages":         {0, abi.OK},
	}, refusals)
	require.Equal(t, []byte{M | A, M, M | A}, afterRefusals, "the refused clears cleared nothing")
}

// A range with pages not mapped: they read as 0 and are not counted.
func TestPageBitsUnmapped(t *testing.T) {
	var v, e uint64
	var out []byte
	h := newHarness(t, map[string]program{"a": func(u *uenv) {
		_, errno := u.mapPage(mapVA+4096, u.ramPPN(vmData), abi.MapRead, u.capOf(caps.KindPage))
		require.Equal(t, uint64(abi.OK), errno)
		v, e = u.ecall(abi.SysPageBits, mapVA, 3, outScratch, 0)
		out = u.load(outScratch, 3)
		u.ecall(abi.SysExit, 0)
	}}, "exo-manifest v1\nenv a mem=2M\n")
	require.Equal(t, uint32(0), h.run())
	require.Equal(t, [2]uint64{1, abi.OK}, [2]uint64{v, e})
	require.Equal(t, []byte{0, abi.PageMapped | abi.PageAccessed, 0}, out)
}
