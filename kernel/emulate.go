package kernel

import (
	"encoding/binary"

	"github.com/exo-os/exo/kernel/vm"
)

// csrTime is the number of the User-mode time counter CSR.
const csrTime = 0xc01

// emulate completes an instruction the hart refused that the kernel can do
// on the environment's behalf, and reports whether it did. The one such
// instruction is a read of the time counter: harts without a hardware time
// CSR (the JH7110's U74 cores) trap it as an illegal instruction, and the
// library OS reads the clock with it. The kernel answers from the machine
// timer, as OpenSBI does for Linux on those cores.
func (k *Kernel) emulate(e *Env) bool {
	c := &e.ctx
	insn := uint32(c.Tval)
	if insn == 0 {
		// mtval may be zero for illegal instructions (priv §3.1.16):
		// fetch the instruction through the environment's page table.
		pa, perm, ok := e.as.Lookup(c.PC)
		if !ok || perm&(vm.X|vm.U) != vm.X|vm.U || c.PC%4096 > 4096-4 {
			return false
		}
		off := pa % 4096
		insn = binary.LittleEndian.Uint32(k.phys.Page(pa - off)[off:])
	}
	// csrrs rd, time, x0 (the "rdtime rd" pseudo-instruction).
	const opSystem, f3CSRRS = 0x73, 2
	if insn&0x7f != opSystem || insn>>12&7 != f3CSRRS || insn>>15&31 != 0 || insn>>20 != csrTime {
		return false
	}
	if rd := insn >> 7 & 31; rd != 0 {
		c.X[rd] = k.plat.Now()
	}
	c.PC += 4
	e.Emulated++
	return true
}
