package riscv

import "fmt"

// PMP configuration bits (priv §3.7.1).
const (
	pmpR   = 1 << 0
	pmpW   = 1 << 1
	pmpX   = 1 << 2
	pmpTOR = 1 << 3 // address matching: top of range
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
//   - The machine timer interrupt is enabled in mie; mstatus.MIE stays
//     clear, so it is taken only while an environment runs.
//   - mret returns to User mode (mstatus.MPP = 0).
//   - mtvec points at the environment trap entry from now on.
func PrepareUserMode(protLo, protHi, userHi uint64) error {
	if protLo%4 != 0 || protHi%4 != 0 || userHi%4 != 0 || !(protLo < protHi && protHi < userHi) {
		return fmt.Errorf("riscv: bad PMP ranges: protect [%#x, %#x), allow [%#x, %#x)", protLo, protHi, protHi, userHi)
	}
	WritePMP(0, protLo>>2, 0)
	WritePMP(1, protHi>>2, pmpTOR)
	WritePMP(2, userHi>>2, pmpTOR|pmpR|pmpW|pmpX)
	for i := 3; i < 8; i++ {
		WritePMP(i, 0, 0)
	}
	WriteMcounteren(CounterCY | CounterTM | CounterIR)
	WriteScounteren(CounterCY | CounterTM | CounterIR)
	WriteMedeleg(0)
	WriteMideleg(0)
	ClearMstatus(MstatusMIE | MstatusMPP | MstatusMPRV)
	SetMie(MieMTIE)
	InstallTrapVector()
	return nil
}
