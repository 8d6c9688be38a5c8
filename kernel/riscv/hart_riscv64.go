package riscv

// defined in trap_riscv64.s
func run(ctx *Context)
func trapEntry()
func saveFP(ctx *Context)
func restoreFP(ctx *Context)
func zeroFP()

// Hart runs environments on the hart the kernel executes on. It tracks
// which page table is installed and whose floating-point state the
// registers hold, so that a trap that returns to the same environment pays
// for neither a TLB flush nor a floating-point save.
type Hart struct {
	satp    uint64
	fpOwner *Context
}

// Enter runs ctx in User mode under the page table satp until its next
// trap, then returns with ctx.Cause, ctx.Tval and ctx.PC describing it.
//
// Floating-point state is switched lazily (priv §3.1.6.6): mstatus.FS is
// left Clean on entry, so it reads Dirty on return only if the environment
// wrote a floating-point register; only then are the registers saved. If the
// kernel's own code dirtied them in between, or another environment owns
// them, the environment's state is reloaded (or zeroed if it has none).
func (h *Hart) Enter(ctx *Context, satp uint64) {
	if satp != h.satp {
		WriteSatp(satp)
		h.satp = satp
	}
	st := ReadMstatus()
	if st&MstatusFS == FSDirty {
		h.fpOwner = nil // the kernel's Go code used the registers
	}
	if h.fpOwner != ctx {
		if ctx.FPValid {
			restoreFP(ctx)
		} else {
			zeroFP()
		}
		h.fpOwner = ctx
		st = FSDirty
	}
	if st&MstatusFS == FSDirty {
		ClearMstatus(FSDirty &^ FSClean) // Dirty -> Clean
	}
	run(ctx)
	if ReadMstatus()&MstatusFS == FSDirty {
		saveFP(ctx)
		ctx.FPValid = true
		ClearMstatus(FSDirty &^ FSClean)
	}
}

// Forget drops every cached claim about an environment that is going away:
// that ctx's floating-point state is loaded, and that the installed page
// table is current. Its table frames may be reused for another
// environment's root, whose satp value would then match and skip the TLB
// flush that must separate the two.
func (h *Hart) Forget(ctx *Context) {
	if h.fpOwner == ctx {
		h.fpOwner = nil
	}
	h.satp = 0
}
