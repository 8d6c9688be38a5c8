package ash

import (
	"fmt"
	"strings"
)

// The text syntax is LLVM's BPF assembly ("pseudo-C"), as llvm-objdump prints
// it and clang -target bpf assembles it, e.g.
//
//	r2 = *(u64 *)(r1 + 8)
//	if r3 > r2 goto +8
//	w1 += 5
//	r3 = be16 r3
//	r1 = 81985529216486895 ll
//
// extended the way newer LLVM releases write the forms LLVM 14 lacks
// (r1 %= r2, if r1 & 4 goto +1, *(u32 *)(r10 - 8) = 7). Slots that no
// mnemonic expresses exactly (reserved fields set, unknown opcodes) are
// written ".insn OP, DST, SRC, OFF, IMM" so that every byte string survives
// a disassemble-assemble round trip.

var aluSyms = map[ALUOp]string{
	ALUAdd: "+=", ALUSub: "-=", ALUMul: "*=", ALUDiv: "/=", ALUOr: "|=", ALUAnd: "&=",
	ALULsh: "<<=", ALURsh: ">>=", ALUMod: "%=", ALUXor: "^=", ALUMov: "=", ALUArsh: "s>>=",
}

var jumpSyms = map[JumpOp]string{
	JumpEq: "==", JumpGT: ">", JumpGE: ">=", JumpSet: "&", JumpNE: "!=", JumpSGT: "s>",
	JumpSGE: "s>=", JumpLT: "<", JumpLE: "<=", JumpSLT: "s<", JumpSLE: "s<=",
}

var sizeNames = map[Size]string{SizeB: "u8", SizeH: "u16", SizeW: "u32", SizeDW: "u64"}

func signed(off int16) string {
	if off < 0 {
		return fmt.Sprintf("- %d", -int32(off))
	}
	return fmt.Sprintf("+ %d", off)
}

func jumpOff(off int16) string {
	if off < 0 {
		return fmt.Sprintf("%d", off)
	}
	return fmt.Sprintf("+%d", off)
}

// mnemonic renders one instruction (two slots for lddw) without checking that
// the text re-encodes to the same bytes.
func mnemonic(prog []Instruction, pc int) (string, int) {
	in := prog[pc]
	r := func(x Reg, w bool) string {
		if w {
			return fmt.Sprintf("w%d", x)
		}
		return fmt.Sprintf("r%d", x)
	}
	switch in.Class() {
	case ClassLD:
		if in.Op == OpLdDW && pc+1 < len(prog) {
			v := uint64(uint32(in.Imm)) | uint64(uint32(prog[pc+1].Imm))<<32
			return fmt.Sprintf("%s = %d ll", r(in.Dst, false), int64(v)), 2
		}
	case ClassLDX:
		if in.Op&modeMask == ModeMEM {
			return fmt.Sprintf("%s = *(%s *)(%s %s)", r(in.Dst, false), sizeNames[Size(in.Op&sizeMask)], r(in.Src, false), signed(in.Off)), 1
		}
	case ClassST:
		if in.Op&modeMask == ModeMEM {
			return fmt.Sprintf("*(%s *)(%s %s) = %d", sizeNames[Size(in.Op&sizeMask)], r(in.Dst, false), signed(in.Off), in.Imm), 1
		}
	case ClassSTX:
		if in.Op&modeMask == ModeMEM {
			return fmt.Sprintf("*(%s *)(%s %s) = %s", sizeNames[Size(in.Op&sizeMask)], r(in.Dst, false), signed(in.Off), r(in.Src, false)), 1
		}
	case ClassALU, ClassALU64:
		w := in.Class() == ClassALU
		op := ALUOp(in.Op & opMask)
		switch op {
		case ALUNeg:
			return fmt.Sprintf("%s = -%s", r(in.Dst, w), r(in.Dst, w)), 1
		case ALUEnd:
			kind := "le"
			if in.Op&SrcX != 0 {
				kind = "be"
			}
			return fmt.Sprintf("%s = %s%d %s", r(in.Dst, false), kind, in.Imm, r(in.Dst, false)), 1
		}
		if sym, ok := aluSyms[op]; ok {
			if in.Op&SrcX != 0 {
				return fmt.Sprintf("%s %s %s", r(in.Dst, w), sym, r(in.Src, w)), 1
			}
			return fmt.Sprintf("%s %s %d", r(in.Dst, w), sym, in.Imm), 1
		}
	case ClassJMP, ClassJMP32:
		w := in.Class() == ClassJMP32
		op := JumpOp(in.Op & opMask)
		switch op {
		case JumpA:
			return "goto " + jumpOff(in.Off), 1
		case JumpCall:
			return fmt.Sprintf("call %d", in.Imm), 1
		case JumpExit:
			return "exit", 1
		}
		if sym, ok := jumpSyms[op]; ok {
			if in.Op&SrcX != 0 {
				return fmt.Sprintf("if %s %s %s goto %s", r(in.Dst, w), sym, r(in.Src, w), jumpOff(in.Off)), 1
			}
			return fmt.Sprintf("if %s %s %d goto %s", r(in.Dst, w), sym, in.Imm, jumpOff(in.Off)), 1
		}
	}
	return "", 1
}

func rawSlot(in Instruction) string {
	return fmt.Sprintf(".insn %#02x, %d, %d, %d, %d", in.Op, in.Dst, in.Src, in.Off, in.Imm)
}

// DisassembleOne renders the instruction at pc and returns the number of
// slots it covers (2 for lddw).
func DisassembleOne(prog []Instruction, pc int) (string, int) {
	text, n := mnemonic(prog, pc)
	if text != "" {
		// Keep the mnemonic only if it encodes back to exactly these slots.
		if got, err := assembleLine(text, nil, 0); err == nil && len(got) == n && equalSlots(got, prog[pc:pc+n]) {
			return text, n
		}
	}
	return rawSlot(prog[pc]), 1
}

func equalSlots(a, b []Instruction) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Disassemble renders a program, one instruction per line, in the canonical
// text form that Assemble reads back to the same slots.
func Disassemble(prog []Instruction) string {
	var sb strings.Builder
	for pc := 0; pc < len(prog); {
		text, n := DisassembleOne(prog, pc)
		sb.WriteString(text)
		sb.WriteByte('\n')
		pc += n
	}
	return sb.String()
}

// DisassembleListing is Disassemble with each line prefixed by its slot
// index, in the style of llvm-objdump, for people rather than round trips.
func DisassembleListing(prog []Instruction) string {
	var sb strings.Builder
	for pc := 0; pc < len(prog); {
		text, n := DisassembleOne(prog, pc)
		fmt.Fprintf(&sb, "%5d:\t%s\n", pc, text)
		pc += n
	}
	return sb.String()
}
