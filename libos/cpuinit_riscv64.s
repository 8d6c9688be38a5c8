//go:build tamago

#include "textflag.h"

// The kernel starts an environment at its ELF entry (the runtime's
// _rt0_riscv64_tamago, which jumps to tamago's CPUInit and so here) in User
// mode, with a0 = the start-up block and every other register zero.
// Unlike the Machine-mode cpuinit, this touches no privileged CSR: the
// kernel has already enabled the floating-point unit (mstatus.FS) and the
// time counter.
TEXT cpuinit(SB),NOSPLIT|NOFRAME,$0
	CSRRS	X0, TIME, X5
	MOV	X5, ·firstTicks(SB)

	// RamSize = startup.RAMSize (offset 32, checked by startup_test.go)
	MOV	32(X10), X6
	MOV	X6, runtime∕goos·RamSize(SB)

	// sp = RamStart + RamSize - RamStackOffset
	MOV	runtime∕goos·RamStart(SB), X2
	ADD	X6, X2
	MOV	runtime∕goos·RamStackOffset(SB), X7
	SUB	X7, X2

	JMP	_rt0_tamago_start(SB)
