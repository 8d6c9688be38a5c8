// Package elftest writes small ELF-64 RISC-V executables for tests of the
// loader and the kernel.
package elftest

import "encoding/binary"

// Program header types and flags.
const (
	PTLoad    = 1
	PTDynamic = 2
	PTInterp  = 3
	PTNote    = 4
	PTTLS     = 7
	PFX       = 1
	PFW       = 2
	PFR       = 4
)

// Prog is one program header.
type Prog struct {
	Type, Flags   uint32
	Off, VA       uint64
	FileSz, MemSz uint64
}

// Build returns an executable with the given entry and program headers,
// followed by pad bytes of data (byte i of the file holds i mod 256).
func Build(entry uint64, progs []Prog, pad int) []byte {
	const ehdr, phdr = 64, 56
	b := make([]byte, ehdr+phdr*len(progs)+pad)
	copy(b, "\x7fELF")
	b[4], b[5], b[6] = 2, 1, 1 // 64-bit, little-endian, version 1
	le := binary.LittleEndian
	le.PutUint16(b[16:], 2)   // ET_EXEC
	le.PutUint16(b[18:], 243) // EM_RISCV
	le.PutUint32(b[20:], 1)
	le.PutUint64(b[24:], entry)
	le.PutUint64(b[32:], ehdr)
	le.PutUint16(b[52:], ehdr)
	le.PutUint16(b[54:], phdr)
	le.PutUint16(b[56:], uint16(len(progs)))
	for i, p := range progs {
		h := b[ehdr+i*phdr:]
		le.PutUint32(h[0:], p.Type)
		le.PutUint32(h[4:], p.Flags)
		le.PutUint64(h[8:], p.Off)
		le.PutUint64(h[16:], p.VA)
		le.PutUint64(h[32:], p.FileSz)
		le.PutUint64(h[40:], p.MemSz)
	}
	for i := ehdr + phdr*len(progs); i < len(b); i++ {
		b[i] = byte(i)
	}
	return b
}
