// Single-instruction device register accesses. A fence before each store and
// after each load orders them against ordinary memory accesses around them
// (RISC-V's I/O and memory orderings are distinct: "fence iorw, iorw").

#include "textflag.h"

TEXT ·read8(SB),NOSPLIT,$0-9
	MOV	addr+0(FP), A0
	MOVBU	(A0), A1
	FENCE
	MOVB	A1, ret+8(FP)
	RET

TEXT ·write8(SB),NOSPLIT,$0-9
	MOV	addr+0(FP), A0
	MOVBU	v+8(FP), A1
	FENCE
	MOVB	A1, (A0)
	RET

TEXT ·read16(SB),NOSPLIT,$0-10
	MOV	addr+0(FP), A0
	MOVHU	(A0), A1
	FENCE
	MOVH	A1, ret+8(FP)
	RET

TEXT ·write16(SB),NOSPLIT,$0-10
	MOV	addr+0(FP), A0
	MOVHU	v+8(FP), A1
	FENCE
	MOVH	A1, (A0)
	RET

TEXT ·read32(SB),NOSPLIT,$0-12
	MOV	addr+0(FP), A0
	MOVWU	(A0), A1
	FENCE
	MOVW	A1, ret+8(FP)
	RET

TEXT ·write32(SB),NOSPLIT,$0-12
	MOV	addr+0(FP), A0
	MOVWU	v+8(FP), A1
	FENCE
	MOVW	A1, (A0)
	RET

TEXT ·read64(SB),NOSPLIT,$0-16
	MOV	addr+0(FP), A0
	MOV	(A0), A1
	FENCE
	MOV	A1, ret+8(FP)
	RET

TEXT ·write64(SB),NOSPLIT,$0-16
	MOV	addr+0(FP), A0
	MOV	v+8(FP), A1
	FENCE
	MOV	A1, (A0)
	RET
