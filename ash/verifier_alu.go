package ash

import "math"

// alu checks and abstractly executes an arithmetic instruction.
func (v *verifier) alu(pc int, st *state, in Instruction) *VerifyError {
	is64 := in.Class() == ClassALU64
	op := ALUOp(in.Op & opMask)
	if in.Dst == R10 {
		return verr(pc, ErrReadOnlyRegister, "r10 is the read-only frame pointer")
	}
	width := uint64(32)
	if is64 {
		width = 64
	}
	var src regState
	if in.Op&SrcX != 0 && op != ALUEnd { // for END the bit means "to big endian"
		var err *VerifyError
		if src, err = use(pc, st, in.Src, "source"); err != nil {
			return err
		}
	} else {
		// RFC 9669: the immediate is sign-extended to 64 bits; the 32-bit
		// forms use its low half.
		src = scalarReg(constScalar(uint64(int64(in.Imm))))
	}
	if op == ALUMov {
		if is64 {
			st.regs[in.Dst] = src
			return nil
		}
		if src.kind != kScalar {
			return verr(pc, ErrPointerArith, "32-bit move of a %s would truncate it", src)
		}
		st.regs[in.Dst] = scalarReg(src.s.trunc32())
		return nil
	}
	dst, err := use(pc, st, in.Dst, "destination")
	if err != nil {
		return err
	}
	if op == ALUEnd {
		if dst.kind != kScalar {
			return verr(pc, ErrPointerArith, "byte swap of a %s", dst)
		}
		st.regs[in.Dst] = scalarReg(scalarEndian(dst.s, in.Op&SrcX != 0, in.Imm))
		return nil
	}
	if dst.kind != kScalar || (op != ALUNeg && src.kind != kScalar) {
		return v.pointerALU(pc, st, in, op, is64, dst, src)
	}
	switch op {
	case ALUDiv, ALUMod:
		d := src.s
		if !is64 {
			d = d.trunc32()
		}
		if d.isConst() && d.umin == 0 {
			// A variable divisor that happens to be zero is defined (x/0 = 0,
			// x%0 = x); a constant zero is always a mistake.
			return verr(pc, ErrDivByZero, "division or modulo by constant zero")
		}
	case ALULsh, ALURsh, ALUArsh:
		if in.Op&SrcX == 0 {
			if in.Imm < 0 || uint64(in.Imm) >= width {
				return verr(pc, ErrShift, "shift by %d on a %d-bit value", in.Imm, width)
			}
		} else if src.s.isConst() && src.s.umin >= width {
			return verr(pc, ErrShift, "shift by r%d = %d on a %d-bit value", in.Src, src.s.umin, width)
		}
	}
	st.regs[in.Dst] = scalarReg(scalarALU(op, is64, dst.s, src.s))
	return nil
}

// pointerALU handles arithmetic where an operand is a pointer. Only 64-bit
// add and subtract of bounded scalars, and the difference of two pointers
// into the same region, are allowed.
func (v *verifier) pointerALU(pc int, st *state, in Instruction, op ALUOp, is64 bool, dst, src regState) *VerifyError {
	if !is64 {
		return verr(pc, ErrPointerArith, "32-bit arithmetic on a pointer (%s)", pick(dst.kind != kScalar, dst, src))
	}
	if op == ALUSub && dst.kind != kScalar && src.kind != kScalar {
		if dst.reg != src.reg {
			return verr(pc, ErrPointerArith, "difference of pointers into different regions (%s, %s)", dst.reg, src.reg)
		}
		res := unknownScalar()
		if dst.kind == kPtr && src.kind == kPtr && dst.id == src.id && dst.id == 0 {
			res = constScalar(uint64(dst.off - src.off))
		}
		st.regs[in.Dst] = scalarReg(res)
		return nil
	}
	if op != ALUAdd && op != ALUSub {
		return verr(pc, ErrPointerArith, "operation %#02x on a %s; only add and subtract are allowed", uint8(op), pick(dst.kind != kScalar, dst, src))
	}
	p, sc := dst, src
	if dst.kind == kScalar {
		if op == ALUSub {
			return verr(pc, ErrPointerArith, "scalar minus pointer")
		}
		p, sc = src, dst
	}
	if sc.kind != kScalar {
		return verr(pc, ErrPointerArith, "sum of two pointers")
	}
	if p.kind == kEnd {
		return verr(pc, ErrPointerArith, "arithmetic on the %s", p)
	}
	if p.reg == regCtx {
		return verr(pc, ErrPointerArith, "arithmetic on the context pointer")
	}
	if sc.s.isConst() {
		c := int64(sc.s.umin)
		if op == ALUSub {
			if c == math.MinInt64 {
				return verr(pc, ErrPointerArith, "pointer offset overflow")
			}
			c = -c
		}
		off := p.off + c
		if c > maxPtrOffset || c < -maxPtrOffset || off > maxPtrOffset || off < -maxPtrOffset {
			return verr(pc, ErrPointerArith, "constant %d takes the %s offset outside ±%d", c, p.reg, maxPtrOffset)
		}
		p.off = off
		st.regs[in.Dst] = p
		return nil
	}
	if op == ALUSub {
		return verr(pc, ErrPointerArith, "subtracting a variable from a %s", p)
	}
	if p.reg == regStack {
		return verr(pc, ErrPointerArith, "variable offset into the stack")
	}
	if sc.s.smin < 0 || sc.s.umax > maxVarOffset {
		return verr(pc, ErrPointerArith, "%s added to a %s is not bounded to [0, %d]; check it first", sc, p.reg, maxVarOffset)
	}
	base := constScalar(0)
	if p.id != 0 {
		base = p.s
	}
	p.s = scalar{umin: base.umin + sc.s.umin, umax: base.umax + sc.s.umax}
	p.s.smin, p.s.smax = int64(p.s.umin), int64(p.s.umax)
	if p.s.umax > maxVarOffset {
		return verr(pc, ErrPointerArith, "variable part of the %s offset may exceed %d", p.reg, maxVarOffset)
	}
	p.id = uint32(pc + 1) // each instruction runs at most once per path
	st.regs[in.Dst] = p
	return nil
}

func pick(c bool, a, b regState) regState {
	if c {
		return a
	}
	return b
}
