// Package harts is the Machine-mode entry of boards whose boot loader
// starts every hart at the same address (the VisionFive 2's U-Boot SPL, and
// QEMU's sifive_u, which the tests use to exercise it).
//
// Its assembly (entry_riscv64.s) is the first code every hart runs. It
// replaces TamaGo's riscv64 cpuinit (so the firmware is built with the
// linkcpuinit tag) and uses integer instructions only, because some harts
// have no floating-point unit (the JH7110's S7 and sifive_u's E51, hart 0 on
// both):
//
//   - Hart 0, and any hart whose misa says it has no D extension, parks.
//   - The other harts draw lots (one atomic swap): the first to arrive runs
//     the kernel, the rest park.
//   - The winner records its hart id, copies the device tree the boot loader
//     passed in a1 into a buffer inside the kernel image (the loader puts it
//     just past the image, where the Go heap will grow), and starts the Go
//     runtime as TamaGo's cpuinit does.
//
// A parked hart waits in wfi with only the machine software interrupt
// enabled and interrupts masked, its mtvec pointing back at the loop. Each
// hart has a mailbox: Release writes an entry address there and raises the
// hart's software interrupt through the CLINT; the hart clears the
// interrupt, finds the address, and jumps to it with a0 = its hart id. That
// is the hook SMP will use; today the kernel runs on one hart and only the
// tests release a hart.
//
// The state this code keeps lives in initialised data, not in .bss, so that
// it is correct even before anything has zeroed memory.
package harts

// MaxHarts is the number of harts the entry keeps a slot for. Harts with a
// higher id park without a mailbox.
const MaxHarts = 8

// State is what a hart is doing, as the entry code records it.
type State uint64

// Hart states. The values are odd-looking on purpose: none is zero, so a
// state read from memory that was never written by the entry code cannot
// pass for one.
const (
	// Absent: the hart never reached the entry.
	Absent State = 0xa1
	// Parked: the hart waits in the park loop.
	Parked State = 0xb2
	// Kernel: the hart won the draw and runs the Go runtime.
	Kernel State = 0xc3
	// Released: the hart left the park loop for a Release address.
	Released State = 0xd4
)

// String names the state.
func (s State) String() string {
	switch s {
	case Absent:
		return "absent"
	case Parked:
		return "parked"
	case Kernel:
		return "kernel"
	case Released:
		return "released"
	}
	return "unknown"
}

// stay is the mailbox value that keeps a hart parked: an odd number, which
// no instruction address can be.
const stay = 1

// DefaultCLINT is where the SiFive-style core-local interruptor sits on
// every board that uses this entry (JH7110, sifive_u, and QEMU virt): the
// park loop clears its own machine software interrupt there.
const DefaultCLINT = 0x2000000

// MaxDeviceTree is the size of the buffer the device tree is copied into.
// U-Boot SPL passes its own (small) control tree; a larger one is refused
// rather than truncated.
const MaxDeviceTree = 64 << 10

// DeviceTreeError says why the entry did not keep a device tree.
type DeviceTreeError struct {
	// Addr is the a1 value the boot loader passed.
	Addr uint64
	// Size is the total size the tree's header declared, if it had one.
	Size uint64
	// Reason is the entry code's verdict.
	Reason string
}

// Error implements error.
func (e *DeviceTreeError) Error() string {
	return "harts: device tree at a1=" + hex(e.Addr) + ": " + e.Reason
}

// Device tree verdicts the entry code records (dtbStatus).
const (
	dtbNone      = 0xe0 // a1 was zero
	dtbMisalign  = 0xe1 // a1 not 8-byte aligned
	dtbBadMagic  = 0xe2 // no 0xd00dfeed at a1
	dtbTooSmall  = 0xe3 // totalsize below a header's size
	dtbTooLarge  = 0xe4 // totalsize above MaxDeviceTree
	dtbCopied    = 0xe5 // copied into the buffer
	dtbNotRunYet = 0xef // initial value: the entry code did not run
)

func dtbReason(status uint64) string {
	switch status {
	case dtbNone:
		return "the boot loader passed none (a1 = 0)"
	case dtbMisalign:
		return "not 8-byte aligned"
	case dtbBadMagic:
		return "no device tree magic"
	case dtbTooSmall:
		return "total size smaller than a header"
	case dtbTooLarge:
		return "total size larger than the " + hex(MaxDeviceTree) + "-byte buffer"
	case dtbNotRunYet:
		return "the entry code did not run"
	}
	return "unknown status " + hex(status)
}

func hex(v uint64) string {
	const digits = "0123456789abcdef"
	if v == 0 {
		return "0x0"
	}
	var b [18]byte
	i := len(b)
	for v != 0 {
		i--
		b[i] = digits[v&15]
		v >>= 4
	}
	i -= 2
	b[i], b[i+1] = '0', 'x'
	return string(b[i:])
}
