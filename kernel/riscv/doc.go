// Package riscv is Exo's interface to the RISC-V hart: the control and
// status registers the kernel touches (all accessors in csr_riscv64.s), the
// saved state of an environment (Context), and the trap path that enters an
// environment in User mode and comes back on its next trap (trap_riscv64.s).
//
// References: The RISC-V Instruction Set Manual, Volume II: Privileged
// Architecture, version 20211203 (cited below as "priv").
package riscv
