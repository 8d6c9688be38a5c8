package ash_test

import (
	"fmt"

	"github.com/exo-os/exo/ash"
)

// A filter accepting IPv4 frames, built, verified and run.
func ExampleBuilder() {
	b := ash.NewBuilder()
	b.LoadPacketPointers(ash.R6, ash.R7)
	b.LoadPacket(ash.R0, ash.SizeH, 12, "reject") // ethertype
	b.JumpIf(ash.JumpNE, ash.R0, 0x0800, "reject")
	b.Return(1)
	b.Label("reject")
	b.Return(0)
	prog, err := b.Program(ash.Config{Type: ash.TypeFilter})
	if err != nil {
		panic(err)
	}
	m := ash.NewMachine()
	frame := make([]byte, 60)
	frame[12], frame[13] = 0x08, 0x00
	ok, _ := m.Filter(prog, frame)
	fmt.Println(ok)
	frame[12] = 0x86
	ok, _ = m.Filter(prog, frame)
	fmt.Println(ok)
	// Output:
	// true
	// false
}

// The verifier names the instruction and the reason.
func ExampleVerify() {
	insns, err := ash.Assemble(`
		r2 = *(u64 *)(r1 + 0)
		r0 = *(u8 *)(r2 + 0)
		exit`)
	if err != nil {
		panic(err)
	}
	_, err = ash.Verify(insns, ash.Config{Type: ash.TypeFilter})
	fmt.Println(err)
	// Output:
	// ash: verify: instruction 1: out of bounds: 1-byte packet access at packet pointer +0+0 is not proven in bounds (checked: 0 bytes; compare the pointer with data_end first)
}
