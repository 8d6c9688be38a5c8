//go:build exo_floor

// The measurement build's trap vector (make bench): floorEntry answers an
// ecall with a7 = FloorSyscall at once, saving and restoring only the two
// registers the check needs, and hands every other trap to trapEntry with
// every register as it found it. It measures the hardware round trip under
// everything else the kernel does; the check costs every other trap of
// this build the instructions up to the jump (docs/MEASUREMENTS.md).

#include "go_asm.h"
#include "textflag.h"

TEXT ·floorEntry(SB),NOSPLIT|NOFRAME,$0
	CSRRW	X5, MSCRATCH, X5	// X5 = ctx, mscratch = the env's X5
	BEQ	X5, X0, other		// a trap in the kernel
	MOV	X6, (Context_X+6*8)(X5)
	CSRRS	X0, MCAUSE, X6
	ADD	$-8, X6			// 8: environment call from U-mode
	BNE	X6, X0, restore
	MOV	$const_FloorSyscall, X6
	BNE	X17, X6, restore
	CSRRS	X0, MEPC, X6
	ADD	$4, X6
	CSRRW	X6, MEPC, X0
	MOV	(Context_X+6*8)(X5), X6
	CSRRW	X5, MSCRATCH, X5
	WORD	$0x30200073	// mret
restore:
	MOV	(Context_X+6*8)(X5), X6
other:
	CSRRW	X5, MSCRATCH, X5	// as the trap left them
	JMP	·trapEntry(SB)

// func installTrapEntry()
// mtvec = floorEntry; mscratch = 0 (the kernel is running).
TEXT ·installTrapEntry(SB),NOSPLIT,$0-0
	CSRRW	X0, MSCRATCH, X0
	MOV	$·floorEntry(SB), X5
	CSRRW	X5, MTVEC, X0
	RET
