package ash

import (
	"math"
	"math/bits"
)

// scalar is the verifier's abstract value for a number: an unsigned and a
// signed interval, both of which hold for every concrete value it stands for.
// Keeping both lets a signed comparison bound one view without being mistaken
// for a bound on the other (the signed/unsigned confusion bugs of early eBPF
// verifiers).
type scalar struct {
	umin, umax uint64
	smin, smax int64
}

func unknownScalar() scalar {
	return scalar{0, math.MaxUint64, math.MinInt64, math.MaxInt64}
}

func constScalar(v uint64) scalar {
	return scalar{v, v, int64(v), int64(v)}
}

// rangeScalar is [lo, hi] unsigned, hi < 2^63.
func rangeScalar(lo, hi uint64) scalar {
	s := scalar{lo, hi, math.MinInt64, math.MaxInt64}
	s.sync()
	return s
}

func (s scalar) isConst() bool { return s.umin == s.umax }

// sync tightens each interval with what the other implies and reports
// whether any value remains.
func (s *scalar) sync() bool {
	for i := 0; i < 2; i++ {
		// Unsigned to signed: a range that does not cross 2^63 keeps its
		// order when read as signed.
		if s.umax <= math.MaxInt64 || s.umin > math.MaxInt64 {
			s.smin = max(s.smin, int64(s.umin))
			s.smax = min(s.smax, int64(s.umax))
		}
		// Signed to unsigned: likewise for ranges that do not cross zero.
		if s.smin >= 0 || s.smax < 0 {
			s.umin = max(s.umin, uint64(s.smin))
			s.umax = min(s.umax, uint64(s.smax))
		}
		if s.umin > s.umax || s.smin > s.smax {
			return false
		}
	}
	return true
}

// contains reports whether every value of o is a value of s.
func (s scalar) contains(o scalar) bool {
	return s.umin <= o.umin && o.umax <= s.umax && s.smin <= o.smin && o.smax <= s.smax
}

// trunc32 is the abstract value of the low 32 bits.
func (s scalar) trunc32() scalar {
	if s.umax <= math.MaxUint32 {
		return s
	}
	if s.isConst() {
		return constScalar(uint64(uint32(s.umin)))
	}
	return rangeScalar(0, math.MaxUint32)
}

// spread returns the smallest 2^k-1 >= x.
func spread(x uint64) uint64 {
	if x == 0 {
		return 0
	}
	return math.MaxUint64 >> bits.LeadingZeros64(x)
}

// scalarALU is the abstract transfer function of an arithmetic instruction.
// Every case over-approximates aluApply; constants fold through aluApply
// itself so the verifier and the machine cannot disagree on them.
func scalarALU(op ALUOp, is64 bool, a, b scalar) scalar {
	if !is64 {
		a, b = a.trunc32(), b.trunc32()
	}
	if a.isConst() && b.isConst() {
		return constScalar(aluApply(op, is64, a.umin, b.umin))
	}
	r := unknownScalar()
	width := uint64(64)
	if !is64 {
		width = 32
	}
	switch op {
	case ALUMov:
		r = b
	case ALUAdd:
		if hi, c := bits.Add64(a.umax, b.umax, 0); c == 0 {
			r.umin, r.umax = a.umin+b.umin, hi
		}
		if lo, ok := addNoOverflow(a.smin, b.smin); ok {
			if hi, ok := addNoOverflow(a.smax, b.smax); ok {
				r.smin, r.smax = lo, hi
			}
		}
	case ALUSub:
		if a.umin >= b.umax {
			r.umin, r.umax = a.umin-b.umax, a.umax-b.umin
		}
		if lo, ok := subNoOverflow(a.smin, b.smax); ok {
			if hi, ok := subNoOverflow(a.smax, b.smin); ok {
				r.smin, r.smax = lo, hi
			}
		}
	case ALUMul:
		if a.umax <= math.MaxUint32 && b.umax <= math.MaxUint32 {
			r.umin, r.umax = a.umin*b.umin, a.umax*b.umax
		}
	case ALUDiv:
		if b.isConst() && b.umin != 0 {
			r.umin, r.umax = a.umin/b.umin, a.umax/b.umin
		} else {
			r.umin, r.umax = 0, a.umax // x/0 = 0 and x/y <= x
		}
	case ALUMod:
		r.umin, r.umax = 0, a.umax // x%0 = x and x%y <= x
		if b.umin > 0 {
			r.umax = min(a.umax, b.umax-1)
		}
	case ALUAnd:
		r.umin, r.umax = 0, min(a.umax, b.umax)
	case ALUOr:
		r.umin, r.umax = max(a.umin, b.umin), spread(max(a.umax, b.umax))
	case ALUXor:
		r.umin, r.umax = 0, spread(max(a.umax, b.umax))
	case ALULsh:
		if b.isConst() && b.umin < width {
			k := b.umin
			if a.umax <= math.MaxUint64>>k {
				r.umin, r.umax = a.umin<<k, a.umax<<k
			}
		}
	case ALURsh:
		if b.isConst() && b.umin < width {
			r.umin, r.umax = a.umin>>b.umin, a.umax>>b.umin
		} else {
			r.umin, r.umax = 0, a.umax
		}
	case ALUArsh:
		if is64 && b.isConst() && b.umin < 64 {
			r.smin, r.smax = a.smin>>b.umin, a.smax>>b.umin
		}
	}
	if !r.sync() {
		// Cannot happen for sound inputs; fall back to knowing nothing.
		r = unknownScalar()
	}
	if !is64 {
		if r.umax > math.MaxUint32 || op == ALUArsh || op == ALUNeg {
			r = rangeScalar(0, math.MaxUint32)
		}
	}
	return r
}

// scalarEndian is the abstract byte-order conversion.
func scalarEndian(a scalar, toBE bool, width int32) scalar {
	if a.isConst() {
		return constScalar(endian(a.umin, toBE, width))
	}
	if width == 64 {
		if toBE {
			return unknownScalar()
		}
		return a
	}
	mask := uint64(1)<<width - 1
	if !toBE && a.umax <= mask {
		return a // truncation to a width the value already fits
	}
	return rangeScalar(0, mask)
}

func addNoOverflow(a, b int64) (int64, bool) {
	s := a + b
	if (b > 0 && s < a) || (b < 0 && s > a) {
		return 0, false
	}
	return s, true
}

func subNoOverflow(a, b int64) (int64, bool) {
	s := a - b
	if (b < 0 && s < a) || (b > 0 && s > a) {
		return 0, false
	}
	return s, true
}

// relation is a comparison known to hold on one side of a branch.
type relation uint8

const (
	relEq relation = iota
	relNe
	relUGT
	relUGE
	relULT
	relULE
	relSGT
	relSGE
	relSLT
	relSLE
	relSet
	relNotSet
)

// branchRelation gives the relation that holds on the taken (or, with
// taken=false, the fall-through) side of a conditional jump.
func branchRelation(op JumpOp, taken bool) relation {
	var r, neg relation
	switch op {
	case JumpEq:
		r, neg = relEq, relNe
	case JumpNE:
		r, neg = relNe, relEq
	case JumpGT:
		r, neg = relUGT, relULE
	case JumpGE:
		r, neg = relUGE, relULT
	case JumpLT:
		r, neg = relULT, relUGE
	case JumpLE:
		r, neg = relULE, relUGT
	case JumpSGT:
		r, neg = relSGT, relSLE
	case JumpSGE:
		r, neg = relSGE, relSLT
	case JumpSLT:
		r, neg = relSLT, relSGE
	case JumpSLE:
		r, neg = relSLE, relSGT
	case JumpSet:
		r, neg = relSet, relNotSet
	}
	if taken {
		return r
	}
	return neg
}

// refine narrows a and b assuming "a rel b" holds, and reports whether that
// is possible at all. It only ever removes values that contradict rel.
func refine(rel relation, a, b scalar) (scalar, scalar, bool) {
	switch rel {
	case relEq:
		a.umin, a.umax = max(a.umin, b.umin), min(a.umax, b.umax)
		a.smin, a.smax = max(a.smin, b.smin), min(a.smax, b.smax)
		b = a
	case relNe:
		if a.isConst() && b.isConst() && a.umin == b.umin {
			return a, b, false
		}
		if b.isConst() {
			a = excludeEnd(a, b.umin)
		}
		if a.isConst() {
			b = excludeEnd(b, a.umin)
		}
	case relUGT:
		if b.umin == math.MaxUint64 || a.umax == 0 {
			return a, b, false
		}
		a.umin = max(a.umin, b.umin+1)
		b.umax = min(b.umax, a.umax-1)
	case relUGE:
		a.umin = max(a.umin, b.umin)
		b.umax = min(b.umax, a.umax)
	case relULT:
		b, a, ok := refine(relUGT, b, a)
		return a, b, ok
	case relULE:
		b, a, ok := refine(relUGE, b, a)
		return a, b, ok
	case relSGT:
		if b.smin == math.MaxInt64 || a.smax == math.MinInt64 {
			return a, b, false
		}
		a.smin = max(a.smin, b.smin+1)
		b.smax = min(b.smax, a.smax-1)
	case relSGE:
		a.smin = max(a.smin, b.smin)
		b.smax = min(b.smax, a.smax)
	case relSLT:
		b, a, ok := refine(relSGT, b, a)
		return a, b, ok
	case relSLE:
		b, a, ok := refine(relSGE, b, a)
		return a, b, ok
	case relSet:
		if a.umax == 0 || b.umax == 0 || (a.isConst() && b.isConst() && a.umin&b.umin == 0) {
			return a, b, false
		}
	case relNotSet:
		if a.isConst() && b.isConst() && a.umin&b.umin != 0 {
			return a, b, false
		}
	}
	okA, okB := a.sync(), b.sync()
	return a, b, okA && okB
}

// excludeEnd removes v from s when v is an end of one of its intervals.
func excludeEnd(s scalar, v uint64) scalar {
	if s.umin == v && s.umin < s.umax {
		s.umin++
	} else if s.umax == v && s.umin < s.umax {
		s.umax--
	} else if s.umin == v && s.umax == v {
		s.umin, s.umax = 1, 0 // empty; sync reports it
	}
	if s.smin == int64(v) && s.smin < s.smax {
		s.smin++
	} else if s.smax == int64(v) && s.smin < s.smax {
		s.smax--
	}
	return s
}
