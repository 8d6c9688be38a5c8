//go:build tamago

#include "textflag.h"

// The user-level page-fault handler (vm.go). The kernel enters it in place
// of the faulting instruction with a0 = the save area (·vmFrame) and every
// other register as the exception left it; they are all in the frame, which
// the handler resumes (SysExcResume = 20), so it may use any. It runs no Go
// code and needs no stack.
//
//   load or store page fault (13, 15) at an address in [·vmLo, ·vmHi):
//     log the address (·vmLog, ·vmFaults), then either protect the page
//     ·vmProt (SysProtect = 21, one page, capability ·vmCap) and resume the
//     access, or, with ·vmSkip set, step over the faulting instruction
//     (2 or 4 bytes, from its encoding) and resume after it;
//   anything else, or a refused protect (its error in ·vmLastErr): the
//     Go-panic handler (excEntry, fault_riscv64.s) if EnableFaultPanics ran
//     (·sigpanicPC set), otherwise unregister (SysExcHandler = 19) and
//     resume, so that the kernel reports the exception.

// func vmEntry()
TEXT ·vmEntry(SB),NOSPLIT|NOFRAME,$0-0
	MOV	0(A0), X5
	MOV	$13, X6
	BEQ	X5, X6, pagefault
	MOV	$15, X6
	BEQ	X5, X6, pagefault
	JMP	other
pagefault:
	MOV	8(A0), X7
	MOV	·vmLo(SB), X6
	SLTU	X6, X7, X5
	BNEZ	X5, other
	MOV	·vmHi(SB), X6
	SLTU	X6, X7, X5
	BEQZ	X5, other
	// Log it: vmLog[vmFaults%16] = tval; vmFaults++.
	MOV	·vmFaults(SB), X6
	AND	$15, X6, X29
	SLL	$3, X29, X29
	MOV	$·vmLog(SB), X30
	ADD	X29, X30, X30
	MOV	X7, 0(X30)
	ADD	$1, X6
	MOV	X6, ·vmFaults(SB)
	MOV	·vmSkip(SB), X6
	BNEZ	X6, skip
	MOV	A0, X28
	MOV	$-4096, X6
	AND	X6, X7, A0
	MOV	$1, A1
	MOV	·vmProt(SB), A2
	MOV	$·vmCap(SB), A3
	MOV	$21, A7
	ECALL
	BNEZ	A1, refused
	MOV	X28, A0
	MOV	$20, A7
	ECALL
	WORD	$0
refused:
	MOV	A1, ·vmLastErr(SB)
	MOV	X28, A0
	JMP	giveup
skip:
	MOV	16(A0), X6
	MOVHU	0(X6), X7
	AND	$3, X7, X7
	MOV	$3, X29
	MOV	$2, X30
	BNE	X7, X29, advance
	MOV	$4, X30
advance:
	ADD	X30, X6, X6
	MOV	X6, 16(A0)
	MOV	$20, A7
	ECALL
	WORD	$0
other:
	MOV	·sigpanicPC(SB), X6
	BEQZ	X6, giveup
	JMP	·excEntry(SB)
giveup:
	MOV	A0, X28
	MOV	$0, A0
	MOV	$19, A7
	ECALL
	MOV	X28, A0
	MOV	$20, A7
	ECALL
	WORD	$0

// func vmEntryPC() uintptr
TEXT ·vmEntryPC(SB),NOSPLIT,$0-8
	MOV	$·vmEntry(SB), X5
	MOV	X5, ret+0(FP)
	RET
