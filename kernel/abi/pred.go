package abi

// Wakeup predicates (docs/ABI.md, "Wakeup predicates"): the Aegis
// primitive of Engler et al. (SOSP'95 §5.2). An environment blocks on a
// downloaded ash.TypePredicate program over a window of its own address
// space and a block of read-only kernel counters; the kernel evaluates the
// program when one of the environment's slots comes up, and runs the
// environment in that slot when the program returns nonzero. While it
// returns zero, the slot passes to the next slot's owner that can run (as
// for any environment that cannot run: the slot is not idled through).
//
// The budget is fixed at verification: a predicate is at most
// MaxPredProgram instructions and the verifier admits only acyclic
// programs, so one evaluation executes at most MaxPredProgram bytecode
// instructions (plus its checksum helpers, each bounded by the window,
// at most MaxPredWindow bytes). A longer program is refused (ErrTooBig).
// The evaluation runs in the slot it decides, so its time is the waiting
// environment's; PredStats counts its evaluations and instructions.

// Wakeup predicate system calls.
const (
	// SysPredWait blocks the caller until the predicate at a0 (a1
	// instruction slots of 8 bytes, 1..MaxPredProgram, in User-readable
	// memory) returns nonzero, evaluated over the window at a2 of a3
	// bytes (1..MaxPredWindow, within one page, every byte mapped
	// User-readable) and the counter block (PredCounter*), or until the
	// machine timer reaches a4 (ticks; 0: no deadline). It returns a0 = 1
	// when the predicate held, 0 when the deadline passed, with OK in a1.
	// The program is verified as ash.TypePredicate with MemSize a3, in
	// bounded steps in the caller's slots, with the limits of SysNetBind's
	// programs (NetVerifySteps); the last verified program is kept, and a
	// call with the same instructions and window length is not verified
	// again. The predicate is evaluated once before the caller blocks.
	//
	// Refusals return at once and change nothing (the kept program
	// included): ErrInval (a1 or a3 is 0, or the window crosses a page
	// boundary), ErrTooBig (a1 > MaxPredProgram, a3 > MaxPredWindow),
	// ErrFault (the program or the window is not User-readable),
	// ErrProgram (the program does not decode or does not verify). If the
	// window stops being User-readable while the caller waits (unmapped,
	// revoked), the call returns (0, ErrFault); a run-time fault of the
	// program (which the verifier makes impossible) returns (0,
	// ErrProgram).
	SysPredWait = 27
	// SysPredStats copies the caller's PredStats to user address a0
	// (PredStatsSize bytes, User-writable); ErrFault if it is not.
	SysPredStats = 28
)

// Limits of a wakeup predicate.
const (
	// MaxPredProgram bounds a predicate, in instruction slots: the
	// bytecode instructions one evaluation may execute.
	MaxPredProgram = MaxNetProgram
	// MaxPredWindow bounds the window a predicate reads, in bytes.
	MaxPredWindow = PageSize
)

// Offsets in the counter block a predicate reads (ash.CountersSize bytes,
// little-endian uint64 each). The first six are ash's documented counters
// (ash.Counter*); the kernel appends two.
const (
	PredCounterTime      = 0  // the machine timer, in ticks
	PredCounterSlot      = 8  // the slot vector's current slot
	PredCounterRxPackets = 16 // frames delivered to the env's receive ring
	PredCounterTxPackets = 24 // always 0: the kernel does not count them per env
	PredCounterRxDropped = 32 // frames dropped because its ring was full
	PredCounterWakeups   = 40 // times one of its predicates held (PredStats.Wakes)
	PredCounterEnvID     = 48 // its own env id
	PredCounterEvals     = 56 // evaluations of its predicates so far, this one included
)

// PredStats is what SysPredStats reports about the caller's predicates
// since it started.
type PredStats struct {
	// Waits counts SysPredWait calls that verified (or reused) a program.
	Waits uint64
	// Verified counts programs verified (not reused).
	Verified uint64
	// Evals counts evaluations; Insns the bytecode instructions they
	// executed.
	Evals, Insns uint64
	// Wakes counts evaluations that held; Deadlines waits that ended at
	// their deadline; Faults waits that ended because the window went
	// away or the program faulted.
	Wakes, Deadlines, Faults uint64
}

// PredStatsSize is the size of PredStats in bytes.
const PredStatsSize = 56
