package ash

import (
	"fmt"
	"math"
)

// Builder constructs a program instruction by instruction, with named labels
// for jump targets resolved by Build. It is how the library OS makes filters
// and ASHes for its own addresses and ports at run time:
//
//	b := ash.NewBuilder()
//	b.LoadPacketPointers(ash.R6, ash.R7)
//	b.LoadPacket(ash.R0, ash.SizeH, 12, "reject") // ethertype
//	b.JumpIf(ash.JumpNE, ash.R0, 0x0800, "reject")
//	b.Return(1)
//	b.Label("reject")
//	b.Return(0)
//	prog, err := b.Program(ash.Config{Type: ash.TypeFilter})
//
// Methods return the Builder so calls can be chained. The first error (a
// duplicate label, say) is kept and returned by Build.
type Builder struct {
	insns     []Instruction
	labels    map[string]int
	fixups    []fixup
	err       error
	data, end Reg
	havePkt   bool
}

type fixup struct {
	pc    int
	label string
}

// NewBuilder returns an empty Builder.
func NewBuilder() *Builder { return &Builder{labels: map[string]int{}} }

func (b *Builder) fail(format string, args ...any) *Builder {
	if b.err == nil {
		b.err = fmt.Errorf("ash: builder: instruction %d: "+format, append([]any{len(b.insns)}, args...)...)
	}
	return b
}

// Emit appends raw instructions.
func (b *Builder) Emit(ins ...Instruction) *Builder {
	b.insns = append(b.insns, ins...)
	return b
}

// Len returns the number of slots emitted so far.
func (b *Builder) Len() int { return len(b.insns) }

// Label names the next instruction as a jump target.
func (b *Builder) Label(name string) *Builder {
	if _, dup := b.labels[name]; dup {
		return b.fail("label %q defined twice", name)
	}
	b.labels[name] = len(b.insns)
	return b
}

// Mov sets dst to the sign-extended immediate (64-bit).
func (b *Builder) Mov(dst Reg, imm int32) *Builder { return b.ALU(ALUMov, dst, imm) }

// MovReg copies src to dst (64-bit).
func (b *Builder) MovReg(dst, src Reg) *Builder { return b.ALUReg(ALUMov, dst, src) }

// ALU emits the 64-bit "dst op= imm".
func (b *Builder) ALU(op ALUOp, dst Reg, imm int32) *Builder {
	return b.Emit(Instruction{Op: ClassALU64 | SrcK | uint8(op), Dst: dst, Imm: imm})
}

// ALUReg emits the 64-bit "dst op= src".
func (b *Builder) ALUReg(op ALUOp, dst, src Reg) *Builder {
	return b.Emit(Instruction{Op: ClassALU64 | SrcX | uint8(op), Dst: dst, Src: src})
}

// ALU32 emits the 32-bit "dst op= imm" (the result is zero-extended).
func (b *Builder) ALU32(op ALUOp, dst Reg, imm int32) *Builder {
	return b.Emit(Instruction{Op: ClassALU | SrcK | uint8(op), Dst: dst, Imm: imm})
}

// ALU32Reg emits the 32-bit "dst op= src".
func (b *Builder) ALU32Reg(op ALUOp, dst, src Reg) *Builder {
	return b.Emit(Instruction{Op: ClassALU | SrcX | uint8(op), Dst: dst, Src: src})
}

// Neg emits dst = -dst (64-bit).
func (b *Builder) Neg(dst Reg) *Builder {
	return b.Emit(Instruction{Op: ClassALU64 | uint8(ALUNeg), Dst: dst})
}

// ToBE converts the low width bits (16, 32 or 64) of dst between host and
// network byte order.
func (b *Builder) ToBE(dst Reg, width int32) *Builder {
	return b.Emit(Instruction{Op: ClassALU | SrcX | uint8(ALUEnd), Dst: dst, Imm: width})
}

// ToLE truncates dst to width bits (byte order is already little-endian).
func (b *Builder) ToLE(dst Reg, width int32) *Builder {
	return b.Emit(Instruction{Op: ClassALU | SrcK | uint8(ALUEnd), Dst: dst, Imm: width})
}

// LoadImm64 emits lddw: dst = v.
func (b *Builder) LoadImm64(dst Reg, v uint64) *Builder {
	s := LdDW(dst, v)
	return b.Emit(s[0], s[1])
}

// Load emits dst = *(size *)(src + off).
func (b *Builder) Load(size Size, dst, src Reg, off int16) *Builder {
	return b.Emit(Instruction{Op: ClassLDX | ModeMEM | uint8(size), Dst: dst, Src: src, Off: off})
}

// Store emits *(size *)(dst + off) = src.
func (b *Builder) Store(size Size, dst Reg, off int16, src Reg) *Builder {
	return b.Emit(Instruction{Op: ClassSTX | ModeMEM | uint8(size), Dst: dst, Src: src, Off: off})
}

// StoreImm emits *(size *)(dst + off) = imm.
func (b *Builder) StoreImm(size Size, dst Reg, off int16, imm int32) *Builder {
	return b.Emit(Instruction{Op: ClassST | ModeMEM | uint8(size), Dst: dst, Off: off, Imm: imm})
}

// LoadContext emits dst = ctx->field, with R1 still the context pointer.
// field is one of the Ctx* offsets.
func (b *Builder) LoadContext(dst Reg, field int16) *Builder {
	return b.Load(SizeDW, dst, R1, field)
}

func (b *Builder) jump(op uint8, dst, src Reg, imm int32, label string) *Builder {
	b.fixups = append(b.fixups, fixup{len(b.insns), label})
	return b.Emit(Instruction{Op: op, Dst: dst, Src: src, Imm: imm})
}

// Jump emits an unconditional jump to label.
func (b *Builder) Jump(label string) *Builder { return b.jump(OpJA, 0, 0, 0, label) }

// JumpIf emits "if dst op imm goto label" (64-bit comparison; imm is
// sign-extended).
func (b *Builder) JumpIf(op JumpOp, dst Reg, imm int32, label string) *Builder {
	return b.jump(ClassJMP|SrcK|uint8(op), dst, 0, imm, label)
}

// JumpIfReg emits "if dst op src goto label" (64-bit comparison).
func (b *Builder) JumpIfReg(op JumpOp, dst, src Reg, label string) *Builder {
	return b.jump(ClassJMP|SrcX|uint8(op), dst, src, 0, label)
}

// JumpIf32 emits "if wdst op imm goto label" (32-bit comparison).
func (b *Builder) JumpIf32(op JumpOp, dst Reg, imm int32, label string) *Builder {
	return b.jump(ClassJMP32|SrcK|uint8(op), dst, 0, imm, label)
}

// JumpIfReg32 emits "if wdst op wsrc goto label" (32-bit comparison).
func (b *Builder) JumpIfReg32(op JumpOp, dst, src Reg, label string) *Builder {
	return b.jump(ClassJMP32|SrcX|uint8(op), dst, src, 0, label)
}

// Call emits a helper call.
func (b *Builder) Call(h HelperID) *Builder { return b.Emit(Instruction{Op: OpCall, Imm: int32(h)}) }

// Exit emits exit; R0 is the result.
func (b *Builder) Exit() *Builder { return b.Emit(Instruction{Op: OpExit}) }

// Return emits r0 = v; exit.
func (b *Builder) Return(v int32) *Builder { return b.Mov(R0, v).Exit() }

// LoadPacketPointers loads ctx->data into data and ctx->data_end into end
// (R1 must still be the context), and makes them the registers LoadPacket
// uses. Neither may be R1 or R10.
func (b *Builder) LoadPacketPointers(data, end Reg) *Builder {
	if data == R1 || end == R1 || data == end || data == R10 || end == R10 {
		return b.fail("packet pointer registers r%d, r%d must be distinct and not r1 or r10", data, end)
	}
	b.data, b.end, b.havePkt = data, end, true
	return b.LoadContext(data, CtxData).LoadContext(end, CtxDataEnd)
}

// LoadPacket loads the size-byte big-endian field at packet offset off into
// dst in host order, jumping to miss if the packet is too short. It emits
// the bounds check the verifier needs, using only dst.
func (b *Builder) LoadPacket(dst Reg, size Size, off int32, miss string) *Builder {
	if !b.havePkt {
		return b.fail("LoadPacket before LoadPacketPointers")
	}
	n := int32(size.Bytes())
	if off < 0 || off > MaxPacketLen {
		return b.fail("packet offset %d outside [0, %d]", off, MaxPacketLen)
	}
	b.MovReg(dst, b.data).ALU(ALUAdd, dst, off+n).JumpIfReg(JumpGT, dst, b.end, miss)
	b.Load(size, dst, dst, int16(-n))
	if n > 1 {
		b.ToBE(dst, 8*n)
	}
	return b
}

// Build resolves labels and returns the instructions.
func (b *Builder) Build() ([]Instruction, error) {
	if b.err != nil {
		return nil, b.err
	}
	out := append([]Instruction(nil), b.insns...)
	for _, f := range b.fixups {
		t, ok := b.labels[f.label]
		if !ok {
			return nil, fmt.Errorf("ash: builder: instruction %d: undefined label %q", f.pc, f.label)
		}
		d := t - f.pc - 1
		if d < math.MinInt16 || d > math.MaxInt16 {
			return nil, fmt.Errorf("ash: builder: instruction %d: jump to %q spans %d slots, beyond 16 bits", f.pc, f.label, d)
		}
		out[f.pc].Off = int16(d)
	}
	return out, nil
}

// Program builds and verifies.
func (b *Builder) Program(cfg Config) (*Program, error) {
	insns, err := b.Build()
	if err != nil {
		return nil, err
	}
	return Verify(insns, cfg)
}
