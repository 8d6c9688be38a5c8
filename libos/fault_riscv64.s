//go:build tamago

#include "textflag.h"

// The exception entry (fault.go). The kernel enters it in place of the
// faulting instruction with a0 = the save area (·excFrame) and every other
// register as the exception left it. It runs no Go code and needs no stack:
// it only reads and rewrites the frame and resumes it (SysExcResume = 20),
// so it is safe wherever the exception happened. Registers it may use are
// all in the frame; X31 is the assembler's temporary (global loads).

// Causes turned into a Go panic: instruction access fault (1), misaligned
// load (4), load access fault (5), misaligned store (6), store access fault
// (7), instruction, load and store page faults (12, 13, 15).
#define GO_CAUSES 0xb0f2

// Frame offsets (abi.ExceptionFrame): cause 0, tval 8, pc 16, x[i] 24+8i.
#define F_RA 32
#define F_SP 40

// func excEntry()
TEXT ·excEntry(SB),NOSPLIT|NOFRAME,$0-0
	MOV	0(A0), X5
	MOV	$GO_CAUSES, X6
	SRL	X5, X6, X6
	AND	$1, X6, X6
	BEQZ	X6, crash

	// Keep the frame as delivered, for the way back to the kernel's
	// report (excCrash).
	MOV	$·excSaved(SB), X7
	MOV	A0, X28
	MOV	$35, X29
copy:
	MOV	0(X28), X30
	MOV	X30, 0(X7)
	ADD	$8, X28
	ADD	$8, X7
	ADD	$-1, X29
	BNEZ	X29, copy

	MOV	8(A0), X30
	MOV	X30, ·faultAddr(SB)
	MOV	X5, ·faultCause(SB)
	MOV	16(A0), X28
	MOV	X28, ·faultPC(SB)

	// Make it look as if the faulting pc called runtime.sigpanic, as
	// the Linux port's preparePanic does: push ra below sp (the Go
	// unwinder knows this slot for an injected call) and set ra to the
	// faulting pc, unless that pc is not code and ra is (a call
	// through a bad function value: the caller is the better frame).
	MOV	F_SP(A0), X29
	MOV	F_RA(A0), X30
	ADD	$-8, X29
	MOV	X30, 0(X29)
	MOV	X29, F_SP(A0)
	MOV	·textStart(SB), X6
	MOV	·textEnd(SB), X7
	SLTU	X6, X28, X5
	BNEZ	X5, notcode
	SLTU	X7, X28, X5
	BNEZ	X5, push
notcode:
	BEQZ	X28, nopush
	SLTU	X6, X30, X5
	BNEZ	X5, push
	SLTU	X7, X30, X5
	BEQZ	X5, push
	JMP	nopush
push:
	MOV	X28, F_RA(A0)
nopush:
	MOV	·sigpanicPC(SB), X5
	MOV	X5, 16(A0)
	MOV	$20, A7
	ECALL
	// The kernel refused the frame: give up as below.
	MOV	$·excSaved(SB), A0

crash:
	// Not for Go: unregister the handler and resume the frame as
	// delivered. The instruction faults again and the kernel ends the
	// environment with its usual report.
	MOV	A0, X28
	MOV	$0, A0
	MOV	$19, A7
	ECALL
	MOV	X28, A0
	MOV	$20, A7
	ECALL
	WORD	$0	// only if that was refused: an illegal instruction

// func excCrash()
TEXT ·excCrash(SB),NOSPLIT|NOFRAME,$0-0
	MOV	$0, A0
	MOV	$19, A7
	ECALL
	MOV	$·excSaved(SB), A0
	MOV	$20, A7
	ECALL
	WORD	$0

// func excEntryPC() uintptr
TEXT ·excEntryPC(SB),NOSPLIT,$0-8
	MOV	$·excEntry(SB), X5
	MOV	X5, ret+0(FP)
	RET
