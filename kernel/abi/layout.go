package abi

import "github.com/exo-os/exo/caps"

// The user address space (Sv39: user addresses are below 2^38). Page 0 is
// never mapped, so a nil pointer faults. Every environment image is linked
// at the same address; the kernel backs it with the environment's own pages.
const (
	PageSize = 4096

	// StartupVA is the environment's start-up block (Startup), read-only.
	StartupVA = 0x1000
	// SlotsVA is the scheduler's slot vector (Slots), read-only, the same
	// physical page in every environment.
	SlotsVA = 0x2000
	// CapsVA is the environment's capability list (CapList), read-only:
	// the capabilities the kernel minted for it and those its parent
	// passed.
	CapsVA = 0x3000

	// RAMStart is where an environment's memory begins: its image
	// (linked at TextStart), then heap, then stack at the top.
	RAMStart = 0x1000000
	// TextStart is the link address of an environment image's text.
	TextStart = RAMStart + 0x10000
	// MaxRAM bounds an environment's memory; TamaGo's Go runtime keeps
	// its heap below 4 GiB.
	MaxRAM = 0x40000000
)

// StartupMagic identifies a start-up block ("EXO1" little-endian).
const StartupMagic = 0x314f5845

// MaxArg is the capacity of the start-up block's argument string.
const MaxArg = 256

// Startup is the start-up block the kernel maps read-only at StartupVA.
// When an environment starts, a0 holds StartupVA and pc its ELF entry; all
// other registers are zero.
type Startup struct {
	Magic   uint32
	Version uint32
	// EnvID is this environment's id.
	EnvID uint32
	// NumSlots is the length of the slot vector.
	NumSlots uint32
	// TimebaseHz is the rate of the time CSR.
	TimebaseHz uint64
	// RAMStart and RAMSize bound the environment's memory.
	RAMStart uint64
	RAMSize  uint64
	// SlotsVA is where the slot vector is mapped.
	SlotsVA uint64
	// BootTicks is the time counter when the kernel started.
	BootTicks uint64
	// QuantumTicks is the length of a time slot in timebase ticks.
	QuantumTicks uint64
	// ArgLen bytes of Arg are the argument string given at boot.
	ArgLen uint32
	_      uint32
	Arg    [MaxArg]byte
	// Name is the image name, NUL-padded.
	Name [32]byte
	// NumRuns physically contiguous runs of frames back the RAM region,
	// in address order (Runs): the physical names of the environment's
	// memory, which its page capabilities (CapList) name.
	NumRuns uint32
	// LostCount counts the resources revocation has taken from this
	// environment since it started; the last MaxLost are in Lost, entry
	// i at Lost[i%MaxLost].
	LostCount uint32
	Runs      [MaxRuns]Run
	Lost      [MaxLost]Lost
}

// StartupVersion is the layout version of Startup.
const StartupVersion = 2

// MaxRuns bounds the runs of frames an environment's memory is made of.
const MaxRuns = 8

// Run is a part of the RAM region backed by physically contiguous frames:
// virtual [VA, VA+Pages·PageSize) is physical [PA, PA+Pages·PageSize).
type Run struct {
	VA, PA, Pages uint64
}

// MaxLost is how many revocations the start-up block remembers.
const MaxLost = 8

// Lost records a resource revocation took away: a mapping of page Name
// (a page number) at VA, or slot Name (Kind is the capability kind, as
// in package caps).
type Lost struct {
	Kind uint32
	_    uint32
	Name uint64
	VA   uint64
}

// CapList is the page at CapsVA: N capabilities, each caps.Size bytes in
// the wire format of package caps. The kernel fills it in this order:
// the environment's own env capability; one page capability per run of
// its memory (Startup.Runs, same order); one slot capability per slot it
// holds (the first MaxSlotCaps); for an environment allowed to spawn, a
// slot capability over the whole vector; then the capabilities its
// parent passed (SpawnRequest.Caps), verbatim.
type CapList struct {
	// N capabilities are in Caps; the first Roots are the kernel's.
	N, Roots uint32
	Caps     [MaxCaps][caps.Size]byte
}

// Capacity of the capability list.
const (
	MaxCaps     = (PageSize - 8) / caps.Size
	MaxSlotCaps = 8
	// MaxPass bounds the capabilities a parent passes to a child.
	MaxPass = 8
)

// SpawnRequest is what SysSpawn reads from the caller's memory.
type SpawnRequest struct {
	// EnvCap is the caller's env capability (naming the caller) with
	// the spawn right.
	EnvCap [caps.Size]byte
	// SlotCap is a slot capability for Slot with the use right.
	SlotCap [caps.Size]byte
	// Slot is the child's first slot: a free one, or one of the
	// caller's (but not its last).
	Slot uint32
	// Flags: SpawnMaySpawn.
	Flags uint32
	// Mem is the child's memory in bytes, a multiple of PageSize.
	Mem uint64
	// Image names an image embedded in the firmware, NUL-padded.
	Image [32]byte
	// ArgLen bytes of Arg are the child's argument string.
	ArgLen uint32
	// NCaps capabilities of Caps are copied, unchecked, into the child's
	// capability list: it verifies them when it uses them.
	NCaps uint32
	Arg   [MaxArg]byte
	Caps  [MaxPass][caps.Size]byte
}

// SpawnMaySpawn gives the child's env capability the spawn right, and the
// child a slot capability over the whole vector.
const SpawnMaySpawn = 1 << 0

// MaxSlots is the capacity of the slot vector.
const MaxSlots = 64

// FreeSlot is the owner of a slot nobody holds.
const FreeSlot = 0

// Slots is the scheduler's slot vector, mapped read-only at SlotsVA in every
// environment. The kernel updates it in place; Generation changes whenever
// ownership does.
type Slots struct {
	Generation uint64
	// Current is the slot whose time interval this is: it advances by one
	// runnable slot at every timer tick.
	Current uint32
	// N is how many slots the vector has.
	N uint32
	// Running is the slot whose owner holds the CPU now: Current's, or a
	// later slot's owner that received the rest of the interval when the
	// owners before it yielded or blocked.
	Running uint32
	_       uint32
	// Owner holds the environment id owning each slot (FreeSlot if none).
	Owner [MaxSlots]uint32
	// Switches counts slot changes since boot.
	Switches uint64
}
