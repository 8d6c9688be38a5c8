package abi

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
}

// StartupVersion is the layout version of Startup.
const StartupVersion = 1

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
