package caps

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTrack(t *testing.T) {
	var e Epochs
	require.NoError(t, e.Track(KindSlot, 0, 64))
	require.ErrorContains(t, e.Track(KindSlot, 0, 64), "already tracked")
	require.ErrorContains(t, e.Track(5, 0, 1), "unknown kind")
	require.ErrorIs(t, e.Track(KindEnv, 0, 0), ErrRange)
	require.ErrorIs(t, e.Track(KindEnv, 1<<32, 1), ErrRange)
	require.ErrorIs(t, e.Track(KindEnv, 1<<32-1, 2), ErrRange)
	require.NoError(t, e.Track(KindEnv, 1<<32-1, 1))

	assert.True(t, e.Tracks(KindSlot, 0, 63))
	assert.False(t, e.Tracks(KindSlot, 0, 64))
	assert.False(t, e.Tracks(KindSlot, 2, 1))
	assert.False(t, e.Tracks(KindPage, 0, 0))
	assert.False(t, e.Tracks(9, 0, 0))
	assert.True(t, e.Tracks(KindEnv, 1<<32-1, 1<<32-1))
	assert.False(t, e.Tracks(KindEnv, 0, 0))
}

func TestRevokeEpochs(t *testing.T) {
	var e Epochs
	require.NoError(t, e.Track(KindPage, 100, 10))
	assert.Zero(t, e.Now())
	n, err := e.Revoke(KindPage, 103)
	require.NoError(t, err)
	assert.Equal(t, uint64(1), n)
	n, err = e.RevokeRange(KindPage, 105, 109)
	require.NoError(t, err)
	assert.Equal(t, uint64(2), n)
	assert.Equal(t, uint64(2), e.Now())
	assert.Equal(t, []uint64{0, 0, 0, 1, 0, 2, 2, 2, 2, 2}, e.tables[KindPage][0].e)
	assert.Equal(t, uint64(1), e.Epoch(KindPage, 103))
	assert.Zero(t, e.Epoch(KindPage, 99))

	_, err = e.Revoke(KindPage, 110)
	require.ErrorIs(t, err, ErrRange)
	_, err = e.Revoke(KindSlot, 0)
	require.ErrorIs(t, err, ErrRange)
	assert.Equal(t, uint64(2), e.Now(), "a refused revocation does not move the counter")

	require.NoError(t, e.Check(KindPage, 100, 102, 0))
	require.NoError(t, e.Check(KindPage, 100, 109, 2))
	err = e.Check(KindPage, 100, 109, 1)
	var re *RevokedError
	require.True(t, errors.As(err, &re))
	assert.Equal(t, RevokedError{Kind: KindPage, Name: 105, RevokedAt: 2, Minted: 1}, *re)
	require.ErrorIs(t, e.Check(KindPage, 100, 110, 5), ErrRange)

	e.now = 1<<64 - 1
	_, err = e.Revoke(KindPage, 100)
	require.ErrorContains(t, err, "exhausted")
}

// TestRevocation: a revocation stops every capability for the name minted
// before it, derived ones included, names the resource lost, and spares
// capabilities minted after it.
func TestRevocation(t *testing.T) {
	a := newAuthority(t, testKey)
	e := a.Epochs()
	for _, k := range []Kind{KindPage, KindSlot, KindEnv, KindPort} {
		t.Run(k.String(), func(t *testing.T) {
			lo := e.tables[k][0].base + 8
			hi, victim := lo+15, lo+5
			old := mint(t, a, k, lo, hi, k.All())
			held := []Cap{old}
			for c := old; c.Depth() < MaxRecords; {
				c = derive(t, c, k.All()&1, lo+uint64(c.Depth())+1, hi-1)
				held = append(held, c)
			}
			side := derive(t, old, k.All(), lo, lo+2) // does not cover the victim
			at, err := e.Revoke(k, victim)
			require.NoError(t, err)
			fresh := mint(t, a, k, lo, hi, k.All())
			assert.Equal(t, at, fresh.Epoch())

			for _, c := range held {
				_, err := a.Verify(c[:], Need{Kind: k, Lo: victim, Hi: victim})
				var re *RevokedError
				require.True(t, errors.As(err, &re), "depth %d: %v", c.Depth(), err)
				assert.Equal(t, RevokedError{Kind: k, Name: victim, RevokedAt: at, Minted: c.Epoch()}, *re)
				require.ErrorIs(t, err, ErrRevoked)

				// A range over the victim names it too.
				_, err = a.Verify(c[:], needAll(c))
				require.True(t, errors.As(err, &re), "depth %d: %v", c.Depth(), err)
				assert.Equal(t, victim, re.Name)

				// Other names stay usable: revocation takes what it names.
				_, err = a.Verify(c[:], Need{Kind: k, Lo: victim + 1, Hi: victim + 1})
				require.NoError(t, err)
			}
			_, err = a.Verify(side[:], needAll(side))
			require.NoError(t, err)
			_, err = a.Verify(fresh[:], needAll(fresh))
			require.NoError(t, err)
			d := derive(t, fresh, 0, victim, victim)
			_, err = a.Verify(d[:], needAll(d))
			require.NoError(t, err)
		})
	}
}

// Check with block maxima finds exactly what a name-by-name scan finds,
// for ranges that start, end and span anywhere across block boundaries.
func TestCheckMatchesNameByName(t *testing.T) {
	const base, n = 5000, 5 * blockNames
	var e Epochs
	require.NoError(t, e.Track(KindPage, base, n))
	naive := make([]uint64, n)
	rng := uint64(0x9e3779b97f4a7c15)
	next := func(m uint64) uint64 {
		rng ^= rng << 13
		rng ^= rng >> 7
		rng ^= rng << 17
		return rng % m
	}
	for round := 0; round < 2000; round++ {
		if round%3 == 0 {
			lo := next(n)
			hi := min(n-1, lo+next(3*blockNames))
			at, err := e.RevokeRange(KindPage, base+lo, base+hi)
			require.NoError(t, err)
			for i := lo; i <= hi; i++ {
				naive[i] = at
			}
		}
		lo := next(n)
		hi := min(n-1, lo+next(4*blockNames))
		epoch := next(e.Now() + 1)
		var want error
		for i := lo; i <= hi; i++ {
			if naive[i] > epoch {
				want = &RevokedError{Kind: KindPage, Name: base + i, RevokedAt: naive[i], Minted: epoch}
				break
			}
		}
		got := e.Check(KindPage, base+lo, base+hi, epoch)
		require.Equal(t, want, got, "round %d: [%d, %d] at epoch %d", round, lo, hi, epoch)
	}
}

// TestTrackSparse: a kind tracked in several disjoint ranges revokes and
// checks within each, refuses ranges across or between them, and refuses
// overlapping or too many tables.
func TestTrackSparse(t *testing.T) {
	var e Epochs
	require.NoError(t, e.Track(KindPort, PortName(0x0806, 0, 0), 1<<16))
	require.NoError(t, e.Track(KindPort, PortName(0x0800, 17, 0), 1<<16))
	require.ErrorContains(t, e.Track(KindPort, PortName(0x0800, 17, 5), 1), "already tracked")
	require.NoError(t, e.Track(KindPort, PortName(0x0800, 6, 0), 1<<16))
	require.NoError(t, e.Track(KindPort, PortName(0x0800, 1, 0), 256))
	require.ErrorContains(t, e.Track(KindPort, PortName(0x0800, 2, 0), 1), "ranges already tracked")

	udp7 := PortName(0x0800, 17, 7)
	assert.True(t, e.Tracks(KindPort, udp7, udp7+10))
	assert.False(t, e.Tracks(KindPort, PortName(0x0800, 6, 0xffff), PortName(0x0800, 7, 0)), "across a table's end")
	assert.False(t, e.Tracks(KindPort, PortName(0x0800, 2, 0), PortName(0x0800, 2, 0)), "between tables")
	_, err := e.Revoke(KindPort, udp7)
	require.NoError(t, err)
	assert.Equal(t, uint64(1), e.Epoch(KindPort, udp7))
	assert.Zero(t, e.Epoch(KindPort, PortName(0x0800, 6, 7)), "the same port of another table is untouched")
	require.Error(t, e.Check(KindPort, udp7, udp7, 0))
	require.NoError(t, e.Check(KindPort, PortName(0x0800, 6, 7), PortName(0x0800, 6, 7), 0))
	require.ErrorIs(t, e.Check(KindPort, PortName(0x0800, 6, 0xfff0), PortName(0x0800, 17, 3), 0), ErrRange)
}
