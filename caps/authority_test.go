package caps

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNewAuthority(t *testing.T) {
	e := newEpochs(t)
	for _, tc := range []struct {
		name string
		key  []byte
		ep   *Epochs
		err  string
	}{
		{"nil key", nil, e, "key is 0 bytes, want at least 32"},
		{"31 bytes", key(1)[:31], e, "key is 31 bytes"},
		{"all zeros", make([]byte, 32), e, "all zeros"},
		{"no epochs", key(1), nil, "no epochs"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewAuthority(tc.key, tc.ep)
			require.ErrorContains(t, err, tc.err)
		})
	}
	a, err := NewAuthority(append(key(1), key(2)...), e) // longer keys are fine
	require.NoError(t, err)
	require.Same(t, e, a.Epochs())

	// The key is not kept: changing the caller's copy changes nothing.
	k := key(3)
	a, err = NewAuthority(k, e)
	require.NoError(t, err)
	c := mint(t, a, KindSlot, 1, 1, SlotUse)
	k[0] ^= 1
	_, err = a.Verify(c[:], Need{Kind: KindSlot, Lo: 1, Hi: 1, Rights: SlotUse})
	require.NoError(t, err)
}

func TestMint(t *testing.T) {
	a := newAuthority(t, testKey)
	for _, tc := range []struct {
		name   string
		k      Kind
		lo, hi uint64
		r      Rights
		err    error
	}{
		{"page", KindPage, pageBase, pageBase, PageRead | PageWrite | PageExec, nil},
		{"page range", KindPage, pageBase, pageBase + pages - 1, PageRead, nil},
		{"slot", KindSlot, 0, slots - 1, SlotUse, nil},
		{"env", KindEnv, 3, 3, EnvControl | EnvSend, nil},
		{"port", KindPort, PortName(0x0800, 17, 0), PortName(0x0800, 17, 0xffff), PortReceive, nil},
		{"kind 0", 0, 0, 0, 1, ErrWrongKind},
		{"reserved kind", 5, 0, 0, 1, ErrWrongKind},
		{"no rights", KindPage, pageBase, pageBase, 0, ErrRights},
		{"rights the kind lacks", KindSlot, 0, 0, SlotUse | 4, ErrRights},
		{"reversed range", KindPage, pageBase + 1, pageBase, PageRead, ErrRange},
		{"beyond the kind", KindPage, 1<<44 - 1, 1 << 44, PageRead, ErrRange},
		{"page below the table", KindPage, pageBase - 1, pageBase, PageRead, ErrRange},
		{"page past the table", KindPage, pageBase, pageBase + pages, PageRead, ErrRange},
		{"port outside the table", KindPort, PortName(0x0800, 6, 80), PortName(0x0800, 6, 80), PortReceive, ErrRange},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := a.Mint(tc.k, tc.lo, tc.hi, tc.r)
			if tc.err != nil {
				require.ErrorIs(t, err, tc.err)
				require.Equal(t, Cap{}, c)
				return
			}
			require.NoError(t, err)
			_, perr := Parse(c[:])
			require.NoError(t, perr)
			v, err := a.Verify(c[:], Need{Kind: tc.k, Lo: tc.lo, Hi: tc.hi, Rights: tc.r})
			require.NoError(t, err)
			assert.Equal(t, Verified{Kind: tc.k, Rights: tc.r, Lo: tc.lo, Hi: tc.hi}, v)
		})
	}
}

func TestVerify(t *testing.T) {
	a := newAuthority(t, testKey)
	root := mint(t, a, KindPage, pageBase+16, pageBase+31, PageRead|PageWrite)
	ro := derive(t, root, PageRead, pageBase+20, pageBase+23)
	forged := root
	forged[offMAC] ^= 1
	other := mint(t, newAuthority(t, otherKey), KindPage, pageBase+16, pageBase+31, PageRead|PageWrite)
	stale := mint(t, a, KindPage, pageBase+40, pageBase+40, PageRead)
	_, err := a.Epochs().Revoke(KindPage, pageBase+40)
	require.NoError(t, err)
	page := func(lo, hi uint64, r Rights) Need { return Need{Kind: KindPage, Lo: lo, Hi: hi, Rights: r} }

	for _, tc := range []struct {
		name string
		c    Cap
		need Need
		err  error
		want Verified
	}{
		{"root, whole range", root, page(pageBase+16, pageBase+31, PageRead|PageWrite), nil,
			Verified{Kind: KindPage, Rights: PageRead | PageWrite, Lo: pageBase + 16, Hi: pageBase + 31}},
		{"root, one page, fewer rights", root, page(pageBase+17, pageBase+17, PageWrite), nil,
			Verified{Kind: KindPage, Rights: PageRead | PageWrite, Lo: pageBase + 16, Hi: pageBase + 31}},
		{"root, no rights asked", root, page(pageBase+31, pageBase+31, 0), nil,
			Verified{Kind: KindPage, Rights: PageRead | PageWrite, Lo: pageBase + 16, Hi: pageBase + 31}},
		{"derived", ro, page(pageBase+21, pageBase+22, PageRead), nil,
			Verified{Kind: KindPage, Rights: PageRead, Lo: pageBase + 20, Hi: pageBase + 23, Depth: 1}},
		{"forged", forged, page(pageBase+16, pageBase+16, PageRead), ErrForged, Verified{}},
		{"other key", other, page(pageBase+16, pageBase+16, PageRead), ErrForged, Verified{}},
		{"wrong kind", root, Need{Kind: KindSlot, Lo: pageBase + 16, Hi: pageBase + 16}, ErrWrongKind, Verified{}},
		{"root lacks exec", root, page(pageBase+16, pageBase+16, PageExec), ErrRights, Verified{}},
		{"derived lost write", ro, page(pageBase+20, pageBase+20, PageWrite), ErrRights, Verified{}},
		{"below the range", root, page(pageBase+15, pageBase+16, PageRead), ErrRange, Verified{}},
		{"past the range", root, page(pageBase+31, pageBase+32, PageRead), ErrRange, Verified{}},
		{"derived: outside the narrowed range", ro, page(pageBase+24, pageBase+24, PageRead), ErrRange, Verified{}},
		{"need reversed", root, page(pageBase+18, pageBase+17, PageRead), ErrRange, Verified{}},
		{"revoked", stale, page(pageBase+40, pageBase+40, PageRead), ErrRevoked, Verified{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := a.Verify(tc.c[:], tc.need)
			if tc.err != nil {
				require.ErrorIs(t, err, tc.err)
				// Each refusal is exactly one of the sentinels.
				for _, s := range []error{ErrMalformed, ErrForged, ErrWrongKind, ErrRights, ErrRange, ErrChainFull, ErrRevoked} {
					if s != tc.err {
						require.NotErrorIs(t, err, s)
					}
				}
			} else {
				require.NoError(t, err)
			}
			assert.Equal(t, tc.want, v)
		})
	}
}

// Verify's refusal details live in the Authority: valid until the next call.
func TestVerifyErrorDetails(t *testing.T) {
	a := newAuthority(t, testKey)
	c := mint(t, a, KindEnv, 10, 20, EnvSend)
	_, err := a.Epochs().Revoke(KindEnv, 12)
	require.NoError(t, err)
	_, err = a.Verify(c[:], Need{Kind: KindEnv, Lo: 11, Hi: 14, Rights: EnvSend})
	var re *RevokedError
	require.True(t, errors.As(err, &re))
	assert.Equal(t, RevokedError{Kind: KindEnv, Name: 12, RevokedAt: 1, Minted: 0}, *re)
	assert.Equal(t, "caps: capability revoked: env 0xc was revoked at epoch 1, capability is of epoch 0", err.Error())

	_, err = a.Verify(c[:100], Need{})
	var fe *FormatError
	require.True(t, errors.As(err, &fe))
	assert.Equal(t, FormatError{Offset: 100, What: "length is not 144 bytes", Value: 100}, *fe)
	assert.Equal(t, "caps: malformed capability: byte 100: length is not 144 bytes (0x64)", err.Error())
}

func TestDerive(t *testing.T) {
	a := newAuthority(t, testKey)
	root := mint(t, a, KindPort, PortName(0x0800, 17, 0), PortName(0x0800, 17, 0xffff), PortReceive|PortSend)
	lo, hi := PortName(0x0800, 17, 0), PortName(0x0800, 17, 0xffff)
	dns := derive(t, root, PortReceive, PortName(0x0800, 17, 53), PortName(0x0800, 17, 53))
	full := root
	for range MaxRecords {
		full = derive(t, full, PortReceive|PortSend, lo, hi)
	}
	for _, tc := range []struct {
		name   string
		c      Cap
		m      Rights
		lo, hi uint64
		err    error
	}{
		{"same rights and range", root, PortReceive | PortSend, lo, hi, nil},
		{"fewer rights", root, PortSend, lo, hi, nil},
		{"no rights", root, 0, lo, hi, nil},
		{"narrower", root, PortReceive, lo + 1000, lo + 1999, nil},
		{"one name at each edge", root, PortSend, hi, hi, nil},
		{"derived again, same", dns, PortReceive, PortName(0x0800, 17, 53), PortName(0x0800, 17, 53), nil},
		{"add a right", dns, PortReceive | PortSend, PortName(0x0800, 17, 53), PortName(0x0800, 17, 53), ErrRights},
		{"a right the kind lacks", root, 4, lo, hi, ErrRights},
		{"widen below", root, PortReceive, lo - 1, hi, ErrRange},
		{"widen above", root, PortReceive, lo, hi + 1, ErrRange},
		{"widen a derived one", dns, PortReceive, PortName(0x0800, 17, 53), PortName(0x0800, 17, 54), ErrRange},
		{"reversed", root, PortReceive, lo + 2, lo + 1, ErrRange},
		{"chain full", full, PortReceive, lo, lo, ErrChainFull},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := Derive(tc.c, tc.m, tc.lo, tc.hi)
			if tc.err != nil {
				require.ErrorIs(t, err, tc.err)
				require.Equal(t, Cap{}, d)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.c.Depth()+1, d.Depth())
			// The parent's bytes survive unchanged up to the new record.
			n := offRecords + tc.c.Depth()*recordSize
			require.Equal(t, tc.c[offVersion+3:n], d[offVersion+3:n])
			v, err := a.Verify(d[:], Need{Kind: KindPort, Lo: tc.lo, Hi: tc.hi, Rights: tc.m})
			require.NoError(t, err)
			assert.Equal(t, Verified{Kind: KindPort, Rights: tc.m, Lo: tc.lo, Hi: tc.hi, Depth: d.Depth()}, v)
		})
	}
}

// Authenticate checks format and MAC only, in Verify's order, for every
// kind: a well-formed port capability with a bad MAC is forged, not
// anything about its kind.
func TestAuthenticate(t *testing.T) {
	a := newAuthority(t, testKey)
	port := mint(t, a, KindPort, PortName(0x0800, 17, 7), PortName(0x0800, 17, 7), PortReceive)
	v, err := a.Authenticate(port[:])
	require.NoError(t, err)
	require.Equal(t, Verified{Kind: KindPort, Rights: PortReceive, Lo: PortName(0x0800, 17, 7), Hi: PortName(0x0800, 17, 7)}, v)
	forged := port
	forged[offMAC+3] ^= 0x40
	_, err = a.Authenticate(forged[:])
	require.ErrorIs(t, err, ErrForged)
	_, err = a.Authenticate(port[:Size-1])
	require.ErrorIs(t, err, ErrMalformed)
	// Revocation is not its business: a revoked page still authenticates.
	page := mint(t, a, KindPage, pageBase+40, pageBase+41, PageRead)
	_, err = a.Epochs().Revoke(KindPage, pageBase+40)
	require.NoError(t, err)
	v, err = a.Authenticate(page[:])
	require.NoError(t, err)
	require.Equal(t, uint64(pageBase+41), v.Hi)
	allocs := testing.AllocsPerRun(50, func() { a.Authenticate(forged[:]) })
	require.Zero(t, allocs)
}

// MintAt stamps an earlier epoch: the capability is current for names not
// revoked since, and revoked for those that were.
func TestMintAt(t *testing.T) {
	a := newAuthority(t, testKey)
	ep := a.Epochs()
	_, err := ep.Revoke(KindPage, pageBase+1)
	require.NoError(t, err)
	at := ep.Now()
	_, err = ep.Revoke(KindPage, pageBase+2) // after the stamp
	require.NoError(t, err)
	c, err := a.MintAt(KindPage, pageBase, pageBase+3, PageRead, at)
	require.NoError(t, err)
	for name, want := range map[uint64]error{pageBase: nil, pageBase + 1: nil, pageBase + 2: ErrRevoked, pageBase + 3: nil} {
		_, err := a.Verify(c[:], Need{Kind: KindPage, Lo: name, Hi: name, Rights: PageRead})
		if want == nil {
			require.NoError(t, err, "name %#x", name)
		} else {
			require.ErrorIs(t, err, want, "name %#x", name)
		}
	}
	_, err = a.MintAt(KindPage, pageBase, pageBase, PageRead, ep.Now()+1)
	require.ErrorIs(t, err, ErrRange)
}
