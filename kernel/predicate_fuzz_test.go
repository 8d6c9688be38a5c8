package kernel

import (
	"encoding/binary"
	"testing"

	"github.com/exo-os/exo/ash"
	"github.com/exo-os/exo/kernel/abi"
)

// FuzzPredicateWait has an environment wait on programs and windows the
// fuzzer makes up (raw bytes, any length, any window address and size,
// deadlines a few quanta away) while another flips words in the window's
// page. Whatever it sends, the kernel must not panic, every call must
// return a result the ABI allows, and the kernel must finish.
func FuzzPredicateWait(f *testing.F) {
	f.Add(asmPredFuzz(predWordNonzero), uint16(0x2000), uint16(8), uint8(3))
	f.Add(asmPredFuzz("r0 = 0\nexit"), uint16(0x2ff8), uint16(16), uint8(1))
	f.Add([]byte{0xff, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0}, uint16(0x1000), uint16(4096), uint8(2))
	f.Add(asmPredFuzz("r2 = *(u64 *)(r1 + 72)\nr0 = *(u64 *)(r2 + 56)\nr0 &= 1\nexit"), uint16(0), uint16(1), uint8(5))
	f.Fuzz(func(t *testing.T, prog []byte, winOff, winLen uint16, quanta uint8) {
		if len(prog) > 8*(abi.MaxPredProgram+2) {
			prog = prog[:8*(abi.MaxPredProgram+2)]
		}
		allowed := map[uint64]bool{abi.OK: true, abi.ErrInval: true, abi.ErrTooBig: true, abi.ErrFault: true, abi.ErrProgram: true}
		var bad []string
		h := newHarness(t, map[string]program{
			"waiter": func(u *uenv) {
				u.store(predWinVA, make([]byte, 16))
				if len(prog) > 0 {
					u.store(predProgVA, prog)
				}
				va := uint64(predWinVA) - 0x2000 + uint64(winOff)
				for i := 0; i < 3; i++ {
					deadline := u.h.p.now + 1 + uint64(quanta%8)*quantumTick // never 0: a wait always ends
					val, errno := u.ecall(abi.SysPredWait, predProgVA, uint64(len(prog)/8), va, uint64(winLen), deadline)
					if val > 1 || !allowed[errno] || errno != abi.OK && val != 0 {
						bad = append(bad, "result")
					}
				}
				u.ecall(abi.SysExit, 0)
			},
			"flipper": func(u *uenv) {
				for i := 0; i < 12; i++ {
					u.spin(quantumTick / 2)
					w := u.h.k.Env(1)
					if w == nil || w.state >= Dying || w.as == nil {
						continue
					}
					if pa, _, ok := w.as.Lookup(predWinVA); ok {
						binary.LittleEndian.PutUint64(u.h.arena.Page(pa &^ 4095)[8*(i%2):], uint64(i&1))
					}
				}
				u.ecall(abi.SysExit, 0)
			},
		}, "exo-manifest v1\nenv waiter mem=2M\nenv flipper mem=2M\n")
		h.run()
		if len(bad) != 0 {
			t.Fatalf("results outside the ABI: %v", bad)
		}
	})
}

// asmPredFuzz is asmPred for seeds, outside a test.
func asmPredFuzz(src string) []byte {
	insns, err := ash.Assemble(src)
	if err != nil {
		panic(err)
	}
	return ash.Encode(insns)
}
