// Package hart is the kernel's grip on the hart it runs on: the saved state
// of an environment (Context), the trap path that enters an environment in
// User mode and comes back to the kernel's Go code on its next trap
// (trap_riscv64.s, which reads top to bottom), the translation fences that
// page-table changes need, and the one-time set-up of the hart for User
// mode (PMP, counters, delegation, interrupt enables).
//
// Context is plain Go, so the kernel's host tests use it; everything else
// is RISC-V only. The CSR accessors it uses are package riscv's.
//
// References: The RISC-V Instruction Set Manual, Volume II: Privileged
// Architecture, version 20211203 (cited below as "priv").
package hart
