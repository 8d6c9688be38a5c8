//go:build tamago && riscv64

// The first instructions every hart executes (see doc.go of package harts).
// Integer instructions only: no F/D instruction and no fcsr access may
// appear in this file, because hart 0 has no floating-point unit
// (tools/vf2image's TestEntryHasNoFloatingPoint disassembles the built
// firmware to check).
//
// Register use: X8 holds the hart id and X9 the a1 the boot loader passed
// throughout; X5-X7 and X18-X20 are scratch. X31 is left alone (the
// assembler uses it for large constants).

#include "textflag.h"

#define STATE_PARKED	0xb2
#define STATE_KERNEL	0xc3
#define MAX_HARTS	8
#define MAX_DTB		65536
#define MISA_D		(1<<3)
#define MSTATUS_MIE	(1<<3)
#define MIE_MSIE	(1<<3)
#define WFI		WORD $0x10500073
#define FENCE_I		WORD $0x0000100f

// cpuinit is TamaGo's first-instruction hook (runtime/goos.CPUInit jumps
// here). The boot loader enters every hart with a0 = hart id, a1 = device
// tree; the hart id is read from mhartid rather than trusted from a0.
TEXT cpuinit(SB),NOSPLIT|NOFRAME,$0
	CSRRS	X0, MHARTID, X8
	MOV	X11, X9

	MOV	$MAX_HARTS, X5
	BGEU	X8, X5, noslot

	// Hart 0 is the monitor core (S7 on the JH7110, E51 on sifive_u):
	// no FPU, so it never runs Go. Any other hart whose misa lacks D
	// parks too (misa may read 0 if unimplemented: then trust the id).
	BEQZ	X8, park
	CSRRS	X0, MISA, X5
	BEQZ	X5, draw
	AND	$MISA_D, X5, X6
	BEQZ	X6, park

draw:
	// The first hart to swap the lottery word from 1 to 0 runs the
	// kernel; every later one finds 0 and parks.
	MOV	$·lottery(SB), X5
	AMOSWAPD	X0, (X5), X7
	BEQZ	X7, park

	MOV	$·bootHart(SB), X5
	MOV	X8, (X5)
	MOV	$·state(SB), X5
	SLL	$3, X8, X6
	ADD	X6, X5, X5
	MOV	$STATE_KERNEL, X6
	MOV	X6, (X5)

	// Keep the device tree: check a1 and the header, then copy
	// totalsize bytes into ·dtb. X20 is the verdict (harts.go).
	MOV	$·dtbAddr(SB), X5
	MOV	X9, (X5)
	MOV	$0xe0, X20
	BEQZ	X9, dtdone
	MOV	$0xe1, X20
	AND	$7, X9, X5
	BNEZ	X5, dtdone
	MOV	$0xe2, X20
	MOVWU	(X9), X5
	MOV	$0xedfe0dd0, X6		// 0xd00dfeed, big-endian, read little-endian
	BNE	X5, X6, dtdone
	MOVBU	4(X9), X5		// totalsize, big-endian
	SLL	$24, X5, X5
	MOVBU	5(X9), X6
	SLL	$16, X6, X6
	OR	X6, X5, X5
	MOVBU	6(X9), X6
	SLL	$8, X6, X6
	OR	X6, X5, X5
	MOVBU	7(X9), X6
	OR	X6, X5, X5
	MOV	$·dtbSize(SB), X6
	MOV	X5, (X6)
	MOV	$0xe3, X20
	MOV	$40, X6
	BLTU	X5, X6, dtdone
	MOV	$0xe4, X20
	MOV	$MAX_DTB, X6
	BLTU	X6, X5, dtdone
	MOV	$·dtb(SB), X6
	MOV	X9, X7
	ADD	X9, X5, X18
copy:
	BGEU	X7, X18, copied
	MOVBU	(X7), X19
	MOVB	X19, (X6)
	ADD	$1, X7, X7
	ADD	$1, X6, X6
	JMP	copy
copied:
	MOV	$0xe5, X20
dtdone:
	MOV	$·dtbStatus(SB), X5
	MOV	X20, (X5)
	FENCE

	// From here on, what TamaGo's riscv64 cpuinit does (tamago
	// riscv64/init.s): interrupts off, FPU on, stack at the top of the
	// runtime's memory, then the Go runtime.
	CSRRW	X0, SIE, X0
	CSRRW	X0, MIE, X0
	MOV	$0x7fff, X5
	CSRRC	X5, MSTATUS, X0
	MOV	$(1<<13), X5
	CSRRS	X5, MSTATUS, X0
	MOV	runtime∕goos·RamStart(SB), X2
	MOV	runtime∕goos·RamSize(SB), X5
	MOV	runtime∕goos·RamStackOffset(SB), X6
	ADD	X5, X2
	SUB	X6, X2
	JMP	_rt0_tamago_start(SB)

park:
	JMP	·parkEntry(SB)

noslot:
	// A hart id beyond the mailboxes: park for good.
	CSRRW	X0, MIE, X0
	MOV	$MSTATUS_MIE, X5
	CSRRC	X5, MSTATUS, X0
	MOV	$·parkForever(SB), X5
	CSRRW	X5, MTVEC, X0
	JMP	·parkForever(SB)

// parkEntry parks the hart in X8: it records the state, masks interrupts,
// enables only the software interrupt (so that Release can wake it), and
// points mtvec at the loop so that even a stray trap lands back in it.
TEXT ·parkEntry(SB),NOSPLIT|NOFRAME,$0-0
	MOV	$·state(SB), X5
	SLL	$3, X8, X6
	ADD	X6, X5, X5
	MOV	$STATE_PARKED, X6
	MOV	X6, (X5)
	FENCE
	MOV	$MSTATUS_MIE, X5
	CSRRC	X5, MSTATUS, X0
	MOV	$·parkLoop(SB), X5
	CSRRW	X5, MTVEC, X0
	MOV	$MIE_MSIE, X5
	CSRRW	X5, MIE, X0
	JMP	·parkLoop(SB)

// parkLoop waits for a software interrupt, clears it, and leaves for the
// address in the hart's mailbox if there is one (an even value), with
// a0 = hart id.
TEXT ·parkLoop(SB),NOSPLIT|NOFRAME,$0-0
loop:
	WFI
	MOV	·clint(SB), X5
	SLL	$2, X8, X6
	ADD	X6, X5, X5
	MOVW	X0, (X5)
	FENCE
	MOV	$·mailbox(SB), X5
	SLL	$3, X8, X6
	ADD	X6, X5, X5
	MOV	(X5), X7
	AND	$1, X7, X6
	BNEZ	X6, loop
	FENCE_I
	MOV	X8, X10
	JMP	(X7)

// parkForever is the park loop of a hart without a mailbox.
TEXT ·parkForever(SB),NOSPLIT|NOFRAME,$0-0
forever:
	WFI
	JMP	forever

// probe is a Release target for tests: it counts the wake-up in ·wakes,
// resets the mailbox and parks again.
TEXT ·probe(SB),NOSPLIT|NOFRAME,$0-0
	MOV	X10, X8
	MOV	$·wakes(SB), X5
	SLL	$3, X8, X6
	ADD	X6, X5, X5
	MOV	$1, X6
	AMOADDD	X6, (X5), X0
	MOV	$·mailbox(SB), X5
	SLL	$3, X8, X6
	ADD	X6, X5, X5
	MOV	$1, X6
	MOV	X6, (X5)
	FENCE
	JMP	·parkEntry(SB)

// func probeAddr() uintptr
TEXT ·probeAddr(SB),NOSPLIT,$0-8
	MOV	$·probe(SB), X5
	MOV	X5, ret+0(FP)
	RET
