package ash

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"sync/atomic"
)

// This file turns fuzz bytes into programs and inputs. Random bytes decoded
// as instructions almost never verify (the first uninitialised register or
// unchecked load ends them), so most programs are built from a structured
// encoding instead: a prologue that loads the region pointers, proves some
// packet bytes and initialises the scratch registers, then a body of
// fuzz-chosen instruction templates (ALU, loads and stores through checked
// and unchecked pointers, bounds checks, variable offsets, spills, helper
// calls, forward branches, raw slots), then exit. Every jump goes forward to
// a template boundary, so the control flow is valid by construction and the
// verifier's data-flow rules decide acceptance.

// byteSource hands out fuzz bytes, then zeros once they run out.
type byteSource struct {
	b []byte
	i int
}

func (s *byteSource) u8() uint8 {
	if s.i >= len(s.b) {
		return 0
	}
	v := s.b[s.i]
	s.i++
	return v
}

func (s *byteSource) u16() uint16 { return uint16(s.u8()) | uint16(s.u8())<<8 }
func (s *byteSource) u32() uint32 { return uint32(s.u16()) | uint32(s.u16())<<16 }
func (s *byteSource) u64() uint64 { return uint64(s.u32()) | uint64(s.u32())<<32 }
func (s *byteSource) left() int   { return len(s.b) - s.i }

// interestingImms are immediates near the edges of ranges the verifier
// reasons about.
var interestingImms = []int32{0, 1, 2, 3, 4, 7, 8, 12, 14, 15, 16, 20, 31, 32, 33, 63, 64, 255, 256,
	1500, 1514, 0x7fff, 0xffff, 0x10000, 65535, 65536, 1 << 20, -1, -2, -8, -16, -512,
	0x7fffffff, -0x80000000}

func (s *byteSource) imm() int32 {
	b := s.u8()
	if b < 192 {
		return interestingImms[int(b)%len(interestingImms)]
	}
	return int32(s.u32())
}

// genOp is one generated slot and, for a jump, the template it goes to.
type genOp struct {
	in     Instruction
	target int // template index to jump to; -1 for none
}

// genProgram is a decoded fuzz case: the program and its configuration.
type genProgram struct {
	insns []Instruction
	cfg   Config
	// raw is set when the slots came straight from the bytes.
	raw bool
	// kinds lists the template kind of each template (structured mode),
	// for debugging the generator.
	kinds []uint8
}

const (
	maxGenTemplates = 96
	// the templates index used for "the epilogue" before it is known
	genEnd = 1 << 30
)

var genALUOps = []ALUOp{ALUAdd, ALUSub, ALUMul, ALUDiv, ALUOr, ALUAnd, ALULsh, ALURsh, ALUNeg, ALUMod, ALUXor, ALUMov, ALUArsh, ALUEnd}
var genJumpOps = []JumpOp{JumpEq, JumpGT, JumpGE, JumpSet, JumpNE, JumpSGT, JumpSGE, JumpLT, JumpLE, JumpSLT, JumpSLE}
var genSizes = []Size{SizeB, SizeH, SizeW, SizeDW}

// genFromBytes decodes code into a program. The first bytes choose the
// program type, the region sizes and whether the rest is raw slots.
func genFromBytes(code []byte) genProgram {
	s := &byteSource{b: code}
	typ := ProgType(1 + s.u8()%3)
	mode := s.u8()
	cfg := Config{Type: typ}
	switch typ {
	case TypeASH:
		cfg.MsgSize = int(s.u8())
		if mode&0x10 != 0 {
			cfg.ReplySize = 64 + int(s.u8())
		}
	case TypePredicate:
		cfg.MemSize = int(s.u8())
	}
	if mode%8 == 0 {
		rest := code[s.i:]
		rest = rest[:len(rest)/InsnSize*InsnSize]
		insns, _ := Decode(rest)
		return genProgram{insns: insns, cfg: cfg, raw: true}
	}
	g := &gen{s: s, typ: typ, cfg: cfg, mode: mode}
	g.prologue()
	for len(g.templates) < maxGenTemplates && s.left() > 0 {
		g.template()
	}
	return genProgram{insns: g.assemble(), cfg: cfg, kinds: g.kinds}
}

type gen struct {
	s         *byteSource
	typ       ProgType
	mode      uint8
	cfg       Config
	proved    int // packet bytes the prologue proved
	pro       []genOp
	templates [][]genOp
	kinds     []uint8 // template kind of each, for debugging the generator
}

func (g *gen) emit(ops *[]genOp, in ...Instruction) {
	for _, x := range in {
		*ops = append(*ops, genOp{in: x, target: -1})
	}
}

func ld(size Size, dst, src Reg, off int16) Instruction {
	return Instruction{Op: ClassLDX | ModeMEM | uint8(size), Dst: dst, Src: src, Off: off}
}

func stx(size Size, dst Reg, off int16, src Reg) Instruction {
	return Instruction{Op: ClassSTX | ModeMEM | uint8(size), Dst: dst, Src: src, Off: off}
}

func st(size Size, dst Reg, off int16, imm int32) Instruction {
	return Instruction{Op: ClassST | ModeMEM | uint8(size), Dst: dst, Off: off, Imm: imm}
}

func alu64(op ALUOp, dst Reg, imm int32) Instruction {
	return Instruction{Op: ClassALU64 | SrcK | uint8(op), Dst: dst, Imm: imm}
}

func alu64r(op ALUOp, dst, src Reg) Instruction {
	return Instruction{Op: ClassALU64 | SrcX | uint8(op), Dst: dst, Src: src}
}

// prologue: r6/r7 the main region's pointer and end, r8 a working copy of
// r6, r9 the second region (reply buffer or counters), the context spilled
// at r10-8, r0 and r2-r5 initialised, and for packets a check proving
// g.proved bytes that exits early when it fails.
func (g *gen) prologue() {
	p := &g.pro
	switch g.typ {
	case TypePredicate:
		g.emit(p, ld(SizeDW, R6, R1, CtxMem), ld(SizeDW, R7, R1, CtxMemEnd), ld(SizeDW, R9, R1, CtxCounters))
	default:
		g.emit(p, ld(SizeDW, R6, R1, CtxData), ld(SizeDW, R7, R1, CtxDataEnd))
		if g.typ == TypeASH {
			g.emit(p, ld(SizeDW, R9, R1, CtxReply))
		} else {
			g.emit(p, alu64r(ALUMov, R9, R6))
		}
	}
	g.emit(p, stx(SizeDW, R10, -8, R1), alu64(ALUMov, R0, 0))
	if g.mode&0x20 != 0 {
		// Initialise the stack the templates use, so that fewer programs
		// fail on uninitialised reads (others keep testing those rules).
		for off := int16(-16); off >= -96; off -= 8 {
			g.emit(p, st(SizeDW, R10, off, 0))
		}
	}
	if g.typ != TypePredicate {
		g.proved = int(g.s.u8() % 72)
		g.emit(p, alu64r(ALUMov, R8, R6), alu64(ALUAdd, R8, int32(g.proved)))
		*p = append(*p, genOp{Instruction{Op: ClassJMP | SrcX | uint8(JumpGT), Dst: R8, Src: R7}, genEnd})
	}
	g.emit(p, alu64r(ALUMov, R8, R6))
	g.emit(p, alu64(ALUMov, R2, g.s.imm()), alu64(ALUMov, R3, g.s.imm()), alu64(ALUMov, R5, g.s.imm()))
	switch {
	case g.typ == TypePredicate:
		g.emit(p, ld(SizeDW, R4, R9, CounterRxPackets))
	case g.proved >= 4:
		g.emit(p, ld(SizeW, R4, R6, 0))
	default:
		g.emit(p, alu64(ALUMov, R4, g.s.imm()))
	}
}

// scalarReg picks a register that usually holds a number.
func (g *gen) scalarReg() Reg {
	b := g.s.u8()
	if b < 254 {
		return []Reg{R0, R2, R3, R4, R5}[b%5]
	}
	return Reg(b % 10)
}

// ptrReg picks a register that usually holds a pointer.
func (g *gen) ptrReg() Reg {
	b := g.s.u8()
	if b < 224 {
		return []Reg{R6, R8, R8, R9}[b%4]
	}
	return Reg(b % 11)
}

// memOff picks a displacement around the proved packet bytes.
func (g *gen) memOff(size Size) int16 {
	b := g.s.u8()
	if b >= 240 {
		return int16(int8(g.s.u8()))
	}
	off := int(b) % (g.proved + 8)
	if b&0x80 == 0 {
		off = off / size.Bytes() * size.Bytes()
	}
	if b < 16 {
		off -= 2
	}
	return int16(off)
}

func (g *gen) stackOff(size Size) int16 {
	b := g.s.u8()
	off := -int16(b%80) - 9 // r10-8 holds the context
	if b < 224 {
		n := int16(size.Bytes())
		off = (off - n + 1) / n * n
		if off == 0 {
			off = -n
		}
	}
	return off
}

func (g *gen) jumpTarget() int {
	return len(g.templates) + 1 + int(g.s.u8()%8)
}

func (g *gen) template() {
	var t []genOp
	s := g.s
	k := s.u8()
	switch k % 24 {
	case 0, 1, 2: // ALU with an immediate
		op := genALUOps[int(s.u8())%len(genALUOps)]
		class := uint8(ClassALU64)
		if s.u8()&1 != 0 {
			class = ClassALU
		}
		dst := g.scalarReg()
		switch op {
		case ALUEnd:
			src := uint8(SrcK)
			if k&0x80 != 0 {
				src = SrcX
			}
			g.emit(&t, Instruction{Op: ClassALU | src | uint8(ALUEnd), Dst: dst, Imm: []int32{16, 32, 64}[s.u8()%3]})
		case ALUNeg:
			g.emit(&t, Instruction{Op: class | uint8(ALUNeg), Dst: dst})
		default:
			imm := s.imm()
			switch op {
			case ALULsh, ALURsh, ALUArsh:
				width := uint8(64)
				if class == ClassALU {
					width = 32
				}
				imm = int32(s.u8() % (width + 2))
			case ALUDiv, ALUMod:
				if imm == 0 && s.u8() < 224 {
					imm = 3
				}
			}
			g.emit(&t, Instruction{Op: class | SrcK | uint8(op), Dst: dst, Imm: imm})
		}
	case 3, 4: // ALU with a register
		op := genALUOps[int(s.u8())%(len(genALUOps)-1)]
		class := uint8(ClassALU64)
		if s.u8()&1 != 0 {
			class = ClassALU
		}
		in := Instruction{Op: class | SrcX | uint8(op), Dst: g.scalarReg(), Src: g.scalarReg()}
		if op == ALUNeg {
			in = Instruction{Op: class | uint8(ALUNeg), Dst: in.Dst}
		}
		g.emit(&t, in)
	case 20, 21, 22, 23: // a load behind its own bounds check, as real programs do
		size := genSizes[s.u8()%4]
		p := []Reg{R6, R8, R8}[s.u8()%3]
		off := int16(s.u8() % 72)
		if g.typ != TypePredicate {
			g.emit(&t, alu64r(ALUMov, R1, p), alu64(ALUAdd, R1, int32(off)+int32(size.Bytes())))
			t = append(t, genOp{Instruction{Op: ClassJMP | SrcX | uint8(JumpGT), Dst: R1, Src: R7}, g.jumpTarget()})
		}
		g.emit(&t, ld(size, g.scalarReg(), p, off))
	case 5, 6: // load through a (usually) pointer register
		size := genSizes[s.u8()%4]
		g.emit(&t, ld(size, g.scalarReg(), g.ptrReg(), g.memOff(size)))
	case 7: // store through a pointer register, usually a writable one
		size := genSizes[s.u8()%4]
		p := g.ptrReg()
		if b := s.u8(); b < 248 {
			p = R10
			if g.typ == TypeASH && b&1 != 0 {
				p = R9
			}
		}
		off := g.memOff(size)
		if p == R10 {
			off = g.stackOff(size)
		}
		if s.u8()&1 == 0 {
			g.emit(&t, stx(size, p, off, g.scalarReg()))
		} else {
			g.emit(&t, st(size, p, off, s.imm()))
		}
	case 8: // bounds check of a (possibly variable) packet pointer
		tmp := R1
		if b := s.u8(); b >= 240 {
			tmp = Reg(2 + b%4)
		}
		p := []Reg{R6, R8}[s.u8()%2]
		if b := s.u8(); b >= 240 {
			p = g.ptrReg()
		}
		g.emit(&t, alu64r(ALUMov, tmp, p), alu64(ALUAdd, tmp, int32(s.u8()%80)))
		op := []JumpOp{JumpGT, JumpGE, JumpLT, JumpLE, JumpEq, JumpNE}[s.u8()%6]
		in := Instruction{Op: ClassJMP | SrcX | uint8(op), Dst: tmp, Src: R7}
		if s.u8()&1 != 0 {
			in.Dst, in.Src = in.Src, in.Dst
		}
		t = append(t, genOp{in, g.jumpTarget()})
	case 9: // variable offset: r8 = base + bounded scalar
		sc := g.scalarReg()
		if s.u8()&1 == 0 {
			g.emit(&t, alu64(ALUAnd, sc, int32(s.u8())))
		} else {
			op := []JumpOp{JumpGT, JumpGE, JumpSGT, JumpSGE}[s.u8()%4]
			t = append(t, genOp{Instruction{Op: ClassJMP | SrcK | uint8(op), Dst: sc, Imm: int32(s.u8())}, g.jumpTarget()})
		}
		base := R6
		if s.u8()&1 != 0 {
			base = g.ptrReg()
		}
		g.emit(&t, alu64r(ALUMov, R8, base), alu64r(ALUAdd, R8, sc))
	case 10: // stack store
		size := genSizes[s.u8()%4]
		if s.u8()&1 == 0 {
			src := Reg(s.u8() % 10)
			if src == R1 || src >= R6 {
				size = SizeDW // a spill
			}
			g.emit(&t, stx(size, R10, g.stackOff(size), src))
		} else {
			g.emit(&t, st(size, R10, g.stackOff(size), s.imm()))
		}
	case 11: // stack load
		size := genSizes[s.u8()%4]
		dst := g.scalarReg()
		if b := s.u8(); size == SizeDW && b < 64 {
			dst = []Reg{R6, R8, R9}[b%3] // a fill
		}
		g.emit(&t, ld(size, dst, R10, g.stackOff(size)))
	case 12, 13: // conditional jump on numbers
		op := genJumpOps[int(s.u8())%len(genJumpOps)]
		class := uint8(ClassJMP)
		if s.u8()&1 != 0 {
			class = ClassJMP32
		}
		in := Instruction{Op: class | uint8(op), Dst: g.scalarReg()}
		if s.u8()&1 != 0 {
			in.Op |= SrcX
			in.Src = g.scalarReg()
		} else {
			in.Imm = s.imm()
		}
		t = append(t, genOp{in, g.jumpTarget()})
	case 14: // goto
		t = append(t, genOp{Instruction{Op: OpJA}, g.jumpTarget()})
	case 15: // helper call with prepared arguments
		g.call(&t)
	case 16: // refetch a context field through the spilled context
		r := []Reg{R1, R6, R7, R8, R9}[s.u8()%5]
		var fields []int16
		for off, f := range ctxTable {
			if f.allowed(g.typ) {
				fields = append(fields, int16(8*off))
			}
		}
		field := fields[int(s.u8())%len(fields)]
		if b := s.u8(); b >= 240 {
			field = int16(b % 96)
		}
		g.emit(&t, ld(SizeDW, R1, R10, -8), ld(SizeDW, r, R1, field))
	case 17: // constant pointer arithmetic or pointer copy
		switch s.u8() % 3 {
		case 0:
			g.emit(&t, alu64(ALUAdd, g.ptrReg(), int32(int8(s.u8()))))
		case 1:
			g.emit(&t, alu64(ALUSub, g.ptrReg(), int32(int8(s.u8()))))
		default:
			g.emit(&t, alu64r(ALUMov, []Reg{R6, R8, R9}[s.u8()%3], g.ptrReg()))
		}
	case 18: // lddw
		l := LdDW(g.scalarReg(), s.u64())
		g.emit(&t, l[0], l[1])
	case 19: // a raw slot, rarely (nearly all are rejected)
		if k != 235 {
			g.emit(&t, alu64(ALUMov, g.scalarReg(), s.imm()))
			break
		}
		b := make([]byte, InsnSize)
		for i := range b {
			b[i] = s.u8()
		}
		in, _ := Decode(b)
		g.emit(&t, in...)
	}
	g.templates = append(g.templates, t)
	g.kinds = append(g.kinds, k%24)
}

// call sets up a helper's arguments from the working registers and calls it.
func (g *gen) call(t *[]genOp) {
	s := g.s
	arg := func(r Reg) {
		if s.u8()&1 == 0 {
			g.emit(t, alu64r(ALUMov, r, g.scalarReg()))
		} else {
			g.emit(t, alu64(ALUMov, r, int32(s.u16()%1600)))
		}
	}
	b := s.u8()
	id := HelperID(3 + b%2) // the helpers every type may call
	if g.typ == TypeASH || b >= 240 {
		id = HelperID(1 + b%5)
	}
	switch id {
	case HelperSendReply:
		arg(R1)
	case HelperPacketCopy, HelperPacketCopyCsum:
		arg(R1)
		p := R9
		if b := s.u8(); b >= 224 {
			p = g.ptrReg()
		}
		g.emit(t, alu64r(ALUMov, R2, p), alu64(ALUAdd, R2, int32(s.u8()%64)))
		arg(R3)
		if id == HelperPacketCopyCsum {
			arg(R4)
		}
	case HelperCsum:
		if s.u8()&1 == 0 {
			g.emit(t, alu64r(ALUMov, R1, g.ptrReg()))
		} else {
			g.emit(t, alu64r(ALUMov, R1, R10), alu64(ALUAdd, R1, -8*int32(2+s.u8()%16)))
		}
		arg(R2)
		arg(R3)
	case HelperCsumUpdate:
		arg(R1)
		arg(R2)
		arg(R3)
	}
	g.emit(t, Instruction{Op: OpCall, Imm: int32(id)})
	// Usually give the clobbered scratch registers numbers again.
	if s.u8() < 224 {
		g.emit(t, alu64(ALUMov, R2, s.imm()), alu64(ALUMov, R3, s.imm()), alu64(ALUMov, R4, s.imm()), alu64(ALUMov, R5, s.imm()))
	}
}

// assemble lays out prologue, templates and the final exit, and resolves
// the jumps.
func (g *gen) assemble() []Instruction {
	start := make([]int, len(g.templates)+1)
	n := len(g.pro)
	for i, t := range g.templates {
		start[i] = n
		n += len(t)
	}
	start[len(g.templates)] = n
	out := make([]Instruction, 0, n+1)
	resolve := func(op genOp, pc int) Instruction {
		in := op.in
		if op.target >= 0 {
			to := start[min(op.target, len(g.templates))]
			in.Off = int16(to - pc - 1)
		}
		return in
	}
	for _, op := range g.pro {
		out = append(out, resolve(op, len(out)))
	}
	for _, t := range g.templates {
		for _, op := range t {
			out = append(out, resolve(op, len(out)))
		}
	}
	return append(out, Instruction{Op: OpExit})
}

// runInputs derives the inputs a generated program is run on: packets of
// lengths around what the prologue proved and of the whole fuzz data, with
// wire lengths equal and larger, and region buffers filled from data.
type runInput struct {
	packet                    []byte
	wire                      int
	reply, msg, mem, counters []byte
}

func genInputs(cfg Config, data []byte) []runInput {
	base := make([]byte, 1600)
	for i := range base {
		base[i] = byte(i*7 + 3)
	}
	copy(base, data)
	lengths := []int{0, 1, 13, 14, 34, 42, 60, 64, 79, 80, len(data), 1514}
	var out []runInput
	for i, l := range lengths {
		l = min(l, len(base))
		wire := l
		if i%3 == 1 {
			wire += int(base[i]) + 1
		}
		in := runInput{packet: base[:l:l], wire: wire}
		in.reply = append([]byte(nil), base[:max(cfg.ReplySize, DefaultReplySize)]...)
		in.msg = append([]byte(nil), base[100:100+cfg.MsgSize]...)
		in.mem = append([]byte(nil), base[200:200+cfg.MemSize]...)
		in.counters = append([]byte(nil), base[:max(cfg.CountersSize, DefaultCountersSize)]...)
		binary.LittleEndian.PutUint64(in.counters[CounterRxPackets:], uint64(len(data)))
		out = append(out, in)
	}
	return out
}

// fuzzStats counts generated programs, for the acceptance figures.
var fuzzStats struct{ tried, accepted, runs atomic.Int64 }

// checkProgram verifies g and, if accepted, runs it on every input twice
// (with different stack fills). It returns whether the verifier accepted,
// and an error describing any escape: a run-time fault, a step count over
// the budget, a reply length outside the buffer, or a result that depends
// on uninitialised stack.
func checkProgram(gp genProgram, data []byte) (bool, error) {
	fuzzStats.tried.Add(1)
	p, err := Verify(gp.insns, gp.cfg)
	if err != nil {
		if _, ok := err.(*VerifyError); !ok {
			return false, fmt.Errorf("Verify returned a %T, not a *VerifyError: %v", err, err)
		}
		return false, nil
	}
	fuzzStats.accepted.Add(1)
	cfg := p.Config()
	m, poisoned := NewMachine(), NewMachine()
	poisoned.stackFill = 0xa5
	for i, ri := range genInputs(cfg, data) {
		var res [2]Result
		var reply, msg [2][]byte
		for j, mach := range []*Machine{m, poisoned} {
			in := Input{Packet: ri.packet, WireLen: ri.wire, Reply: bytes.Clone(ri.reply), Msg: bytes.Clone(ri.msg),
				Mem: ri.mem, Counters: ri.counters}
			r, err := mach.Run(p, &in)
			fuzzStats.runs.Add(1)
			if err != nil {
				return true, fmt.Errorf("input %d (packet %d bytes, wire %d): verified program faulted: %v", i, len(ri.packet), ri.wire, err)
			}
			if r.Steps < 1 || r.Steps > p.Len() {
				return true, fmt.Errorf("input %d: %d steps, budget %d", i, r.Steps, p.Len())
			}
			if r.ReplyLen < -1 || r.ReplyLen > cfg.ReplySize || (r.ReplyLen >= 0 && cfg.Type != TypeASH) {
				return true, fmt.Errorf("input %d: reply length %d with a %d-byte reply buffer", i, r.ReplyLen, cfg.ReplySize)
			}
			res[j], reply[j], msg[j] = r, in.Reply, in.Msg
		}
		if res[0] != res[1] || !bytes.Equal(reply[0], reply[1]) || !bytes.Equal(msg[0], msg[1]) {
			return true, fmt.Errorf("input %d: result depends on uninitialised stack: %+v vs %+v", i, res[0], res[1])
		}
	}
	return true, nil
}

// ctxTable is ctxFields indexed by word: a stable order for the generator
// (ranging over the map would make generated programs differ run to run).
var ctxTable = func() [CtxSize / 8]ctxField {
	var t [CtxSize / 8]ctxField
	for off, f := range ctxFields {
		t[off/8] = f
	}
	return t
}()
