//go:build tamago

package main

import (
	"fmt"

	"github.com/exo-os/exo/ash"
	"github.com/exo-os/exo/kernel/abi"
	"github.com/exo-os/exo/libos"
	"github.com/exo-os/exo/libos/sys"
)

// verifybomb binds (net guards=udp:5000) a filter whose paths double at
// every one of 24 branches, so that the verifier runs out of its budget
// (abi.NetVerifySteps) rather than finish, and reports how long the
// refused call held the kernel: the worst a bind costs with interrupts
// masked.
func verifybomb() int {
	b := ash.NewBuilder()
	b.LoadPacketPointers(ash.R6, ash.R7)
	b.MovReg(ash.R2, ash.R6).ALU(ash.ALUAdd, ash.R2, 64).JumpIfReg(ash.JumpGT, ash.R2, ash.R7, "out")
	b.Mov(ash.R8, 0)
	for i := 0; i < 24; i++ {
		// Two different constants on the two arms keep the states
		// apart, so no path prunes another.
		l := fmt.Sprintf("b%d", i)
		b.Load(ash.SizeB, ash.R2, ash.R6, int16(i)).JumpIf(ash.JumpEq, ash.R2, 0, l)
		b.ALU(ash.ALUAdd, ash.R8, int32(1)<<(i%20))
		b.Label(l)
	}
	b.Label("out").Return(1)
	insns, err := b.Build()
	if err != nil {
		fmt.Printf("verifybomb: %v\n", err)
		return 1
	}
	if _, ok := libos.Guard(abi.GuardTables[3].Lo + 5000); !ok {
		fmt.Println("verifybomb: needs the guard udp:5000")
		return 2
	}
	t0 := sys.Time()
	_, err = libos.Bind(abi.GuardTables[3].Lo+5000, abi.GuardTables[3].Lo+5000, ash.Encode(insns), nil)
	dt := sys.Time() - t0
	us := dt * 1000000 / libos.Startup().TimebaseHz
	fmt.Printf("verifybomb: %d-instruction filter: %v, after %d us\n", len(insns), err, us)
	if err == nil {
		return 1
	}
	// The longest program a bind takes, straight-line: its control-flow
	// analysis is done in the call itself.
	long := ash.NewBuilder()
	for long.Len() < abi.MaxNetProgram-2 {
		long.Mov(ash.R2, int32(long.Len()))
	}
	long.Return(1)
	if insns, err = long.Build(); err != nil {
		fmt.Printf("verifybomb: %v\n", err)
		return 1
	}
	t0 = sys.Time()
	_, err = libos.Bind(abi.GuardTables[3].Lo+5000, abi.GuardTables[3].Lo+5000, ash.Encode(insns), nil)
	us = (sys.Time() - t0) * 1000000 / libos.Startup().TimebaseHz
	fmt.Printf("verifybomb: %d-instruction filter: %v, after %d us\n", len(insns), err, us)
	if err != nil {
		return 1
	}
	return 0
}
