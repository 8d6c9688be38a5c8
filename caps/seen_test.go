package caps

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// The cache of genuine capabilities skips only the MAC computation: a
// cached capability is still refused when it lacks the rights or range,
// and revocation takes effect on its very next use.
func TestSeenCache(t *testing.T) {
	a := newAuthority(t, testKey)
	root := mint(t, a, KindPage, pageBase, pageBase+15, PageRead|PageWrite)
	ro := derive(t, root, PageRead, pageBase+2, pageBase+2)
	needRO := Need{Kind: KindPage, Lo: pageBase + 2, Hi: pageBase + 2, Rights: PageRead}

	_, err := a.Verify(ro[:], needRO)
	require.NoError(t, err)
	hits, misses := a.CacheStats()
	require.Equal(t, [2]uint64{0, 1}, [2]uint64{hits, misses})
	_, err = a.Verify(ro[:], needRO)
	require.NoError(t, err)
	hits, misses = a.CacheStats()
	require.Equal(t, [2]uint64{1, 1}, [2]uint64{hits, misses}, "the same bytes again: no MAC computation")

	// Cached, and still only what it grants.
	_, err = a.Verify(ro[:], Need{Kind: KindPage, Lo: pageBase + 2, Hi: pageBase + 2, Rights: PageWrite})
	require.ErrorIs(t, err, ErrRights)
	_, err = a.Verify(ro[:], Need{Kind: KindPage, Lo: pageBase + 3, Hi: pageBase + 3, Rights: PageRead})
	require.ErrorIs(t, err, ErrRange)
	_, err = a.Verify(ro[:], Need{Kind: KindSlot, Lo: 0, Hi: 0, Rights: PageRead})
	require.ErrorIs(t, err, ErrWrongKind)

	// Any altered byte misses the cache and fails the MAC check; forgeries
	// are never entered.
	for bit := 0; bit < Size*8; bit++ {
		f := ro
		f[bit/8] ^= 1 << (bit % 8)
		requireRefused(t, a, f[:], needRO, "bit %d", bit)
	}
	for i, e := range a.seen.entry {
		if a.seen.used[i] {
			require.True(t, e == ro || e == root, "only genuine capabilities are cached")
		}
	}

	// Revocation takes effect on the next use, cached or not.
	_, err = a.Epochs().Revoke(KindPage, pageBase+2)
	require.NoError(t, err)
	before, _ := a.CacheStats()
	_, err = a.Verify(ro[:], needRO)
	require.ErrorIs(t, err, ErrRevoked)
	after, _ := a.CacheStats()
	require.Equal(t, before+1, after, "refused although its bytes were cached")
}

// Two genuine capabilities that share a cache entry evict each other and
// both keep verifying.
func TestSeenCacheCollisions(t *testing.T) {
	a := newAuthority(t, testKey)
	root := mint(t, a, KindPage, pageBase, pageBase+15, PageRead)
	byIndex := map[int]Cap{}
	var x, y Cap
	for n := uint64(0); n < 16; n++ {
		for m := n; m < 16; m++ {
			c := derive(t, root, PageRead, pageBase+n, pageBase+m)
			if prev, ok := byIndex[seenIndex(&c)]; ok {
				x, y = prev, c
				break
			}
			byIndex[seenIndex(&c)] = c
		}
		if x != (Cap{}) {
			break
		}
	}
	require.NotEqual(t, Cap{}, x, "136 capabilities over 64 entries must collide")
	for i := 0; i < 3; i++ {
		for _, c := range []Cap{x, y} {
			_, err := a.Verify(c[:], needAll(c))
			require.NoError(t, err)
		}
	}
	hits, _ := a.CacheStats()
	require.Zero(t, hits, "alternating colliding capabilities never hit")
}
