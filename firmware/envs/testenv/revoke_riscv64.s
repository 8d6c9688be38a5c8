//go:build tamago

#include "textflag.h"

// testenv's revocation handler (revoke.go), in assembly: it runs no Go
// code. a0 = the frame (abi.ExceptionFrame: kind at 0, count at 8). It
// records the count in ·revTold, gives back count spare frames from page
// ·revFirst (SysRevokeAnswer = 30, RevokeGive = 2), records the result in
// ·revOwed and ·revGiveErr, and resumes where the environment was
// (RevokeDone = 3 with the frame). The kernel restores every register.

// func revEntry()
TEXT ·revEntry(SB),NOSPLIT|NOFRAME,$0-0
	MOV	A0, X28
	MOV	8(A0), X5
	MOV	X5, ·revTold(SB)
	MOV	$2, A0
	MOV	·revFirst(SB), A1
	MOV	X5, A2
	MOV	$30, A7
	ECALL
	MOV	A0, ·revOwed(SB)
	MOV	A1, ·revGiveErr(SB)
	MOV	$3, A0
	MOV	X28, A1
	MOV	$30, A7
	ECALL
	WORD	$0

// func revEntryPC() uintptr
TEXT ·revEntryPC(SB),NOSPLIT,$0-8
	MOV	$·revEntry(SB), X5
	MOV	X5, ret+0(FP)
	RET
