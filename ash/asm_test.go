package ash

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// canonicalText covers every mnemonic form, in canonical spelling.
const canonicalText = `r0 = 0
w1 = w2
r1 += r2
w1 += 5
r3 -= r4
r3 *= r7
r3 /= r4
r3 %= 3
w3 %= w1
r3 |= 1
r3 &= 255
r3 <<= 2
r3 >>= r1
r3 s>>= 3
w3 s>>= 3
r3 = -r3
w3 = -w3
r3 ^= r2
r3 = be16 r3
r3 = be32 r3
r3 = be64 r3
r3 = le16 r3
r2 = 20015998343868 ll
r1 = -1 ll
r1 = *(u8 *)(r2 + 3)
r1 = *(u32 *)(r2 - 3)
r1 = *(u64 *)(r10 + 0)
*(u16 *)(r10 - 8) = r1
*(u32 *)(r10 - 8) = 7
*(u64 *)(r10 - 16) = -5
if r1 s> r2 goto +1
if w1 == 5 goto +0
if r1 & 4 goto +0
if r1 s<= -5 goto -3
if w1 != w2 goto +0
if r1 >= 65535 goto +2
goto +0
call 3
.insn 0xc3, 1, 2, 0, 0
exit
`

func TestAsmRoundTripText(t *testing.T) {
	prog, err := Assemble(canonicalText)
	require.NoError(t, err)
	assert.Equal(t, canonicalText, Disassemble(prog))
}

func TestAsmRoundTripBytes(t *testing.T) {
	// Arbitrary slots, including ones no mnemonic expresses, survive
	// disassemble-assemble unchanged.
	raw := []Instruction{
		{Op: 0x07, Dst: 1, Src: 3, Imm: 5}, // reserved src field set
		{Op: 0xff, Dst: 15, Src: 15, Off: -1, Imm: -1},
		{Op: OpLdDW, Dst: 2, Imm: 7}, {Imm: 9},
		{Op: OpLdDW, Dst: 2, Imm: 7}, {Dst: 1, Imm: 9}, // bad second slot
		{Op: 0x95},
	}
	got, err := Assemble(Disassemble(raw))
	require.NoError(t, err)
	assert.Equal(t, raw, got)
}

func TestAsmLabels(t *testing.T) {
	prog, err := Assemble(`
	start:  r0 = 0          ; comment
		if r1 == 0 goto out // another
		r0 = 1 ll
	out:	exit            # done
	`)
	require.NoError(t, err)
	assert.Equal(t, "r0 = 0\nif r1 == 0 goto +2\nr0 = 1 ll\nexit\n", Disassemble(prog))
}

func TestAsmErrors(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{"r11 = 1", "unknown instruction"},
		{"r1 = w2", "mixing"},
		{"goto nowhere", "undefined label"},
		{"a: exit\na: exit", "defined twice"},
		{"r1 = 4294967296", "above"},
		{"r1 = *(u128 *)(r2 + 0)", "expected u8"},
		{"if r1 ?? r2 goto +1", "unexpected character"},
		{"r1 = be8 r1", "byte swap width"},
		{"exit r0", "unexpected"},
		{"*(u8 *)(r1 + 70000) = 1", "above"},
	} {
		_, err := Assemble(tc.src)
		assert.ErrorContains(t, err, tc.want, tc.src)
	}
}

func TestAssembleLines(t *testing.T) {
	prog, lines, err := AssembleLines("; header\nr0 = 0\n\nl: r1 = 5 ll\n  exit\n")
	require.NoError(t, err)
	assert.Len(t, prog, 4)
	assert.Equal(t, []int{2, 4, 4, 5}, lines)

	_, _, err = AssembleLines("exit\nexit\nr12 = 1\n")
	var ae *AsmError
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, 3, ae.Line)
	assert.Contains(t, ae.Msg, "unknown instruction")
	assert.Equal(t, "ash: asm: line 3: "+ae.Msg, err.Error())
}
