package ash

import "math/bits"

// aluApply is the reference meaning of an arithmetic instruction, shared by
// the verifier's constant folding and the tests that hold the interpreter to
// it. b is the operand already widened: a sign-extended immediate or a
// register. Semantics follow RFC 9669 section 4.1: 32-bit operations work on
// the low halves and zero-extend; x/0 = 0; x%0 = x; shift counts are masked.
func aluApply(op ALUOp, is64 bool, a, b uint64) uint64 {
	if !is64 {
		a32, b32 := uint32(a), uint32(b)
		var r uint32
		switch op {
		case ALUAdd:
			r = a32 + b32
		case ALUSub:
			r = a32 - b32
		case ALUMul:
			r = a32 * b32
		case ALUDiv:
			if b32 != 0 {
				r = a32 / b32
			}
		case ALUMod:
			r = a32
			if b32 != 0 {
				r = a32 % b32
			}
		case ALUOr:
			r = a32 | b32
		case ALUAnd:
			r = a32 & b32
		case ALUXor:
			r = a32 ^ b32
		case ALULsh:
			r = a32 << (b32 & 31)
		case ALURsh:
			r = a32 >> (b32 & 31)
		case ALUArsh:
			r = uint32(int32(a32) >> (b32 & 31))
		case ALUNeg:
			r = -a32
		case ALUMov:
			r = b32
		}
		return uint64(r)
	}
	switch op {
	case ALUAdd:
		return a + b
	case ALUSub:
		return a - b
	case ALUMul:
		return a * b
	case ALUDiv:
		if b == 0 {
			return 0
		}
		return a / b
	case ALUMod:
		if b == 0 {
			return a
		}
		return a % b
	case ALUOr:
		return a | b
	case ALUAnd:
		return a & b
	case ALUXor:
		return a ^ b
	case ALULsh:
		return a << (b & 63)
	case ALURsh:
		return a >> (b & 63)
	case ALUArsh:
		return uint64(int64(a) >> (b & 63))
	case ALUNeg:
		return -a
	case ALUMov:
		return b
	}
	return 0
}

// endian is the byte-order conversion of RFC 9669 section 4.2 on a
// little-endian machine (RISC-V, x86): "to little endian" only truncates to
// the width; "to big endian" swaps the bytes of the low width bits.
func endian(a uint64, toBE bool, width int32) uint64 {
	switch width {
	case 16:
		if toBE {
			return uint64(bits.ReverseBytes16(uint16(a)))
		}
		return uint64(uint16(a))
	case 32:
		if toBE {
			return uint64(bits.ReverseBytes32(uint32(a)))
		}
		return uint64(uint32(a))
	default:
		if toBE {
			return bits.ReverseBytes64(a)
		}
		return a
	}
}

// condHolds evaluates a conditional jump's comparison. For 32-bit jumps the
// caller passes the operands already truncated and sign-handled by is64.
func condHolds(op JumpOp, is64 bool, a, b uint64) bool {
	if !is64 {
		a, b = uint64(uint32(a)), uint64(uint32(b))
		sa, sb := int64(int32(uint32(a))), int64(int32(uint32(b)))
		return cmp(op, a, b, sa, sb)
	}
	return cmp(op, a, b, int64(a), int64(b))
}

func cmp(op JumpOp, a, b uint64, sa, sb int64) bool {
	switch op {
	case JumpEq:
		return a == b
	case JumpNE:
		return a != b
	case JumpGT:
		return a > b
	case JumpGE:
		return a >= b
	case JumpLT:
		return a < b
	case JumpLE:
		return a <= b
	case JumpSet:
		return a&b != 0
	case JumpSGT:
		return sa > sb
	case JumpSGE:
		return sa >= sb
	case JumpSLT:
		return sa < sb
	case JumpSLE:
		return sa <= sb
	}
	return false
}
