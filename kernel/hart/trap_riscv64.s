// The trap path: enter an environment in User mode, and come back to the
// kernel's Go code on the environment's next trap as if run() had returned.
//
// mtvec points at trapEntry for good (InstallTrapVector; in the
// measurement build, at floorEntry, which answers the floor call and
// hands every other trap here). While an
// environment runs, mscratch holds its *Context; while the kernel runs it
// holds 0, which is how trapEntry tells a kernel fault (handed to the Go
// runtime's handler) from an environment's trap without reading another
// CSR. The kernel's own registers that Go expects preserved across a call
// (ra, sp, gp, tp, g) wait in the Context; every other register is
// caller-saved in Go's ABI, so run() may return with them clobbered.

#include "go_asm.h"
#include "textflag.h"

// func run(ctx *Context)
TEXT ·run(SB),NOSPLIT|NOFRAME,$0-8
	MOV	ctx+0(FP), X5
	MOV	X1, Context_kra(X5)
	MOV	X2, Context_ksp(X5)
	MOV	X3, Context_kgp(X5)
	MOV	TP, Context_ktp(X5)
	MOV	g, Context_kg(X5)

	// Floating point, lazily (priv §3.1.6.6). mstatus.FS is left Clean
	// whenever an environment is entered, so Dirty now means the kernel's
	// own Go code wrote the registers since: they belong to nobody.
	CSRRS	X0, MSTATUS, X6
	MOV	$(3<<13), X28		// FS (lui)
	AND	X28, X6, X7
	BNE	X7, X28, 2(PC)
	MOV	X0, ·fpOwner(SB)
	MOV	·fpOwner(SB), X7
	BEQ	X7, X5, fpready
	MOVBU	Context_FPValid(X5), X7
	BEQ	X7, X0, fpzero
	CALL	·loadFP(SB)
	JMP	fploaded
fpzero:
	CALL	·clearFP(SB)
fploaded:
	MOV	X5, ·fpOwner(SB)
	MOV	$(1<<13), X7		// Dirty -> Clean
	CSRRC	X7, MSTATUS, X0
fpready:

	CSRRW	X5, MSCRATCH, X0
	MOV	Context_PC(X5), X6
	CSRRW	X6, MEPC, X0

	MOV	(Context_X+1*8)(X5), X1
	MOV	(Context_X+2*8)(X5), X2
	MOV	(Context_X+3*8)(X5), X3
	MOV	(Context_X+4*8)(X5), TP
	MOV	(Context_X+6*8)(X5), X6
	MOV	(Context_X+7*8)(X5), X7
	MOV	(Context_X+8*8)(X5), X8
	MOV	(Context_X+9*8)(X5), X9
	MOV	(Context_X+10*8)(X5), X10
	MOV	(Context_X+11*8)(X5), X11
	MOV	(Context_X+12*8)(X5), X12
	MOV	(Context_X+13*8)(X5), X13
	MOV	(Context_X+14*8)(X5), X14
	MOV	(Context_X+15*8)(X5), X15
	MOV	(Context_X+16*8)(X5), X16
	MOV	(Context_X+17*8)(X5), X17
	MOV	(Context_X+18*8)(X5), X18
	MOV	(Context_X+19*8)(X5), X19
	MOV	(Context_X+20*8)(X5), X20
	MOV	(Context_X+21*8)(X5), X21
	MOV	(Context_X+22*8)(X5), X22
	MOV	(Context_X+23*8)(X5), X23
	MOV	(Context_X+24*8)(X5), X24
	MOV	(Context_X+25*8)(X5), X25
	MOV	(Context_X+26*8)(X5), X26
	MOV	(Context_X+27*8)(X5), g
	MOV	(Context_X+28*8)(X5), X28
	MOV	(Context_X+29*8)(X5), X29
	MOV	(Context_X+30*8)(X5), X30
	MOV	(Context_X+31*8)(X5), X31
	MOV	(Context_X+5*8)(X5), X5
	WORD	$0x30200073	// mret

// trapEntry is mtvec (direct mode: the address must be 4-byte aligned,
// which Go's function alignment guarantees). It saves all 31 integer
// registers and the trap's cause, pc and value in the Context.
TEXT ·trapEntry(SB),NOSPLIT|NOFRAME,$0
	CSRRW	X5, MSCRATCH, X5	// X5 = ctx, mscratch = the env's X5
	BEQ	X5, X0, kernel
	MOV	X6, (Context_X+6*8)(X5)

	CSRRS	X0, MCAUSE, X6
	MOV	X6, Context_Cause(X5)
	MOV	X1, (Context_X+1*8)(X5)
	MOV	X2, (Context_X+2*8)(X5)
	MOV	X3, (Context_X+3*8)(X5)
	MOV	TP, (Context_X+4*8)(X5)
	MOV	X7, (Context_X+7*8)(X5)
	MOV	X8, (Context_X+8*8)(X5)
	MOV	X9, (Context_X+9*8)(X5)
	MOV	X10, (Context_X+10*8)(X5)
	MOV	X11, (Context_X+11*8)(X5)
	MOV	X12, (Context_X+12*8)(X5)
	MOV	X13, (Context_X+13*8)(X5)
	MOV	X14, (Context_X+14*8)(X5)
	MOV	X15, (Context_X+15*8)(X5)
	MOV	X16, (Context_X+16*8)(X5)
	MOV	X17, (Context_X+17*8)(X5)
	MOV	X18, (Context_X+18*8)(X5)
	MOV	X19, (Context_X+19*8)(X5)
	MOV	X20, (Context_X+20*8)(X5)
	MOV	X21, (Context_X+21*8)(X5)
	MOV	X22, (Context_X+22*8)(X5)
	MOV	X23, (Context_X+23*8)(X5)
	MOV	X24, (Context_X+24*8)(X5)
	MOV	X25, (Context_X+25*8)(X5)
	MOV	X26, (Context_X+26*8)(X5)
	MOV	g, (Context_X+27*8)(X5)
	MOV	X28, (Context_X+28*8)(X5)
	MOV	X29, (Context_X+29*8)(X5)
	MOV	X30, (Context_X+30*8)(X5)
	MOV	X31, (Context_X+31*8)(X5)
	CSRRW	X0, MSCRATCH, X6	// the env's X5; mscratch = 0: kernel
	MOV	X6, (Context_X+5*8)(X5)
	CSRRS	X0, MEPC, X6
	MOV	X6, Context_PC(X5)
	CSRRS	X0, MTVAL, X6
	MOV	X6, Context_Tval(X5)

	// Save the floating-point registers only if the environment wrote
	// one (FS Dirty), and leave FS Clean.
	CSRRS	X0, MSTATUS, X6
	MOV	$(3<<13), X28		// FS (lui)
	AND	X28, X6, X7
	BNE	X7, X28, fpclean
	MOV	X1, X29
	CALL	·storeFP(SB)
	MOV	X29, X1
	MOV	$1, X7
	MOVB	X7, Context_FPValid(X5)
	MOV	$(1<<13), X7
	CSRRC	X7, MSTATUS, X0
fpclean:

	// Back to the kernel: its registers, and run()'s caller.
	MOV	Context_kra(X5), X1
	MOV	Context_ksp(X5), X2
	MOV	Context_kgp(X5), X3
	MOV	Context_ktp(X5), TP
	MOV	Context_kg(X5), g
	RET

kernel:
	// A trap taken in the kernel itself (a bug: the kernel runs with
	// interrupts masked). Restore X5 and mscratch and hand it to the
	// handler the Go runtime installed, through X31, the assembler's
	// scratch register.
	CSRRW	X5, MSCRATCH, X5
	MOV	·kernelVector(SB), X31
	JMP	(X31)

// storeFP, loadFP and clearFP are called from the trap path with the
// Context in X5; they touch only the floating-point registers and X6.

TEXT ·storeFP(SB),NOSPLIT|NOFRAME,$0
	MOVD	F0, (Context_F+0*8)(X5)
	MOVD	F1, (Context_F+1*8)(X5)
	MOVD	F2, (Context_F+2*8)(X5)
	MOVD	F3, (Context_F+3*8)(X5)
	MOVD	F4, (Context_F+4*8)(X5)
	MOVD	F5, (Context_F+5*8)(X5)
	MOVD	F6, (Context_F+6*8)(X5)
	MOVD	F7, (Context_F+7*8)(X5)
	MOVD	F8, (Context_F+8*8)(X5)
	MOVD	F9, (Context_F+9*8)(X5)
	MOVD	F10, (Context_F+10*8)(X5)
	MOVD	F11, (Context_F+11*8)(X5)
	MOVD	F12, (Context_F+12*8)(X5)
	MOVD	F13, (Context_F+13*8)(X5)
	MOVD	F14, (Context_F+14*8)(X5)
	MOVD	F15, (Context_F+15*8)(X5)
	MOVD	F16, (Context_F+16*8)(X5)
	MOVD	F17, (Context_F+17*8)(X5)
	MOVD	F18, (Context_F+18*8)(X5)
	MOVD	F19, (Context_F+19*8)(X5)
	MOVD	F20, (Context_F+20*8)(X5)
	MOVD	F21, (Context_F+21*8)(X5)
	MOVD	F22, (Context_F+22*8)(X5)
	MOVD	F23, (Context_F+23*8)(X5)
	MOVD	F24, (Context_F+24*8)(X5)
	MOVD	F25, (Context_F+25*8)(X5)
	MOVD	F26, (Context_F+26*8)(X5)
	MOVD	F27, (Context_F+27*8)(X5)
	MOVD	F28, (Context_F+28*8)(X5)
	MOVD	F29, (Context_F+29*8)(X5)
	MOVD	F30, (Context_F+30*8)(X5)
	MOVD	F31, (Context_F+31*8)(X5)
	CSRRS	X0, FCSR, X6
	MOV	X6, Context_FCSR(X5)
	RET

TEXT ·loadFP(SB),NOSPLIT|NOFRAME,$0
	MOVD	(Context_F+0*8)(X5), F0
	MOVD	(Context_F+1*8)(X5), F1
	MOVD	(Context_F+2*8)(X5), F2
	MOVD	(Context_F+3*8)(X5), F3
	MOVD	(Context_F+4*8)(X5), F4
	MOVD	(Context_F+5*8)(X5), F5
	MOVD	(Context_F+6*8)(X5), F6
	MOVD	(Context_F+7*8)(X5), F7
	MOVD	(Context_F+8*8)(X5), F8
	MOVD	(Context_F+9*8)(X5), F9
	MOVD	(Context_F+10*8)(X5), F10
	MOVD	(Context_F+11*8)(X5), F11
	MOVD	(Context_F+12*8)(X5), F12
	MOVD	(Context_F+13*8)(X5), F13
	MOVD	(Context_F+14*8)(X5), F14
	MOVD	(Context_F+15*8)(X5), F15
	MOVD	(Context_F+16*8)(X5), F16
	MOVD	(Context_F+17*8)(X5), F17
	MOVD	(Context_F+18*8)(X5), F18
	MOVD	(Context_F+19*8)(X5), F19
	MOVD	(Context_F+20*8)(X5), F20
	MOVD	(Context_F+21*8)(X5), F21
	MOVD	(Context_F+22*8)(X5), F22
	MOVD	(Context_F+23*8)(X5), F23
	MOVD	(Context_F+24*8)(X5), F24
	MOVD	(Context_F+25*8)(X5), F25
	MOVD	(Context_F+26*8)(X5), F26
	MOVD	(Context_F+27*8)(X5), F27
	MOVD	(Context_F+28*8)(X5), F28
	MOVD	(Context_F+29*8)(X5), F29
	MOVD	(Context_F+30*8)(X5), F30
	MOVD	(Context_F+31*8)(X5), F31
	MOV	Context_FCSR(X5), X6
	CSRRW	X6, FCSR, X0
	RET

// clearFP gives an environment that has no floating-point state yet clean
// registers, so it cannot read another environment's values.
TEXT ·clearFP(SB),NOSPLIT|NOFRAME,$0
	FMVDX	X0, F0
	FMVDX	X0, F1
	FMVDX	X0, F2
	FMVDX	X0, F3
	FMVDX	X0, F4
	FMVDX	X0, F5
	FMVDX	X0, F6
	FMVDX	X0, F7
	FMVDX	X0, F8
	FMVDX	X0, F9
	FMVDX	X0, F10
	FMVDX	X0, F11
	FMVDX	X0, F12
	FMVDX	X0, F13
	FMVDX	X0, F14
	FMVDX	X0, F15
	FMVDX	X0, F16
	FMVDX	X0, F17
	FMVDX	X0, F18
	FMVDX	X0, F19
	FMVDX	X0, F20
	FMVDX	X0, F21
	FMVDX	X0, F22
	FMVDX	X0, F23
	FMVDX	X0, F24
	FMVDX	X0, F25
	FMVDX	X0, F26
	FMVDX	X0, F27
	FMVDX	X0, F28
	FMVDX	X0, F29
	FMVDX	X0, F30
	FMVDX	X0, F31
	CSRRW	X0, FCSR, X0
	RET
