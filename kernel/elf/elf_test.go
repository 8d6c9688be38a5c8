package elf

import (
	"encoding/binary"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/exo-os/exo/kernel/elf/elftest"
)

type phdr = elftest.Prog

var lim = Limits{Start: 0x1000000, End: 0x2000000, MaxSegments: 8}

func build(entry uint64, phs []phdr, pad int) []byte { return elftest.Build(entry, phs, pad) }

// goLike has the shape the Go linker produces: text r-x, rodata r--,
// data rw- with bss, plus a note and a GNU_STACK header to skip.
func goLike() []byte {
	return build(0x1010000, []phdr{
		{Type: 4, Flags: pfR, Off: 0, FileSz: 16},
		{Type: ptLoad, Flags: pfR | pfX, Off: 0, VA: 0x1010000, FileSz: 0x100, MemSz: 0x1800},
		{Type: ptLoad, Flags: pfR, Off: 0x100, VA: 0x1012000, FileSz: 0x80, MemSz: 0x80},
		{Type: ptLoad, Flags: pfR | pfW, Off: 0x180, VA: 0x1013000, FileSz: 0x40, MemSz: 0x5000},
		{Type: 0x6474e551, Flags: pfR | pfW},
	}, 0x200)
}

func TestParseGoLike(t *testing.T) {
	b := goLike()
	img, err := Parse(b, lim)
	require.NoError(t, err)
	require.Equal(t, uint64(0x1010000), img.Entry)
	require.Len(t, img.Segments, 3)
	require.Equal(t, []Perm{Read | Exec, Read, Read | Write}, []Perm{img.Segments[0].Perm, img.Segments[1].Perm, img.Segments[2].Perm})
	require.Equal(t, b[0x180:0x1c0], img.Segments[2].Data)
	require.Equal(t, uint64(0x5000), img.Segments[2].MemSize)
	start, end := img.Pages()
	require.Equal(t, uint64(0x1010000), start)
	require.Equal(t, uint64(0x1018000), end)
}

func TestParseRejects(t *testing.T) {
	ok := func(p phdr) phdr { return p }
	text := phdr{Type: ptLoad, Flags: pfR | pfX, Off: 0, VA: 0x1010000, FileSz: 0x100, MemSz: 0x1000}
	mut := func(f func(b []byte)) []byte { b := goLike(); f(b); return b }
	le := binary.LittleEndian
	for _, tc := range []struct {
		name string
		b    []byte
		want string
	}{
		{"empty", nil, "shorter than an ELF header"},
		{"truncated header", goLike()[:40], "shorter than an ELF header"},
		{"bad magic", mut(func(b []byte) { b[1] = 'X' }), "not an ELF file"},
		{"32-bit", mut(func(b []byte) { b[4] = 1 }), "not a 64-bit little-endian"},
		{"big-endian", mut(func(b []byte) { b[5] = 2 }), "not a 64-bit little-endian"},
		{"ident version", mut(func(b []byte) { b[6] = 0 }), "identification version"},
		{"shared object", mut(func(b []byte) { le.PutUint16(b[16:], 3) }), "not an executable"},
		{"x86-64", mut(func(b []byte) { le.PutUint16(b[18:], 62) }), "not RISC-V"},
		{"version", mut(func(b []byte) { le.PutUint32(b[20:], 2) }), "version 2"},
		{"ehsize", mut(func(b []byte) { le.PutUint16(b[52:], 52) }), "header size 52"},
		{"phentsize", mut(func(b []byte) { le.PutUint16(b[54:], 32) }), "program header size 32"},
		{"no phdrs", mut(func(b []byte) { le.PutUint16(b[56:], 0) }), "no program headers"},
		{"phdrs past end", mut(func(b []byte) { le.PutUint16(b[56:], 0xffff) }), "run past the end"},
		{"phoff huge", mut(func(b []byte) { le.PutUint64(b[32:], 1<<63) }), "run past the end"},
		{"phoff wraps", mut(func(b []byte) { le.PutUint64(b[32:], ^uint64(0)-10) }), "run past the end"},
		{"dynamic", build(0x1010000, []phdr{text, {Type: ptDynamic}}, 0x100), "dynamically linked"},
		{"interp", build(0x1010000, []phdr{{Type: ptInterp}, text}, 0x100), "dynamically linked"},
		{"tls", build(0x1010000, []phdr{text, {Type: ptTLS}}, 0x100), "thread-local"},
		{"no load", build(0x1010000, []phdr{{Type: 4}}, 0), "no loadable segment"},
		{"w+x", build(0x1010000, []phdr{ok(phdr{Type: ptLoad, Flags: pfR | pfW | pfX, VA: 0x1010000, MemSz: 0x1000})}, 0), "both writable and executable"},
		{"w without r", build(0x1010000, []phdr{text, {Type: ptLoad, Flags: pfW, VA: 0x1011000, MemSz: 0x1000}}, 0x100), "writable but not readable"},
		{"no perms", build(0x1010000, []phdr{text, {Type: ptLoad, VA: 0x1011000, MemSz: 0x1000}}, 0x100), "no access permissions"},
		{"unknown flags", build(0x1010000, []phdr{{Type: ptLoad, Flags: pfR | pfX | 0x100000, VA: 0x1010000, MemSz: 0x1000}}, 0), "unknown flags"},
		{"empty segment", build(0x1010000, []phdr{text, {Type: ptLoad, Flags: pfR, VA: 0x1011000}}, 0x100), "is empty"},
		{"filesz > memsz", build(0x1010000, []phdr{{Type: ptLoad, Flags: pfR | pfX, VA: 0x1010000, FileSz: 0x100, MemSz: 0x10}}, 0x100), "exceeds memory size"},
		{"data past eof", build(0x1010000, []phdr{{Type: ptLoad, Flags: pfR | pfX, Off: 0x10, VA: 0x1010000, FileSz: 0x1000, MemSz: 0x1000}}, 0x100), "run past the end of the"},
		{"offset wraps", build(0x1010000, []phdr{{Type: ptLoad, Flags: pfR | pfX, Off: ^uint64(0), VA: 0x1010000, FileSz: 2, MemSz: 0x1000}}, 0x100), "run past the end of the"},
		{"below range", build(0x1010000, []phdr{text, {Type: ptLoad, Flags: pfR, VA: 0x1000, MemSz: 0x1000}}, 0x100), "outside the allowed range"},
		{"kernel address", build(0x1010000, []phdr{text, {Type: ptLoad, Flags: pfR | pfW, VA: 0x80000000, MemSz: 0x1000}}, 0x100), "outside the allowed range"},
		{"straddles end", build(0x1010000, []phdr{text, {Type: ptLoad, Flags: pfR, VA: 0x1fff000, MemSz: 0x2000}}, 0x100), "outside the allowed range"},
		{"huge memsz", build(0x1010000, []phdr{text, {Type: ptLoad, Flags: pfR | pfW, VA: 0x1011000, MemSz: 1 << 62}}, 0x100), "outside the allowed range"},
		{"memsz wraps", build(0x1010000, []phdr{text, {Type: ptLoad, Flags: pfR | pfW, VA: 0x1011000, MemSz: ^uint64(0) - 0x1000}}, 0x100), "outside the allowed range"},
		{"overlap", build(0x1010000, []phdr{text, {Type: ptLoad, Flags: pfR | pfW, VA: 0x1010800, MemSz: 0x1000}}, 0x100), "overlap or share a page"},
		{"share a page", build(0x1010000, []phdr{{Type: ptLoad, Flags: pfR | pfX, VA: 0x1010000, FileSz: 0x10, MemSz: 0x10}, {Type: ptLoad, Flags: pfR | pfW, VA: 0x1010ff0, MemSz: 0x10}}, 0x100), "overlap or share a page"},
		{"same segment twice", build(0x1010000, []phdr{text, text}, 0x100), "overlap or share a page"},
		{"entry outside", build(0x1500000, []phdr{text}, 0x100), "entry point 0x1500000 is not in an executable segment"},
		{"entry in data", build(0x1011000, []phdr{text, {Type: ptLoad, Flags: pfR | pfW, VA: 0x1011000, MemSz: 0x1000}}, 0x100), "not in an executable segment"},
		{"entry odd", build(0x1010001, []phdr{text}, 0x100), "misaligned"},
		{"too many segments", build(0x1010000, func() []phdr {
			var p []phdr
			for i := 0; i < 9; i++ {
				p = append(p, phdr{Type: ptLoad, Flags: pfR | pfX, VA: 0x1010000 + uint64(i)*0x1000, MemSz: 0x1000})
			}
			return p
		}(), 0), "more than 8 loadable segments"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			img, err := Parse(tc.b, lim)
			require.Nil(t, img)
			require.ErrorContains(t, err, tc.want)
			var e *Error
			require.True(t, errors.As(err, &e))
		})
	}
}

func TestBadLimits(t *testing.T) {
	_, err := Parse(goLike(), Limits{Start: 0x1000, End: 0x1000, MaxSegments: 1})
	require.ErrorContains(t, err, "invalid load range")
}

// checkInvariants asserts what every accepted image guarantees the kernel.
func checkInvariants(t testing.TB, b []byte, img *Image, lim Limits) {
	var prevEnd uint64
	entryOK := false
	for i, s := range img.Segments {
		if s.VA < lim.Start || s.VA+s.MemSize > lim.End || s.VA+s.MemSize < s.VA {
			t.Fatalf("segment %d [%#x,+%#x) escapes the limits", i, s.VA, s.MemSize)
		}
		if uint64(len(s.Data)) > s.MemSize {
			t.Fatalf("segment %d has more file bytes than memory", i)
		}
		if s.Perm&Write != 0 && s.Perm&Exec != 0 {
			t.Fatalf("segment %d is W+X", i)
		}
		if i > 0 && s.VA&^(PageSize-1) < prevEnd {
			t.Fatalf("segment %d shares a page with its predecessor", i)
		}
		prevEnd = (s.VA + s.MemSize + PageSize - 1) &^ (PageSize - 1)
		if s.Perm&Exec != 0 && img.Entry >= s.VA && img.Entry < s.VA+s.MemSize {
			entryOK = true
		}
	}
	if !entryOK {
		t.Fatalf("entry %#x outside executable segments", img.Entry)
	}
}

func FuzzParse(f *testing.F) {
	f.Add(goLike())
	f.Add(build(0x1010000, []phdr{{Type: ptLoad, Flags: pfR | pfX, VA: 0x1010000, FileSz: 0x10, MemSz: 0x10}}, 0x10))
	f.Fuzz(func(t *testing.T, b []byte) {
		img, err := Parse(b, lim)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v is not an *elf.Error", err)
			}
			return
		}
		checkInvariants(t, b, img, lim)
	})
}
