package caps

import (
	"errors"
	"fmt"
	"sync"
	"testing"
)

// fuzzWorld is the fixed world the fuzz targets run in: an Authority under
// fuzzKey, some roots, and every capability the targets made legitimately.
// It is deterministic, so checked-in corpus files keep their meaning.
//
// fuzzKey carries fuzzWorldVersion: bump it whenever the world's
// capabilities change (the kinds table, the roots). Genuine capabilities
// of an earlier world, kept by earlier fuzzing runs in the fuzz cache
// ($GOCACHE/fuzz) or the corpus, then become forgeries under the new key,
// instead of genuine capabilities this world did not make.
const fuzzWorldVersion = 2

var fuzzKey = func() []byte {
	k := append([]byte(nil), testKey...)
	k[0] ^= fuzzWorldVersion
	return k
}()

type fuzzWorld struct {
	a     *Authority
	roots []Cap
	known map[Cap]bool
}

var world = sync.OnceValue(func() *fuzzWorld {
	var e Epochs
	must := func(err error) {
		if err != nil {
			panic(err)
		}
	}
	must(e.Track(KindPage, pageBase, pages))
	must(e.Track(KindSlot, 0, slots))
	must(e.Track(KindEnv, 0, envs))
	must(e.Track(KindPort, portBase, 1<<16))
	a, err := NewAuthority(fuzzKey, &e)
	must(err)
	w := &fuzzWorld{a: a, known: map[Cap]bool{}}
	for _, r := range []struct {
		k      Kind
		lo, hi uint64
	}{
		{KindPage, pageBase, pageBase + 15},
		{KindSlot, 0, 7},
		{KindEnv, 1, 9},
		{KindPort, portBase, portBase + 1023},
	} {
		c, err := a.Mint(r.k, r.lo, r.hi, r.k.All())
		must(err)
		w.roots = append(w.roots, c)
		w.known[c] = true
		for c.Depth() < MaxRecords {
			d := uint64(c.Depth())
			c, err = Derive(c, r.k.All()>>d, r.lo+d, r.hi-d)
			must(err)
			w.known[c] = true
		}
	}
	return w
})

// FuzzParseVerify: no bytes make Parse or Verify panic, Parse and Verify
// agree on what is malformed, and nothing gets past the MAC check unless it
// is byte for byte a capability the world made.
func FuzzParseVerify(f *testing.F) {
	w := world()
	for c := range w.known {
		f.Add(c[:])
	}
	f.Add([]byte{})
	f.Add(make([]byte, Size))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, perr := Parse(data)
		var need Need
		if len(data) > offKind {
			need.Kind = Kind(data[offKind])
		}
		if perr == nil {
			_, need.Lo, _, _ = c.Effective()
			need.Hi = need.Lo
		}
		_, err := w.a.Verify(data, need)
		if perr != nil {
			if !errors.Is(perr, ErrMalformed) || err == nil || err.Error() != perr.Error() {
				t.Fatalf("Parse: %v; Verify: %v", perr, err)
			}
			return
		}
		if errors.Is(err, ErrMalformed) {
			t.Fatalf("Parse accepts what Verify calls malformed: %v", err)
		}
		if !errors.Is(err, ErrForged) && !w.known[c] {
			t.Fatalf("passed the MAC check but not made by the test (Verify: %v): %x", err, data)
		}
		// Deriving from anything well formed never panics and stays well formed.
		_, lo, _, _ := c.Effective()
		if d, err := Derive(c, 0, lo, lo); err == nil {
			if _, err := Parse(d[:]); err != nil {
				t.Fatalf("Derive made a malformed capability: %v", err)
			}
		}
	})
}

// FuzzDeriveChain: a fuzzed sequence of steps, each either Derive or a
// record forced in by hand with the correct chained MAC, never grants more
// than the step before it; Derive accepts exactly the legal steps; and the
// result verifies for exactly what is left. Each step is 4 bytes: op (bit 0:
// force), rights mask, and signed offsets from the current lo and hi.
func FuzzDeriveChain(f *testing.F) {
	w := world()
	f.Add(byte(0), []byte{0, 1, 2, 0xfe, 1, 3, 0xff, 1})
	f.Add(byte(1), []byte{1, 0xff, 0x80, 0x7f, 0, 1, 1, 0})
	f.Add(byte(3), []byte{0, 3, 0, 0, 0, 3, 0, 0, 0, 3, 0, 0, 0, 3, 0, 0, 0, 3, 0, 0})
	f.Fuzz(func(t *testing.T, root byte, steps []byte) {
		c := w.roots[int(root)%len(w.roots)]
		k := c.Kind()
		r, lo, hi, _ := c.Effective()
		for s := 0; len(steps) >= 4; s, steps = s+1, steps[4:] {
			force, m := steps[0]&1 == 1, Rights(steps[1])
			nlo, nhi := lo+uint64(int8(steps[2])), hi+uint64(int8(steps[3]))
			where := func() string {
				return fmt.Sprintf("step %d (force %v, mask %#x, [%#x, %#x]) from %v", s, force, m, nlo, nhi, &c)
			}
			legal := c.Depth() < MaxRecords && m&^r == 0 && nlo <= nhi && lo <= nlo && nhi <= hi

			var next Cap
			if !force {
				d, err := Derive(c, m, nlo, nhi)
				if (err == nil) != legal {
					t.Fatalf("%s: legal %v, Derive: %v", where(), legal, err)
				}
				if errors.Is(err, ErrChainFull) {
					return // every later step is refused the same way
				}
				if err != nil {
					continue
				}
				next = d
			} else {
				if c.Depth() == MaxRecords {
					return
				}
				next = forceRecord(c, m, nlo, nhi)
				if _, err := Parse(next[:]); err != nil {
					if _, verr := w.a.Verify(next[:], Need{Kind: k}); !errors.Is(verr, ErrMalformed) {
						t.Fatalf("%s: malformed (%v) but Verify says %v", where(), err, verr)
					}
					continue
				}
			}
			_, err := w.a.Verify(next[:], Need{Kind: k, Lo: nlo, Hi: nhi, Rights: m})
			if (err == nil) != legal {
				t.Fatalf("%s: legal %v, Verify of the claim: %v", where(), legal, err)
			}
			nr, nl, nh, ok := next.Effective()
			if nr&^r != 0 || ok && (nl < lo || nh > hi) {
				t.Fatalf("%s: amplified to %v", where(), &next)
			}
			if !ok {
				return // nothing left to derive from
			}
			if _, err := w.a.Verify(next[:], Need{Kind: k, Lo: nl, Hi: nh, Rights: nr}); err != nil {
				t.Fatalf("%s: %v does not verify for its effective grant: %v", where(), &next, err)
			}
			c, r, lo, hi = next, nr, nl, nh
		}
	})
}
