package ash

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Assemble translates text in the syntax Disassemble writes (LLVM's BPF
// assembly; see disasm.go) into instruction slots. Besides "+N"/"-N" jump
// offsets it accepts labels: "name:" before an instruction (or alone on a
// line) and "goto name" / "if ... goto name". Comments run from ';', '#' or
// "//" to the end of the line. Directives other than .insn (".text",
// ".section ...", as in clang's output) are ignored.
func Assemble(src string) ([]Instruction, error) {
	prog, _, err := AssembleLines(src)
	return prog, err
}

// AsmError is an assembly error: the 1-based source line and what is wrong.
type AsmError struct {
	Line int
	Msg  string
}

// Error formats the error as "ash: asm: line N: message".
func (e *AsmError) Error() string { return fmt.Sprintf("ash: asm: line %d: %s", e.Line, e.Msg) }

// AssembleLines is Assemble that also returns, for every instruction slot,
// the 1-based source line it came from (both slots of lddw name the same
// line), so that a verifier error's index can be reported as a line. Errors
// are *AsmError.
func AssembleLines(src string) ([]Instruction, []int, error) {
	type pending struct {
		pc    int
		label string
		line  int
	}
	var (
		out    []Instruction
		lines  []int
		labels = map[string]int{}
		refs   []pending
	)
	for n, line := range strings.Split(src, "\n") {
		lineNo := n + 1
		line = stripComment(line)
		// Labels: identifiers followed by ':' at the start of the line.
		for {
			line = strings.TrimSpace(line)
			i := strings.IndexByte(line, ':')
			if i <= 0 || !isIdent(line[:i]) {
				break
			}
			name := line[:i]
			if _, dup := labels[name]; dup {
				return nil, nil, &AsmError{lineNo, fmt.Sprintf("label %q defined twice", name)}
			}
			labels[name] = len(out)
			line = line[i+1:]
		}
		if line == "" {
			continue
		}
		ins, ref, err := parseLine(line)
		if err != nil {
			return nil, nil, &AsmError{lineNo, err.Error()}
		}
		if ref != "" {
			refs = append(refs, pending{len(out), ref, lineNo})
		}
		out = append(out, ins...)
		for range ins {
			lines = append(lines, lineNo)
		}
	}
	for _, r := range refs {
		t, ok := labels[r.label]
		if !ok {
			return nil, nil, &AsmError{r.line, fmt.Sprintf("undefined label %q", r.label)}
		}
		d := t - r.pc - 1
		if d < math.MinInt16 || d > math.MaxInt16 {
			return nil, nil, &AsmError{r.line, fmt.Sprintf("jump to %q is %d slots away, beyond 16 bits", r.label, d)}
		}
		out[r.pc].Off = int16(d)
	}
	return out, lines, nil
}

// assembleLine parses one line with no labels; the disassembler uses it to
// check that a mnemonic re-encodes exactly.
func assembleLine(line string, _ map[string]int, _ int) ([]Instruction, error) {
	ins, ref, err := parseLine(line)
	if err == nil && ref != "" {
		err = fmt.Errorf("label reference")
	}
	return ins, err
}

func stripComment(s string) string {
	for _, c := range []string{";", "#", "//"} {
		if i := strings.Index(s, c); i >= 0 {
			s = s[:i]
		}
	}
	return s
}

func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		if !(c == '_' || c == '.' || c == '$' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// operators, longest first so that ">>=" is not read as ">" ">=".
var operators = []string{"s>>=", "s>=", "s<=", "<<=", ">>=", "s>", "s<", "==", "!=", ">=", "<=",
	"+=", "-=", "*=", "/=", "%=", "|=", "&=", "^=", "=", ">", "<", "&", "*", "(", ")", "+", "-", ","}

func tokenize(s string) ([]string, error) {
	var toks []string
	for i := 0; i < len(s); {
		c := s[i]
		if c == ' ' || c == '\t' || c == '\r' {
			i++
			continue
		}
		matched := false
		for _, op := range operators {
			if strings.HasPrefix(s[i:], op) {
				// "s>" is an operator only where a word cannot continue.
				if op[0] == 's' && i > 0 && isWordByte(s[i-1]) {
					continue
				}
				toks = append(toks, op)
				i += len(op)
				matched = true
				break
			}
		}
		if matched {
			continue
		}
		if !isWordByte(c) {
			return nil, fmt.Errorf("unexpected character %q", c)
		}
		j := i
		for j < len(s) && isWordByte(s[j]) {
			j++
		}
		toks = append(toks, s[i:j])
		i = j
	}
	return toks, nil
}

func isWordByte(c byte) bool {
	return c == '_' || c == '.' || c == '$' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// cursor walks a token list.
type cursor struct {
	t []string
	i int
}

func (c *cursor) peek() string {
	if c.i < len(c.t) {
		return c.t[c.i]
	}
	return ""
}

func (c *cursor) next() string {
	s := c.peek()
	if c.i < len(c.t) {
		c.i++
	}
	return s
}

func (c *cursor) expect(s string) error {
	if got := c.next(); got != s {
		if got == "" {
			got = "end of line"
		}
		return fmt.Errorf("expected %q, found %q", s, got)
	}
	return nil
}

func (c *cursor) done() error {
	if c.i != len(c.t) {
		return fmt.Errorf("unexpected %q after instruction", c.t[c.i])
	}
	return nil
}

// reg parses r0-r10 or w0-w10.
func parseReg(s string) (Reg, bool, bool) {
	if len(s) < 2 || (s[0] != 'r' && s[0] != 'w') {
		return 0, false, false
	}
	n, err := strconv.Atoi(s[1:])
	if err != nil || n < 0 || n > 10 || strconv.Itoa(n) != s[1:] {
		return 0, false, false
	}
	return Reg(n), s[0] == 'w', true
}

func (c *cursor) reg(wide bool) (Reg, error) {
	s := c.next()
	r, w, ok := parseReg(s)
	if !ok {
		return 0, fmt.Errorf("expected a register, found %q", s)
	}
	if w != wide {
		return 0, fmt.Errorf("register %s: mixing r and w registers", s)
	}
	return r, nil
}

// number parses an optionally signed decimal or 0x-hex integer in
// [lo, hi] (hi may exceed MaxInt64 for unsigned 64-bit constants).
func (c *cursor) number(lo int64, hi uint64) (uint64, error) {
	neg := false
	if c.peek() == "-" || c.peek() == "+" {
		neg = c.next() == "-"
	}
	s := c.next()
	v, err := strconv.ParseUint(s, 0, 64)
	if err != nil {
		return 0, fmt.Errorf("expected a number, found %q", s)
	}
	if neg {
		if v > uint64(-(lo+1))+1 {
			return 0, fmt.Errorf("-%s is below %d", s, lo)
		}
		return -v, nil
	}
	if v > hi {
		return 0, fmt.Errorf("%s is above %d", s, hi)
	}
	return v, nil
}

func (c *cursor) imm32() (int32, error) {
	v, err := c.number(math.MinInt32, math.MaxUint32)
	return int32(uint32(v)), err
}

func (c *cursor) off16() (int16, error) {
	v, err := c.number(math.MinInt16, math.MaxInt16)
	return int16(v), err
}

// target parses "+N", "-N" or a label.
func (c *cursor) target() (int16, string, error) {
	if p := c.peek(); p == "+" || p == "-" {
		off, err := c.off16()
		return off, "", err
	}
	s := c.next()
	if !isIdent(s) {
		return 0, "", fmt.Errorf("expected a jump offset or label, found %q", s)
	}
	return 0, s, nil
}

// memRef parses "*(uN *)(rX +/- off)" from after the leading "*".
func (c *cursor) memRef() (Size, Reg, int16, error) {
	if err := c.expect("("); err != nil {
		return 0, 0, 0, err
	}
	var size Size
	switch sz := c.next(); sz {
	case "u8":
		size = SizeB
	case "u16":
		size = SizeH
	case "u32":
		size = SizeW
	case "u64":
		size = SizeDW
	default:
		return 0, 0, 0, fmt.Errorf("expected u8, u16, u32 or u64, found %q", sz)
	}
	for _, s := range []string{"*", ")", "("} {
		if err := c.expect(s); err != nil {
			return 0, 0, 0, err
		}
	}
	r, err := c.reg(false)
	if err != nil {
		return 0, 0, 0, err
	}
	var off int16
	if c.peek() != ")" {
		if p := c.peek(); p != "+" && p != "-" {
			return 0, 0, 0, fmt.Errorf("expected + or - offset, found %q", p)
		}
		if off, err = c.off16(); err != nil {
			return 0, 0, 0, err
		}
	}
	return size, r, off, c.expect(")")
}

// parseLine parses one instruction. ref is a label the jump offset must be
// resolved against, if any.
func parseLine(line string) ([]Instruction, string, error) {
	toks, err := tokenize(line)
	if err != nil {
		return nil, "", err
	}
	if len(toks) == 0 {
		return nil, "", nil
	}
	c := &cursor{t: toks}
	one := func(in Instruction, ref string, err error) ([]Instruction, string, error) {
		if err == nil {
			err = c.done()
		}
		if err != nil {
			return nil, "", err
		}
		return []Instruction{in}, ref, nil
	}
	head := c.next()
	switch {
	case head == ".insn":
		var f [5]int64
		for i := range f {
			if i > 0 {
				if err := c.expect(","); err != nil {
					return nil, "", err
				}
			}
			lims := [5][2]int64{{0, 255}, {0, 15}, {0, 15}, {math.MinInt16, math.MaxInt16}, {math.MinInt32, math.MaxUint32}}[i]
			v, err := c.number(lims[0], uint64(lims[1]))
			if err != nil {
				return nil, "", err
			}
			f[i] = int64(v)
		}
		return one(Instruction{Op: uint8(f[0]), Dst: Reg(f[1]), Src: Reg(f[2]), Off: int16(f[3]), Imm: int32(uint32(f[4]))}, "", nil)
	case strings.HasPrefix(head, "."):
		return nil, "", nil // assembler directive from clang output: ignored
	case head == "exit":
		return one(Instruction{Op: OpExit}, "", nil)
	case head == "call":
		imm, err := c.imm32()
		return one(Instruction{Op: OpCall, Imm: imm}, "", err)
	case head == "goto":
		off, ref, err := c.target()
		return one(Instruction{Op: OpJA, Off: off}, ref, err)
	case head == "if":
		return parseCondJump(c, one)
	case head == "*":
		size, dst, off, err := c.memRef()
		if err != nil {
			return nil, "", err
		}
		if err := c.expect("="); err != nil {
			return nil, "", err
		}
		if r, w, ok := parseReg(c.peek()); ok && !w {
			c.next()
			return one(Instruction{Op: ClassSTX | ModeMEM | uint8(size), Dst: dst, Src: r, Off: off}, "", nil)
		}
		imm, err := c.imm32()
		return one(Instruction{Op: ClassST | ModeMEM | uint8(size), Dst: dst, Off: off, Imm: imm}, "", err)
	}
	dst, wide, ok := parseReg(head)
	if !ok {
		return nil, "", fmt.Errorf("unknown instruction starting %q", head)
	}
	class := uint8(ClassALU64)
	if wide {
		class = ClassALU
	}
	opTok := c.next()
	if opTok == "=" {
		switch p := c.peek(); {
		case p == "*" && !wide:
			c.next()
			size, src, off, err := c.memRef()
			return one(Instruction{Op: ClassLDX | ModeMEM | uint8(size), Dst: dst, Src: src, Off: off}, "", err)
		case p == "-" && c.i+1 < len(c.t) && c.t[c.i+1] == head:
			c.next()
			c.next()
			return one(Instruction{Op: class | uint8(ALUNeg), Dst: dst}, "", nil)
		case len(p) > 2 && (strings.HasPrefix(p, "be") || strings.HasPrefix(p, "le")) && !wide:
			c.next()
			width, err := strconv.Atoi(p[2:])
			if err != nil || (width != 16 && width != 32 && width != 64) {
				return nil, "", fmt.Errorf("byte swap width must be 16, 32 or 64, found %q", p)
			}
			src, err := c.reg(false)
			if err == nil && src != dst {
				err = fmt.Errorf("byte swap must name the same register on both sides")
			}
			op := ClassALU | uint8(ALUEnd)
			if p[0] == 'b' {
				op |= SrcX
			}
			return one(Instruction{Op: op, Dst: dst, Imm: int32(width)}, "", err)
		}
		if r, w, ok := parseReg(c.peek()); ok {
			c.next()
			if w != wide {
				return nil, "", fmt.Errorf("mixing r and w registers")
			}
			return one(Instruction{Op: class | SrcX | uint8(ALUMov), Dst: dst, Src: r}, "", nil)
		}
		// An immediate: lddw if followed by "ll", else a 32-bit move.
		save := c.i
		v, err := c.number(math.MinInt64, math.MaxUint64)
		if err != nil {
			return nil, "", err
		}
		if c.peek() == "ll" && !wide {
			c.next()
			if err := c.done(); err != nil {
				return nil, "", err
			}
			s := LdDW(dst, v)
			return s[:], "", nil
		}
		c.i = save
		imm, err := c.imm32()
		return one(Instruction{Op: class | uint8(ALUMov), Dst: dst, Imm: imm}, "", err)
	}
	var op ALUOp
	found := false
	for k, sym := range aluSyms {
		if sym == opTok && k != ALUMov {
			op, found = k, true
		}
	}
	if !found {
		return nil, "", fmt.Errorf("unknown operator %q", opTok)
	}
	if r, w, ok := parseReg(c.peek()); ok {
		c.next()
		if w != wide {
			return nil, "", fmt.Errorf("mixing r and w registers")
		}
		return one(Instruction{Op: class | SrcX | uint8(op), Dst: dst, Src: r}, "", nil)
	}
	imm, err := c.imm32()
	return one(Instruction{Op: class | uint8(op), Dst: dst, Imm: imm}, "", err)
}

func parseCondJump(c *cursor, one func(Instruction, string, error) ([]Instruction, string, error)) ([]Instruction, string, error) {
	dst, wide, ok := parseReg(c.next())
	if !ok {
		return nil, "", fmt.Errorf("expected a register after if")
	}
	class := uint8(ClassJMP)
	if wide {
		class = ClassJMP32
	}
	opTok := c.next()
	var op JumpOp
	found := false
	for k, sym := range jumpSyms {
		if sym == opTok {
			op, found = k, true
		}
	}
	if !found {
		return nil, "", fmt.Errorf("unknown comparison %q", opTok)
	}
	in := Instruction{Op: class | uint8(op), Dst: dst}
	if r, w, ok := parseReg(c.peek()); ok {
		c.next()
		if w != wide {
			return nil, "", fmt.Errorf("mixing r and w registers")
		}
		in.Op |= SrcX
		in.Src = r
	} else {
		imm, err := c.imm32()
		if err != nil {
			return nil, "", err
		}
		in.Imm = imm
	}
	if err := c.expect("goto"); err != nil {
		return nil, "", err
	}
	off, ref, err := c.target()
	in.Off = off
	return one(in, ref, err)
}
