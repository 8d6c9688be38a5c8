#include "textflag.h"

// The lrpc server's entry point (lrpc_riscv64.go). The kernel enters it
// with a0..a5 = the caller's arguments, a6 = the caller's id, a7 =
// PCTSync (or 0), and every other register as the interrupted Go code
// left it: so it uses a0..a7 only (the address loads below go through
// AUIPC into their own destination), and no stack. It increments the
// counter and leaves with SysPCTReturn (26), which restores pc and a0..a7
// from ·lrpcFrame. An asynchronous transfer gets the same service; its
// results go nowhere.

// func lrpcEntry()
TEXT ·lrpcEntry(SB),NOSPLIT|NOFRAME,$0-0
	MOV	$·lrpcCounter(SB), A7
	MOV	0(A7), A1
	ADD	$1, A1
	MOV	A1, 0(A7)
	MOV	A1, A2
	ADD	$1, A0
	ADD	A4, A3, A3
	MOV	A5, A4
	MOV	A6, A5
	MOV	$26, A7
	ECALL
	WORD	$0	// a refused return: an illegal instruction ends the env

// func lrpcEntryPC() uintptr
TEXT ·lrpcEntryPC(SB),NOSPLIT,$0-8
	MOV	$·lrpcEntry(SB), X5
	MOV	X5, ret+0(FP)
	RET
