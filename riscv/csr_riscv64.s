// Every control and status register access the kernel makes (priv ch. 3).

#include "textflag.h"

TEXT ·ReadMstatus(SB),NOSPLIT,$0-8
	CSRRS	X0, MSTATUS, X5
	MOV	X5, ret+0(FP)
	RET

TEXT ·SetMstatus(SB),NOSPLIT,$0-8
	MOV	mask+0(FP), X5
	CSRRS	X5, MSTATUS, X0
	RET

TEXT ·ClearMstatus(SB),NOSPLIT,$0-8
	MOV	mask+0(FP), X5
	CSRRC	X5, MSTATUS, X0
	RET

TEXT ·SetMie(SB),NOSPLIT,$0-8
	MOV	mask+0(FP), X5
	CSRRS	X5, MIE, X0
	RET

TEXT ·ClearMie(SB),NOSPLIT,$0-8
	MOV	mask+0(FP), X5
	CSRRC	X5, MIE, X0
	RET

TEXT ·ReadMip(SB),NOSPLIT,$0-8
	CSRRS	X0, MIP, X5
	MOV	X5, ret+0(FP)
	RET

TEXT ·WriteMcounteren(SB),NOSPLIT,$0-8
	MOV	v+0(FP), X5
	CSRRW	X5, MCOUNTEREN, X0
	RET

TEXT ·WriteScounteren(SB),NOSPLIT,$0-8
	MOV	v+0(FP), X5
	CSRRW	X5, SCOUNTEREN, X0
	RET

TEXT ·WriteMedeleg(SB),NOSPLIT,$0-8
	MOV	v+0(FP), X5
	CSRRW	X5, MEDELEG, X0
	RET

TEXT ·WriteMideleg(SB),NOSPLIT,$0-8
	MOV	v+0(FP), X5
	CSRRW	X5, MIDELEG, X0
	RET

TEXT ·ReadMtvec(SB),NOSPLIT,$0-8
	CSRRS	X0, MTVEC, X5
	MOV	X5, ret+0(FP)
	RET

TEXT ·ReadMhartid(SB),NOSPLIT,$0-8
	CSRRS	X0, MHARTID, X5
	MOV	X5, ret+0(FP)
	RET

TEXT ·ReadMisa(SB),NOSPLIT,$0-8
	CSRRS	X0, MISA, X5
	MOV	X5, ret+0(FP)
	RET

TEXT ·ReadTime(SB),NOSPLIT,$0-8
	CSRRS	X0, TIME, X5
	MOV	X5, ret+0(FP)
	RET

TEXT ·ReadCycle(SB),NOSPLIT,$0-8
	CSRRS	X0, CYCLE, X5
	MOV	X5, ret+0(FP)
	RET

TEXT ·ReadInstret(SB),NOSPLIT,$0-8
	CSRRS	X0, INSTRET, X5
	MOV	X5, ret+0(FP)
	RET

TEXT ·WriteSatp(SB),NOSPLIT,$0-8
	MOV	v+0(FP), X5
	CSRRW	X5, SATP, X0
	RET

TEXT ·ReadSatp(SB),NOSPLIT,$0-8
	CSRRS	X0, SATP, X5
	MOV	X5, ret+0(FP)
	RET

TEXT ·FlushTLB(SB),NOSPLIT,$0-0
	WORD	$0x12000073	// sfence.vma x0, x0
	RET

// func flushPage(va, asid uint64)
TEXT ·flushPage(SB),NOSPLIT,$0-16
	MOV	va+0(FP), X5
	MOV	asid+8(FP), X6
	WORD	$0x12628073	// sfence.vma x5, x6
	RET

// func flushPageAllASIDs(va uint64)
TEXT ·flushPageAllASIDs(SB),NOSPLIT,$0-8
	MOV	va+0(FP), X5
	WORD	$0x12028073	// sfence.vma x5, x0
	RET

// func flushASID(asid uint64)
TEXT ·flushASID(SB),NOSPLIT,$0-8
	MOV	asid+0(FP), X6
	WORD	$0x12600073	// sfence.vma x0, x6
	RET

TEXT ·WaitForInterrupt(SB),NOSPLIT,$0-0
	WORD	$0x10500073	// wfi
	RET

// func writePMP(i int, addr uint64, cfg uint8)
// pmpcfg0 holds the 8-bit configurations of entries 0..7 (RV64, priv §3.7.1).
TEXT ·writePMP(SB),NOSPLIT,$0-17
	MOV	i+0(FP), X5
	MOV	addr+8(FP), X6
	MOVBU	cfg+16(FP), X7
	// clear the entry's byte in pmpcfg0, then set the new one
	SLL	$3, X5, X28
	MOV	$0xff, X29
	SLL	X28, X29, X29
	CSRRC	X29, PMPCFG0, X0
	SLL	X28, X7, X7
	MOV	$0, X29
	BEQ	X5, X29, e0
	MOV	$1, X29
	BEQ	X5, X29, e1
	MOV	$2, X29
	BEQ	X5, X29, e2
	MOV	$3, X29
	BEQ	X5, X29, e3
	MOV	$4, X29
	BEQ	X5, X29, e4
	MOV	$5, X29
	BEQ	X5, X29, e5
	MOV	$6, X29
	BEQ	X5, X29, e6
	CSRRW	X6, PMPADDR7, X0
	JMP	cfg
e0:
	CSRRW	X6, PMPADDR0, X0
	JMP	cfg
e1:
	CSRRW	X6, PMPADDR1, X0
	JMP	cfg
e2:
	CSRRW	X6, PMPADDR2, X0
	JMP	cfg
e3:
	CSRRW	X6, PMPADDR3, X0
	JMP	cfg
e4:
	CSRRW	X6, PMPADDR4, X0
	JMP	cfg
e5:
	CSRRW	X6, PMPADDR5, X0
	JMP	cfg
e6:
	CSRRW	X6, PMPADDR6, X0
cfg:
	CSRRS	X7, PMPCFG0, X0
	RET
