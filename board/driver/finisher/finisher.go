// Package finisher drives QEMU's "sifive_test" device, through which a guest
// ends the emulator with an exit status (QEMU hw/misc/sifive_test.c).
package finisher

import "github.com/exo-os/exo/board/mmio"

// Commands, written as one 32-bit store. A fail command carries the exit
// status in its upper 16 bits.
const (
	cmdFail  = 0x3333
	cmdPass  = 0x5555
	cmdReset = 0x7777
)

// Finisher is one sifive_test device.
type Finisher struct {
	Bus  mmio.Bus
	Base uintptr
}

// Encode returns the word that makes QEMU exit with status code. QEMU's own
// exit status is 8 bits wide, so codes above 255 are clamped to 255 rather
// than wrapped (a status of 256 must not read as success).
func Encode(code uint32) uint32 {
	if code == 0 {
		return cmdPass
	}
	if code > 255 {
		code = 255
	}
	return code<<16 | cmdFail
}

// Exit ends the emulator with status code. It returns only if the device
// ignored the command (as real hardware without one would).
func (f *Finisher) Exit(code uint32) { f.Bus.Write32(f.Base, Encode(code)) }

// Reset restarts the machine.
func (f *Finisher) Reset() { f.Bus.Write32(f.Base, cmdReset) }
