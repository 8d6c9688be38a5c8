// Protected control transfer stub (pct_riscv64.go): a6 = the capability's
// address, a7 = the call, a0..a5 = the arguments, and back.

#include "textflag.h"

// func pct(n uint64, c *caps.Cap, a *[6]uint64) uint64
TEXT ·pct(SB),NOSPLIT,$0-32
	MOV	n+0(FP), A7
	MOV	c+8(FP), A6
	MOV	a+16(FP), X5
	MOV	0(X5), A0
	MOV	8(X5), A1
	MOV	16(X5), A2
	MOV	24(X5), A3
	MOV	32(X5), A4
	MOV	40(X5), A5
	ECALL
	MOV	a+16(FP), X5
	MOV	A0, 0(X5)
	MOV	A1, 8(X5)
	MOV	A2, 16(X5)
	MOV	A3, 24(X5)
	MOV	A4, 32(X5)
	MOV	A5, 40(X5)
	MOV	A1, ret+24(FP)
	RET
