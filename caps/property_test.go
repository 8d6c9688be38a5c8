package caps

import (
	"errors"
	"fmt"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// amplifications counts hand-crafted records (correct chained MAC, widening
// rights or range) that the tests present; none may grant more.
var amplifications int

// sampleCaps returns roots of every kind and a chain of derivations down to a
// full one.
func sampleCaps(t *testing.T, a *Authority) []Cap {
	var cs []Cap
	for _, k := range []Kind{KindPage, KindSlot, KindEnv, KindPort} {
		base := a.Epochs().tables[k][0].base
		cs = append(cs, mint(t, a, k, base+3, base+3, k.All()))
	}
	c := mint(t, a, KindPage, pageBase, pageBase+255, PageRead|PageWrite|PageExec)
	cs = append(cs, c)
	for c.Depth() < MaxRecords {
		d := uint64(c.Depth())
		c = derive(t, c, PageRead|PageWrite>>d, pageBase+d+1, pageBase+200-d)
		cs = append(cs, c)
	}
	return cs
}

// TestBitFlips: every single-bit change of a genuine capability, root or
// derived, is refused.
func TestBitFlips(t *testing.T) {
	a := newAuthority(t, testKey)
	before := forgeries
	for _, c := range sampleCaps(t, a) {
		_, err := a.Verify(c[:], needAll(c))
		require.NoError(t, err)
		for bit := range Size * 8 {
			f := c
			f[bit/8] ^= 1 << (bit % 8)
			requireRefused(t, a, f[:], needAll(c), "%v: bit %d (byte %d)", &c, bit, bit/8)
		}
	}
	t.Logf("%d single-bit flips refused", forgeries-before)
}

// TestOtherKey: capabilities sealed under another key (another boot) are
// forged, whatever was derived from them, even for identical contents.
func TestOtherKey(t *testing.T) {
	a, b := newAuthority(t, testKey), newAuthority(t, otherKey)
	before := forgeries
	theirs, ours := sampleCaps(t, b), sampleCaps(t, a)
	for i, c := range theirs {
		require.Equal(t, ours[i][:offMAC], c[:offMAC], "same contents")
		require.NotEqual(t, ours[i][offMAC:], c[offMAC:], "different MAC")
		err := requireRefused(t, a, c[:], needAll(c), "%v", &c)
		require.ErrorIs(t, err, ErrForged)
		_, err = b.Verify(c[:], needAll(c))
		require.NoError(t, err)
	}
	// Many keys, a random capability each.
	rng := rand.New(rand.NewSource(7))
	for i := range 256 {
		k := make([]byte, MinKeySize)
		rng.Read(k)
		o := newAuthority(t, k)
		c := mint(t, o, KindSlot, uint64(i%slots), uint64(i%slots), SlotUse)
		if i%2 == 1 {
			c = derive(t, c, SlotUse, uint64(i%slots), uint64(i%slots))
		}
		err := requireRefused(t, a, c[:], needAll(c), "key %x", k)
		require.ErrorIs(t, err, ErrForged)
	}
	t.Logf("%d capabilities from other keys refused", forgeries-before)
}

// TestTamperedChains: a holder cannot drop, alter, reorder or re-index
// records, or guess a tag.
func TestTamperedChains(t *testing.T) {
	a := newAuthority(t, testKey)
	before := forgeries
	root := mint(t, a, KindEnv, 10, 50, EnvControl|EnvSend)
	d1 := derive(t, root, EnvSend, 20, 40)
	d2 := derive(t, d1, EnvSend, 25, 30)
	zero := func(c *Cap, i int) { clear(c[offRecords+i*recordSize : offRecords+(i+1)*recordSize]) }

	// Drop the last record, keeping the MAC.
	f := d2
	f[offCount] = 1
	zero(&f, 1)
	requireRefused(t, a, f[:], Need{Kind: KindEnv, Lo: 20, Hi: 40, Rights: EnvSend})
	// Drop both records.
	f[offCount] = 0
	zero(&f, 0)
	requireRefused(t, a, f[:], Need{Kind: KindEnv, Lo: 10, Hi: 50, Rights: EnvControl})
	// Widen a record in place.
	f = d2
	putRecord(f[offRecords+recordSize:], EnvSend|EnvControl, 10, 50)
	requireRefused(t, a, f[:], Need{Kind: KindEnv, Lo: 25, Hi: 30, Rights: EnvControl})
	// Swap the two records.
	f = d2
	copy(f[offRecords:], d2[offRecords+recordSize:offRecords+2*recordSize])
	copy(f[offRecords+recordSize:], d2[offRecords:offRecords+recordSize])
	requireRefused(t, a, f[:], Need{Kind: KindEnv, Lo: 25, Hi: 30})
	// Chain a record at the wrong index.
	f = d1
	prev := [TagSize]byte(f[offMAC:])
	putRecord(f[offRecords+recordSize:], EnvSend, 25, 30)
	f[offCount] = 2
	tag := chain(&prev, f[offRecords+recordSize:], 1)
	copy(f[offMAC:], tag[:])
	requireRefused(t, a, f[:], Need{Kind: KindEnv, Lo: 25, Hi: 30})
	// Present the parent's tag with the child's records.
	f = d2
	copy(f[offMAC:], d1[offMAC:])
	requireRefused(t, a, f[:], Need{Kind: KindEnv, Lo: 25, Hi: 30})
	// Raise the epoch or the rights of the root.
	f = root
	f[offEpoch] = 9
	requireRefused(t, a, f[:], needAll(root))
	// Random tags.
	rng := rand.New(rand.NewSource(3))
	for range 4096 {
		f = d2
		rng.Read(f[offMAC:])
		requireRefused(t, a, f[:], Need{Kind: KindEnv, Lo: 25, Hi: 30})
	}
	t.Logf("%d tampered chains refused", forgeries-before)
}

// TestCraftedRecordsCannotAmplify presents records built by hand with the
// correct chained MAC (which any holder can compute) that try to add rights
// or widen the range. They verify, but grant no more than before them.
func TestCraftedRecordsCannotAmplify(t *testing.T) {
	a := newAuthority(t, testKey)
	root := mint(t, a, KindPage, pageBase+100, pageBase+199, PageRead|PageWrite)
	ro := derive(t, root, PageRead, pageBase+120, pageBase+129)
	for _, tc := range []struct {
		name   string
		c      Cap
		m      Rights
		lo, hi uint64
		want   Verified // effective after the record
		empty  bool
	}{
		{"add exec to the root", root, PageRead | PageWrite | PageExec, pageBase + 100, pageBase + 199,
			Verified{Rights: PageRead | PageWrite, Lo: pageBase + 100, Hi: pageBase + 199}, false},
		{"widen the root", root, PageRead, pageBase, pageBase + pages - 1,
			Verified{Rights: PageRead, Lo: pageBase + 100, Hi: pageBase + 199}, false},
		{"give write back", ro, PageRead | PageWrite, pageBase + 120, pageBase + 129,
			Verified{Rights: PageRead, Lo: pageBase + 120, Hi: pageBase + 129}, false},
		{"widen back to the root", ro, PageRead | PageWrite | PageExec, pageBase + 100, pageBase + 199,
			Verified{Rights: PageRead, Lo: pageBase + 120, Hi: pageBase + 129}, false},
		{"overlap one edge", ro, PageRead, pageBase + 125, pageBase + 140,
			Verified{Rights: PageRead, Lo: pageBase + 125, Hi: pageBase + 129}, false},
		{"disjoint", ro, PageRead, pageBase + 130, pageBase + 140, Verified{}, true},
		{"everything", ro, PageRead | PageWrite | PageExec, 0, 1<<44 - 1,
			Verified{Rights: PageRead, Lo: pageBase + 120, Hi: pageBase + 129}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Derive(tc.c, tc.m, tc.lo, tc.hi)
			require.Error(t, err, "Derive refuses it")
			f := forceRecord(tc.c, tc.m, tc.lo, tc.hi)
			amplifications++
			r, lo, hi, ok := f.Effective()
			require.Equal(t, !tc.empty, ok)
			if ok {
				assert.Equal(t, tc.want, Verified{Rights: r, Lo: lo, Hi: hi})
				v, err := a.Verify(f[:], Need{Kind: KindPage, Lo: lo, Hi: hi, Rights: r})
				require.NoError(t, err, "the chained MAC is correct")
				assert.Equal(t, tc.want.Rights, v.Rights)
				assert.Equal(t, []uint64{tc.want.Lo, tc.want.Hi}, []uint64{v.Lo, v.Hi})
			}
			// What the record claims is refused.
			_, err = a.Verify(f[:], Need{Kind: KindPage, Lo: tc.lo, Hi: tc.hi, Rights: tc.m})
			require.True(t, errors.Is(err, ErrRights) || errors.Is(err, ErrRange), "%v", err)
			// And so is deriving from it anything wider than its effect.
			if !tc.empty {
				_, err = Derive(f, tc.m, tc.lo, tc.hi)
				require.Error(t, err)
			}
		})
	}
}

// TestRandomChains builds thousands of random derivation chains, a mix of
// legal and illegal steps. Derive accepts exactly the legal steps; the same
// steps forced by hand (correct MAC, no checks) never grant more than the
// capability they extend; each capability verifies for exactly what the
// legal steps left.
func TestRandomChains(t *testing.T) {
	const seed, chains = 20261122, 4000
	rng := rand.New(rand.NewSource(seed))
	a := newAuthority(t, testKey)
	kindsUsed := []Kind{KindPage, KindSlot, KindEnv, KindPort}
	steps, legal, before, amp := 0, 0, forgeries, amplifications

	// bits picks a random set of rights: usually within want, sometimes any
	// of the kind's, sometimes any bits at all.
	bits := func(k Kind, want Rights) Rights {
		switch rng.Intn(4) {
		case 0, 1:
			return Rights(rng.Uint32()) & want
		case 2:
			return Rights(rng.Uint32()) & k.All()
		}
		return Rights(rng.Uint32() & 0xf)
	}
	// span picks a random range: usually inside [lo, hi], else around it.
	span := func(lo, hi uint64) (uint64, uint64) {
		if rng.Intn(5) < 3 {
			a := lo + uint64(rng.Int63n(int64(hi-lo+1)))
			return a, a + uint64(rng.Int63n(int64(hi-a+1)))
		}
		return lo - uint64(rng.Intn(3)) + uint64(rng.Intn(3)), hi + uint64(rng.Intn(3)) - uint64(rng.Intn(3))
	}

	for n := range chains {
		k := kindsUsed[rng.Intn(len(kindsUsed))]
		tab := a.Epochs().tables[k][0]
		w := uint64(rng.Intn(min(64, len(tab.e)/2)))
		lo := tab.base + 4 + uint64(rng.Int63n(int64(uint64(len(tab.e))-8-w)))
		hi := lo + w
		r := Rights(rng.Uint32())&k.All() | 1
		c := mint(t, a, k, lo, hi, r)
		for s := range 1 + rng.Intn(2*MaxRecords) {
			steps++
			m := bits(k, r)
			nlo, nhi := span(lo, hi)
			where := fmt.Sprintf("seed %d chain %d step %d: %v: mask %#x [%#x, %#x]", seed, n, s, &c, m, nlo, nhi)
			ok := c.Depth() < MaxRecords && m&^r == 0 && nlo <= nhi && lo <= nlo && nhi <= hi

			d, err := Derive(c, m, nlo, nhi)
			if ok {
				legal++
				require.NoError(t, err, where)
				v, err := a.Verify(d[:], Need{Kind: k, Lo: nlo, Hi: nhi, Rights: m})
				require.NoError(t, err, where)
				require.Equal(t, Verified{Kind: k, Rights: m, Lo: nlo, Hi: nhi, Epoch: c.Epoch(), Depth: c.Depth() + 1}, v, where)
				c, r, lo, hi = d, m, nlo, nhi
				continue
			}
			switch {
			case c.Depth() == MaxRecords:
				require.ErrorIs(t, err, ErrChainFull, where)
				continue // no slot to force a record into
			case m&^r != 0:
				require.ErrorIs(t, err, ErrRights, where)
			default:
				require.ErrorIs(t, err, ErrRange, where)
			}
			// The same step, forced.
			amplifications++
			f := forceRecord(c, m, nlo, nhi)
			_, err = a.Verify(f[:], Need{Kind: k, Lo: nlo, Hi: nhi, Rights: m})
			require.Error(t, err, where)
			if _, perr := Parse(f[:]); perr != nil {
				require.ErrorIs(t, err, ErrMalformed, where)
				continue
			}
			require.True(t, errors.Is(err, ErrRights) || errors.Is(err, ErrRange), "%s: %v", where, err)
			fr, flo, fhi, fok := f.Effective()
			require.Zero(t, fr&^r, where)
			if fok {
				require.True(t, lo <= flo && fhi <= hi, where)
				_, err = a.Verify(f[:], Need{Kind: k, Lo: flo, Hi: fhi, Rights: fr})
				require.NoError(t, err, where)
			}
		}
		// The chain's end still verifies for exactly what is left, and not
		// one bit of it can be changed.
		_, err := a.Verify(c[:], Need{Kind: k, Lo: lo, Hi: hi, Rights: r})
		require.NoError(t, err, "seed %d chain %d", seed, n)
		f := c
		bit := rng.Intn(Size * 8)
		f[bit/8] ^= 1 << (bit % 8)
		requireRefused(t, a, f[:], Need{Kind: k, Lo: lo, Hi: hi, Rights: r}, "seed %d chain %d bit %d", seed, n, bit)
	}
	t.Logf("seed %d: %d chains, %d steps (%d legal); %d forced records never amplified; %d bit flips refused",
		seed, chains, steps, legal, amplifications-amp, forgeries-before)
}
