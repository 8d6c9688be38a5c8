package ash

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"fmt"
)

// LoadELF extracts a program from a relocatable eBPF object, as written by
//
//	clang -target bpf -O2 -c prog.c -o prog.o
//
// name selects the program: a section name (SEC("ash") in the C source puts
// the function in section "ash"), or the name of a function symbol, whose
// bytes are then taken from its section. With name "" the object must have
// exactly one executable section holding instructions.
//
// Objects are untrusted input: LoadELF checks every size and offset, and
// refuses what this machine cannot run with an error naming it. Programs
// refer to no maps and no global data, and call no other BPF functions, so
// any relocation that applies to the program's instructions (a map or
// global reference in lddw, a call to a non-inlined function) is an error
// naming the symbol and the instruction. The result still has to pass
// [Verify].
func LoadELF(obj []byte, name string) ([]Instruction, error) {
	f, err := elf.NewFile(bytes.NewReader(obj))
	if err != nil {
		return nil, fmt.Errorf("ash: elf: %v", err)
	}
	switch {
	case f.Class != elf.ELFCLASS64:
		return nil, fmt.Errorf("ash: elf: %v object; eBPF objects are ELFCLASS64", f.Class)
	case f.Data != elf.ELFDATA2LSB:
		return nil, fmt.Errorf("ash: elf: %v object; this machine runs little-endian eBPF (clang -target bpf or bpfel)", f.Data)
	case f.Machine != elf.EM_BPF:
		return nil, fmt.Errorf("ash: elf: machine %v, not EM_BPF (compile with clang -target bpf)", f.Machine)
	case f.Type != elf.ET_REL:
		return nil, fmt.Errorf("ash: elf: type %v, not a relocatable object (clang -c)", f.Type)
	}
	syms, err := f.Symbols()
	if err != nil && err != elf.ErrNoSymbols {
		return nil, fmt.Errorf("ash: elf: symbol table: %v", err)
	}

	sec, lo, hi, err := findProgram(f, syms, name)
	if err != nil {
		return nil, err
	}
	if sec.Type == elf.SHT_NOBITS {
		return nil, fmt.Errorf("ash: elf: section %q has no contents", sec.Name)
	}
	data, err := sec.Data()
	if err != nil {
		return nil, fmt.Errorf("ash: elf: section %q: %v", sec.Name, err)
	}
	if hi == 0 {
		hi = uint64(len(data))
	}
	if lo > hi || hi > uint64(len(data)) {
		return nil, fmt.Errorf("ash: elf: program bytes [%d, %d) outside section %q of %d bytes", lo, hi, sec.Name, len(data))
	}
	if lo%InsnSize != 0 || (hi-lo)%InsnSize != 0 || hi == lo {
		return nil, fmt.Errorf("ash: elf: program in %q at [%d, %d) is not a nonempty whole number of %d-byte instructions", sec.Name, lo, hi, InsnSize)
	}
	if (hi-lo)/InsnSize > MaxInsns {
		return nil, fmt.Errorf("ash: elf: program in %q has %d instructions, above the limit of %d", sec.Name, (hi-lo)/InsnSize, MaxInsns)
	}
	if err := checkRelocs(f, syms, sec, lo, hi); err != nil {
		return nil, err
	}
	return Decode(data[lo:hi])
}

// findProgram returns the section holding the program and the byte range of
// the program in it (hi == 0: to the end of the section).
func findProgram(f *elf.File, syms []elf.Symbol, name string) (*elf.Section, uint64, uint64, error) {
	isCode := func(s *elf.Section) bool {
		return s.Type == elf.SHT_PROGBITS && s.Flags&elf.SHF_EXECINSTR != 0 && s.Size > 0
	}
	if name == "" {
		var found *elf.Section
		for _, s := range f.Sections {
			if isCode(s) {
				if found != nil {
					return nil, 0, 0, fmt.Errorf("ash: elf: several program sections (%q, %q); name one", found.Name, s.Name)
				}
				found = s
			}
		}
		if found == nil {
			return nil, 0, 0, fmt.Errorf("ash: elf: no executable section with instructions")
		}
		return found, 0, 0, nil
	}
	for _, s := range f.Sections {
		if s.Name == name {
			if !isCode(s) {
				return nil, 0, 0, fmt.Errorf("ash: elf: section %q is not an executable section with instructions", name)
			}
			return s, 0, 0, nil
		}
	}
	for _, sym := range syms {
		if sym.Name != name || elf.ST_TYPE(sym.Info) != elf.STT_FUNC {
			continue
		}
		if int(sym.Section) <= 0 || int(sym.Section) >= len(f.Sections) {
			return nil, 0, 0, fmt.Errorf("ash: elf: function %q is in no section of this object (index %d)", name, sym.Section)
		}
		s := f.Sections[sym.Section]
		if !isCode(s) {
			return nil, 0, 0, fmt.Errorf("ash: elf: function %q is in %q, not an executable section", name, s.Name)
		}
		end := sym.Value + sym.Size
		if sym.Size == 0 || end < sym.Value {
			return nil, 0, 0, fmt.Errorf("ash: elf: function %q has no size", name)
		}
		return s, sym.Value, end, nil
	}
	return nil, 0, 0, fmt.Errorf("ash: elf: no section or function named %q", name)
}

// eBPF relocation types (LLVM's BPF ELF relocations, as Linux's
// Documentation/bpf/llvm_reloc.rst lists them).
var bpfRelocNames = map[uint32]string{
	0: "R_BPF_NONE", 1: "R_BPF_64_64", 2: "R_BPF_64_ABS64", 3: "R_BPF_64_ABS32",
	4: "R_BPF_64_NODYLD32", 10: "R_BPF_64_32",
}

// checkRelocs refuses any relocation that applies to the program's bytes.
func checkRelocs(f *elf.File, syms []elf.Symbol, prog *elf.Section, lo, hi uint64) error {
	var progIdx int
	for i, s := range f.Sections {
		if s == prog {
			progIdx = i
		}
	}
	for _, rs := range f.Sections {
		if (rs.Type != elf.SHT_REL && rs.Type != elf.SHT_RELA) || int(rs.Info) != progIdx {
			continue
		}
		if rs.Type == elf.SHT_RELA {
			return fmt.Errorf("ash: elf: %s: RELA relocations for the program section are not supported", rs.Name)
		}
		b, err := rs.Data()
		if err != nil {
			return fmt.Errorf("ash: elf: %s: %v", rs.Name, err)
		}
		if len(b)%16 != 0 {
			return fmt.Errorf("ash: elf: %s: %d bytes is not a whole number of 16-byte Elf64_Rel entries", rs.Name, len(b))
		}
		for i := 0; i+16 <= len(b); i += 16 {
			off := binary.LittleEndian.Uint64(b[i:])
			info := binary.LittleEndian.Uint64(b[i+8:])
			if off < lo || off >= hi {
				continue // another function in the same section
			}
			typ, symIdx := uint32(info), info>>32
			typName := bpfRelocNames[typ]
			if typName == "" {
				typName = fmt.Sprintf("relocation type %d", typ)
			}
			sym := fmt.Sprintf("symbol #%d", symIdx)
			// Symbols() drops the null symbol 0, so entry n is syms[n-1].
			if symIdx >= 1 && symIdx <= uint64(len(syms)) {
				s := syms[symIdx-1]
				sym = fmt.Sprintf("symbol %q", s.Name)
				if s.Name == "" && int(s.Section) > 0 && int(s.Section) < len(f.Sections) {
					sym = fmt.Sprintf("section %q", f.Sections[s.Section].Name)
				}
			}
			what := "a map or global variable (lddw)"
			if typ == 10 {
				what = "a call to a BPF function that was not inlined"
			}
			return fmt.Errorf("ash: elf: instruction %d refers to %s via %s, %s: programs may use no maps, globals or bpf-to-bpf calls (mark functions static __always_inline)",
				(off-lo)/InsnSize, sym, typName, what)
		}
	}
	return nil
}
