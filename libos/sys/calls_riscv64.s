// System call stubs: a7 = number, a0..a5 = arguments, ecall, a0/a1 = value
// and error (docs/ABI.md).

#include "textflag.h"

// func Syscall(n, a0, a1, a2, a3, a4, a5 uint64) (r0, r1 uint64)
TEXT ·Syscall(SB),NOSPLIT,$0-72
	MOV	n+0(FP), A7
	MOV	a0+8(FP), A0
	MOV	a1+16(FP), A1
	MOV	a2+24(FP), A2
	MOV	a3+32(FP), A3
	MOV	a4+40(FP), A4
	MOV	a5+48(FP), A5
	ECALL
	MOV	A0, r0+56(FP)
	MOV	A1, r1+64(FP)
	RET

// func Null()
TEXT ·Null(SB),NOSPLIT,$0-0
	MOV	$0, A7
	ECALL
	RET

// func Floor()
TEXT ·Floor(SB),NOSPLIT,$0-0
	MOV	$0x7ff, A7
	ECALL
	RET

// func Nop()
TEXT ·Nop(SB),NOSPLIT,$0-0
	RET

// func Time() uint64
TEXT ·Time(SB),NOSPLIT,$0-8
	CSRRS	X0, TIME, X5
	MOV	X5, ret+0(FP)
	RET

// func Cycles() uint64
TEXT ·Cycles(SB),NOSPLIT,$0-8
	CSRRS	X0, CYCLE, X5
	MOV	X5, ret+0(FP)
	RET
