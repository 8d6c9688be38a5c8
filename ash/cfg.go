package ash

// This file is the verifier's first pass: it decodes every slot, checks the
// encoding is in the subset, and checks the control-flow graph: jumps land on
// instruction boundaries inside the program, no path runs off the end, and
// there is no cycle. Acyclic rather than "forward only" because clang -O2
// places shared exit blocks before the branches that reach them.

// insnInfo is what the first pass learns about one slot.
type insnInfo struct {
	lddwTail bool // second slot of lddw: not an instruction
	succ     [2]int
	nsucc    int
	preds    int
	// live is the set of registers (bit r for rN) that some path from this
	// instruction may read before writing: the registers whose abstract
	// values matter for what follows. State pruning compares only these,
	// as Linux's verifier does with its liveness marks
	// (kernel/bpf/verifier.c, REG_LIVE_READ), though computed here by a
	// plain backward data-flow pass, which suffices for an acyclic graph.
	live uint16
}

// allRegs is the register set with every register in it.
const allRegs = 1<<NumRegs - 1

// checkEncoding validates one instruction's fields. It returns the number of
// slots the instruction occupies.
func checkEncoding(prog []Instruction, pc int) (int, *VerifyError) {
	in := prog[pc]
	if in.Dst > R10 || in.Src > R10 {
		return 0, verr(pc, ErrMalformed, "register number out of range (dst r%d, src r%d)", in.Dst, in.Src)
	}
	switch in.Class() {
	case ClassLD:
		if in.Op != OpLdDW {
			return 0, verr(pc, ErrUnsupported, "legacy packet load or unknown LD opcode %#02x", in.Op)
		}
		if in.Src != 0 {
			return 0, verr(pc, ErrUnsupported, "lddw with src=%d (map or pseudo load) is not supported: programs cannot refer to maps or globals", in.Src)
		}
		if in.Off != 0 {
			return 0, verr(pc, ErrMalformed, "lddw with nonzero offset")
		}
		if pc+1 >= len(prog) {
			return 0, verr(pc, ErrMalformed, "lddw without its second slot")
		}
		t := prog[pc+1]
		if t.Op != 0 || t.Dst != 0 || t.Src != 0 || t.Off != 0 {
			return 0, verr(pc+1, ErrMalformed, "second slot of lddw must have only imm set")
		}
		return 2, nil
	case ClassLDX:
		if in.Op&modeMask != ModeMEM {
			return 0, verr(pc, ErrUnsupported, "load mode %#02x (only register+offset loads are supported)", in.Op&modeMask)
		}
		if in.Imm != 0 {
			return 0, verr(pc, ErrMalformed, "load with nonzero imm")
		}
	case ClassST:
		if in.Op&modeMask != ModeMEM {
			return 0, verr(pc, ErrUnsupported, "store mode %#02x", in.Op&modeMask)
		}
		if in.Src != 0 {
			return 0, verr(pc, ErrMalformed, "immediate store with nonzero src")
		}
	case ClassSTX:
		if in.Op&modeMask == modeAtomic {
			return 0, verr(pc, ErrUnsupported, "atomic operations are not supported")
		}
		if in.Op&modeMask != ModeMEM {
			return 0, verr(pc, ErrUnsupported, "store mode %#02x", in.Op&modeMask)
		}
		if in.Imm != 0 {
			return 0, verr(pc, ErrMalformed, "register store with nonzero imm")
		}
	case ClassALU, ClassALU64:
		op := ALUOp(in.Op & opMask)
		if op > ALUEnd {
			return 0, verr(pc, ErrMalformed, "unknown ALU operation %#02x", in.Op)
		}
		if in.Off != 0 {
			return 0, verr(pc, ErrUnsupported, "ALU with nonzero offset (signed division or sign-extending move, eBPF v4) is not supported")
		}
		switch {
		case op == ALUEnd:
			if in.Class() == ClassALU64 {
				return 0, verr(pc, ErrUnsupported, "unconditional byte swap (eBPF v4) is not supported")
			}
			if in.Imm != 16 && in.Imm != 32 && in.Imm != 64 {
				return 0, verr(pc, ErrMalformed, "byte swap width %d (must be 16, 32 or 64)", in.Imm)
			}
			if in.Src != 0 {
				return 0, verr(pc, ErrMalformed, "byte swap with nonzero src")
			}
		case op == ALUNeg:
			if in.Op&SrcX != 0 || in.Src != 0 || in.Imm != 0 {
				return 0, verr(pc, ErrMalformed, "neg takes no operand")
			}
		case in.Op&SrcX != 0:
			if in.Imm != 0 {
				return 0, verr(pc, ErrMalformed, "register-operand ALU with nonzero imm")
			}
		default:
			if in.Src != 0 {
				return 0, verr(pc, ErrMalformed, "immediate-operand ALU with nonzero src")
			}
		}
	case ClassJMP, ClassJMP32:
		op := JumpOp(in.Op & opMask)
		if op > JumpSLE {
			return 0, verr(pc, ErrMalformed, "unknown jump operation %#02x", in.Op)
		}
		switch op {
		case JumpA:
			if in.Class() == ClassJMP32 {
				return 0, verr(pc, ErrUnsupported, "long jump (gotol, eBPF v4) is not supported")
			}
			if in.Op&SrcX != 0 || in.Dst != 0 || in.Src != 0 || in.Imm != 0 {
				return 0, verr(pc, ErrMalformed, "goto with operands")
			}
		case JumpCall:
			if in.Class() == ClassJMP32 || in.Op&SrcX != 0 || in.Dst != 0 || in.Off != 0 {
				return 0, verr(pc, ErrMalformed, "malformed call")
			}
			if in.Src != 0 {
				return 0, verr(pc, ErrUnsupported, "call with src=%d (bpf-to-bpf or kernel function call) is not supported; only helpers", in.Src)
			}
		case JumpExit:
			if in.Class() == ClassJMP32 || in.Op&SrcX != 0 || in.Dst != 0 || in.Src != 0 || in.Off != 0 || in.Imm != 0 {
				return 0, verr(pc, ErrMalformed, "malformed exit")
			}
		default:
			if in.Op&SrcX != 0 && in.Imm != 0 {
				return 0, verr(pc, ErrMalformed, "register comparison with nonzero imm")
			}
			if in.Op&SrcX == 0 && in.Src != 0 {
				return 0, verr(pc, ErrMalformed, "immediate comparison with nonzero src")
			}
		}
	}
	return 1, nil
}

// analyzeCFG runs the first pass.
func analyzeCFG(prog []Instruction) ([]insnInfo, *VerifyError) {
	n := len(prog)
	if n == 0 {
		return nil, verr(-1, ErrTooLarge, "empty program")
	}
	if n > MaxInsns {
		return nil, verr(-1, ErrTooLarge, "%d instructions exceeds the limit of %d", n, MaxInsns)
	}
	info := make([]insnInfo, n)
	for pc := 0; pc < n; {
		w, err := checkEncoding(prog, pc)
		if err != nil {
			return nil, err
		}
		if w == 2 {
			info[pc+1].lddwTail = true
		}
		pc += w
	}
	for pc := 0; pc < n; pc++ {
		if info[pc].lddwTail {
			continue
		}
		in := prog[pc]
		add := func(t int) *VerifyError {
			if t == n {
				return verr(pc, ErrFallOff, "execution can continue past the last instruction")
			}
			if t < 0 || t > n {
				return verr(pc, ErrBadJump, "jump target %d is outside the program (0..%d)", t, n-1)
			}
			if info[t].lddwTail {
				return verr(pc, ErrBadJump, "jump target %d is the second slot of lddw", t)
			}
			info[pc].succ[info[pc].nsucc] = t
			info[pc].nsucc++
			info[t].preds++
			return nil
		}
		var err *VerifyError
		switch {
		case in.Op == OpLdDW:
			err = add(pc + 2)
		case in.Op == OpExit:
		case in.Op == OpJA:
			err = add(pc + 1 + int(in.Off))
		case in.Class() == ClassJMP || in.Class() == ClassJMP32:
			if JumpOp(in.Op&opMask) == JumpCall {
				err = add(pc + 1)
			} else {
				if err = add(pc + 1); err == nil {
					err = add(pc + 1 + int(in.Off))
				}
			}
		default:
			err = add(pc + 1)
		}
		if err != nil {
			return nil, err
		}
	}
	post, err := findCycle(info)
	if err != nil {
		return nil, err
	}
	computeLiveness(prog, info, post)
	return info, nil
}

// useDef returns the registers instruction in reads and writes.
func useDef(in Instruction) (use, def uint16) {
	bit := func(r Reg) uint16 { return 1 << (r & 15) }
	x := in.Op&SrcX != 0
	switch in.Class() {
	case ClassLD:
		return 0, bit(in.Dst)
	case ClassLDX:
		return bit(in.Src), bit(in.Dst)
	case ClassST:
		return bit(in.Dst), 0
	case ClassSTX:
		return bit(in.Dst) | bit(in.Src), 0
	case ClassALU, ClassALU64:
		switch op := ALUOp(in.Op & opMask); {
		case op == ALUMov && x:
			return bit(in.Src), bit(in.Dst)
		case op == ALUMov:
			return 0, bit(in.Dst)
		case op == ALUEnd || op == ALUNeg || !x:
			return bit(in.Dst), bit(in.Dst)
		default:
			return bit(in.Dst) | bit(in.Src), bit(in.Dst)
		}
	}
	switch JumpOp(in.Op & opMask) {
	case JumpA:
		return 0, 0
	case JumpExit:
		return bit(R0), 0
	case JumpCall:
		n := 5
		if spec, ok := helperSpecs[HelperID(in.Imm)]; ok {
			n = spec.args
		}
		return uint16(1<<(n+1)-1) &^ 1, 0x3f // reads r1..rn; writes r0-r5
	}
	if x {
		return bit(in.Dst) | bit(in.Src), 0
	}
	return bit(in.Dst), 0
}

// computeLiveness fills info[pc].live. post lists the reachable
// instructions in depth-first postorder, so in an acyclic graph every
// instruction comes after all of its successors.
func computeLiveness(prog []Instruction, info []insnInfo, post []int) {
	for pc := range info {
		info[pc].live = allRegs // unreachable: never compared, kept conservative
	}
	for _, pc := range post {
		var out uint16
		for i := 0; i < info[pc].nsucc; i++ {
			out |= info[info[pc].succ[i]].live
		}
		use, def := useDef(prog[pc])
		info[pc].live = use | out&^def | 1<<R10
	}
}

// findCycle does an iterative depth-first search from instruction 0 and
// reports the first edge that returns to an instruction still on the path.
// Otherwise it returns the reachable instructions in postorder.
func findCycle(info []insnInfo) ([]int, *VerifyError) {
	const (
		white = iota
		grey
		black
	)
	color := make([]uint8, len(info))
	type frame struct{ pc, next int }
	stack := []frame{{0, 0}}
	color[0] = grey
	var post []int
	for len(stack) > 0 {
		f := &stack[len(stack)-1]
		if f.next == info[f.pc].nsucc {
			color[f.pc] = black
			post = append(post, f.pc)
			stack = stack[:len(stack)-1]
			continue
		}
		t := info[f.pc].succ[f.next]
		f.next++
		switch color[t] {
		case grey:
			return nil, verr(f.pc, ErrLoop, "jump to instruction %d closes a loop; programs must be acyclic", t)
		case white:
			color[t] = grey
			stack = append(stack, frame{t, 0})
		}
	}
	return post, nil
}
