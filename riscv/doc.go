// Package riscv is the RISC-V hart as every other part of Exo sees it: the
// control and status registers (every accessor is one instruction, in
// csr_riscv64.s), their fields, the trap cause codes and their names, the
// address-translation fences and the PMP entries. Both the boards and the
// kernel import it; it imports neither, and everything but the accessors
// is plain Go that host tests cover.
//
// References: The RISC-V Instruction Set Manual, Volume II: Privileged
// Architecture, version 20211203 (cited below as "priv").
package riscv
