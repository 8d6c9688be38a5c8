package caps

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestNoAllocation: the kernel calls Verify on its system call path, where
// nothing may allocate, and a hostile environment chooses the bytes; so
// every outcome is measured, refusals included. Derive and Mint are measured
// on success.
func TestNoAllocation(t *testing.T) {
	a := newAuthority(t, testKey)
	root := mint(t, a, KindPage, pageBase, pageBase+63, PageRead|PageWrite)
	full := root
	for full.Depth() < MaxRecords {
		full = derive(t, full, PageRead, pageBase+1, pageBase+62)
	}
	forged := full
	forged[offMAC+3] ^= 0x40
	malformed := root
	malformed[offReserved] = 1
	stale := mint(t, a, KindPage, pageBase+64, pageBase+64, PageRead)
	_, err := a.Epochs().Revoke(KindPage, pageBase+64)
	require.NoError(t, err)
	page := func(lo, hi uint64, r Rights) Need { return Need{Kind: KindPage, Lo: lo, Hi: hi, Rights: r} }

	var sink error
	for _, tc := range []struct {
		name string
		raw  []byte
		need Need
	}{
		{"root", root[:], page(pageBase+5, pageBase+5, PageWrite)},
		{"full chain", full[:], page(pageBase+5, pageBase+5, PageRead)},
		{"malformed", malformed[:], page(pageBase, pageBase, 0)},
		{"short", root[:7], page(pageBase, pageBase, 0)},
		{"forged", forged[:], page(pageBase+5, pageBase+5, PageRead)},
		{"wrong kind", root[:], Need{Kind: KindEnv}},
		{"rights", full[:], page(pageBase+5, pageBase+5, PageWrite)},
		{"range", full[:], page(pageBase, pageBase, PageRead)},
		{"revoked", stale[:], page(pageBase+64, pageBase+64, PageRead)},
	} {
		allocs := testing.AllocsPerRun(200, func() {
			_, sink = a.Verify(tc.raw, tc.need)
		})
		require.Zero(t, allocs, "Verify %s: %v", tc.name, sink)
	}

	var c Cap
	allocs := testing.AllocsPerRun(200, func() {
		c, sink = Derive(root, PageRead, pageBase+1, pageBase+2)
	})
	require.Zero(t, allocs, "Derive")
	for _, refused := range []Cap{full, root} {
		allocs = testing.AllocsPerRun(200, func() {
			c, sink = Derive(refused, PageExec, pageBase, pageBase) // chain full, rights
		})
		require.Zero(t, allocs, "Derive refusing: %v", sink)
	}
	allocs = testing.AllocsPerRun(200, func() {
		c, sink = a.Mint(KindPage, pageBase, pageBase, PageRead)
	})
	require.Zero(t, allocs, "Mint")
	_ = c
}
