package riscv

// Machine status (mstatus) fields (priv §3.1.6).
const (
	MstatusMIE  = 1 << 3
	MstatusMPIE = 1 << 7
	MstatusMPP  = 3 << 11 // previous privilege: 0 = U
	MstatusFS   = 3 << 13 // floating-point state
	MstatusMPRV = 1 << 17
	FSOff       = 0 << 13
	FSInitial   = 1 << 13
	FSClean     = 2 << 13
	FSDirty     = 3 << 13
)

// Machine interrupt enable bits (mie, priv §3.1.9).
const (
	MieMSIE = 1 << 3
	MieMTIE = 1 << 7
	MieMEIE = 1 << 11
)

// Machine interrupt pending bits (mip, priv §3.1.9): the same positions.
const (
	MipMTIP = 1 << 7
	MipMEIP = 1 << 11
)

// Counter enable bits (mcounteren, scounteren, priv §3.1.11).
const (
	CounterCY = 1 << 0
	CounterTM = 1 << 1
	CounterIR = 1 << 2
)

// PMP configuration bits (priv §3.7.1).
const (
	PMPRead  = 1 << 0
	PMPWrite = 1 << 1
	PMPExec  = 1 << 2
	PMPTOR   = 1 << 3 // address matching: top of range
)

// SatpASID returns the address-space id field of a satp value (priv
// §4.1.11); 0 means the translations are untagged.
func SatpASID(satp uint64) uint64 { return satp >> 44 & 0xffff }
