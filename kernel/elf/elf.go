// Package elf reads environment images: statically linked 64-bit RISC-V ELF
// executables (System V ABI, ELF-64 object file format v1.5). It trusts
// nothing in the file: every offset, size and address is checked before use,
// and an image that could not be loaded safely is refused with an error
// naming the header or segment at fault, rather than loaded partly.
package elf

import (
	"encoding/binary"
	"fmt"
	"sort"
)

// Header and program-header constants (ELF-64 v1.5; RISC-V ELF psABI).
const (
	ehdrSize   = 64
	phdrSize   = 56
	classELF64 = 2
	dataLSB    = 1
	versionCur = 1
	typeExec   = 2
	machRISCV  = 243

	ptLoad    = 1
	ptDynamic = 2
	ptInterp  = 3
	ptTLS     = 7

	pfX = 1
	pfW = 2
	pfR = 4
)

// PageSize is the granularity at which segments are mapped.
const PageSize = 4096

// Perm is a segment's access: a set of the bits below.
type Perm uint8

// Segment permissions.
const (
	Read Perm = 1 << iota
	Write
	Exec
)

func (p Perm) String() string {
	b := []byte("---")
	if p&Read != 0 {
		b[0] = 'r'
	}
	if p&Write != 0 {
		b[1] = 'w'
	}
	if p&Exec != 0 {
		b[2] = 'x'
	}
	return string(b)
}

// Segment is one loadable segment: MemSize bytes at VA, the first
// len(Data) of them from the file and the rest zero.
type Segment struct {
	VA      uint64
	MemSize uint64
	Data    []byte // aliases the image
	Perm    Perm
}

// Image is a parsed, validated executable.
type Image struct {
	Entry    uint64
	Segments []Segment // sorted by VA, no two sharing a page
}

// Limits is what the loader accepts.
type Limits struct {
	// Every segment must lie within [Start, End).
	Start, End uint64
	// MaxSegments bounds the number of loadable segments.
	MaxSegments int
}

// Error is a refusal to load an image.
type Error struct {
	Where  string // "header", "program header 3", ...
	Reason string
}

func (e *Error) Error() string { return "elf: " + e.Where + ": " + e.Reason }

func errf(where, format string, args ...any) error {
	return &Error{Where: where, Reason: fmt.Sprintf(format, args...)}
}

// Parse validates an image against lim and returns its segments.
func Parse(b []byte, lim Limits) (*Image, error) {
	if lim.Start%PageSize != 0 || lim.End%PageSize != 0 || lim.End <= lim.Start || lim.MaxSegments <= 0 {
		return nil, errf("limits", "invalid load range [%#x, %#x) or segment limit %d", lim.Start, lim.End, lim.MaxSegments)
	}
	if len(b) < ehdrSize {
		return nil, errf("header", "file is %d bytes, shorter than an ELF header", len(b))
	}
	if string(b[:4]) != "\x7fELF" {
		return nil, errf("header", "not an ELF file (magic % x)", b[:4])
	}
	if b[4] != classELF64 || b[5] != dataLSB {
		return nil, errf("header", "not a 64-bit little-endian ELF (class %d, data %d)", b[4], b[5])
	}
	if b[6] != versionCur {
		return nil, errf("header", "ELF identification version %d, want 1", b[6])
	}
	le := binary.LittleEndian
	typ, mach, version := le.Uint16(b[16:]), le.Uint16(b[18:]), le.Uint32(b[20:])
	entry, phoff := le.Uint64(b[24:]), le.Uint64(b[32:])
	ehsize, phentsize, phnum := le.Uint16(b[52:]), le.Uint16(b[54:]), le.Uint16(b[56:])
	switch {
	case typ != typeExec:
		return nil, errf("header", "type %d is not an executable (ET_EXEC); position-independent and relocatable objects are not supported", typ)
	case mach != machRISCV:
		return nil, errf("header", "machine %d is not RISC-V (%d)", mach, machRISCV)
	case version != versionCur:
		return nil, errf("header", "version %d, want 1", version)
	case ehsize != ehdrSize:
		return nil, errf("header", "header size %d, want %d", ehsize, ehdrSize)
	case phentsize != phdrSize:
		return nil, errf("header", "program header size %d, want %d", phentsize, phdrSize)
	case phnum == 0:
		return nil, errf("header", "no program headers")
	case phoff > uint64(len(b)) || uint64(phnum)*phdrSize > uint64(len(b))-phoff:
		return nil, errf("header", "program headers at %#x (%d of them) run past the end of the %d-byte file", phoff, phnum, len(b))
	}

	img := &Image{Entry: entry}
	for i := 0; i < int(phnum); i++ {
		where := fmt.Sprintf("program header %d", i)
		ph := b[phoff+uint64(i)*phdrSize:][:phdrSize]
		ptype, flags := le.Uint32(ph[0:]), le.Uint32(ph[4:])
		off, va := le.Uint64(ph[8:]), le.Uint64(ph[16:])
		filesz, memsz := le.Uint64(ph[32:]), le.Uint64(ph[40:])
		switch ptype {
		case ptDynamic, ptInterp:
			return nil, errf(where, "dynamically linked images are not supported")
		case ptTLS:
			return nil, errf(where, "thread-local storage segments are not supported")
		case ptLoad:
		default:
			continue // notes, GNU_STACK, RISCV_ATTRIBUTES: nothing to load
		}
		if len(img.Segments) == lim.MaxSegments {
			return nil, errf(where, "more than %d loadable segments", lim.MaxSegments)
		}
		var perm Perm
		if flags&pfR != 0 {
			perm |= Read
		}
		if flags&pfW != 0 {
			perm |= Write
		}
		if flags&pfX != 0 {
			perm |= Exec
		}
		switch {
		case flags&^(pfR|pfW|pfX) != 0:
			return nil, errf(where, "unknown flags %#x", flags)
		case perm&(Write|Exec) == Write|Exec:
			return nil, errf(where, "segment at %#x is both writable and executable", va)
		case perm&Write != 0 && perm&Read == 0:
			return nil, errf(where, "segment at %#x is writable but not readable", va)
		case perm == 0:
			return nil, errf(where, "segment at %#x has no access permissions", va)
		case memsz == 0:
			return nil, errf(where, "segment at %#x is empty", va)
		case filesz > memsz:
			return nil, errf(where, "file size %#x exceeds memory size %#x", filesz, memsz)
		case off > uint64(len(b)) || filesz > uint64(len(b))-off:
			return nil, errf(where, "file bytes [%#x, +%#x) run past the end of the %d-byte file", off, filesz, len(b))
		case va < lim.Start || va >= lim.End || memsz > lim.End-va:
			return nil, errf(where, "segment [%#x, +%#x) outside the allowed range [%#x, %#x)", va, memsz, lim.Start, lim.End)
		}
		img.Segments = append(img.Segments, Segment{VA: va, MemSize: memsz, Data: b[off : off+filesz], Perm: perm})
	}
	if len(img.Segments) == 0 {
		return nil, errf("program headers", "no loadable segment")
	}

	// Segments are mapped page by page with their own permissions, so two
	// segments must not share a page (which would also let a writable
	// segment alias an executable one).
	sort.Slice(img.Segments, func(i, j int) bool { return img.Segments[i].VA < img.Segments[j].VA })
	for i := 1; i < len(img.Segments); i++ {
		prev, s := img.Segments[i-1], img.Segments[i]
		prevEnd := (prev.VA + prev.MemSize + PageSize - 1) &^ (PageSize - 1)
		if s.VA&^(PageSize-1) < prevEnd {
			return nil, errf("program headers", "segments at %#x and %#x overlap or share a page", prev.VA, s.VA)
		}
	}

	entryOK := false
	for _, s := range img.Segments {
		if s.Perm&Exec != 0 && entry >= s.VA && entry-s.VA < s.MemSize {
			entryOK = true
		}
	}
	if !entryOK {
		return nil, errf("header", "entry point %#x is not in an executable segment", entry)
	}
	if entry%2 != 0 {
		return nil, errf("header", "entry point %#x is misaligned", entry)
	}
	return img, nil
}

// Pages returns the page-aligned range [start, end) the image's segments
// cover.
func (img *Image) Pages() (start, end uint64) {
	first, last := img.Segments[0], img.Segments[len(img.Segments)-1]
	return first.VA &^ (PageSize - 1), (last.VA + last.MemSize + PageSize - 1) &^ (PageSize - 1)
}
