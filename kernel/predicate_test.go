package kernel

import (
	"encoding/binary"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/exo-os/exo/ash"
	"github.com/exo-os/exo/kernel/abi"
	"github.com/exo-os/exo/kernel/vm"
)

// Where the predicate tests keep things in the harness env's RAM: the
// program, the window (a shared word at its start) and the stats buffer.
const (
	predProgVA  = abi.RAMStart + 0x110000
	predWinVA   = abi.RAMStart + 0x112000
	predStatsVA = abi.RAMStart + 0x113000
	quantumTick = 100_000 // the default 10 ms at hz
)

// predWordNonzero wakes when the first word of the window is nonzero.
const predWordNonzero = "r2 = *(u64 *)(r1 + 56)\nr0 = *(u64 *)(r2 + 0)\nexit"

// asmPred assembles src, failing the test on a syntax error.
func asmPred(t *testing.T, src string) []byte {
	t.Helper()
	insns, err := ash.Assemble(src)
	require.NoError(t, err)
	return ash.Encode(insns)
}

// predWait stores prog at predProgVA and waits on it over [va, va+n).
func (u *uenv) predWait(prog []byte, va, n, deadline uint64) (uint64, uint64) {
	u.store(predProgVA, prog)
	return u.ecall(abi.SysPredWait, predProgVA, uint64(len(prog)/8), va, n, deadline)
}

// predStats reads the caller's counters through SysPredStats.
func (u *uenv) predStats() abi.PredStats {
	_, errno := u.ecall(abi.SysPredStats, predStatsVA)
	require.Equal(u.h.t, uint64(abi.OK), errno)
	b := u.load(predStatsVA, abi.PredStatsSize)
	var s abi.PredStats
	f := []*uint64{&s.Waits, &s.Verified, &s.Evals, &s.Insns, &s.Wakes, &s.Deadlines, &s.Faults}
	for i, p := range f {
		*p = binary.LittleEndian.Uint64(b[8*i:])
	}
	return s
}

// A waiter blocked on "the shared word is nonzero" wakes when another
// environment writes the word, and not before: every evaluation while the
// word is 0 gives the slot to the writer.
func TestPredicateWakesOnWrite(t *testing.T) {
	var written bool
	var writtenAt, wokeAt uint64
	var stats abi.PredStats
	h := newHarness(t, map[string]program{
		"waiter": func(u *uenv) {
			u.store(predWinVA, make([]byte, 8))
			val, errno := u.predWait(asmPred(t, predWordNonzero), predWinVA, 8, 0)
			wokeAt = u.h.p.now
			require.Equal(t, [2]uint64{1, abi.OK}, [2]uint64{val, errno})
			require.True(t, written, "woke before the word was written")
			require.Equal(t, byte(7), u.load(predWinVA, 1)[0])
			stats = u.predStats()
			u.ecall(abi.SysExit, 0)
		},
		"writer": func(u *uenv) {
			u.spin(5 * quantumTick)
			// The word is the waiter's page, as a shared page would be:
			// the writer stores into the frame the waiter's table maps.
			w := u.h.k.Env(1)
			require.Equal(t, Waiting, w.State(), "the waiter is blocked before the write")
			pa, _, ok := w.as.Lookup(predWinVA)
			require.True(t, ok)
			written, writtenAt = true, u.h.p.now
			u.h.arena.Page(pa &^ 4095)[pa&4095] = 7
			u.spin(5 * quantumTick)
			u.ecall(abi.SysExit, 0)
		},
	}, "exo-manifest v1\nenv waiter mem=2M\nenv writer mem=2M\n")
	require.Equal(t, uint32(0), h.run(), h.console())
	require.GreaterOrEqual(t, wokeAt, writtenAt)
	require.Less(t, wokeAt-writtenAt, 2*uint64(quantumTick), "woke within a quantum of the write")
	require.Equal(t, uint64(1), stats.Waits)
	require.Equal(t, uint64(1), stats.Verified)
	require.Equal(t, uint64(1), stats.Wakes)
	require.GreaterOrEqual(t, stats.Evals, uint64(4), "evaluated at each of the waiter's slots while false")
	require.Equal(t, 3*stats.Evals, stats.Insns, "three instructions an evaluation")
	require.Zero(t, stats.Deadlines+stats.Faults)
}

// The counter block: a predicate on its own env id and the time holds at
// once; a deadline ends a wait whose predicate never holds.
func TestPredicateCountersAndDeadline(t *testing.T) {
	h := newHarness(t, map[string]program{
		"waiter": func(u *uenv) {
			// counters[48] == own id (1) and counters[56] (evaluations) == 1.
			own := "r2 = *(u64 *)(r1 + 72)\nr3 = *(u64 *)(r2 + 48)\nr4 = *(u64 *)(r2 + 56)\nr0 = 0\n" +
				"if r3 != 1 goto out\nif r4 != 1 goto out\nr0 = 1\nout:\nexit"
			val, errno := u.predWait(asmPred(t, own), predWinVA, 8, 0)
			require.Equal(t, [2]uint64{1, abi.OK}, [2]uint64{val, errno})
			// Never holds: returns at the deadline, not before.
			deadline := u.h.p.now + 3*quantumTick
			val, errno = u.predWait(asmPred(t, "r0 = 0\nexit"), predWinVA, 8, deadline)
			require.Equal(t, [2]uint64{0, abi.OK}, [2]uint64{val, errno})
			require.GreaterOrEqual(t, u.h.p.now, deadline)
			// A deadline already past returns at once.
			val, errno = u.predWait(asmPred(t, "r0 = 0\nexit"), predWinVA, 8, 1)
			require.Equal(t, [2]uint64{0, abi.OK}, [2]uint64{val, errno})
			s := u.predStats()
			require.Equal(t, uint64(3), s.Waits)
			require.Equal(t, uint64(2), s.Verified, "the third call reuses the second's program")
			require.Equal(t, uint64(2), s.Deadlines)
			require.Equal(t, uint64(1), s.Wakes)
			u.ecall(abi.SysExit, 0)
		},
		"spinner": func(u *uenv) {
			u.spin(10 * quantumTick)
			u.ecall(abi.SysExit, 0)
		},
	}, "exo-manifest v1\nenv waiter mem=2M\nenv spinner mem=2M\n")
	require.Equal(t, uint32(0), h.run(), h.console())
}

// Refusals return at once, leave the caller runnable, and keep the
// program verified before.
func TestPredicateRefusals(t *testing.T) {
	loop := "r2 = *(u64 *)(r1 + 56)\nback:\nr0 = *(u64 *)(r2 + 0)\nif r0 == 0 goto back\nexit"
	long := strings.Repeat("r0 = 1\n", abi.MaxPredProgram) + "exit"
	longest := strings.Repeat("r0 = 1\n", abi.MaxPredProgram-1) + "exit"
	cases := []struct {
		name      string
		prog      string
		raw       []byte // instead of prog
		progVA    uint64 // 0: predProgVA
		va, n     uint64
		wantErrno uint64
	}{
		{"reads past the window", predWordNonzero, nil, 0, predWinVA, 4, abi.ErrProgram},
		{"writes the window", "r2 = *(u64 *)(r1 + 56)\n*(u8 *)(r2 + 0) = 1\nr0 = 1\nexit", nil, 0, predWinVA, 8, abi.ErrProgram},
		{"reads the packet", "r2 = *(u64 *)(r1 + 0)\nr0 = 1\nexit", nil, 0, predWinVA, 8, abi.ErrProgram},
		{"loops", loop, nil, 0, predWinVA, 8, abi.ErrProgram},
		{"no exit", "r0 = 1", nil, 0, predWinVA, 8, abi.ErrProgram},
		{"does not decode", "", []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, 0, predWinVA, 8, abi.ErrProgram},
		{"longer than the budget", long, nil, 0, predWinVA, 8, abi.ErrTooBig},
		{"window not mapped", predWordNonzero, nil, 0, 0x8000, 8, abi.ErrFault},
		{"window above user space", predWordNonzero, nil, 0, vm.UserTop, 8, abi.ErrFault},
		{"window too long", predWordNonzero, nil, 0, predWinVA, abi.MaxPredWindow + 1, abi.ErrTooBig},
		{"window crosses a page", predWordNonzero, nil, 0, predWinVA + 4090, 8, abi.ErrInval},
		{"empty window", predWordNonzero, nil, 0, predWinVA, 0, abi.ErrInval},
		{"program not mapped", predWordNonzero, nil, 0x8000, predWinVA, 8, abi.ErrFault},
	}
	h := newHarness(t, map[string]program{
		"caller": func(u *uenv) {
			u.store(predWinVA, []byte{1, 0, 0, 0, 0, 0, 0, 0})
			good := asmPred(t, predWordNonzero)
			val, errno := u.predWait(good, predWinVA, 8, 0)
			require.Equal(t, [2]uint64{1, abi.OK}, [2]uint64{val, errno}, "holds at once")
			for _, c := range cases {
				prog := c.raw
				if prog == nil {
					prog = asmPred(t, c.prog)
				}
				u.store(predProgVA, prog)
				pva := uint64(predProgVA)
				if c.progVA != 0 {
					pva = c.progVA
				}
				val, errno := u.ecall(abi.SysPredWait, pva, uint64(len(prog)/8), c.va, c.n, 0)
				require.Equal(t, [2]uint64{0, c.wantErrno}, [2]uint64{val, errno}, c.name)
				e := u.h.k.Env(1)
				require.Equal(t, Runnable, e.State(), c.name)
				require.Equal(t, uint64(1), e.pred.stats.Waits, c.name)
			}
			_, errno = u.ecall(abi.SysPredWait, predProgVA, 0, predWinVA, 8, 0)
			require.Equal(t, uint64(abi.ErrInval), errno, "no instructions")
			// The program verified first is still the one kept.
			val, errno = u.predWait(good, predWinVA, 8, 0)
			require.Equal(t, [2]uint64{1, abi.OK}, [2]uint64{val, errno})
			require.Equal(t, uint64(1), u.h.k.Env(1).pred.stats.Verified)
			// The longest program verifies and an evaluation runs all of it.
			val, errno = u.predWait(asmPred(t, longest), predWinVA, 8, 0)
			require.Equal(t, [2]uint64{1, abi.OK}, [2]uint64{val, errno})
			s := u.predStats()
			require.Equal(t, uint64(abi.MaxPredProgram), s.Insns-2*3, "the budget: every instruction once")
			_, errno = u.ecall(abi.SysPredStats, 0x8000)
			require.Equal(t, uint64(abi.ErrFault), errno, "stats to an unmapped address")
			u.ecall(abi.SysExit, 0)
		},
	}, "exo-manifest v1\nenv caller mem=2M\n")
	require.Equal(t, uint32(0), h.run(), h.console())
}

// A window unmapped while its environment waits ends the wait with
// ErrFault at the next evaluation.
func TestPredicateWindowGone(t *testing.T) {
	var pa uint64
	var perm vm.Perm
	h := newHarness(t, map[string]program{
		"waiter": func(u *uenv) {
			u.store(predWinVA, make([]byte, 8))
			val, errno := u.predWait(asmPred(t, predWordNonzero), predWinVA, 8, 0)
			require.Equal(t, [2]uint64{0, abi.ErrFault}, [2]uint64{val, errno})
			// Put the page back, for the teardown.
			require.NoError(t, u.h.k.Env(1).as.Map(predWinVA, pa, perm))
			require.Equal(t, uint64(1), u.predStats().Faults)
			u.ecall(abi.SysExit, 0)
		},
		"unmapper": func(u *uenv) {
			u.spin(3 * quantumTick)
			w := u.h.k.Env(1)
			require.Equal(t, Waiting, w.State())
			// The kernel's own view changes under the waiter, as a
			// revocation of the window's frame would change it.
			var ok bool
			pa, perm, ok = w.as.Lookup(predWinVA &^ 4095)
			require.True(t, ok)
			_, err := w.as.Unmap(predWinVA)
			require.NoError(t, err)
			u.spin(3 * quantumTick)
			u.ecall(abi.SysExit, 0)
		},
	}, "exo-manifest v1\nenv waiter mem=2M\nenv unmapper mem=2M\n")
	require.Equal(t, uint32(0), h.run(), h.console())
}
