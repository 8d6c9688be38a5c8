package ash

import "math"

// checkAccess proves that size bytes at p+off lie inside p's region. The
// stack is handled by the caller (it also tracks initialisation).
func (v *verifier) checkAccess(pc int, st *state, p regState, off int64, size int64, write bool) *VerifyError {
	if v.cfg.Type != TypeASH && (p.reg == regReply || p.reg == regMsg) ||
		v.cfg.Type != TypePredicate && (p.reg == regMem || p.reg == regCounters) ||
		v.cfg.Type == TypePredicate && p.reg == regPacket {
		return verr(pc, ErrRegion, "%s programs cannot access the %s", v.cfg.Type, p.reg)
	}
	if write && !writable(v.cfg.Type, p.reg) {
		return verr(pc, ErrRegion, "the %s is read-only for %s programs", p.reg, v.cfg.Type)
	}
	k := p.off + off
	vlo, vhi := int64(0), int64(0)
	if p.id != 0 {
		vlo, vhi = int64(p.s.umin), int64(p.s.umax)
	}
	if vlo+k < 0 {
		return verr(pc, ErrOutOfBounds, "%d-byte access at %s%+d may start before the %s", size, p, off, p.reg)
	}
	if p.reg == regPacket {
		// Proven if the comparison that guards this pointer (or the
		// pointer's own id) established enough bytes, or if the worst-case
		// offset fits in what is known of the packet outright.
		if k+size <= st.availFor(p.id) || vhi+k+size <= st.pktAvail {
			return nil
		}
		return verr(pc, ErrOutOfBounds, "%d-byte packet access at %s%+d is not proven in bounds (checked: %d bytes; compare the pointer with data_end first)", size, p, off, max(st.availFor(p.id), st.pktAvail))
	}
	if lim := v.regionSize(p.reg); vhi+k+size > lim {
		return verr(pc, ErrOutOfBounds, "%d-byte access at %s%+d exceeds the %d-byte %s", size, p, off, lim, p.reg)
	}
	return nil
}

// useStack records that the program touches the stack from offset k (from
// its bottom) up; the machine maps only the stack the program uses.
func (v *verifier) useStack(k int64) {
	v.stackLow = min(v.stackLow, k)
}

// stackRead checks that stack bytes [k, k+size) are written and hold no
// pointer unless whole is set (an aligned 8-byte fill of a spilled slot).
func stackRead(pc int, st *state, k, size int64) *VerifyError {
	if k < 0 || k+size > StackSize {
		return verr(pc, ErrOutOfBounds, "stack access [%d, %d) outside the %d-byte stack (r10%+d)", k, k+size, StackSize, k-StackSize)
	}
	for b := k; b < k+size; b++ {
		if st.stackInit[b/8]&(1<<(b%8)) == 0 {
			return verr(pc, ErrUninitStack, "stack byte r10%+d is read before it is written", b-StackSize)
		}
	}
	for s := k / 8; size > 0 && s <= (k+size-1)/8; s++ {
		if st.spilled&(1<<s) != 0 && st.spill[s].kind != kScalar {
			return verr(pc, ErrPointerLeak, "partial read of a spilled %s at r10%+d", st.spill[s], s*8-StackSize)
		}
	}
	return nil
}

// load checks "dst = *(size *)(src + off)".
func (v *verifier) load(pc int, st *state, in Instruction) *VerifyError {
	if in.Dst == R10 {
		return verr(pc, ErrReadOnlyRegister, "r10 is the read-only frame pointer")
	}
	p, err := use(pc, st, in.Src, "address")
	if err != nil {
		return err
	}
	size := int64(Size(in.Op & sizeMask).Bytes())
	off := int64(in.Off)
	switch {
	case p.kind == kScalar:
		return verr(pc, ErrNotPointer, "load through r%d, which holds a %s", in.Src, p)
	case p.kind == kEnd:
		return verr(pc, ErrOutOfBounds, "load through the %s", p)
	case p.reg == regCtx:
		f, ok := ctxFields[int(p.off+off)]
		if !ok || size != 8 {
			return verr(pc, ErrContext, "context load of %d bytes at offset %d; fields are 8-byte words at 0..%d", size, p.off+off, CtxSize-8)
		}
		if !f.allowed(v.cfg.Type) {
			return verr(pc, ErrRegion, "context field %s is not available to %s programs", f.name, v.cfg.Type)
		}
		switch {
		case f.reg == regNone:
			st.regs[in.Dst] = scalarReg(rangeScalar(0, math.MaxUint32))
		case f.isEnd:
			st.regs[in.Dst] = regState{kind: kEnd, reg: f.reg}
		default:
			st.regs[in.Dst] = ptrReg(f.reg, 0)
		}
		return nil
	case p.reg == regStack:
		k := p.off + off
		if k%size != 0 {
			return verr(pc, ErrMisaligned, "%d-byte stack load at r10%+d is not aligned", size, k-StackSize)
		}
		if size == 8 && k >= 0 && k+8 <= StackSize && st.spilled&(1<<(k/8)) != 0 {
			st.regs[in.Dst] = st.spill[k/8] // fill: the spilled value comes back whole
			v.useStack(k)
			return nil
		}
		if err := stackRead(pc, st, k, size); err != nil {
			return err
		}
		v.useStack(k)
	default:
		if err := v.checkAccess(pc, st, p, off, size, false); err != nil {
			return err
		}
	}
	st.regs[in.Dst] = scalarReg(sizeRange(size))
	return nil
}

func sizeRange(size int64) scalar {
	if size == 8 {
		return unknownScalar()
	}
	return rangeScalar(0, 1<<(8*size)-1)
}

// store checks "*(size *)(dst + off) = src" and "... = imm".
func (v *verifier) store(pc int, st *state, in Instruction) *VerifyError {
	p, err := use(pc, st, in.Dst, "address")
	if err != nil {
		return err
	}
	val := scalarReg(constScalar(uint64(int64(in.Imm))))
	if in.Class() == ClassSTX {
		if val, err = use(pc, st, in.Src, "stored"); err != nil {
			return err
		}
	}
	size := int64(Size(in.Op & sizeMask).Bytes())
	off := int64(in.Off)
	switch {
	case p.kind == kScalar:
		return verr(pc, ErrNotPointer, "store through r%d, which holds a %s", in.Dst, p)
	case p.kind == kEnd:
		return verr(pc, ErrOutOfBounds, "store through the %s", p)
	case p.reg == regCtx:
		return verr(pc, ErrContext, "the context is read-only")
	case p.reg == regStack:
		k := p.off + off
		if k < 0 || k+size > StackSize {
			return verr(pc, ErrOutOfBounds, "stack store [%d, %d) outside the %d-byte stack (r10%+d)", k, k+size, StackSize, k-StackSize)
		}
		if k%size != 0 {
			return verr(pc, ErrMisaligned, "%d-byte stack store at r10%+d is not aligned", size, k-StackSize)
		}
		v.useStack(k)
		slot := k / 8
		if size == 8 {
			st.spilled |= 1 << slot
			st.spill[slot] = val
			st.stackInit[slot] = 0xff
			return nil
		}
		if val.kind != kScalar {
			return verr(pc, ErrPointerLeak, "partial store of a %s to the stack", val)
		}
		if st.spilled&(1<<slot) != 0 {
			if st.spill[slot].kind != kScalar {
				return verr(pc, ErrPointerLeak, "partial overwrite of a spilled %s at r10%+d", st.spill[slot], slot*8-StackSize)
			}
			st.spilled &^= 1 << slot // the slot now holds plain bytes
		}
		for b := k; b < k+size; b++ {
			st.stackInit[b/8] |= 1 << (b % 8)
		}
		return nil
	}
	if val.kind != kScalar {
		return verr(pc, ErrPointerLeak, "storing a %s into the %s would leak it", val, p.reg)
	}
	return v.checkAccess(pc, st, p, off, size, true)
}
