// Package clint drives the SiFive core-local interruptor (CLINT, or ACLINT
// MTIMER+MSWI) found on QEMU virt and the StarFive JH7110: the machine timer
// and the software interrupt bits of each hart.
//
// Layout (SiFive FU540-C000 manual §9; QEMU hw/intc/riscv_aclint.c):
// msip[h] at +4h, mtimecmp[h] at +0x4000+8h, mtime at +0xBFF8.
package clint

import (
	"fmt"

	"github.com/exo-os/exo/board/mmio"
	"github.com/exo-os/exo/kernel/abi"
)

// Register offsets.
const (
	offMSIP     = 0x0000
	offMTIMECMP = 0x4000
	offMTIME    = 0xbff8
)

// CLINT is one core-local interruptor.
type CLINT struct {
	Bus  mmio.Bus
	Base uintptr
	// TimebaseHz is the rate mtime counts at (10 MHz on QEMU virt, 4 MHz
	// on the JH7110).
	TimebaseHz uint64
	// Harts is the number of harts whose registers exist.
	Harts int
}

// Validate reports a configuration the driver cannot use.
func (c *CLINT) Validate() error {
	switch {
	case c.Bus == nil:
		return fmt.Errorf("clint at %#x: no bus", c.Base)
	case c.TimebaseHz == 0 || c.TimebaseHz > 1e9:
		return fmt.Errorf("clint at %#x: timebase %d Hz out of range (1 Hz to 1 GHz)", c.Base, c.TimebaseHz)
	case c.Harts <= 0:
		return fmt.Errorf("clint at %#x: %d harts", c.Base, c.Harts)
	}
	return nil
}

// Mtime returns the free-running machine timer, in timebase ticks.
func (c *CLINT) Mtime() uint64 { return c.Bus.Read64(c.Base + offMTIME) }

// SetCompare arms hart's timer interrupt for when mtime reaches ticks. The
// interrupt stays pending until the compare register is moved past mtime.
func (c *CLINT) SetCompare(hart int, ticks uint64) {
	c.Bus.Write64(c.Base+offMTIMECMP+8*uintptr(hart), ticks)
}

// Disarm moves hart's compare register to the far future.
func (c *CLINT) Disarm(hart int) { c.SetCompare(hart, ^uint64(0)) }

// SetSoftware raises or clears hart's machine software interrupt.
func (c *CLINT) SetSoftware(hart int, on bool) {
	var v uint32
	if on {
		v = 1
	}
	c.Bus.Write32(c.Base+offMSIP+4*uintptr(hart), v)
}

// Nanotime returns mtime converted to nanoseconds.
func (c *CLINT) Nanotime() int64 { return int64(abi.TicksToNs(c.Mtime(), c.TimebaseHz)) }
