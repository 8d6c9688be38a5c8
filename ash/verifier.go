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
// MaxVerifierSteps.
func Verify(prog []Instruction, cfg Config) (*Program, error) {
	c, err := cfg.withDefaults()
	if err != nil {
		return nil, &VerifyError{Index: -1, Kind: ErrConfig, Reason: err.Error()}
	}
	info, verrr := analyzeCFG(prog)
	if verrr != nil {
		return nil, verrr
	}
	v := &verifier{prog: prog, info: info, cfg: c, seen: map[int][]*state{}, stackLow: StackSize}
	if e := v.run(); e != nil {
		return nil, e
	}
	return &Program{insns: append([]Instruction(nil), prog...), cfg: c, stackDepth: int(StackSize - v.stackLow)}, nil
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

func (v *verifier) run() *VerifyError {
	init := &state{}
	init.regs[R1] = ptrReg(regCtx, 0)
	init.regs[R10] = ptrReg(regStack, StackSize)
	work := []workItem{{0, init}}
	for len(work) > 0 {
		it := work[len(work)-1]
		work = work[:len(work)-1]
		pc, st := it.pc, it.st
		// The path ends at exit (pc -1) or where an explored state covers
		// it; either way its state is free afterwards.
		for pc >= 0 {
			v.steps++
			if v.steps > MaxVerifierSteps {
				return verr(pc, ErrComplexity, "verifier budget of %d steps exhausted", MaxVerifierSteps)
			}
			if v.info[pc].preds > 1 && v.pruned(pc, st) {
				break
			}
			next, fork, err := v.step(pc, st)
			if err != nil {
				return err
			}
			if fork.st != nil {
				work = append(work, fork)
			}
			pc = next
		}
		v.freeState(st)
	}
	return nil
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
