//go:build tamago

package libos

import (
	"errors"

	"github.com/exo-os/exo/kernel/abi"
	"github.com/exo-os/exo/libos/sys"
)

// WaitPredicate blocks the environment until the wakeup predicate prog
// (encoded ash instructions of type ash.TypePredicate, at most
// abi.MaxPredProgram) holds over window (1..abi.MaxPredWindow bytes of
// this environment's memory, within one page), or the time counter
// reaches deadline (ticks; 0: none) (docs/ABI.md, "Wakeup predicates").
// It reports whether the predicate held; false with a nil error means the
// deadline passed. The kernel keeps the last program it verified, so
// waiting again on the same program and window length costs no new
// verification. A wait interrupted by a protected control transfer is
// made again. All goroutines stop while it waits: the environment is one
// hart's worth of Go.
func WaitPredicate(prog, window []byte, deadline uint64) (bool, error) {
	if len(prog)%8 != 0 || len(prog)/8 > abi.MaxPredProgram {
		return false, sys.ErrTooBig
	}
	for {
		held, err := sys.PredWait(prog, window, deadline)
		if !errors.Is(err, sys.ErrAgain) {
			return held, err
		}
	}
}

// PredicateStats returns the kernel's counters of this environment's
// wakeup predicates: waits, verifications, evaluations and the bytecode
// instructions they ran, wakes, deadlines and faults.
func PredicateStats() (abi.PredStats, error) { return sys.PredStats() }
