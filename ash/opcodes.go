package ash

// Opcode fields, as laid out by the eBPF instruction set (RFC 9669, section
// 3): the low three bits are the class; for ALU and jump classes the next bit
// is the source (immediate or register) and the top four bits the operation;
// for load and store classes bits 3-4 are the size and bits 5-7 the mode.
const (
	ClassLD    = 0x00 // lddw only in this subset
	ClassLDX   = 0x01 // load from memory into a register
	ClassST    = 0x02 // store an immediate to memory
	ClassSTX   = 0x03 // store a register to memory
	ClassALU   = 0x04 // 32-bit arithmetic, result zero-extended
	ClassJMP   = 0x05 // 64-bit comparisons, call, exit
	ClassJMP32 = 0x06 // 32-bit comparisons
	ClassALU64 = 0x07 // 64-bit arithmetic

	SrcK = 0x00 // operand is the immediate
	SrcX = 0x08 // operand is the source register

	ModeIMM    = 0x00 // with ClassLD and SizeDW: lddw
	ModeMEM    = 0x60 // register + offset addressing
	modeAtomic = 0xc0 // not in the subset

	classMask = 0x07
	sizeMask  = 0x18
	modeMask  = 0xe0
	opMask    = 0xf0
)

// Size is the width of a memory access.
type Size uint8

// Access sizes (the opcode's size field).
const (
	SizeW  Size = 0x00 // 4 bytes
	SizeH  Size = 0x08 // 2 bytes
	SizeB  Size = 0x10 // 1 byte
	SizeDW Size = 0x18 // 8 bytes
)

// Bytes returns the number of bytes the size moves.
func (s Size) Bytes() int {
	switch s {
	case SizeB:
		return 1
	case SizeH:
		return 2
	case SizeW:
		return 4
	default:
		return 8
	}
}

// ALUOp is an arithmetic operation (the top four bits of an ALU opcode).
type ALUOp uint8

// Arithmetic operations. Division and modulo are unsigned; x/0 = 0 and
// x%0 = x as RFC 9669 defines. Shift counts are masked to the operand width.
const (
	ALUAdd  ALUOp = 0x00
	ALUSub  ALUOp = 0x10
	ALUMul  ALUOp = 0x20
	ALUDiv  ALUOp = 0x30
	ALUOr   ALUOp = 0x40
	ALUAnd  ALUOp = 0x50
	ALULsh  ALUOp = 0x60
	ALURsh  ALUOp = 0x70
	ALUNeg  ALUOp = 0x80
	ALUMod  ALUOp = 0x90
	ALUXor  ALUOp = 0xa0
	ALUMov  ALUOp = 0xb0
	ALUArsh ALUOp = 0xc0
	ALUEnd  ALUOp = 0xd0 // byte swap; ALU class only; SrcX means "to big endian"
)

// JumpOp is a jump operation (the top four bits of a JMP/JMP32 opcode).
type JumpOp uint8

// Jump operations. Unsigned comparisons unless the name has an S.
const (
	JumpA    JumpOp = 0x00 // unconditional
	JumpEq   JumpOp = 0x10
	JumpGT   JumpOp = 0x20
	JumpGE   JumpOp = 0x30
	JumpSet  JumpOp = 0x40 // dst & src != 0
	JumpNE   JumpOp = 0x50
	JumpSGT  JumpOp = 0x60
	JumpSGE  JumpOp = 0x70
	JumpCall JumpOp = 0x80
	JumpExit JumpOp = 0x90
	JumpLT   JumpOp = 0xa0
	JumpLE   JumpOp = 0xb0
	JumpSLT  JumpOp = 0xc0
	JumpSLE  JumpOp = 0xd0
)

// Opcode bytes used often enough to name.
const (
	OpLdDW = ClassLD | ModeIMM | uint8(SizeDW) // 0x18, first slot of lddw
	OpCall = ClassJMP | uint8(JumpCall)        // 0x85
	OpExit = ClassJMP | uint8(JumpExit)        // 0x95
	OpJA   = ClassJMP | uint8(JumpA)           // 0x05
)
