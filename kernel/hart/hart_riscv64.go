package hart

import "github.com/exo-os/exo/riscv"

// defined in trap_riscv64.s
func run(ctx *Context)
func trapEntry()
func storeFP()
func loadFP()
func clearFP()

// defined in vector_riscv64.s, or floor_riscv64.s in the measurement build
func installTrapEntry()

// kernelVector is where the trap entry sends traps taken in Machine mode:
// the handler the Go runtime had installed.
var kernelVector uint64

// InstallTrapVector points mtvec at the trap entry for good, keeping the
// previous vector for traps the kernel itself takes. It must run once
// before the first Enter.
func InstallTrapVector() {
	kernelVector = riscv.ReadMtvec()
	installTrapEntry()
}

// fpOwner is the Context whose floating-point state the registers hold, or
// nil; trap_riscv64.s reads and writes it.
var fpOwner *Context

// Hart runs environments on the hart the kernel executes on. It tracks
// which page table is installed, so that a trap that returns to the same
// environment pays for no TLB flush; the trap path tracks whose
// floating-point state the registers hold (fpOwner), so that one that does
// not touch them pays for no floating-point save.
//
// Translation caching (priv §4.2.1, "Supervisor Memory-Management Fence
// Instruction"): the hart's implicit reads of page tables are not ordered
// after the kernel's stores to them, and it may cache translations,
// invalid ones included, tagged with their ASID across satp writes. So
// the kernel fences after every change it makes to a table that may run
// again (Invalidate for a leaf, InvalidateAll for upper levels and for an
// ASID that a new table inherits), whether the table is installed or not.
// QEMU's TCG walks tables afresh and hides a missing fence; a U74 need
// not.
type Hart struct {
	satp uint64
}

// Enter runs ctx in User mode under the page table satp until its next
// trap, then returns with ctx.Cause, ctx.Tval and ctx.PC describing it.
// Switching to a table tagged with a non-zero ASID needs no fence: the
// cached translations of other tables carry their own ASIDs. ASID 0 is
// untagged, and every switch to such a table flushes.
//
// Enter is nosplit (it is on every trap's path): its frame is 16 bytes and
// it calls only assembly that uses no stack (run, WriteSatp, FlushTLB).
//
//go:nosplit
func (h *Hart) Enter(ctx *Context, satp uint64) {
	if satp != h.satp {
		riscv.WriteSatp(satp)
		if riscv.SatpASID(satp) == 0 {
			riscv.FlushTLB()
		}
		h.satp = satp
	}
	run(ctx)
}

// Invalidate orders the kernel's change to the leaf entry for va in the
// table satp (installed, removed or weakened) before the hart's next use of
// it, and drops any cached translation of va there.
func (h *Hart) Invalidate(satp, va uint64) { riscv.FlushPage(satp, va) }

// InvalidateAll is Invalidate for every entry of the table satp, upper
// levels included: after the kernel built or extended the table, and before
// its ASID, which an earlier table may have used, first runs.
func (h *Hart) InvalidateAll(satp uint64) { riscv.FlushAddressSpace(satp) }

// Forget drops every cached claim about an environment that is going away:
// that ctx's floating-point state is loaded, and that the installed page
// table is current. Its table frames may be reused for another
// environment's root, whose satp value would then match and skip the
// switch.
func (h *Hart) Forget(ctx *Context) {
	if fpOwner == ctx {
		fpOwner = nil
	}
	h.satp = 0
}

// ASIDBits returns how many address-space-id bits satp implements (priv
// §4.1.11: software finds ASIDLEN by writing ones and reading back). It
// must run before any environment's table is installed; it leaves satp 0.
func ASIDBits() int {
	riscv.WriteSatp(satpSv39 | 0xffff<<44)
	got := riscv.ReadSatp()
	riscv.WriteSatp(0)
	riscv.FlushTLB()
	n := 0
	for a := riscv.SatpASID(got); a&1 == 1; a >>= 1 {
		n++
	}
	return n
}

const satpSv39 = 8 << 60
