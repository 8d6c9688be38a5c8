package ash

import "math"

// jump handles the JMP and JMP32 classes: goto, call, exit and conditional
// jumps. A conditional jump forks the path unless the abstract state decides
// it; each side continues with what the comparison proves.
func (v *verifier) jump(pc int, st *state, in Instruction) (int, workItem, *VerifyError) {
	op := JumpOp(in.Op & opMask)
	switch op {
	case JumpA:
		return pc + 1 + int(in.Off), workItem{}, nil
	case JumpExit:
		r0, err := use(pc, st, R0, "return value")
		if err != nil {
			return 0, workItem{}, err
		}
		if r0.kind != kScalar {
			return 0, workItem{}, verr(pc, ErrPointerLeak, "returns a %s", r0)
		}
		return -1, workItem{}, nil
	case JumpCall:
		return pc + 1, workItem{}, v.call(pc, st, HelperID(in.Imm))
	}
	is64 := in.Class() == ClassJMP
	a, err := use(pc, st, in.Dst, "compared")
	if err != nil {
		return 0, workItem{}, err
	}
	var b regState
	if in.Op&SrcX != 0 {
		if b, err = use(pc, st, in.Src, "compared"); err != nil {
			return 0, workItem{}, err
		}
	} else {
		b = scalarReg(constScalar(uint64(int64(in.Imm))))
	}
	target := pc + 1 + int(in.Off)
	if a.kind != kScalar || b.kind != kScalar {
		return v.pointerJump(pc, st, in, op, is64, a, b, target)
	}
	// The taken side gets a copy; the fall-through refines st in place
	// (refineScalars changes nothing when it reports a side infeasible).
	taken := v.newState(st)
	okT := v.refineScalars(taken, in, op, is64, a, b, true)
	okF := v.refineScalars(st, in, op, is64, a, b, false)
	switch {
	case okT && okF:
		return pc + 1, workItem{target, taken}, nil
	case okT:
		*st = *taken
		v.freeState(taken)
		return target, workItem{}, nil
	default:
		// Neither side feasible means the state was already empty; treat
		// the fall-through as live to stay conservative.
		v.freeState(taken)
		return pc + 1, workItem{}, nil
	}
}

// refineScalars narrows the compared registers in st for one side of a
// scalar comparison and reports whether that side can happen.
func (v *verifier) refineScalars(st *state, in Instruction, op JumpOp, is64 bool, a, b regState, taken bool) bool {
	rel := branchRelation(op, taken)
	if !is64 {
		a32, b32 := a.s.trunc32(), b.s.trunc32()
		if in.Op&SrcX == 0 {
			b32 = constScalar(uint64(uint32(in.Imm)))
		}
		if a32.isConst() && b32.isConst() {
			return condHolds(op, false, a32.umin, b32.umin) == taken
		}
		// The 32-bit comparison says something about the whole register only
		// when the register's value is its low half and reads the same
		// signed and unsigned.
		if a.s.umax >= 1<<31 || b32.umax >= 1<<31 || (in.Op&SrcX != 0 && b.s.umax >= 1<<31) {
			return true
		}
		b.s = b32
	}
	na, nb, ok := refine(rel, a.s, b.s)
	if !ok {
		return false
	}
	st.regs[in.Dst].s = na
	if in.Op&SrcX != 0 && in.Src != in.Dst {
		st.regs[in.Src].s = nb
	}
	return true
}

// pointerJump handles comparisons involving pointers: only unsigned 64-bit
// comparisons between two pointers into the same region. Comparing a packet
// pointer with the packet end is how a program proves packet bytes exist.
func (v *verifier) pointerJump(pc int, st *state, in Instruction, op JumpOp, is64 bool, a, b regState, target int) (int, workItem, *VerifyError) {
	if a.kind == kScalar || b.kind == kScalar {
		return 0, workItem{}, verr(pc, ErrPointerCompare, "comparison of a %s with a %s", a, b)
	}
	if !is64 {
		return 0, workItem{}, verr(pc, ErrPointerCompare, "32-bit comparison of pointers")
	}
	if a.reg != b.reg {
		return 0, workItem{}, verr(pc, ErrPointerCompare, "comparison of pointers into different regions (%s, %s)", a.reg, b.reg)
	}
	switch op {
	case JumpEq, JumpNE, JumpGT, JumpGE, JumpLT, JumpLE:
	default:
		return 0, workItem{}, verr(pc, ErrPointerCompare, "signed or bit-test comparison of pointers")
	}
	taken := v.newState(st)
	if a.reg == regPacket {
		learnPacket(taken, a, b, branchRelation(op, true))
		learnPacket(st, a, b, branchRelation(op, false))
	}
	return pc + 1, workItem{target, taken}, nil
}

// learnPacket records what "a rel b" proves when one side is a packet pointer
// p = data + var + k and the other the packet end: p <= end proves the packet
// holds var+k bytes, p < end proves var+k+1.
func learnPacket(st *state, a, b regState, rel relation) {
	var p regState
	switch {
	case a.kind == kPtr && b.kind == kEnd:
		p = a
	case a.kind == kEnd && b.kind == kPtr:
		p = b
		rel = map[relation]relation{relUGT: relULT, relUGE: relULE, relULT: relUGT, relULE: relUGE, relEq: relEq, relNe: relNe}[rel]
	default:
		return
	}
	switch rel {
	case relULE, relEq:
		st.learn(p, p.off)
	case relULT:
		st.learn(p, p.off+1)
	}
}

// call checks a helper call's arguments and sets R0; R1-R5 are clobbered.
func (v *verifier) call(pc int, st *state, id HelperID) *VerifyError {
	spec, ok := helperSpecs[id]
	if !ok {
		return verr(pc, ErrHelper, "unknown helper %d", id)
	}
	allowed := false
	for _, t := range spec.types {
		allowed = allowed || t == v.cfg.Type
	}
	if !allowed {
		return verr(pc, ErrHelper, "helper %s is not available to %s programs", spec.name, v.cfg.Type)
	}
	scalarArg := func(r Reg, what string) (scalar, *VerifyError) {
		x, err := use(pc, st, r, spec.name+" argument")
		if err != nil {
			return scalar{}, err
		}
		if x.kind != kScalar {
			return scalar{}, verr(pc, ErrHelperArg, "%s: %s (r%d) must be a number, not a %s", spec.name, what, r, x)
		}
		return x.s, nil
	}
	lenArg := func(r Reg) (int64, *VerifyError) {
		s, err := scalarArg(r, "length")
		if err != nil {
			return 0, err
		}
		if s.umax > maxHelperLen {
			return 0, verr(pc, ErrHelperArg, "%s: length r%d may be %d, above %d; bound it with a comparison", spec.name, r, s.umax, maxHelperLen)
		}
		return int64(s.umax), nil
	}
	// region checks that ptr is readable (or writable) for n bytes; the
	// resulting error is reported as a helper-argument error.
	region := func(r Reg, n int64, write bool, allowed ...region) *VerifyError {
		p, err := use(pc, st, r, spec.name+" argument")
		if err != nil {
			return err
		}
		if p.kind != kPtr || p.reg == regCtx {
			return verr(pc, ErrHelperArg, "%s: r%d must be a pointer to memory, not a %s", spec.name, r, p)
		}
		if len(allowed) > 0 {
			okr := false
			for _, a := range allowed {
				okr = okr || a == p.reg
			}
			if !okr {
				return verr(pc, ErrHelperArg, "%s: r%d points into the %s, which this argument cannot take", spec.name, r, p.reg)
			}
		}
		// Even a zero length needs the pointer inside (or at the end of)
		// its region: the machine checks the address, not the length.
		var e *VerifyError
		if p.reg == regStack {
			if write {
				return verr(pc, ErrHelperArg, "%s: cannot write the stack", spec.name)
			}
			if e = stackRead(pc, st, p.off, n); e == nil {
				v.useStack(p.off)
			}
		} else {
			e = v.checkAccess(pc, st, p, 0, n, write)
		}
		if e != nil {
			return verr(pc, ErrHelperArg, "%s: r%d for %d bytes: %s", spec.name, r, n, e.Reason)
		}
		return nil
	}
	r0 := unknownScalar()
	switch id {
	case HelperSendReply:
		n, err := lenArg(R1)
		if err != nil {
			return err
		}
		if n > int64(v.cfg.ReplySize) {
			return verr(pc, ErrHelperArg, "send_reply: length may be %d, above the %d-byte reply buffer", n, v.cfg.ReplySize)
		}
		r0 = constScalar(0)
	case HelperPacketCopy:
		if _, err := scalarArg(R1, "packet offset"); err != nil {
			return err
		}
		n, err := lenArg(R3)
		if err != nil {
			return err
		}
		if err := region(R2, n, true, regReply, regMsg); err != nil {
			return err
		}
		r0 = scalar{umin: 0, umax: math.MaxUint64, smin: -1, smax: 0}
		r0.sync()
	case HelperPacketCopyCsum:
		// As pkt_copy, and a seed; the result is a checksum in
		// [0, 0xffff] or PacketCopyCsumFailed (-1).
		if _, err := scalarArg(R1, "packet offset"); err != nil {
			return err
		}
		n, err := lenArg(R3)
		if err != nil {
			return err
		}
		if err := region(R2, n, true, regReply, regMsg); err != nil {
			return err
		}
		if _, err := scalarArg(R4, "seed"); err != nil {
			return err
		}
		r0 = scalar{umin: 0, umax: math.MaxUint64, smin: -1, smax: 0xffff}
		r0.sync()
	case HelperCsum:
		n, err := lenArg(R2)
		if err != nil {
			return err
		}
		if err := region(R1, n, false); err != nil {
			return err
		}
		if _, err := scalarArg(R3, "seed"); err != nil {
			return err
		}
		r0 = rangeScalar(0, 0xffff)
	case HelperCsumUpdate:
		for _, r := range []Reg{R1, R2, R3} {
			if _, err := scalarArg(r, "checksum word"); err != nil {
				return err
			}
		}
		r0 = rangeScalar(0, 0xffff)
	}
	for r := R1; r <= R5; r++ {
		st.regs[r] = regState{}
	}
	st.regs[R0] = scalarReg(r0)
	return nil
}
