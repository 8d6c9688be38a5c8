//go:build tamago

#include "textflag.h"

// func nullDirtyFP()
TEXT ·nullDirtyFP(SB),NOSPLIT,$0-0
	FMVDX	X0, F31
	MOV	$0, A7
	ECALL
	RET

// func nopDirtyFP()
TEXT ·nopDirtyFP(SB),NOSPLIT,$0-0
	FMVDX	X0, F31
	RET
