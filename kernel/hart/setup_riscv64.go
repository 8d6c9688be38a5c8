package hart

import (
	"fmt"

	"github.com/exo-os/exo/riscv"
)

// PrepareUserMode configures the hart to run environments:
//
//   - Physical memory protection: User mode may reach [protHi, userHi) and
//     nothing else. [protLo, protHi) (the kernel's memory) is covered by an
//     entry that grants nothing, and addresses no entry matches (devices)
//     are denied to User mode because entries exist (priv §3.7.1). Machine
//     mode is not restricted (no entry is locked). QEMU 7.2 also refuses
//     mret to User mode while no PMP entry is set.
//   - The time, cycle and instret counters are readable from User mode
//     (mcounteren, and scounteren because the hart has S-mode and both
//     gate User access), so the library OS reads the clock without a trap.
//   - No trap is delegated: every trap from User mode comes to the kernel.
//   - The machine timer and external interrupts are enabled in mie;
//     mstatus.MIE stays clear, so they are taken only while an environment
//     runs (priv §3.1.6.1: interrupts for a higher privilege are always
//     enabled in a lower one), and wfi still wakes on them in the kernel.
//   - mret returns to User mode (mstatus.MPP = 0).
//   - mtvec points at the environment trap entry from now on.
func PrepareUserMode(protLo, protHi, userHi uint64) error {
	if protLo%4 != 0 || protHi%4 != 0 || userHi%4 != 0 || !(protLo < protHi && protHi < userHi) {
		return fmt.Errorf("hart: bad PMP ranges: protect [%#x, %#x), allow [%#x, %#x)", protLo, protHi, protHi, userHi)
	}
	riscv.WritePMP(0, protLo>>2, 0)
	riscv.WritePMP(1, protHi>>2, riscv.PMPTOR)
	riscv.WritePMP(2, userHi>>2, riscv.PMPTOR|riscv.PMPRead|riscv.PMPWrite|riscv.PMPExec)
	for i := 3; i < 8; i++ {
		riscv.WritePMP(i, 0, 0)
	}
	riscv.WriteMcounteren(riscv.CounterCY | riscv.CounterTM | riscv.CounterIR)
	riscv.WriteScounteren(riscv.CounterCY | riscv.CounterTM | riscv.CounterIR)
	riscv.WriteMedeleg(0)
	riscv.WriteMideleg(0)
	riscv.ClearMstatus(riscv.MstatusMIE | riscv.MstatusMPP | riscv.MstatusMPRV)
	riscv.SetMie(riscv.MieMTIE | riscv.MieMEIE)
	InstallTrapVector()
	return nil
}
