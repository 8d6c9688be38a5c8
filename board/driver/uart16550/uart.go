// Package uart16550 drives 16550-compatible UARTs: QEMU virt's ns16550a
// (byte registers, one byte apart) and the Synopsys DesignWare APB UART of the
// StarFive JH7110 (8250-compatible, registers four bytes apart, 32-bit
// accesses). Register spacing and access width are data, not code.
package uart16550

import (
	"fmt"

	"github.com/exo-os/exo/board/mmio"
)

// Register indexes (multiplied by Stride to get the byte offset).
const (
	regData = 0 // RBR on read, THR on write; DLL when LCR.DLAB is set
	regIER  = 1 // interrupt enable; DLM when LCR.DLAB is set
	regFCR  = 2 // FIFO control (write-only)
	regIIR  = 2 // interrupt identification (read-only)
	regLCR  = 3 // line control
	regMCR  = 4 // modem control
	regLSR  = 5 // line status
)

// Bits of the line status and line control registers.
const (
	lsrDataReady = 1 << 0 // a received byte waits in RBR
	lsrTHREmpty  = 1 << 5 // THR can take a byte
	lcr8N1       = 0x03   // 8 data bits, no parity, 1 stop bit
	lcrDLAB      = 1 << 7 // divisor latch access
	fcrEnable    = 0x07   // enable and clear both FIFOs
	mcrDTRRTS    = 0x03
	ierTHRE      = 1 << 1 // interrupt when the transmitter holding register (FIFO) is empty
)

// DefaultFIFO is the transmit FIFO depth of a 16550A: the bytes the
// transmitter takes at once when it reports itself empty.
const DefaultFIFO = 16

// UART is one 16550-compatible port.
type UART struct {
	Bus  mmio.Bus
	Base uintptr
	// Stride is the distance in bytes between consecutive registers
	// (1 on QEMU virt, 4 on the DesignWare APB UART).
	Stride uintptr
	// Width is the access width in bytes: 1 or 4.
	Width int
	// ClockHz is the UART input clock. If zero, Init leaves the baud rate
	// divisor alone (it was set by the firmware that ran before).
	ClockHz uint32
	// Baud is the line rate Init programs when ClockHz is set.
	Baud uint32
	// FIFO is the transmit FIFO depth (DefaultFIFO if zero).
	FIFO int

	ier uint8 // what IER holds
}

func (u *UART) addr(reg uintptr) uintptr { return u.Base + reg*u.Stride }

func (u *UART) read(reg uintptr) uint8 {
	if u.Width == 4 {
		return uint8(u.Bus.Read32(u.addr(reg)))
	}
	return u.Bus.Read8(u.addr(reg))
}

func (u *UART) write(reg uintptr, v uint8) {
	if u.Width == 4 {
		u.Bus.Write32(u.addr(reg), uint32(v))
		return
	}
	u.Bus.Write8(u.addr(reg), v)
}

// Validate reports a configuration the driver cannot use.
func (u *UART) Validate() error {
	switch {
	case u.Bus == nil:
		return fmt.Errorf("uart16550 at %#x: no bus", u.Base)
	case u.Width != 1 && u.Width != 4:
		return fmt.Errorf("uart16550 at %#x: access width %d, want 1 or 4", u.Base, u.Width)
	case u.Stride < uintptr(u.Width):
		return fmt.Errorf("uart16550 at %#x: register stride %d smaller than access width %d", u.Base, u.Stride, u.Width)
	case u.ClockHz != 0 && (u.Baud == 0 || u.ClockHz/(16*u.Baud) == 0 || u.ClockHz/(16*u.Baud) > 0xffff):
		return fmt.Errorf("uart16550 at %#x: cannot divide a %d Hz clock down to %d baud", u.Base, u.ClockHz, u.Baud)
	}
	return nil
}

// Init sets 8N1 framing, enables the FIFOs, masks the UART's interrupts and,
// if ClockHz is set, programs the baud rate divisor.
func (u *UART) Init() error {
	if err := u.Validate(); err != nil {
		return err
	}
	u.write(regIER, 0)
	u.ier = 0
	if u.ClockHz != 0 {
		div := u.ClockHz / (16 * u.Baud)
		u.write(regLCR, lcrDLAB)
		u.write(regData, uint8(div))
		u.write(regIER, uint8(div>>8))
	}
	u.write(regLCR, lcr8N1)
	u.write(regFCR, fcrEnable)
	u.write(regMCR, mcrDTRRTS)
	return nil
}

// WriteByte sends c, waiting for room in the transmitter first. It never
// fails; the error result satisfies io.ByteWriter.
func (u *UART) WriteByte(c byte) error {
	for u.read(regLSR)&lsrTHREmpty == 0 {
	}
	u.write(regData, c)
	return nil
}

// Write sends p, translating "\n" to "\r\n" for terminals.
func (u *UART) Write(p []byte) (int, error) {
	for _, c := range p {
		if c == '\n' {
			u.WriteByte('\r')
		}
		u.WriteByte(c)
	}
	return len(p), nil
}

// Send gives the transmitter as many of p's bytes as it takes without
// waiting (a FIFO's worth, when it reports itself empty; "\n" goes out as
// "\r\n") and returns how many of p it took. While any are left, the
// UART's transmitter-empty interrupt is enabled, so that the kernel hears
// when it can send more; once all are taken it is disabled again. It is
// the kernel's console transmitter (kernel.Serial).
func (u *UART) Send(p []byte) int {
	n := 0
	if len(p) > 0 && u.read(regLSR)&lsrTHREmpty != 0 {
		room := u.FIFO
		if room <= 0 {
			room = DefaultFIFO
		}
		for n < len(p) && room > 0 {
			c := p[n]
			if c == '\n' {
				if room < 2 {
					break
				}
				u.write(regData, '\r')
				room--
			}
			u.write(regData, c)
			room--
			n++
		}
	}
	ier := u.ier &^ ierTHRE
	if n < len(p) {
		ier |= ierTHRE
	}
	if ier != u.ier {
		u.write(regIER, ier)
		u.ier = ier
	}
	return n
}

// Interrupt acknowledges the UART's interrupt: reading IIR clears a
// transmitter-empty interrupt (the kernel then sends more, which also
// would).
func (u *UART) Interrupt() { u.read(regIIR) }

// Receive returns a received byte if one is waiting.
func (u *UART) Receive() (c byte, ok bool) {
	if u.read(regLSR)&lsrDataReady == 0 {
		return 0, false
	}
	return u.read(regData), true
}
