package kernel

import (
	"github.com/exo-os/exo/caps"
	"github.com/exo-os/exo/kernel/abi"
	"github.com/exo-os/exo/kernel/elf"
	"github.com/exo-os/exo/kernel/hart"
	"github.com/exo-os/exo/kernel/manifest"
	"github.com/exo-os/exo/kernel/mem"
	"github.com/exo-os/exo/kernel/vm"
)

// State is an environment's scheduling state.
type State int

// Environment states. Building and Dying environments hold the CPU in
// their own slots while the kernel does their construction or teardown in
// bounded steps (work.go), so that cost is charged to them.
const (
	Building State = iota // the kernel is filling its memory
	Runnable
	Sleeping // until wake
	Waiting  // for a device (wait says which)
	Dying    // exited or killed; the kernel is taking its resources back
	Zombie   // finished; only its id and status remain, for its parent
	Dead     // finished and forgotten; its id is free
)

var stateNames = [...]string{"building", "runnable", "sleeping", "waiting", "dying", "zombie", "dead"}

func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "state?"
}

// waitKind is what a Waiting environment waits for.
type waitKind uint8

const (
	waitNone    waitKind = iota
	waitConsole          // room in the console buffer (SysWrite)
	waitEntropy          // entropy bytes (SysRandom)
	waitNet              // a frame in its receive ring, a handler's RetWake, or wake (SysNetWait)
	waitPred             // its wakeup predicate to hold, or its deadline (SysPredWait, predicate.go)
)

// Env is an environment: a program in its own address space, and what it
// holds: frames (its RAM, spare frames, and the frames the kernel uses on
// its behalf: start-up block, capability list, binding records, page
// tables), slots, binding records, an env id.
type Env struct {
	ID   uint32
	Name string

	ctx   hart.Context
	as    *vm.AddressSpace
	satp  uint64
	state State
	// stopped keeps a runnable environment off the CPU (EnvStop).
	stopped bool
	wake    uint64
	wait    waitKind
	job     job
	// Syscalls counts the system calls it made, for reports and tests.
	// It stays near the front of Env (within a load's 12-bit offset):
	// the trap path counts every call.
	Syscalls uint64

	// parent spawned this environment and may reap it; nil for manifest
	// environments and once the parent has finished. giver is whose
	// frames it is made of, and gets them back: the parent, or once the
	// parent has finished, the nearest ancestor still running (nil: the
	// pool).
	parent, giver *Env
	tree          *tree

	// from is the run of frames a spawned environment was made of, as
	// a first page number and count: its RAM, then its kernel frames,
	// then its spare frames.
	from struct{ lo, n uint64 }

	mem      uint64     // bytes of RAM
	ram      []mem.Run  // frames backing RAM, in address order
	spare    []mem.Run  // frames held and mapped nowhere
	reserve  []uint64   // page-table frames not yet used (the charge)
	startup  uint64     // frame of the start-up block
	capList  uint64     // frame of the capability list
	records  uint64     // frame of the binding records
	nbinds   int        // binding records in use
	img      *elf.Image // the image, until it is loaded
	arg      string
	maySpawn bool
	pass     [][caps.Size]byte // capabilities from the parent, until the list is made

	// guards are the port names the manifest gave it (its root port
	// capabilities); ring is its receive ring; netIDs[:nnet] are the
	// handles of its network bindings.
	guards []manifest.Guard
	ring   netRing
	netIDs [abi.MaxNetBinds]uint16
	nnet   int
	// notified is set when one of its handlers returned ash.RetWake and
	// cleared when net_wait returns: a waitNet is then over.
	notified bool

	// exc is its exception handler (SysExcHandler).
	exc excState
	// rv is its side of visible revocation (revoke_upcall.go).
	rv revokeState
	// pct is its side of protected control transfers (pct.go).
	pct pctState
	// pred is its wakeup predicate (predicate.go), nil until it first
	// waits on one.
	pred *predState

	// Root capabilities to re-mint (bit i: the capability list's root
	// entry i), because what they name was revoked while still held.
	staleRoots uint32

	status uint32
	killed bool
	prefix []byte // console line prefix

	// Counters, for reports and tests (and Syscalls above).
	Preemptions, Slices, Emulated, Steps, Exceptions uint64
}

// tree is what a manifest environment and all its descendants share: the
// env ids they may hold at once. It outlives its root environment.
type tree struct {
	envsLeft int
}

// State returns the environment's scheduling state.
func (e *Env) State() State { return e.state }

// Status returns the exit status, and whether the env was killed instead.
func (e *Env) Status() (status uint32, killed bool) { return e.status, e.killed }

// AddressSpace returns the environment's page table (nil until built).
func (e *Env) AddressSpace() *vm.AddressSpace { return e.as }

// Context returns the environment's saved registers.
func (e *Env) Context() *hart.Context { return &e.ctx }

// finished reports whether e has ended (its teardown may still run).
func (e *Env) finished() bool { return e.state >= Dying }

// Table gives the address space a frame from e's page-table charge
// (vm.TableSource).
func (e *Env) Table() (uint64, error) {
	if len(e.reserve) == 0 {
		return 0, vm.ErrNoTables
	}
	pa := e.reserve[len(e.reserve)-1]
	e.reserve = e.reserve[:len(e.reserve)-1]
	return pa, nil
}

// envTable holds every environment by id, and the ids free for reuse.
// An id is reused only after its epoch is bumped, so a capability for the
// environment that had it never names the new one.
type envTable struct {
	byID []*Env   // by id; byID[0] is nil
	free []uint32 // ids free, the next one on top
	high uint32   // the highest id ever given
}

func newEnvTable(n int) envTable {
	t := envTable{byID: make([]*Env, n+1), free: make([]uint32, n)}
	for i := range t.free {
		t.free[i] = uint32(n - i) // id 1 on top
	}
	return t
}

// get returns the environment with id, or nil.
func (t *envTable) get(id uint32) *Env {
	if int(id) >= len(t.byID) {
		return nil
	}
	return t.byID[id]
}

// take gives e a free id.
func (t *envTable) take(e *Env) bool {
	if len(t.free) == 0 {
		return false
	}
	e.ID = t.free[len(t.free)-1]
	t.free = t.free[:len(t.free)-1]
	t.byID[e.ID] = e
	t.high = max(t.high, e.ID)
	return true
}

// put frees id.
func (t *envTable) put(id uint32) {
	t.byID[id] = nil
	t.free = append(t.free, id)
}

// MaxEnvs bounds the environments that exist at once (ids 1..MaxEnvs,
// each with an epoch). Every manifest environment's tree is given a share
// (the manifest's spawn=N), so that no tree can take ids from another.
const MaxEnvs = 4096

// maxBindings is the binding records one environment may hold: the
// mappings it made with SysMap, which revocation may have to undo. They
// live in a frame charged to the environment.
const maxBindings = mem.PageSize / bindingSize

func slotsPage(p mem.Phys, pa uint64) *abi.Slots { return pageAs[abi.Slots](p, pa) }

func startupPage(p mem.Phys, pa uint64) *abi.Startup { return pageAs[abi.Startup](p, pa) }

func capsPage(p mem.Phys, pa uint64) *abi.CapList { return pageAs[abi.CapList](p, pa) }
