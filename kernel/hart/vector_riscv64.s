//go:build !exo_floor

#include "textflag.h"

// func installTrapEntry()
// mtvec = trapEntry; mscratch = 0 (the kernel is running).
TEXT ·installTrapEntry(SB),NOSPLIT,$0-0
	CSRRW	X0, MSCRATCH, X0
	MOV	$·trapEntry(SB), X5
	CSRRW	X5, MTVEC, X0
	RET
