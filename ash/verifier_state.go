package ash

import "fmt"

// regKind is what the verifier knows a register holds.
type regKind uint8

const (
	kUninit regKind = iota // never written on this path
	kScalar                // a number, with a range
	kPtr                   // a pointer into a region
	kEnd                   // the end pointer of a region (compare only)
)

// regState is the abstract value of a register or of a spilled stack slot.
//
// A pointer is region base + off + var, where off is a constant and var (when
// id != 0) a non-negative number in the range s. The id names the instruction
// that added the variable part, so every copy of the pointer shares what the
// verifier learns about it from comparisons against the region's end.
type regState struct {
	kind regKind
	reg  region
	id   uint32
	off  int64
	s    scalar
}

func scalarReg(s scalar) regState { return regState{kind: kScalar, s: s} }

func ptrReg(r region, off int64) regState {
	return regState{kind: kPtr, reg: r, off: off, s: constScalar(0)}
}

func (r regState) String() string {
	switch r.kind {
	case kUninit:
		return "uninitialised"
	case kScalar:
		if r.s.isConst() {
			return fmt.Sprintf("scalar %d", int64(r.s.umin))
		}
		return fmt.Sprintf("scalar in [%d, %d] (signed [%d, %d])", r.s.umin, r.s.umax, r.s.smin, r.s.smax)
	case kEnd:
		return r.reg.String() + " end pointer"
	}
	if r.id != 0 {
		return fmt.Sprintf("%s pointer +%d+[%d,%d]", r.reg, r.off, r.s.umin, r.s.umax)
	}
	return fmt.Sprintf("%s pointer %+d", r.reg, r.off)
}

// subsumes reports whether every concrete value r stands for is one o stands
// for (o being an already-explored state's register).
func (o regState) subsumes(r regState) bool {
	switch o.kind {
	case kUninit:
		return true // the explored path never read it
	case kScalar:
		return r.kind == kScalar && o.s.contains(r.s)
	}
	return r.kind == o.kind && r.reg == o.reg && r.off == o.off && r.id == o.id && (o.id == 0 || o.s.contains(r.s))
}

// maxVarAvail is how many variable-offset packet pointers a state remembers
// bounds for; forgetting one only makes the verifier more conservative.
const maxVarAvail = 8

// varAvail records "packet length >= var(id) + n".
type varAvail struct {
	id uint32
	n  int64
}

const stackSlots = StackSize / 8

// state is the abstract machine state on one path. It holds only arrays so
// that assignment copies it.
type state struct {
	regs      [NumRegs]regState
	stackInit [stackSlots]uint8 // bit b of slot s: byte s*8+b written
	spilled   uint64            // bit s: slot s holds a whole spilled register
	spill     [stackSlots]regState
	pktAvail  int64 // packet length >= pktAvail
	vars      [maxVarAvail]varAvail
	nextVar   int // round-robin replacement index into vars
}

// holds reports whether a live register or a spilled slot of st is a
// pointer with variable-part id.
func (st *state) holds(id uint32, live uint16) bool {
	for i, r := range st.regs {
		if live&(1<<i) != 0 && r.kind == kPtr && r.id == id {
			return true
		}
	}
	for s := range st.spill {
		if st.spilled&(1<<s) != 0 && st.spill[s].kind == kPtr && st.spill[s].id == id {
			return true
		}
	}
	return false
}

// availFor returns n such that the packet is known to be at least var(id)
// + n bytes long (for id 0, the constant-offset pointers: at least n), or
// -1 if nothing is known about var(id). Nothing known is not "n = 0": a
// variable offset may lie past the packet's end, so even a zero-length
// access through it is unproven (a fuzz finding, kept as
// testdata/fuzz/FuzzVerifyRun/ce461aacf65a2541).
func (st *state) availFor(id uint32) int64 {
	if id == 0 {
		return st.pktAvail
	}
	for _, v := range st.vars {
		if v.id == id {
			return v.n
		}
	}
	return -1
}

// learn records "packet length >= var(p) + n" for packet pointer p.
func (st *state) learn(p regState, n int64) {
	if p.id == 0 {
		st.pktAvail = max(st.pktAvail, n)
		return
	}
	// var(p) >= umin, so this also bounds the length from below outright.
	st.pktAvail = max(st.pktAvail, int64(p.s.umin)+n)
	for i := range st.vars {
		if st.vars[i].id == p.id {
			st.vars[i].n = max(st.vars[i].n, n)
			return
		}
	}
	st.vars[st.nextVar] = varAvail{p.id, n}
	st.nextVar = (st.nextVar + 1) % maxVarAvail
}

// subsumes reports whether o (explored, found safe) covers every concrete
// state st stands for, so st need not be explored again. Only the registers
// in live matter: every path from here writes the others before reading
// them. Likewise only the packet bounds of variable pointers that st still
// holds in a live register or a spilled slot: the instruction that made a
// variable pointer cannot run again on this path (the program is acyclic),
// so no new pointer with that id can appear.
func (o *state) subsumes(st *state, live uint16) bool {
	for i := range o.regs {
		if live&(1<<i) != 0 && !o.regs[i].subsumes(st.regs[i]) {
			return false
		}
	}
	if st.pktAvail < o.pktAvail {
		return false
	}
	for _, v := range o.vars {
		if v.id != 0 && st.holds(v.id, live) && st.availFor(v.id) < v.n {
			return false
		}
	}
	for s := 0; s < stackSlots; s++ {
		if o.stackInit[s]&^st.stackInit[s] != 0 {
			return false
		}
		if o.stackInit[s] == 0 {
			continue
		}
		oSp, sSp := o.spilled&(1<<s) != 0, st.spilled&(1<<s) != 0
		switch {
		case oSp && sSp:
			if !o.spill[s].subsumes(st.spill[s]) {
				return false
			}
		case oSp:
			if o.spill[s].kind != kScalar {
				return false
			}
			if !o.spill[s].s.contains(unknownScalar()) {
				return false
			}
		case sSp:
			if st.spill[s].kind != kScalar {
				return false
			}
		}
	}
	return true
}
