//go:build tamago

#include "textflag.h"

// func readMstatus() uint64
TEXT ·readMstatus(SB),NOSPLIT,$0-8
	CSRRS	X0, MSTATUS, X5
	MOV	X5, ret+0(FP)
	RET

// func doMret()
TEXT ·doMret(SB),NOSPLIT,$0-0
	WORD	$0x30200073	// mret
	RET

// func jump(pc uint64)
TEXT ·jump(SB),NOSPLIT,$0-8
	MOV	pc+0(FP), X5
	JMP	(X5)

// func undefined()
TEXT ·undefined(SB),NOSPLIT,$0-0
	WORD	$0	// the all-zeros instruction is defined to be illegal
	RET
