//go:build tamago

// Package libos is Exo's library operating system: what a Go program
// imports to run as an environment. It provides the TamaGo runtime hooks
// for User mode — memory, console, clock, random bytes, idling and exit, all
// through the kernel's system calls or the time CSR — so that an ordinary Go
// program (goroutines, channels, maps, fmt, time.Sleep, the garbage
// collector) runs unmodified apart from
//
//	import _ "github.com/exo-os/exo/libos"
//
// and the TamaGo build flags in the Makefile (GOOS=tamago GOARCH=riscv64,
// linked at abi.TextStart).
package libos

import (
	"math"
	"runtime/goos"
	"unsafe"

	"github.com/exo-os/exo/kernel/abi"
	"github.com/exo-os/exo/libos/sys"
)

// The Go runtime's memory is the environment's RAM: [RamStart, +RamSize),
// with the image at the bottom, the heap after it and the initial stack at
// the top. RamSize is the linked default; cpuinit replaces it with the size
// in the start-up block before the runtime reads it.

//go:linkname ramStart runtime/goos.RamStart
var ramStart uint = abi.RAMStart

//go:linkname ramSize runtime/goos.RamSize
var ramSize uint = 16 << 20

//go:linkname ramStackOffset runtime/goos.RamStackOffset
var ramStackOffset uint = 0x100

// firstTicks is the time counter at the environment's first instruction,
// recorded by cpuinit.
var firstTicks uint64

var console = lineBuffer{flush: func(p []byte) { sys.Write(p) }}

// Startup returns the start-up block the kernel mapped for this environment.
func Startup() *abi.Startup { return (*abi.Startup)(unsafe.Add(nil, abi.StartupVA)) }

// Slots returns the scheduler's slot vector (read-only).
func Slots() *abi.Slots { return (*abi.Slots)(unsafe.Add(nil, abi.SlotsVA)) }

// EnvID returns this environment's id.
func EnvID() uint32 { return Startup().EnvID }

// Arg returns the argument string the boot manifest gave this environment.
func Arg() string {
	s := Startup()
	return string(s.Arg[:s.ArgLen])
}

// FirstTicks returns the time counter at this environment's first
// instruction; the counter starts at zero at machine reset.
func FirstTicks() uint64 { return firstTicks }

// Flush sends buffered console output to the kernel.
func Flush() { console.Flush() }

// hwinit0 runs before the Go runtime initializes. The exit hook goes in
// here, not in hwinit1: an environment whose runtime fails during its own
// start-up (out of memory, say) must still reach the kernel's exit call, or
// TamaGo's runtime spins forever in its place.
//
//go:linkname hwinit0 runtime/goos.Hwinit0
func hwinit0() {
	goos.Exit = exit
}

//go:linkname printk runtime/goos.Printk
func printk(c byte) { console.put(c) }

//go:linkname nanotime runtime/goos.Nanotime
func nanotime() int64 { return ticksToNs(sys.Time(), Startup().TimebaseHz) }

//go:linkname initRNG runtime/goos.InitRNG
func initRNG() {}

//go:linkname getRandomData runtime/goos.GetRandomData
func getRandomData(b []byte) {
	if err := sys.Random(b); err != nil {
		panic(err)
	}
}

//go:linkname hwinit1 runtime/goos.Hwinit1
func hwinit1() {
	goos.Idle = idle
}

func exit(code int32) {
	console.Flush()
	sys.Exit(uint32(code))
}

// idle is called by the Go scheduler when no goroutine can run, with the
// time its next timer fires. The environment sleeps in the kernel until
// then, giving up its slot; with a receive ring open (OpenRing), until a
// frame arrives too.
func idle(until int64) {
	console.Flush()
	deadline := uint64(math.MaxUint64)
	if until != math.MaxInt64 {
		deadline = nsToTicks(until, Startup().TimebaseHz)
	}
	if ring != nil {
		if deadline == math.MaxUint64 {
			deadline = 0 // no deadline
		}
		// A frame in the ring, or a handler's RetWake (a datagram
		// vectored into a message buffer, the ring still empty), or the
		// deadline: the receive loop looks at all of them.
		sys.NetWait(deadline)
		WakeFrameWaiter()
		return
	}
	sys.SleepUntil(deadline)
}
