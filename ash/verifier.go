package ash

// This file is the verifier's second pass: abstract interpretation of every
// path through the (acyclic) program. A path ends at exit; a conditional jump
// whose outcome the abstract state does not decide forks it. At instructions
// that several edges reach, explored states are remembered, and a new state
// that an explored one subsumes is not explored again (state pruning).

// Program is a verified program, ready to run. Only Verify makes one.
type Program struct {
	insns []Instruction
	cfg   Config
	// stackDepth is how many bytes below r10 the program may touch: the
	// machine maps (and clears) only those.
	stackDepth int
}

// Config returns the configuration the program was verified against, with
// defaults filled in.
func (p *Program) Config() Config { return p.cfg }

// Instructions returns a copy of the program's instruction slots.
func (p *Program) Instructions() []Instruction {
	return append([]Instruction(nil), p.insns...)
}

// Len returns the number of instruction slots.
func (p *Program) Len() int { return len(p.insns) }

// maxStatesPerInsn bounds the explored states kept for pruning at one
// instruction.
const maxStatesPerInsn = 32

type verifier struct {
	prog  []Instruction
	info  []insnInfo
	cfg   Config
	steps int
	seen  map[int][]*state
	// stackLow is the lowest stack offset (from the bottom of the stack)
	// any access on any path touches.
	stackLow int64
	// free holds states of finished paths for reuse: a state is ~4 KB and
	// every undecided branch needs one.
	free []*state
}

// newState returns a copy of st, reusing a finished path's state if any.
func (v *verifier) newState(st *state) *state {
	var n *state
	if k := len(v.free); k > 0 {
		n, v.free = v.free[k-1], v.free[:k-1]
	} else {
		n = new(state)
	}
	*n = *st
	return n
}

// freeState gives back a state no work item refers to any more.
func (v *verifier) freeState(st *state) { v.free = append(v.free, st) }

type workItem struct {
	pc int
	st *state
}

// Verify checks prog against cfg and returns it ready to run, or a
// *VerifyError naming the first offending instruction and the reason. It runs
// once, when the kernel binds the program; the cost is bounded by
// cfg.MaxSteps (MaxVerifierSteps by default). Verification does the same
// in pieces of bounded work.
func Verify(prog []Instruction, cfg Config) (*Program, error) {
	x := NewVerification(prog, cfg)
	for !x.Continue(MaxVerifierSteps) {
	}
	return x.Result()
}

// Verification is Verify done in pieces, for a caller that must bound the
// work it does at a time (a kernel with interrupts masked):
// NewVerification analyses the control flow (linear in the program's
// length), and each Continue symbolically executes at most n more
// instructions. The outcome is the same as Verify's, whatever the pieces.
type Verification struct {
	v     *verifier
	work  []workItem
	cur   workItem // the path being explored (cur.st nil: none)
	done  bool
	prog  *Program
	err   *VerifyError
	insns []Instruction
}

// NewVerification starts verifying prog against cfg.
func NewVerification(prog []Instruction, cfg Config) *Verification {
	x := &Verification{insns: prog}
	c, err := cfg.withDefaults()
	if err != nil {
		x.done, x.err = true, &VerifyError{Index: -1, Kind: ErrConfig, Reason: err.Error()}
		return x
	}
	info, verrr := analyzeCFG(prog)
	if verrr != nil {
		x.done, x.err = true, verrr
		return x
	}
	x.v = &verifier{prog: prog, info: info, cfg: c, seen: map[int][]*state{}, stackLow: StackSize}
	init := &state{}
	init.regs[R1] = ptrReg(regCtx, 0)
	init.regs[R10] = ptrReg(regStack, StackSize)
	x.work = []workItem{{0, init}}
	return x
}

// Continue explores up to n more instructions and reports whether the
// verification is over.
func (x *Verification) Continue(n int) bool {
	if x.done {
		return true
	}
	if e := x.v.run(x, n); e != nil {
		x.done, x.err = true, e
	} else if x.cur.st == nil && len(x.work) == 0 {
		x.done = true
		x.prog = &Program{insns: append([]Instruction(nil), x.insns...), cfg: x.v.cfg, stackDepth: int(StackSize - x.v.stackLow)}
	}
	if x.done {
		x.v, x.work = nil, nil // let the states go
	}
	return x.done
}

// Steps returns the instructions explored so far.
func (x *Verification) Steps() int {
	if x.v == nil {
		return 0
	}
	return x.v.steps
}

// Result returns the verified program, or the *VerifyError; nil, nil
// until Continue has reported the verification over.
func (x *Verification) Result() (*Program, error) {
	if x.err != nil {
		return nil, x.err
	}
	return x.prog, nil
}

func (v *verifier) regionSize(r region) int64 {
	switch r {
	case regCtx:
		return CtxSize
	case regStack:
		return StackSize
	case regReply:
		return int64(v.cfg.ReplySize)
	case regMsg:
		return int64(v.cfg.MsgSize)
	case regMem:
		return int64(v.cfg.MemSize)
	case regCounters:
		return int64(v.cfg.CountersSize)
	}
	return 0 // the packet has no static size
}

// run explores paths for at most n steps, resuming x's.
func (v *verifier) run(x *Verification, n int) *VerifyError {
	for budget := n; ; {
		if x.cur.st == nil {
			if len(x.work) == 0 {
				return nil
			}
			x.cur = x.work[len(x.work)-1]
			x.work = x.work[:len(x.work)-1]
		}
		pc, st := x.cur.pc, x.cur.st
		// The path ends at exit (pc -1) or where an explored state covers
		// it; either way its state is free afterwards.
		for pc >= 0 {
			if budget == 0 {
				x.cur.pc = pc
				return nil
			}
			budget--
			v.steps++
			if v.steps > v.cfg.MaxSteps {
				return verr(pc, ErrComplexity, "verifier budget of %d steps exhausted", v.cfg.MaxSteps)
			}
			if v.info[pc].preds > 1 && v.pruned(pc, st) {
				break
			}
			next, fork, err := v.step(pc, st)
			if err != nil {
				return err
			}
			if fork.st != nil {
				x.work = append(x.work, fork)
			}
			pc = next
		}
		v.freeState(st)
		x.cur = workItem{}
	}
}

// pruned reports whether an explored state at pc covers st, and otherwise
// remembers st.
func (v *verifier) pruned(pc int, st *state) bool {
	live := v.info[pc].live
	for _, o := range v.seen[pc] {
		if o.subsumes(st, live) {
			return true
		}
	}
	if len(v.seen[pc]) < maxStatesPerInsn {
		c := *st
		v.seen[pc] = append(v.seen[pc], &c)
	}
	return false
}

// use reads register r, which must be initialised.
func use(pc int, st *state, r Reg, role string) (regState, *VerifyError) {
	x := st.regs[r]
	if x.kind == kUninit {
		return x, verr(pc, ErrUninitRegister, "%s r%d is read before it is written", role, r)
	}
	return x, nil
}

// step executes one instruction abstractly on st. It returns the next pc
// (-1 at exit) and possibly a second path to explore.
func (v *verifier) step(pc int, st *state) (int, workItem, *VerifyError) {
	in := v.prog[pc]
	switch in.Class() {
	case ClassLD: // lddw
		if in.Dst == R10 {
			return 0, workItem{}, verr(pc, ErrReadOnlyRegister, "r10 is the read-only frame pointer")
		}
		val := uint64(uint32(in.Imm)) | uint64(uint32(v.prog[pc+1].Imm))<<32
		st.regs[in.Dst] = scalarReg(constScalar(val))
		return pc + 2, workItem{}, nil
	case ClassALU, ClassALU64:
		return pc + 1, workItem{}, v.alu(pc, st, in)
	case ClassLDX:
		return pc + 1, workItem{}, v.load(pc, st, in)
	case ClassST, ClassSTX:
		return pc + 1, workItem{}, v.store(pc, st, in)
	}
	return v.jump(pc, st, in)
}
