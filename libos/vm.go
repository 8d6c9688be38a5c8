//go:build tamago

package libos

import (
	"errors"
	"unsafe"

	"github.com/exo-os/exo/caps"
	"github.com/exo-os/exo/kernel/abi"
	"github.com/exo-os/exo/libos/sys"
)

// User-level virtual memory: the primitives of Appel and Li (ASPLOS'91,
// "Virtual memory primitives for user programs") on the kernel's protect
// and page_bits calls (docs/ABI.md, "Virtual memory primitives").
//
// Protect and Unprotect change the rights of pages of this environment's
// RAM in place, showing the root page capability for the run that holds
// them (cached: a call that stays within the last run costs no capability
// search). PageBits reads the accessed and dirty bits.
//
// HandleProtFaults registers a user-level page-fault handler for a region.
// Calling Go from an exception is not safe in general (the exception can
// happen anywhere, in the runtime included), so the handler is assembly,
// vmEntry in vm_riscv64.s, with the policy Appel and Li's algorithms need:
// on a load or store page fault inside the region it unprotects the
// faulting page to the region's rights (one protect call from the handler,
// with the cached capability), records the address (ProtFaults), and
// resumes the faulting instruction, which then succeeds. A fault outside
// the region goes to the Go-panic handler if EnableFaultPanics ran before,
// otherwise to the kernel's report (the handler unregisters itself). A
// program sees its faults afterwards through ProtFaults; it does not run
// code at the fault.

var (
	// The handler's save area and its parameters (read by vmEntry).
	vmFrame             abi.ExceptionFrame
	vmLo, vmHi, vmProt  uintptr
	vmSkip              uintptr // 1: skip the faulting instruction instead (a measurement: the bare trap)
	vmCap               caps.Cap
	vmCapLo, vmCapHi    uint64
	vmFaults, vmLastErr uint64
	vmLog               [vmLogSize]uintptr
)

// vmLogSize is how many fault addresses ProtFaults remembers.
const vmLogSize = 16

// In vm_riscv64.s.
func vmEntry()
func vmEntryPC() uintptr

// pageCap returns the page capability Protect shows for the page at va.
func pageCap(va uintptr) (*caps.Cap, error) {
	ppn, ok := PhysPage(va)
	if !ok {
		return nil, errors.New("libos: protect: not an address of this environment's RAM")
	}
	if ppn < vmCapLo || ppn > vmCapHi || vmCapHi == 0 {
		c, ok := findCap(CapList(), caps.KindPage, ppn)
		if !ok {
			return nil, errors.New("libos: protect: no page capability for the memory")
		}
		_, lo, hi, _ := c.Effective()
		vmCap, vmCapLo, vmCapHi = c, lo, hi
	}
	return &vmCap, nil
}

// Protect sets the rights of the n pages from the page-aligned RAM address
// va to prot: abi.MapRead (read-only), abi.ProtNone (no access), or any
// other permissions sys.Map accepts.
func Protect(va uintptr, n int, prot uint64) error {
	var c *caps.Cap
	if prot != abi.ProtNone {
		var err error
		if c, err = pageCap(va); err != nil {
			return err
		}
	}
	return sys.Protect(uint64(va), n, prot, c)
}

// Unprotect makes the n pages from va readable and writable again.
func Unprotect(va uintptr, n int) error { return Protect(va, n, abi.MapRead|abi.MapWrite) }

// PageBits returns, in out, the abi.PageMapped, PageAccessed and PageDirty
// bits of len(out) pages from va, and clears those flags names
// (abi.PageClearAccessed, PageClearDirty) after reading them.
func PageBits(va uintptr, out []byte, flags uint64) error {
	_, err := sys.PageBits(uint64(va), out, flags)
	return err
}

// HandleProtFaults registers the user-level page-fault handler for the
// pages [lo, hi) (page-aligned RAM addresses, one run): a fault there makes
// the faulting page prot again (abi.MapRead|abi.MapWrite to unprotect)
// and the access goes on. It replaces any exception handler registered
// before (EnableFaultPanics's keeps working for faults outside the region).
func HandleProtFaults(lo, hi uintptr, prot uint64) error {
	if lo%abi.PageSize != 0 || hi%abi.PageSize != 0 || hi <= lo {
		return errors.New("libos: HandleProtFaults: the region must be whole pages")
	}
	if prot != abi.ProtNone {
		if _, err := pageCap(lo); err != nil {
			return err
		}
		if p, ok := PhysPage(hi - 1); !ok || p < vmCapLo || p > vmCapHi {
			return errors.New("libos: HandleProtFaults: the region is not in one run of RAM")
		}
	}
	vmLo, vmHi, vmProt, vmSkip = lo, hi, uintptr(prot), 0
	_, err := sys.ExcHandler(vmEntryPC(), uintptr(unsafe.Pointer(&vmFrame)))
	return err
}

// SkipProtFaults makes the handler skip a faulting load or store in the
// region instead of unprotecting its page (skip = true): the bare cost of
// a fault delivered and resumed, for measurement; the access does not
// happen.
func SkipProtFaults(skip bool) {
	vmSkip = 0
	if skip {
		vmSkip = 1
	}
}

// ProtFaults returns how many faults the handler has taken in its region,
// the addresses of the last ones (up to 16, oldest first), and the error of
// the last protect call it made that the kernel refused (0: none).
func ProtFaults() (n uint64, last []uintptr, err error) {
	n = vmFaults
	k := min(n, vmLogSize)
	for i := n - k; i < n; i++ {
		last = append(last, vmLog[i%vmLogSize])
	}
	if vmLastErr != 0 {
		err = sys.Errno(vmLastErr)
	}
	return n, last, err
}
