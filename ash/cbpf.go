package ash

import (
	"fmt"
	"strconv"
	"strings"
)

// CBPFInstruction is one classic BPF instruction (struct sock_filter, as
// printed by tcpdump -dd).
type CBPFInstruction struct {
	Code   uint16
	Jt, Jf uint8
	K      uint32
}

// ParseTcpdump parses the output of tcpdump -dd ("{ 0x28, 0, 0, 0x0000000c },"
// lines, a C array body) or tcpdump -ddd (a count line, then "40 0 0 12"
// lines).
func ParseTcpdump(text string) ([]CBPFInstruction, error) {
	var lines []string
	for _, l := range strings.Split(text, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) == 0 {
		return nil, fmt.Errorf("ash: cbpf: no instructions")
	}
	var prog []CBPFInstruction
	if strings.HasPrefix(lines[0], "{") {
		for i, l := range lines {
			l = strings.TrimSuffix(strings.TrimSuffix(l, ","), " ")
			if !strings.HasPrefix(l, "{") || !strings.HasSuffix(l, "}") {
				return nil, fmt.Errorf("ash: cbpf: line %d: expected { code, jt, jf, k }, found %q", i+1, l)
			}
			in, err := parseCBPFFields(strings.Split(strings.Trim(l, "{} "), ","), i+1)
			if err != nil {
				return nil, err
			}
			prog = append(prog, in)
		}
		return prog, nil
	}
	n, err := strconv.Atoi(lines[0])
	if err != nil {
		return nil, fmt.Errorf("ash: cbpf: line 1: expected an instruction count (tcpdump -ddd) or { (tcpdump -dd), found %q", lines[0])
	}
	if n != len(lines)-1 {
		return nil, fmt.Errorf("ash: cbpf: count line says %d instructions, found %d", n, len(lines)-1)
	}
	for i, l := range lines[1:] {
		in, err := parseCBPFFields(strings.Fields(l), i+2)
		if err != nil {
			return nil, err
		}
		prog = append(prog, in)
	}
	return prog, nil
}

func parseCBPFFields(f []string, line int) (CBPFInstruction, error) {
	if len(f) != 4 {
		return CBPFInstruction{}, fmt.Errorf("ash: cbpf: line %d: expected 4 fields, found %d", line, len(f))
	}
	var v [4]uint64
	for i, s := range f {
		bits := [4]int{16, 8, 8, 32}[i]
		x, err := strconv.ParseUint(strings.TrimSpace(s), 0, bits)
		if err != nil {
			return CBPFInstruction{}, fmt.Errorf("ash: cbpf: line %d: field %d: %q is not a %d-bit number", line, i+1, s, bits)
		}
		v[i] = x
	}
	return CBPFInstruction{Code: uint16(v[0]), Jt: uint8(v[1]), Jf: uint8(v[2]), K: uint32(v[3])}, nil
}

// Classic BPF opcode fields (from the BSD Packet Filter paper's encoding,
// also in Linux's filter.h and libpcap's bpf.h).
const (
	cLD, cLDX, cST, cSTX, cALU, cJMP, cRET, cMISC = 0, 1, 2, 3, 4, 5, 6, 7

	cW, cH, cB = 0x00, 0x08, 0x10

	cIMM, cABS, cIND, cMEM, cLEN, cMSH = 0x00, 0x20, 0x40, 0x60, 0x80, 0xa0

	cK, cX, cA = 0x00, 0x08, 0x10 // operand source; cA only for RET

	cTAX, cTXA = 0x00, 0x80

	cbpfMemWords = 16
)

// Registers and stack slots of translated programs.
const (
	cbData = R6
	cbEnd  = R7
	cbA    = R8
	cbX    = R9
	cbTmp  = R2
	// the wire length lives at r10-8, scratch word i at r10-16-8i
	cbLenSlot = -8
)

func cbMemSlot(k uint32) int16 { return int16(-16 - 8*int(k)) }

// TranslateCBPF turns a classic BPF filter into an equivalent filter program
// for this machine, with libpcap's run-time semantics: a load outside the
// captured bytes ends the filter with 0; division by X = 0 ends it with 0; a
// shift by X >= 32 gives 0; A and X start at 0; "len" is the wire length.
// The result must still pass Verify (ImportCBPF does both).
func TranslateCBPF(prog []CBPFInstruction) ([]Instruction, error) {
	n := len(prog)
	if n == 0 || n > MaxInsns {
		return nil, fmt.Errorf("ash: cbpf: %d instructions (must be 1..%d)", n, MaxInsns)
	}
	b := NewBuilder()
	label := func(i int) string { return "L" + strconv.Itoa(i) }
	fail := func(i int, format string, args ...any) ([]Instruction, error) {
		return nil, fmt.Errorf("ash: cbpf: instruction %d (%#04x): %s", i, prog[i].Code, fmt.Sprintf(format, args...))
	}

	// Prologue: packet pointers, wire length spilled to the stack, A = X = 0,
	// and every scratch word the program reads set to 0.
	b.LoadPacketPointers(cbData, cbEnd)
	b.LoadContext(cbTmp, CtxLen)
	b.Store(SizeDW, R10, cbLenSlot, cbTmp)
	b.ALU32(ALUMov, cbA, 0).ALU32(ALUMov, cbX, 0)
	var used [cbpfMemWords]bool
	for _, in := range prog {
		if c := in.Code & 7; (c == cLD || c == cLDX) && in.Code&0xe0 == cMEM && in.K < cbpfMemWords {
			used[in.K] = true
		}
	}
	for k, u := range used {
		if u {
			b.StoreImm(SizeDW, R10, cbMemSlot(uint32(k)), 0)
		}
	}

	// load emits dst = the big-endian field of size bytes at packet offset
	// k (+X if ind), or a jump to "ret0" when it is outside the capture.
	load := func(dst Reg, size Size, k uint32, ind bool) {
		sz := uint32(size.Bytes())
		if k > MaxPacketLen {
			b.Jump("ret0") // never inside a packet of at most MaxPacketLen bytes
			return
		}
		if ind {
			// X is bounded first so the verifier can track data+X.
			b.JumpIf(JumpGT, cbX, MaxPacketLen, "ret0")
			b.MovReg(cbTmp, cbX).ALUReg(ALUAdd, cbTmp, cbData)
		} else {
			b.MovReg(cbTmp, cbData)
		}
		b.ALU(ALUAdd, cbTmp, int32(k+sz)).JumpIfReg(JumpGT, cbTmp, cbEnd, "ret0")
		b.Load(size, dst, cbTmp, -int16(sz))
		if sz > 1 {
			b.ToBE(dst, int32(8*sz))
		}
	}

	for i, in := range prog {
		b.Label(label(i))
		code, k := in.Code, in.K
		class := code & 7
		target := func(off uint8) (string, error) {
			t := i + 1 + int(off)
			if t >= n {
				return "", fmt.Errorf("ash: cbpf: instruction %d: jump to %d beyond the end (%d)", i, t, n)
			}
			return label(t), nil
		}
		switch class {
		case cLD, cLDX:
			dst := cbA
			if class == cLDX {
				dst = cbX
			}
			size, mode := Size(code&0x18), code&0xe0
			switch {
			case mode == cIMM && size == cW:
				b.ALU32(ALUMov, dst, int32(k))
			case mode == cLEN && size == cW:
				b.Load(SizeDW, dst, R10, cbLenSlot)
			case mode == cMEM && size == cW:
				if k >= cbpfMemWords {
					return fail(i, "scratch word %d out of range", k)
				}
				b.Load(SizeDW, dst, R10, cbMemSlot(k))
			case class == cLD && (mode == cABS || mode == cIND) && size != 0x18:
				load(dst, size, k, mode == cIND)
			case class == cLDX && mode == cMSH && size == cB:
				load(cbX, SizeB, k, false)
				b.ALU32(ALUAnd, cbX, 0xf).ALU32(ALULsh, cbX, 2)
			default:
				return fail(i, "unsupported load")
			}
		case cST, cSTX:
			if code != uint16(class) {
				return fail(i, "unsupported store")
			}
			if k >= cbpfMemWords {
				return fail(i, "scratch word %d out of range", k)
			}
			src := cbA
			if class == cSTX {
				src = cbX
			}
			b.Store(SizeDW, R10, cbMemSlot(k), src)
		case cALU:
			op, src := ALUOp(code&0xf0), code&0x08
			if op > ALUXor || op == ALUMov || code&0x07 != cALU {
				return fail(i, "unsupported ALU operation")
			}
			if op == ALUNeg {
				b.Emit(Instruction{Op: ClassALU | uint8(ALUNeg), Dst: cbA})
				break
			}
			if src == cK {
				switch {
				case (op == ALUDiv || op == ALUMod) && k == 0:
					return fail(i, "division by constant zero")
				case (op == ALULsh || op == ALURsh) && k >= 32:
					b.ALU32(ALUMov, cbA, 0)
				default:
					b.ALU32(op, cbA, int32(k))
				}
				break
			}
			switch op {
			case ALUDiv, ALUMod:
				b.JumpIf(JumpEq, cbX, 0, "ret0")
				b.ALU32Reg(op, cbA, cbX)
			case ALULsh, ALURsh:
				sh, done := label(i)+"s", label(i)+"d"
				b.JumpIf(JumpLT, cbX, 32, sh).ALU32(ALUMov, cbA, 0).Jump(done)
				b.Label(sh).ALU32Reg(op, cbA, cbX).Label(done)
			default:
				b.ALU32Reg(op, cbA, cbX)
			}
		case cJMP:
			op := JumpOp(code & 0xf0)
			if code&0x07 != cJMP {
				return fail(i, "bad jump")
			}
			if op == JumpA {
				t := i + 1 + int(k)
				if int32(k) < 0 {
					// libpcap's own interpreter lets k wrap around to jump
					// backwards (protochain's loop); this machine has no loops.
					return fail(i, "backward jump (a loop, as 'protochain' generates) is not supported")
				}
				if k >= uint32(n) || t >= n {
					return fail(i, "jump beyond the end")
				}
				b.Jump(label(t))
				break
			}
			if op != JumpEq && op != JumpGT && op != JumpGE && op != JumpSet {
				return fail(i, "unsupported jump")
			}
			lt, err := target(in.Jt)
			if err != nil {
				return nil, err
			}
			lf, err := target(in.Jf)
			if err != nil {
				return nil, err
			}
			// Classic comparisons are on 32-bit A: JMP32 gives exactly that.
			if code&0x08 == cX {
				b.JumpIfReg32(op, cbA, cbX, lt)
			} else {
				b.JumpIf32(op, cbA, int32(k), lt)
			}
			if in.Jf != 0 {
				b.Jump(lf)
			}
		case cRET:
			switch code & 0x18 {
			case cK:
				b.ALU32(ALUMov, R0, int32(k))
			case cA:
				b.MovReg(R0, cbA)
			case cX:
				b.MovReg(R0, cbX)
			default:
				return fail(i, "bad return")
			}
			b.Exit()
		case cMISC:
			switch code & 0xf8 {
			case cTAX:
				b.MovReg(cbX, cbA)
			case cTXA:
				b.MovReg(cbA, cbX)
			default:
				return fail(i, "unsupported misc operation")
			}
		}
	}
	// Falling off the end is a classic-BPF validation error; make it one here.
	if prog[n-1].Code&7 != cRET {
		return fail(n-1, "the program does not end with a return")
	}
	b.Label("ret0").Return(0)
	return b.Build()
}

// ImportCBPF parses tcpdump -dd/-ddd text, translates it and verifies the
// result as a filter.
func ImportCBPF(text string) (*Program, error) {
	c, err := ParseTcpdump(text)
	if err != nil {
		return nil, err
	}
	insns, err := TranslateCBPF(c)
	if err != nil {
		return nil, err
	}
	return Verify(insns, Config{Type: TypeFilter})
}
