package kernel

import (
	"strings"
	"testing"
	"time"

	"github.com/exo-os/exo/caps"
	"github.com/exo-os/exo/kernel/abi"
)

// Three environments make transfers, returns and registrations to each
// other and to ids that do not exist, as fuzz bytes say, with genuine,
// weakened and forged capabilities and corrupted frames: the kernel never
// panics, never finds itself inconsistent, and every environment finishes
// (a caller whose callee ends gets its call back).
func FuzzPCT(f *testing.F) {
	for _, seed := range []string{
		"\x00\x02\x01\x04\x05\x03\x01",
		"\x00\x00\x00\x02\x02\x02\x04\x04\x04",
		"\x00\x06\x04\x02\x01\x03\x01\x07",
		strings.Repeat("\x00\x02\x11\x04\x05", 10),
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 256 {
			data = data[:256]
		}
		at := 0
		next := func() byte {
			if at >= len(data) {
				return 0xff
			}
			at++
			return data[at-1]
		}
		prog := func(steps int) program {
			return func(u *uenv) {
				for i := 0; i < steps; i++ {
					b := next()
					if b == 0xff {
						break
					}
					target := uint32(b>>4)%4 + 1 // 4: no such env
					switch b % 8 {
					case 0:
						u.ecall(abi.SysPCTEntry, pctEntryVA, pctFrameVA)
					case 1:
						u.ecall(abi.SysPCTEntry, uint64(next())<<12, pctFrameVA+uint64(next()))
					case 2, 3:
						var c caps.Cap
						switch next() % 4 {
						case 0:
							c = u.h.sendCap(target, caps.EnvSend)
						case 1:
							c = u.h.sendCap(target, caps.EnvControl)
						case 2:
							c = flip(u.h.sendCap(target, caps.EnvSend))
						case 3:
							c = u.capOf(caps.KindPage)
						}
						n := uint64(abi.SysPCTCall)
						if b%8 == 3 {
							n = abi.SysPCTAsync
						}
						u.call(n, c, [6]uint64{uint64(b), 1, 2, 3, 4, 5})
					case 4:
						u.ret([6]uint64{uint64(b)})
					case 5:
						u.ecall(abi.SysYield)
					case 6:
						u.store(pctFrameVA, []byte{next(), next(), next(), 0xff, 0xff, 0xff, 0xff, 0xff})
					case 7:
						u.spin(uint64(next()) * 1000)
					}
				}
				u.ecall(abi.SysExit, 0)
			}
		}
		h := newHarness(t, map[string]program{"caller": prog(40), "callee": prog(40), "bystander": prog(20)},
			"exo-manifest v1\nenv caller mem=2M\nenv callee mem=2M\nenv bystander mem=2M\n")
		done := make(chan any, 1)
		go func() {
			defer func() { done <- recover() }()
			h.k.Run()
		}()
		select {
		case p := <-done:
			if p != nil {
				t.Fatalf("kernel panicked: %v\nconsole:\n%s", p, h.console())
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("kernel did not finish\nconsole:\n%s", h.console())
		}
		if out := h.console(); strings.Contains(out, "BUG") {
			t.Fatalf("the kernel found itself inconsistent:\n%s", out)
		}
		for id := uint32(1); id <= 3; id++ {
			if !h.gone(id) {
				t.Fatalf("env %d did not finish", id)
			}
		}
	})
}
