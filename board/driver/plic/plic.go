// Package plic drives the RISC-V platform-level interrupt controller
// (RISC-V PLIC specification v1.0.0; layout also in QEMU hw/intc/sifive_plic.c):
// source priorities at +4·irq, pending bits at +0x1000, per-context enable
// bits at +0x2000+0x80·ctx, and per-context threshold and claim/complete
// registers at +0x200000+0x1000·ctx (+0 and +4).
//
// Which context belongs to which hart and privilege mode differs per SoC, so
// the mapping is data (a Layout), not code.
package plic

import (
	"fmt"

	"github.com/exo-os/exo/board/mmio"
)

// Register offsets.
const (
	offPriority  = 0x000000
	offPending   = 0x001000
	offEnable    = 0x002000
	enableStride = 0x80
	offContext   = 0x200000
	ctxStride    = 0x1000
	offClaim     = 4
)

// Mode is the privilege mode a context delivers interrupts to.
type Mode int

// Privilege modes that have PLIC contexts.
const (
	Machine Mode = iota
	Supervisor
)

func (m Mode) String() string {
	if m == Machine {
		return "M"
	}
	return "S"
}

// Layout maps a hart and mode to its context number, or ok=false if that
// hart has no context for that mode.
type Layout func(hart int, m Mode) (ctx int, ok bool)

// LayoutMS is QEMU virt's numbering: every hart has an M and an S context,
// hart h's M context is 2h and its S context 2h+1.
func LayoutMS(hart int, m Mode) (int, bool) {
	if hart < 0 {
		return 0, false
	}
	return 2*hart + int(m), true
}

// LayoutMonitorFirst is the SiFive U74-MC numbering used by the JH7110:
// hart 0 (the S7 monitor core, which has no S-mode) has only context 0 (M);
// hart h ≥ 1 has M context 2h−1 and S context 2h.
func LayoutMonitorFirst(hart int, m Mode) (int, bool) {
	switch {
	case hart < 0:
		return 0, false
	case hart == 0:
		return 0, m == Machine
	}
	return 2*hart - 1 + int(m), true
}

// PLIC is one platform-level interrupt controller.
type PLIC struct {
	Bus  mmio.Bus
	Base uintptr
	// Sources is the number of interrupt sources including the reserved
	// source 0, that is the device tree's riscv,ndev + 1 (QEMU virt 7.2:
	// 97, for riscv,ndev = <96>; JH7110: 137, for riscv,ndev = <136>).
	Sources int
	// Harts is the number of harts, and Layout their context numbering.
	Harts  int
	Layout Layout
}

// Context returns the context number for hart in mode m.
func (p *PLIC) Context(hart int, m Mode) (int, error) {
	if hart >= p.Harts {
		return 0, fmt.Errorf("plic: hart %d out of range (%d harts)", hart, p.Harts)
	}
	ctx, ok := p.Layout(hart, m)
	if !ok {
		return 0, fmt.Errorf("plic: hart %d has no %v-mode context", hart, m)
	}
	return ctx, nil
}

func (p *PLIC) checkIRQ(irq int) error {
	if irq <= 0 || irq >= p.Sources {
		return fmt.Errorf("plic: interrupt source %d out of range 1..%d", irq, p.Sources-1)
	}
	return nil
}

// SetPriority sets irq's priority; 0 disables the source.
func (p *PLIC) SetPriority(irq int, prio uint32) error {
	if err := p.checkIRQ(irq); err != nil {
		return err
	}
	p.Bus.Write32(p.Base+offPriority+4*uintptr(irq), prio)
	return nil
}

// Enable routes irq to context ctx (on) or stops routing it (off).
func (p *PLIC) Enable(ctx int, irq int, on bool) error {
	if err := p.checkIRQ(irq); err != nil {
		return err
	}
	a := p.Base + offEnable + enableStride*uintptr(ctx) + 4*uintptr(irq/32)
	v := p.Bus.Read32(a)
	if on {
		v |= 1 << (irq % 32)
	} else {
		v &^= 1 << (irq % 32)
	}
	p.Bus.Write32(a, v)
	return nil
}

// SetThreshold masks, for context ctx, every source whose priority is not
// above t.
func (p *PLIC) SetThreshold(ctx int, t uint32) {
	p.Bus.Write32(p.Base+offContext+ctxStride*uintptr(ctx), t)
}

// Claim takes the highest-priority pending interrupt for ctx, or returns 0
// if none is pending.
func (p *PLIC) Claim(ctx int) int {
	return int(p.Bus.Read32(p.Base + offContext + ctxStride*uintptr(ctx) + offClaim))
}

// Complete tells the PLIC that ctx has handled irq, so the source may
// interrupt again.
func (p *PLIC) Complete(ctx int, irq int) {
	p.Bus.Write32(p.Base+offContext+ctxStride*uintptr(ctx)+offClaim, uint32(irq))
}

// Pending reports whether irq is pending.
func (p *PLIC) Pending(irq int) bool {
	if p.checkIRQ(irq) != nil {
		return false
	}
	return p.Bus.Read32(p.Base+offPending+4*uintptr(irq/32))&(1<<(irq%32)) != 0
}

// Target is one context's claim and complete: what a kernel's interrupt
// loop uses (it satisfies kernel.Interrupts).
type Target struct {
	PLIC *PLIC
	Ctx  int
}

// Claim takes the highest-priority pending interrupt, or returns 0.
func (t Target) Claim() uint32 { return uint32(t.PLIC.Claim(t.Ctx)) }

// Complete ends the handling of irq.
func (t Target) Complete(irq uint32) { t.PLIC.Complete(t.Ctx, int(irq)) }

// Route makes each of irqs interrupt context ctx at priority 1, with the
// context's threshold at 0 (every enabled source with a priority above 0
// gets through).
func (p *PLIC) Route(ctx int, irqs ...int) error {
	for _, irq := range irqs {
		if err := p.SetPriority(irq, 1); err != nil {
			return err
		}
		if err := p.Enable(ctx, irq, true); err != nil {
			return err
		}
	}
	p.SetThreshold(ctx, 0)
	return nil
}
