//go:build tamago

package libos

import (
	"runtime"
	"runtime/debug"
	"unsafe"

	"github.com/exo-os/exo/kernel/abi"
	"github.com/exo-os/exo/libos/sys"
)

// Go runtime faults as Go panics.
//
// The kernel reflects an environment's exceptions to a handler it
// registers (docs/ABI.md, "Exceptions"). EnableFaultPanics registers
// excEntry (fault_riscv64.s), which does for Exo what the Linux port's
// signal handler does: it rewrites the delivered frame so that resuming it
// enters runtime.sigpanic as if the faulting instruction had called it
// (ra pushed below sp, ra = the faulting pc, pc = sigpanic), and resumes.
// No Go code runs in the handler itself: it can be entered anywhere, in
// the runtime included, so it only touches the frame. sigpanic then runs on
// the faulting goroutine, outside the handler, and panics the way Linux
// Go does: a fault below 0x1000 is the runtime error "invalid memory
// address or nil pointer dereference"; another address panics with an
// error that has Addr() (runtime/debug.SetPanicOnFault) if the goroutine
// asked for that, and otherwise ends the environment. The panic goes
// through the runtime's own checks (a fault on the system stack, with
// locks held or in malloc is a fatal error, not a panic).
//
// TamaGo's runtime defines no sigpanic; libos provides runtime.sigpanic by
// name, so the runtime's unwinder treats the fake call as the injected call
// it is (funcID sigpanic). What differs from Linux: the panic value is
// libos's own runtime.Error (same message, same Addr), and illegal
// instructions and breakpoints end the environment with the kernel's
// report rather than a Go traceback.

var (
	// excFrame is the save area; excSaved the frame as delivered.
	excFrame, excSaved abi.ExceptionFrame
	// What excEntry passes sigpanic.
	faultAddr, faultCause, faultPC uintptr
	// What excEntry needs to know: where sigpanic is, and Go's text.
	sigpanicPC, textStart, textEnd uintptr
)

// In fault_riscv64.s.
func excEntry()
func excCrash()
func excEntryPC() uintptr

// EnableFaultPanics registers the handler that turns this environment's
// memory faults into Go panics. Until it is called (and after a fault that
// is not turned into a panic), a fault ends the environment with the
// kernel's report.
func EnableFaultPanics() error {
	f := sigpanic
	sigpanicPC = **(**uintptr)(unsafe.Pointer(&f))
	s, e := runtime.TextRegion()
	textStart, textEnd = uintptr(s), uintptr(e)
	_, err := sys.ExcHandler(excEntryPC(), uintptr(unsafe.Pointer(&excFrame)))
	return err
}

// DisableFaultPanics unregisters the handler.
func DisableFaultPanics() error {
	_, err := sys.ExcHandler(0, 0)
	return err
}

const nilMsg = "invalid memory address or nil pointer dereference"

// memoryError is the panic value of a nil dereference.
type memoryError struct{}

func (memoryError) RuntimeError() {}
func (memoryError) Error() string { return "runtime error: " + nilMsg }

// addrError is the panic value of a fault at addr under
// debug.SetPanicOnFault.
type addrError struct{ addr uintptr }

func (addrError) RuntimeError()   {}
func (addrError) Error() string   { return "runtime error: " + nilMsg }
func (e addrError) Addr() uintptr { return e.addr }

// sigpanic is entered by excEntry's fake call from the faulting pc.
//
//go:linkname sigpanic runtime.sigpanic
func sigpanic() {
	addr := faultAddr
	if addr < 0x1000 {
		panic(memoryError{})
	}
	if panicOnFault() {
		panic(addrError{addr})
	}
	print("unexpected fault address ", hex(addr).String(), "\nfatal error: fault\n")
	console.Flush()
	excCrash()
}

// panicOnFault reports the goroutine's debug.SetPanicOnFault setting.
func panicOnFault() bool {
	old := debug.SetPanicOnFault(false)
	debug.SetPanicOnFault(old)
	return old
}

// hex formats v as the runtime's print does, without allocating.
type hex uintptr

func (h hex) String() string {
	var b [18]byte
	i := len(b)
	for v := uint64(h); ; v >>= 4 {
		i--
		b[i] = "0123456789abcdef"[v&15]
		if v < 16 {
			break
		}
	}
	i--
	b[i] = 'x'
	i--
	b[i] = '0'
	return string(b[i:])
}
