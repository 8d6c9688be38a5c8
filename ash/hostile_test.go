package ash

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// hostileCase is a program modelled on a known class of eBPF verifier
// bypasses (or simply on a way to break memory safety) that must be rejected
// at instruction idx for the reason kind.
type hostileCase struct {
	name string
	typ  ProgType
	src  string // assembly; "pkt" below prepends the packet pointers
	idx  int
	kind ErrorKind
}

// pkt loads r2 = data, r3 = data_end (two instructions).
const pkt = "r2 = *(u64 *)(r1 + 0)\nr3 = *(u64 *)(r1 + 8)\n"

// pkt8 additionally proves 8 bytes and loads them as an unknown 64-bit
// number into r4 (instructions 0-5; the next is 6).
const pkt8 = pkt + "r5 = r2\nr5 += 8\nif r5 > r3 goto out\nr4 = *(u64 *)(r2 + 0)\n"

const out = "out:\nr0 = 0\nexit\n"

var hostileCorpus = []hostileCase{
	// Pointer arithmetic.
	{"unknown scalar added to packet pointer", TypeFilter, pkt8 + "r2 += r4\nr0 = 0\nexit\n" + out, 6, ErrPointerArith},
	{"wire length added to packet pointer", TypeFilter, pkt + "r4 = *(u64 *)(r1 + 16)\nr2 += r4\nr0 = 0\nexit", 3, ErrPointerArith},
	{"pointer plus huge lddw constant", TypeFilter, pkt + "r4 = 0x7fffffffffffffff ll\nr2 += r4\nr0 = 0\nexit", 4, ErrPointerArith},
	{"pointer plus 2^31-1 immediate", TypeFilter, pkt + "r2 += 2147483647\nr0 = 0\nexit", 2, ErrPointerArith},
	{"pointer minus INT64_MIN", TypeFilter, pkt + "r4 = -9223372036854775808 ll\nr2 -= r4\nr0 = 0\nexit", 4, ErrPointerArith},
	{"offset accumulates past limit", TypeFilter, pkt + "r2 += 1000000\nr2 += 1000000\nr0 = 0\nexit", 3, ErrPointerArith},
	{"pointer minus unknown scalar", TypeFilter, pkt8 + "if r4 > 10 goto out\nr2 -= r4\nr0 = 0\nexit\n" + out, 7, ErrPointerArith},
	{"sum of two pointers", TypeFilter, pkt + "r2 += r3\nr0 = 0\nexit", 2, ErrPointerArith},
	{"multiply a pointer", TypeFilter, pkt + "r2 *= 2\nr0 = 0\nexit", 2, ErrPointerArith},
	{"arithmetic on end pointer", TypeFilter, pkt + "r3 -= 1\nr0 = 0\nexit", 2, ErrPointerArith},
	{"arithmetic on context", TypeFilter, "r1 += 8\nr0 = *(u64 *)(r1 + 0)\nexit", 0, ErrPointerArith},
	{"variable stack offset", TypeFilter, pkt8 + "r4 &= 7\nr5 = r10\nr5 += r4\nr0 = 0\nexit\n" + out, 8, ErrPointerArith},
	{"32-bit add on pointer", TypeFilter, pkt + "w2 += 1\nr0 = 0\nexit", 2, ErrPointerArith},
	{"32-bit move truncates pointer", TypeFilter, pkt + "w4 = w2\nr0 = 0\nexit", 2, ErrPointerArith},
	// Bounds.
	{"off-by-one bounds check", TypeFilter, pkt + "r4 = r2\nr4 += 14\nif r4 > r3 goto out\nr0 = *(u8 *)(r2 + 14)\nexit\n" + out, 5, ErrOutOfBounds},
	{"wide load past check", TypeFilter, pkt + "r4 = r2\nr4 += 14\nif r4 > r3 goto out\nr0 = *(u32 *)(r2 + 12)\nexit\n" + out, 5, ErrOutOfBounds},
	{"access on the failing side of check", TypeFilter, pkt + "r4 = r2\nr4 += 14\nif r4 > r3 goto bad\nr0 = 0\nexit\nbad:\nr0 = *(u8 *)(r2 + 0)\nexit", 7, ErrOutOfBounds},
	{"pointer advanced after check", TypeFilter, pkt + "r4 = r2\nr4 += 14\nif r4 > r3 goto out\nr4 += 1\nr0 = *(u8 *)(r4 - 1)\nexit\n" + out, 6, ErrOutOfBounds},
	{"negative packet offset", TypeFilter, pkt + "r4 = r2\nr4 += 14\nif r4 > r3 goto out\nr0 = *(u8 *)(r2 - 1)\nexit\n" + out, 5, ErrOutOfBounds},
	{"check one pointer, read through another", TypeFilter, pkt8 + "r4 &= 15\nr5 = r2\nr5 += r4\nr6 = r2\nr6 += r4\nr7 = r5\nr7 += 2\nif r7 > r3 goto out\nr0 = *(u16 *)(r6 + 8)\nexit\n" + out, 14, ErrOutOfBounds},
	{"no bounds check at all", TypeFilter, pkt + "r0 = *(u8 *)(r2 + 0)\nexit", 2, ErrOutOfBounds},
	{"load through end pointer", TypeFilter, pkt + "r0 = *(u8 *)(r3 - 1)\nexit", 2, ErrOutOfBounds},
	{"read past top of stack", TypeFilter, "*(u64 *)(r10 - 8) = 1\nr0 = *(u64 *)(r10 + 0)\nexit", 1, ErrOutOfBounds},
	{"write below bottom of stack", TypeFilter, "*(u64 *)(r10 - 520) = 1\nr0 = 0\nexit", 0, ErrOutOfBounds},
	{"reply write past buffer", TypeASH, "r2 = *(u64 *)(r1 + 24)\n*(u32 *)(r2 + 1512) = 0\nr0 = 0\nexit", 1, ErrOutOfBounds},
	{"counters read past block", TypePredicate, "r2 = *(u64 *)(r1 + 72)\nr0 = *(u64 *)(r2 + 64)\nexit", 1, ErrOutOfBounds},
	// Arithmetic that loses the bound.
	{"signed upper bound used as unsigned", TypeFilter, pkt8 + "if r4 s> 100 goto out\nr2 += r4\nr0 = 0\nexit\n" + out, 7, ErrPointerArith},
	{"32-bit compare bounds only low half", TypeFilter, pkt8 + "if w4 > 10 goto out\nr2 += r4\nr0 = 0\nexit\n" + out, 7, ErrPointerArith},
	{"32-bit subtract wraps bounded value", TypeFilter, pkt8 + "if r4 > 16 goto out\nw4 -= 1\nr2 += r4\nr0 = 0\nexit\n" + out, 8, ErrPointerArith},
	{"64-bit subtract wraps bounded value", TypeFilter, pkt8 + "if r4 > 16 goto out\nr4 -= 1\nr2 += r4\nr0 = 0\nexit\n" + out, 8, ErrPointerArith},
	{"shift overflows bounded value", TypeFilter, pkt8 + "if r4 > 16 goto out\nr4 <<= 60\nr2 += r4\nr0 = 0\nexit\n" + out, 8, ErrPointerArith},
	{"mov32 of -1 is not 64-bit -1", TypeFilter, "w4 = -1\nif r4 == -1 goto +2\nr0 = *(u64 *)(r10 - 8)\nexit\nr0 = 0\nexit", 2, ErrUninitStack},
	// Initialisation.
	{"uninitialised register read", TypeFilter, "r0 = r5\nexit", 0, ErrUninitRegister},
	{"exit with uninitialised r0", TypeFilter, "exit", 0, ErrUninitRegister},
	{"register clobbered by call", TypeFilter, "r2 = 0\nr1 = 0\nr3 = 0\ncall 4\nr0 = r2\nexit", 4, ErrUninitRegister},
	{"uninitialised stack read", TypeFilter, "r0 = *(u64 *)(r10 - 8)\nexit", 0, ErrUninitStack},
	{"partly initialised stack read", TypeFilter, "*(u32 *)(r10 - 8) = 1\nr0 = *(u64 *)(r10 - 8)\nexit", 1, ErrUninitStack},
	{"uninitialised on one path only", TypeFilter, "r0 = *(u64 *)(r1 + 16)\nif r0 > 5 goto +1\n*(u64 *)(r10 - 8) = 1\nr0 = *(u64 *)(r10 - 8)\nexit", 3, ErrUninitStack},
	// Shifts and division.
	{"shift by 64", TypeFilter, "r0 = 1\nr0 <<= 64\nexit", 1, ErrShift},
	{"32-bit shift by 32", TypeFilter, "w0 = 1\nw0 >>= 32\nexit", 1, ErrShift},
	{"shift by negative immediate", TypeFilter, "r0 = 1\nr0 s>>= -1\nexit", 1, ErrShift},
	{"shift by known register 70", TypeFilter, "r1 = 70\nr0 = 1\nr0 <<= r1\nexit", 2, ErrShift},
	{"division by constant zero", TypeFilter, "r0 = 1\nr0 /= 0\nexit", 1, ErrDivByZero},
	{"modulo by known-zero register", TypeFilter, "r1 = 0\nr0 = 7\nr0 %= r1\nexit", 2, ErrDivByZero},
	{"32-bit division by 2^32 (zero low half)", TypeFilter, "r1 = 4294967296 ll\nw0 = 7\nw0 /= w1\nexit", 3, ErrDivByZero},
	// Control flow.
	{"jump into second half of lddw", TypeFilter, "goto +1\nr1 = 5 ll\nr0 = 0\nexit", 0, ErrBadJump},
	{"jump past the end", TypeFilter, "goto +5\nr0 = 0\nexit", 0, ErrBadJump},
	{"falls off the end", TypeFilter, "r0 = 0", 0, ErrFallOff},
	{"branch falls off the end", TypeFilter, "r0 = 0\nif r0 == 0 goto +1\nexit\nr0 = 1", 3, ErrFallOff},
	{"self loop", TypeFilter, "r0 = 0\ngoto -1", 1, ErrLoop},
	{"backward loop", TypeFilter, "r0 = 0\nr0 += 1\nif r0 < 10 goto -2\nexit", 2, ErrLoop},
	// Pointer leaks and comparisons.
	{"pointer stored to reply buffer", TypeASH, "r2 = *(u64 *)(r1 + 24)\n*(u64 *)(r2 + 0) = r2\nr0 = 0\nexit", 1, ErrPointerLeak},
	{"pointer stored to message buffer", TypeASH, "r2 = *(u64 *)(r1 + 40)\n*(u64 *)(r2 + 0) = r1\nr0 = 0\nexit", 1, ErrPointerLeak},
	{"pointer stored to packet", TypeFilter, pkt + "*(u64 *)(r2 + 0) = r2\nr0 = 0\nexit", 2, ErrPointerLeak},
	{"pointer returned", TypeFilter, "r0 = r1\nexit", 1, ErrPointerLeak},
	{"partial read of spilled pointer", TypeFilter, "*(u64 *)(r10 - 8) = r1\nr0 = *(u32 *)(r10 - 8)\nexit", 1, ErrPointerLeak},
	{"partial overwrite of spilled pointer", TypeFilter, "*(u64 *)(r10 - 8) = r1\n*(u8 *)(r10 - 8) = 0\nr0 = 0\nexit", 1, ErrPointerLeak},
	{"pointer passed as helper length", TypeASH, "call 1\nr0 = 0\nexit", 0, ErrHelperArg},
	{"pointer compared with scalar", TypeFilter, pkt + "if r2 > 100 goto +0\nr0 = 0\nexit", 2, ErrPointerCompare},
	{"pointers of different regions compared", TypeASH, pkt + "r4 = *(u64 *)(r1 + 24)\nif r2 > r4 goto +0\nr0 = 0\nexit", 3, ErrPointerCompare},
	{"signed pointer comparison", TypeFilter, pkt + "if r2 s> r3 goto +0\nr0 = 0\nexit", 2, ErrPointerCompare},
	{"32-bit pointer comparison", TypeFilter, pkt + "if w2 > w3 goto +0\nr0 = 0\nexit", 2, ErrPointerCompare},
	{"load through scalar", TypeFilter, "r1 = 4096\nr0 = *(u8 *)(r1 + 0)\nexit", 1, ErrNotPointer},
	// Registers, regions, context.
	{"write r10", TypeFilter, "r10 = 0\nr0 = 0\nexit", 0, ErrReadOnlyRegister},
	{"add to r10", TypeFilter, "r10 += 8\nr0 = 0\nexit", 0, ErrReadOnlyRegister},
	{"load into r10", TypeFilter, "r10 = *(u64 *)(r1 + 16)\nr0 = 0\nexit", 0, ErrReadOnlyRegister},
	{"misaligned stack store", TypeFilter, "*(u32 *)(r10 - 6) = 1\nr0 = 0\nexit", 0, ErrMisaligned},
	{"misaligned stack load", TypeFilter, "*(u64 *)(r10 - 8) = 1\nr0 = *(u16 *)(r10 - 7)\nexit", 1, ErrMisaligned},
	{"predicate reads packet", TypePredicate, "r2 = *(u64 *)(r1 + 0)\nr0 = 0\nexit", 0, ErrRegion},
	{"filter reads reply buffer", TypeFilter, "r2 = *(u64 *)(r1 + 24)\nr0 = 0\nexit", 0, ErrRegion},
	{"filter writes packet", TypeFilter, pkt + "r4 = r2\nr4 += 1\nif r4 > r3 goto out\n*(u8 *)(r2 + 0) = 1\nr0 = 0\nexit\n" + out, 5, ErrRegion},
	{"predicate writes env memory", TypePredicate, "r2 = *(u64 *)(r1 + 56)\n*(u8 *)(r2 + 0) = 1\nr0 = 0\nexit", 1, ErrRegion},
	{"context store", TypeFilter, "*(u64 *)(r1 + 0) = 0\nr0 = 0\nexit", 0, ErrContext},
	{"narrow context load", TypeFilter, "r0 = *(u32 *)(r1 + 0)\nexit", 0, ErrContext},
	{"context load past end", TypeFilter, "r0 = *(u64 *)(r1 + 88)\nexit", 0, ErrContext},
	// Helpers.
	{"helper unknown", TypeFilter, "call 99\nr0 = 0\nexit", 0, ErrHelper},
	{"ASH helper in filter", TypeFilter, "r1 = 0\ncall 1\nr0 = 0\nexit", 1, ErrHelper},
	{"csum on a scalar address", TypeASH, "r1 = 4096\nr2 = 4\nr3 = 0\ncall 3\nexit", 3, ErrHelperArg},
	{"csum past checked packet", TypeASH, pkt + "r4 = r2\nr4 += 20\nif r4 > r3 goto out\nr1 = r2\nr2 = 21\nr3 = 0\ncall 3\nexit\n" + out, 8, ErrHelperArg},
	{"csum over uninitialised stack", TypeASH, "r1 = r10\nr1 += -16\nr2 = 16\nr3 = 0\ncall 3\nexit", 4, ErrHelperArg},
	{"csum with unbounded length", TypeASH, "r2 = *(u64 *)(r1 + 16)\nr1 = *(u64 *)(r1 + 24)\nr3 = 0\ncall 3\nexit", 3, ErrHelperArg},
	{"send_reply longer than buffer", TypeASH, "r1 = 1515\ncall 1\nr0 = 0\nexit", 1, ErrHelperArg},
	{"pkt_copy into packet", TypeASH, pkt + "r1 = 0\nr3 = 4\ncall 2\nr0 = 0\nexit", 4, ErrHelperArg},
	{"zero-length csum before the packet", TypeFilter, pkt + "r2 += -4\nr1 = r2\nr2 = 0\nr3 = 0\ncall 3\nexit", 6, ErrHelperArg},
	// Fuzz finding (testdata/fuzz/FuzzVerifyRun/ce461aacf65a2541): a
	// pointer with a variable offset that no comparison bounded.
	{"zero-length csum at an unchecked variable offset", TypeFilter, "r6 = *(u64 *)(r1 + 0)\nr7 = *(u64 *)(r1 + 8)\nr8 = r6\nr8 += 11\nif r8 > r7 goto +7\nr4 = *(u32 *)(r6 + 0)\nr4 &= 181\nr6 += r4\nr1 = r6\nr2 = 0\nr3 = 0\ncall 3\nexit\nr0 = 0\nexit", 11, ErrHelperArg},
	{"zero-length pkt_copy past the reply buffer", TypeASH, "r2 = *(u64 *)(r1 + 24)\nr2 += 1515\nr1 = 0\nr3 = 0\ncall 2\nr0 = 0\nexit", 4, ErrHelperArg},
	{"pkt_copy overflowing message buffer", TypeASH, "r2 = *(u64 *)(r1 + 40)\nr2 += 60\nr1 = 0\nr3 = 8\ncall 2\nr0 = 0\nexit", 4, ErrHelperArg},
	{"pkt_copy_csum overflowing message buffer", TypeASH, "r2 = *(u64 *)(r1 + 40)\nr2 += 60\nr1 = 0\nr3 = 8\nr4 = 0\ncall 5\nr0 = 0\nexit", 5, ErrHelperArg},
	{"pkt_copy_csum into packet", TypeASH, pkt + "r1 = 0\nr3 = 4\nr4 = 0\ncall 5\nr0 = 0\nexit", 5, ErrHelperArg},
	{"pkt_copy_csum onto the stack", TypeASH, "r2 = r10\nr2 += -8\nr1 = 0\nr3 = 8\nr4 = 0\ncall 5\nr0 = 0\nexit", 5, ErrHelperArg},
	{"pkt_copy_csum with unbounded length", TypeASH, "r3 = *(u64 *)(r1 + 16)\nr2 = *(u64 *)(r1 + 40)\nr1 = 0\nr4 = 0\ncall 5\nr0 = 0\nexit", 4, ErrHelperArg},
	{"pkt_copy_csum length bounded above the buffer", TypeASH, "r3 = *(u64 *)(r1 + 16)\nr2 = *(u64 *)(r1 + 40)\nif r3 > 65 goto +4\nr1 = 0\nr4 = 0\ncall 5\nr0 = 0\nexit\nr0 = 1\nexit", 5, ErrHelperArg},
	{"pkt_copy_csum without a seed", TypeASH, "r2 = *(u64 *)(r1 + 40)\nr1 = 0\nr3 = 8\ncall 5\nr0 = 0\nexit", 3, ErrUninitRegister},
	{"pkt_copy_csum in a filter", TypeFilter, "r2 = r10\nr1 = 0\nr3 = 0\nr4 = 0\ncall 5\nr0 = 0\nexit", 4, ErrHelper},
	{"pkt_copy_csum result used as an offset", TypeASH, "r2 = *(u64 *)(r1 + 40)\nr6 = r2\nr1 = 0\nr3 = 0\nr4 = 0\ncall 5\nr6 += r0\nr0 = *(u8 *)(r6 + 0)\nexit", 6, ErrPointerArith},
	// Encoding and size.
	{"map load (lddw src=1)", TypeFilter, ".insn 0x18, 1, 1, 0, 0\n.insn 0, 0, 0, 0, 0\nr0 = 0\nexit", 0, ErrUnsupported},
	{"atomic add", TypeFilter, "*(u64 *)(r10 - 8) = 0\n.insn 0xdb, 10, 1, -8, 0\nr0 = 0\nexit", 1, ErrUnsupported},
	{"bpf-to-bpf call", TypeFilter, ".insn 0x85, 0, 1, 0, 1\nr0 = 0\nexit", 0, ErrUnsupported},
	{"register r11", TypeFilter, ".insn 0xb7, 11, 0, 0, 0\nr0 = 0\nexit", 0, ErrMalformed},
	{"legacy LD_ABS", TypeFilter, ".insn 0x30, 0, 0, 0, 12\nexit", 0, ErrUnsupported},
	{"signed division (v4)", TypeFilter, "r0 = 1\n.insn 0x37, 0, 0, 1, 2\nexit", 1, ErrUnsupported},
	{"unknown opcode", TypeFilter, ".insn 0xe7, 0, 0, 0, 0\nexit", 0, ErrMalformed},
}

func TestHostileCorpusRejected(t *testing.T) {
	require.GreaterOrEqual(t, len(hostileCorpus), 30)
	names := map[string]bool{}
	for _, tc := range hostileCorpus {
		require.False(t, names[tc.name], "duplicate case %q", tc.name)
		names[tc.name] = true
		t.Run(tc.name, func(t *testing.T) {
			prog, err := Assemble(tc.src)
			require.NoError(t, err)
			_, err = Verify(prog, Config{Type: tc.typ, MsgSize: 64, MemSize: 64})
			var ve *VerifyError
			require.True(t, errors.As(err, &ve), "accepted:\n%s", DisassembleListing(prog))
			assert.Equal(t, tc.kind, ve.Kind, "%v", ve)
			assert.Equal(t, tc.idx, ve.Index, "%v", ve)
			assert.NotEmpty(t, ve.Reason)
		})
	}
}

func TestVerifyWholeProgramErrors(t *testing.T) {
	_, err := Verify(nil, Config{Type: TypeFilter})
	var ve *VerifyError
	require.ErrorAs(t, err, &ve)
	assert.Equal(t, ErrTooLarge, ve.Kind)

	big := make([]Instruction, MaxInsns+1)
	_, err = Verify(big, Config{Type: TypeFilter})
	require.ErrorAs(t, err, &ve)
	assert.Equal(t, ErrTooLarge, ve.Kind)

	_, err = Verify([]Instruction{{Op: OpExit}}, Config{Type: 9})
	require.ErrorAs(t, err, &ve)
	assert.Equal(t, ErrConfig, ve.Kind)
	assert.True(t, strings.Contains(ve.Error(), "config"))
}
