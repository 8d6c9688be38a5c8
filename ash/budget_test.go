package ash

import (
	"errors"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestMaxSteps: a caller's verifier budget is honoured and checked.
func TestMaxSteps(t *testing.T) {
	b := NewBuilder()
	for i := 0; i < 200; i++ {
		b.Mov(R2, int32(i))
	}
	b.Return(1)
	insns, err := b.Build()
	require.NoError(t, err)
	_, err = Verify(insns, Config{Type: TypeFilter})
	require.NoError(t, err)
	_, err = Verify(insns, Config{Type: TypeFilter, MaxSteps: 250})
	require.NoError(t, err)
	_, err = Verify(insns, Config{Type: TypeFilter, MaxSteps: 100})
	var ve *VerifyError
	require.True(t, errors.As(err, &ve))
	require.Equal(t, ErrComplexity, ve.Kind)
	require.Contains(t, err.Error(), "budget of 100 steps")
	for _, bad := range []int{-1, MaxVerifierSteps + 1} {
		_, err = Verify(insns, Config{Type: TypeFilter, MaxSteps: bad})
		require.ErrorContains(t, err, "MaxSteps")
	}
}

// TestVerificationInPieces: verifying in pieces of any size gives what
// Verify gives, accepted or refused, for generated programs.
func TestVerificationInPieces(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	accepted := 0
	for i := 0; i < 400; i++ {
		code := make([]byte, 16+rng.Intn(400))
		rng.Read(code)
		if i%4 != 0 {
			code[1] = byte(1 + rng.Intn(7)) // the structured generator, mostly
		}
		g := genFromBytes(code)
		want, werr := Verify(g.insns, g.cfg)
		for _, piece := range []int{1, 3, 64} {
			x := NewVerification(g.insns, g.cfg)
			pieces := 0
			for !x.Continue(piece) {
				pieces++
				if pieces > MaxVerifierSteps {
					t.Fatalf("program %d: the verification never ends", i)
				}
			}
			got, gerr := x.Result()
			if (werr == nil) != (gerr == nil) || werr != nil && werr.Error() != gerr.Error() {
				t.Fatalf("program %d, pieces of %d: Verify says %v, the pieces %v", i, piece, werr, gerr)
			}
			if werr == nil && (got.stackDepth != want.stackDepth || len(got.insns) != len(want.insns)) {
				t.Fatalf("program %d, pieces of %d: a different program", i, piece)
			}
			if piece == 1 && x.Steps() != 0 {
				t.Fatalf("Steps after the end is %d, want 0 (the states are let go)", x.Steps())
			}
		}
		if werr == nil {
			accepted++
		}
	}
	t.Logf("%d of 400 accepted", accepted)
	require.Greater(t, accepted, 40, "the generator makes enough valid programs")
}
