//go:build tamago

#include "textflag.h"

// testenv's own exception handler (exc.go), in assembly: it runs no Go
// code. a0 = the frame (abi.ExceptionFrame: cause 0, tval 8, pc 16).
//   illegal instruction (2), misaligned load or store/AMO (4, 6; QEMU
//     reports a misaligned AMO as 4): skip the 4-byte
//     instruction and resume;
//   load page fault (13): map ·mapPPN read-only at the faulting page with
//     the capability at ·mapCap (SysMap = 6) and resume: the load runs again;
//   anything else, or a refused map: unregister (SysExcHandler = 19) and
//     resume (SysExcResume = 20), so the kernel reports the exception.

// func mapEntry()
TEXT ·mapEntry(SB),NOSPLIT|NOFRAME,$0-0
	MOV	·excCount(SB), X6
	ADD	$1, X6
	MOV	X6, ·excCount(SB)
	MOV	0(A0), X5
	MOV	$2, X6
	BEQ	X5, X6, skip
	MOV	$4, X6
	BEQ	X5, X6, skip
	MOV	$6, X6
	BEQ	X5, X6, skip
	MOV	$13, X6
	BEQ	X5, X6, domap
giveup:
	MOV	A0, X28
	MOV	$0, A0
	MOV	$19, A7
	ECALL
	MOV	X28, A0
	MOV	$20, A7
	ECALL
	WORD	$0
skip:
	MOV	16(A0), X6
	ADD	$4, X6
	MOV	X6, 16(A0)
	MOV	$20, A7
	ECALL
	WORD	$0
domap:
	MOV	A0, X28
	MOV	8(A0), A0
	MOV	$-4096, X6
	AND	X6, A0, A0
	MOV	·mapPPN(SB), A1
	MOV	$1, A2
	MOV	$·mapCap(SB), A3
	MOV	$6, A7
	ECALL
	MOV	A1, ·mapErr(SB)
	MOV	X28, A0
	BNEZ	A1, giveup
	MOV	$20, A7
	ECALL
	WORD	$0

// func badEntry(): a handler that faults itself.
TEXT ·badEntry(SB),NOSPLIT|NOFRAME,$0-0
	MOV	$0xbad000, X5
	MOV	0(X5), X5
	WORD	$0

// func mapEntryPC() uintptr
TEXT ·mapEntryPC(SB),NOSPLIT,$0-8
	MOV	$·mapEntry(SB), X5
	MOV	X5, ret+0(FP)
	RET

// func badEntryPC() uintptr
TEXT ·badEntryPC(SB),NOSPLIT,$0-8
	MOV	$·badEntry(SB), X5
	MOV	X5, ret+0(FP)
	RET

// func loadAt(addr uintptr) uint64
TEXT ·loadAt(SB),NOSPLIT,$0-16
	MOV	addr+0(FP), X5
	MOV	0(X5), X6
	MOV	X6, ret+8(FP)
	RET

// func misalignedAMO(addr uintptr)
TEXT ·misalignedAMO(SB),NOSPLIT,$0-8
	MOV	addr+0(FP), X5
	AMOADDW	X0, (X5), X0
	RET
