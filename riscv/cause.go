package riscv

import "strconv"

// Trap cause codes (priv, table 3.6). An interrupt has bit 63 of mcause set.
const (
	CauseMisalignedFetch = 0
	CauseFetchAccess     = 1
	CauseIllegalInsn     = 2
	CauseBreakpoint      = 3
	CauseMisalignedLoad  = 4
	CauseLoadAccess      = 5
	CauseMisalignedStore = 6
	CauseStoreAccess     = 7
	CauseEcallU          = 8
	CauseEcallS          = 9
	CauseEcallM          = 11
	CauseFetchPageFault  = 12
	CauseLoadPageFault   = 13
	CauseStorePageFault  = 15
	CauseInterrupt       = 1 << 63
	IntMachineSoftware   = CauseInterrupt | 3
	IntMachineTimer      = CauseInterrupt | 7
	IntMachineExternal   = CauseInterrupt | 11
)

var causeNames = map[uint64]string{
	CauseMisalignedFetch: "instruction address misaligned",
	CauseFetchAccess:     "instruction access fault",
	CauseIllegalInsn:     "illegal instruction",
	CauseBreakpoint:      "breakpoint",
	CauseMisalignedLoad:  "load address misaligned",
	CauseLoadAccess:      "load access fault",
	CauseMisalignedStore: "store address misaligned",
	CauseStoreAccess:     "store access fault",
	CauseEcallU:          "environment call from U-mode",
	CauseEcallS:          "environment call from S-mode",
	CauseEcallM:          "environment call from M-mode",
	CauseFetchPageFault:  "instruction page fault",
	CauseLoadPageFault:   "load page fault",
	CauseStorePageFault:  "store page fault",
	IntMachineSoftware:   "machine software interrupt",
	IntMachineTimer:      "machine timer interrupt",
	IntMachineExternal:   "machine external interrupt",
}

// CauseName returns the privileged specification's name for an mcause
// value, or a numeric description for a code it does not define.
func CauseName(cause uint64) string {
	if n, ok := causeNames[cause]; ok {
		return n
	}
	if cause&CauseInterrupt != 0 {
		return "interrupt " + strconv.FormatUint(cause&^CauseInterrupt, 10)
	}
	return "exception " + strconv.FormatUint(cause, 10)
}

// HasAddress reports whether mtval holds the faulting address for cause
// (priv §3.1.16: address-related exceptions), as opposed to an instruction
// encoding (illegal instruction) or nothing.
func HasAddress(cause uint64) bool {
	switch cause {
	case CauseMisalignedFetch, CauseFetchAccess, CauseBreakpoint,
		CauseMisalignedLoad, CauseLoadAccess, CauseMisalignedStore,
		CauseStoreAccess, CauseFetchPageFault, CauseLoadPageFault,
		CauseStorePageFault:
		return true
	}
	return false
}
