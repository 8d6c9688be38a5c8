package riscv

// defined in trap_riscv64.s
func run(ctx *Context)
func trapEntry()
func installTrapEntry()

// kernelVector is where trapEntry sends traps taken in Machine mode: the
// handler the Go runtime had installed.
var kernelVector uint64

// InstallTrapVector points mtvec at the trap entry for good, keeping the
// previous vector for traps the kernel itself takes. It must run once
// before the first Enter.
func InstallTrapVector() {
	kernelVector = ReadMtvec()
	installTrapEntry()
}
func storeFP()
func loadFP()
func clearFP()

// fpOwner is the Context whose floating-point state the registers hold, or
// nil; trap_riscv64.s reads and writes it.
var fpOwner *Context

// Hart runs environments on the hart the kernel executes on. It tracks
// which page table is installed, so that a trap that returns to the same
// environment pays for no TLB flush; the trap path tracks whose
// floating-point state the registers hold (fpOwner), so that one that does
// not touch them pays for no floating-point save.
type Hart struct {
	satp uint64
	// Fence makes every page-table switch flush the TLB. Without it, only
	// switches to a table with ASID 0 (untagged) flush.
	Fence bool
}

// Enter runs ctx in User mode under the page table satp until its next
// trap, then returns with ctx.Cause, ctx.Tval and ctx.PC describing it.
func (h *Hart) Enter(ctx *Context, satp uint64) {
	if satp != h.satp {
		WriteSatp(satp)
		if h.Fence || satp>>44&0xffff == 0 {
			FlushTLB()
		}
		h.satp = satp
	}
	run(ctx)
}

// Invalidate flushes the hart's cached translation of va under the page
// table satp, after the kernel removed that mapping.
func (h *Hart) Invalidate(satp, va uint64) { FlushPage(satp, va) }

// Forget drops every cached claim about an environment that is going away:
// that ctx's floating-point state is loaded, and that the installed page
// table is current. Its table frames may be reused for another
// environment's root, whose satp value would then match and skip the TLB
// flush that must separate the two.
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
	WriteSatp(satpSv39 | 0xffff<<44)
	got := ReadSatp()
	WriteSatp(0)
	FlushTLB()
	n := 0
	for a := got >> 44 & 0xffff; a&1 == 1; a >>= 1 {
		n++
	}
	return n
}

const satpSv39 = 8 << 60
