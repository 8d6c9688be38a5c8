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

	// PMPTestVA is where the PMP test build (kernel build tag
	// exo_pmptest) maps a page of the kernel's own memory into every
	// environment, for a test to see PMP refuse the access.
	PMPTestVA = 0x4000

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

	// NumSpare runs of Spare are frames the environment holds that are
	// mapped nowhere (VA 0): what it may give a child (SysSpawn) or map
	// itself (SysMap). The kernel updates the list as frames go to
	// children and come back.
	NumSpare uint32
	// TablesUsed of TablesMax page-table frames are in use: the frames
	// charged to the environment for its translation tables. A mapping
	// that needs a table beyond TablesMax is refused (ErrNoMem).
	TablesUsed, TablesMax uint32
	// Parent is the id of the environment that spawned this one, 0 for a
	// manifest environment (or once the parent has finished).
	Parent uint32
	_      [2]uint32
	Spare  [MaxSpare]Run
	// Net is the machine's network configuration.
	Net Net
}

// StartupVersion is the layout version of Startup.
const StartupVersion = 4

// MaxRuns bounds the runs of frames an environment's memory is made of.
const MaxRuns = 8

// MaxSpare bounds the runs of spare frames an environment holds. Giving a
// child frames from the middle of a run splits it in two; a spawn that
// would need more runs is refused (ErrNoMem); libos gives from the end of
// a run, which splits nothing.
const MaxSpare = 3

// PageTableSpare is how many page-table frames an environment is given
// beyond those its own memory needs (TableFrames): room for mappings
// outside its RAM region (SysMap). Mapping one page in each of N distinct
// 2 MiB regions needs about N tables.
const PageTableSpare = 32

// TableFrames is the page-table frames an environment with memSize bytes
// of RAM is charged, its reserve: a root, two second-level tables (the
// RAM region may cross a 1 GiB boundary), one leaf table for the fixed
// pages below RAM, one per 2 MiB of RAM, and PageTableSpare.
func TableFrames(memSize uint64) uint64 {
	pages := (memSize + PageSize - 1) / PageSize
	return 1 + 2 + 1 + (pages+511)/512 + PageTableSpare
}

// SpawnFrames is how many frames a child with memSize bytes of RAM and
// spare spare frames costs its parent: its RAM, its start-up block,
// capability list and binding records (FixedFrames), its page tables
// (TableFrames), and its spare frames.
func SpawnFrames(memSize, spare uint64) uint64 {
	return memSize/PageSize + FixedFrames + TableFrames(memSize) + spare
}

// FixedFrames is how many frames every environment is charged for the
// kernel's records of it: its start-up block, its capability list and its
// binding records (one frame of 24-byte records: what it mapped with
// SysMap, which revocation may have to undo).
const FixedFrames = 3

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
// the wire format of package caps. The first Roots are the kernel's and
// follow what the environment holds now: its own env capability; one page
// capability per run of its memory (Startup.Runs, same order); one per
// run of its spare frames (Startup.Spare, same order); one slot
// capability per slot it holds (the first MaxSlotCaps, in slot order).
// The kernel mints them afresh whenever what they name changes hands or is
// revoked, so an owner always holds current authority over what it owns.
// After them come the capabilities its parent passed
// (SpawnRequest.Caps), verbatim. Generation changes whenever the list
// does.
type CapList struct {
	// N capabilities are in Caps; the first Roots are the kernel's.
	N, Roots uint32
	// Generation counts changes to the list.
	Generation uint64
	Caps       [MaxCaps][caps.Size]byte
}

// Capacity of the capability list.
const (
	MaxCaps     = (PageSize - 16) / caps.Size
	MaxSlotCaps = 8
	// MaxPass bounds the capabilities a parent passes to a child.
	MaxPass = 8
)

// SpawnRequest is what SysSpawn reads from the caller's memory.
type SpawnRequest struct {
	// EnvCap is the caller's env capability (naming the caller) with
	// the spawn right.
	EnvCap [caps.Size]byte
	// SlotCap is a slot capability for Slot with the use right, when
	// Slot is one of the caller's; for a free slot the EnvCap's spawn
	// right is the authority and SlotCap is not read.
	SlotCap [caps.Size]byte
	// MemCap is a page capability covering the frames given,
	// [FirstPage, FirstPage+Pages), with every page right: giving frames
	// away revokes them from everyone else.
	MemCap [caps.Size]byte
	// Slot is the child's first slot: a free one, or one of the
	// caller's (but not its last).
	Slot uint32
	// Flags: SpawnMaySpawn.
	Flags uint32
	// Mem is the child's memory in bytes, a multiple of PageSize.
	Mem uint64
	// FirstPage and Pages name the frames the child is made of: spare
	// frames of the caller (Startup.Spare), physically contiguous, at
	// least SpawnFrames(Mem, 0); those beyond it become the child's
	// spare frames. They come back to the caller when the child ends.
	FirstPage, Pages uint64
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

// SpawnMaySpawn gives the child's env capability the spawn right (the
// authority to create environments and to take free slots), drawing on
// the caller's tree's env ids (the manifest's spawn=N).
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
