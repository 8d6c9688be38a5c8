package ash

import (
	"encoding/binary"
	"fmt"
)

// Reg names one of the eleven registers.
type Reg uint8

// Registers. R0 holds return values, R1-R5 helper arguments (clobbered by a
// call), R6-R9 are preserved across calls, R10 is the read-only frame pointer.
const (
	R0 Reg = iota
	R1
	R2
	R3
	R4
	R5
	R6
	R7
	R8
	R9
	R10
	// NumRegs is the number of registers.
	NumRegs = 11
)

// InsnSize is the size in bytes of one instruction slot.
const InsnSize = 8

// Instruction is one 8-byte instruction slot in the eBPF encoding. An lddw
// occupies two slots: the second has Op 0 and carries the upper 32 bits of the
// constant in Imm.
type Instruction struct {
	Op  uint8
	Dst Reg   // 4 bits in the encoding
	Src Reg   // 4 bits in the encoding
	Off int16 // signed offset: jump distance in slots or memory displacement
	Imm int32 // signed immediate
}

// Class returns the instruction class (the opcode's low three bits).
func (i Instruction) Class() uint8 { return i.Op & classMask }

// Encode writes the program as little-endian eBPF bytes, the format clang and
// the Linux kernel use on little-endian machines such as RISC-V.
func Encode(prog []Instruction) []byte {
	out := make([]byte, len(prog)*InsnSize)
	for i, in := range prog {
		b := out[i*InsnSize:]
		b[0] = in.Op
		b[1] = uint8(in.Dst&0x0f) | uint8(in.Src&0x0f)<<4
		binary.LittleEndian.PutUint16(b[2:], uint16(in.Off))
		binary.LittleEndian.PutUint32(b[4:], uint32(in.Imm))
	}
	return out
}

// Decode parses little-endian eBPF bytes into instruction slots. It checks
// only the length; whether the slots form a valid program is [Verify]'s job.
func Decode(b []byte) ([]Instruction, error) {
	if len(b)%InsnSize != 0 {
		return nil, fmt.Errorf("ash: decode: %d bytes is not a whole number of %d-byte instructions", len(b), InsnSize)
	}
	prog := make([]Instruction, len(b)/InsnSize)
	for i := range prog {
		s := b[i*InsnSize:]
		prog[i] = Instruction{
			Op:  s[0],
			Dst: Reg(s[1] & 0x0f),
			Src: Reg(s[1] >> 4),
			Off: int16(binary.LittleEndian.Uint16(s[2:])),
			Imm: int32(binary.LittleEndian.Uint32(s[4:])),
		}
	}
	return prog, nil
}

// LdDW returns the two slots of "dst = imm ll".
func LdDW(dst Reg, imm uint64) [2]Instruction {
	return [2]Instruction{
		{Op: OpLdDW, Dst: dst, Imm: int32(uint32(imm))},
		{Imm: int32(uint32(imm >> 32))},
	}
}
