package caps

import (
	"encoding/binary"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLayout(t *testing.T) {
	// The layout is the ABI: docs/CAPABILITIES.md states these numbers.
	assert.Equal(t, 144, Size)
	assert.Equal(t, 128, offMAC)
	assert.Equal(t, 16, TagSize)
	assert.Equal(t, 4, MaxRecords)

	a := newAuthority(t, testKey)
	c := mint(t, a, KindPage, pageBase+1, pageBase+9, PageRead|PageWrite)
	c = derive(t, c, PageRead, pageBase+2, pageBase+3)
	assert.Equal(t, []byte{Version, byte(KindPage), 1, 0, 3, 0, 0, 0}, c[:8])
	assert.Equal(t, uint64(pageBase+1), le64(c[8:]))
	assert.Equal(t, uint64(pageBase+9), le64(c[16:]))
	assert.Equal(t, uint64(0), le64(c[24:]))
	assert.Equal(t, []byte{1, 0, 0, 0, 0, 0, 0, 0}, c[32:40])
	assert.Equal(t, uint64(pageBase+2), le64(c[40:]))
	assert.Equal(t, uint64(pageBase+3), le64(c[48:]))
	assert.Equal(t, make([]byte, 3*recordSize), c[56:128])
}

func TestParseErrors(t *testing.T) {
	a := newAuthority(t, testKey)
	root := mint(t, a, KindPage, pageBase, pageBase+15, PageRead|PageWrite)
	valid := derive(t, derive(t, root, PageRead|PageWrite, pageBase+1, pageBase+8), PageRead, pageBase+2, pageBase+3)
	put32 := func(off int, v uint32) func(*Cap) { return func(c *Cap) { binary.LittleEndian.PutUint32(c[off:], v) } }
	put64 := func(off int, v uint64) func(*Cap) { return func(c *Cap) { binary.LittleEndian.PutUint64(c[off:], v) } }
	set := func(off int, v byte) func(*Cap) { return func(c *Cap) { c[off] = v } }

	for _, tc := range []struct {
		name   string
		raw    []byte     // used if non-nil
		edit   func(*Cap) // applied to valid otherwise
		offset int
		what   string
	}{
		{name: "empty", raw: []byte{}, offset: 0, what: "length"},
		{name: "one short", raw: valid[:Size-1], offset: Size - 1, what: "length"},
		{name: "one long", raw: append(valid[:], 0), offset: Size, what: "length"},
		{name: "version 0", edit: set(0, 0), offset: 0, what: "unknown version"},
		{name: "version 2", edit: set(0, 2), offset: 0, what: "unknown version"},
		{name: "kind 0", edit: set(1, 0), offset: 1, what: "unknown kind"},
		{name: "reserved kind 5", edit: set(1, 5), offset: 1, what: "unknown kind"},
		{name: "kind 255", edit: set(1, 255), offset: 1, what: "unknown kind"},
		{name: "count past slots", edit: set(2, MaxRecords+1), offset: 2, what: "more derivation records"},
		{name: "reserved byte", edit: set(3, 1), offset: 3, what: "reserved byte"},
		{name: "rights beyond the kind", edit: put32(4, uint32(PageRevoke)<<1), offset: 4, what: "rights bits"},
		{name: "root range reversed", edit: put64(8, pageBase+16), offset: 8, what: "range starts after"},
		{name: "root name beyond the kind", edit: put64(16, 1<<44), offset: 16, what: "beyond the kind"},
		{name: "record 1 mask", edit: put32(32, 16), offset: 32, what: "record mask"},
		{name: "record 1 reserved", edit: put32(36, 1), offset: 36, what: "record reserved"},
		{name: "record 1 reversed", edit: put64(40, pageBase+9), offset: 40, what: "range starts after"},
		{name: "record 1 beyond the kind", edit: put64(48, 1<<44), offset: 48, what: "beyond the kind"},
		{name: "record 2 mask", edit: put32(56, 1<<31), offset: 56, what: "record mask"},
		{name: "record 2 reserved", edit: set(63, 0x80), offset: 60, what: "record reserved"},
		{name: "record 2 reversed", edit: put64(64, pageBase+4), offset: 64, what: "range starts after"},
		{name: "slot 3 used past the count", edit: set(80+5, 1), offset: 85, what: "past the count"},
		{name: "slot 4 used past the count", edit: set(127, 1), offset: 127, what: "past the count"},
		{name: "count says one, two records", edit: set(2, 1), offset: 56, what: "past the count"},
		{name: "count says none, two records", edit: set(2, 0), offset: 32, what: "past the count"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw := tc.raw
			if raw == nil {
				c := valid
				tc.edit(&c)
				raw = c[:]
			}
			_, err := Parse(raw)
			require.ErrorIs(t, err, ErrMalformed)
			var fe *FormatError
			require.True(t, errors.As(err, &fe))
			assert.Equal(t, tc.offset, fe.Offset, "%v", err)
			assert.Contains(t, fe.What, tc.what)
			assert.Contains(t, err.Error(), "byte ")

			// Verify reports the same, and so does Derive.
			_, verr := a.Verify(raw, needAll(valid))
			assert.Equal(t, err.Error(), verr.Error())
			if len(raw) == Size {
				_, derr := Derive(Cap(raw), 0, pageBase+2, pageBase+2)
				assert.Equal(t, err.Error(), derr.Error())
			}
		})
	}
}

func TestParseAcceptsWhatMintAndDeriveMake(t *testing.T) {
	a := newAuthority(t, testKey)
	c := mint(t, a, KindPort, PortName(0x0800, 17, 53), PortName(0x0800, 17, 53), PortReceive|PortSend)
	for range MaxRecords {
		p, err := Parse(c[:])
		require.NoError(t, err)
		require.Equal(t, c, p)
		c = derive(t, c, PortReceive, PortName(0x0800, 17, 53), PortName(0x0800, 17, 53))
	}
	b, err := c.MarshalBinary()
	require.NoError(t, err)
	var u Cap
	require.NoError(t, u.UnmarshalBinary(b))
	require.Equal(t, c, u)
	require.ErrorIs(t, u.UnmarshalBinary(b[1:]), ErrMalformed)
	require.Equal(t, c, u, "unchanged on error")
	assert.Equal(t, "port [0x800110035, 0x800110035] receive, epoch 0, 4 derivations", c.String())
}

func TestKinds(t *testing.T) {
	for _, tc := range []struct {
		k    Kind
		all  Rights
		max  uint64
		name string
	}{
		{KindPage, PageRead | PageWrite | PageExec | PageRevoke, 1<<44 - 1, "page"},
		{KindSlot, SlotUse | SlotRevoke, 1<<32 - 1, "slot"},
		{KindEnv, EnvControl | EnvSend | EnvSpawn | EnvRevoke, 1<<32 - 1, "env"},
		{KindPort, PortReceive | PortSend | PortRevoke, 1<<40 - 1, "port"},
	} {
		assert.True(t, tc.k.Valid())
		assert.Equal(t, tc.all, tc.k.All(), tc.name)
		assert.Equal(t, tc.max, tc.k.MaxName(), tc.name)
		assert.Equal(t, tc.name, tc.k.String())
	}
	for _, k := range []Kind{0, 5, 6, 7, 255} {
		assert.False(t, k.Valid())
		assert.Zero(t, k.All())
	}
	assert.Equal(t, "read|exec", (PageRead | PageExec).Format(KindPage))
	assert.Equal(t, "use|0xc", (SlotUse | 12).Format(KindSlot))
	assert.Equal(t, "none", Rights(0).Format(KindEnv))
}

func TestPortName(t *testing.T) {
	n := PortName(0x86dd, 6, 443)
	assert.Equal(t, uint64(0x86dd_06_01bb), n)
	e, p, port := SplitPortName(n)
	assert.Equal(t, []uint64{0x86dd, 6, 443}, []uint64{uint64(e), uint64(p), uint64(port)})
	assert.LessOrEqual(t, PortName(0xffff, 0xff, 0xffff), KindPort.MaxName())
}

// The accessors read any 144 bytes without faulting: a count beyond the
// room for records makes Effective report nothing granted (fuzz finding,
// FuzzSystemCalls 3a99fe9151c9dd07: a mutated capability's count byte).
func TestAccessorsOnAnyBytes(t *testing.T) {
	for count := 0; count < 256; count++ {
		var c Cap
		c[offVersion], c[offKind], c[offCount] = Version, byte(KindPage), byte(count)
		putRange(&c, 1, 9)
		r, _, _, ok := c.Effective()
		switch {
		case count == 0:
			require.True(t, ok)
		case count > MaxRecords:
			require.False(t, ok, "count %d", count)
			require.Zero(t, r)
		}
		require.NotEmpty(t, c.String())
		m, l, h := c.Record(count)
		if count >= MaxRecords {
			require.Zero(t, uint64(m)+l+h)
		}
	}
}

func putRange(c *Cap, lo, hi uint64) {
	for i := 0; i < 8; i++ {
		c[offLo+i], c[offHi+i] = byte(lo>>(8*i)), byte(hi>>(8*i))
	}
}
