#include "textflag.h"

// func nop()
// The procedure call: an empty assembly function, as Exo's sys.Nop.
TEXT ·nop(SB),NOSPLIT,$0-0
	RET

// func getpid()
// The null system call: getpid (riscv64 number 172) by a bare ecall, as
// Exo's sys.Null is a bare ecall; the result is dropped.
TEXT ·getpid(SB),NOSPLIT,$0-0
	MOV	$172, A7
	ECALL
	RET
