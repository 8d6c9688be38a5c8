package mmio

// Direct is the Bus of real memory-mapped devices: each access is one load or
// store instruction of the named width, written in assembly so the compiler
// can neither merge nor hoist them out of a polling loop.
type Direct struct{}

func read8(addr uintptr) uint8
func write8(addr uintptr, v uint8)
func read16(addr uintptr) uint16
func write16(addr uintptr, v uint16)
func read32(addr uintptr) uint32
func write32(addr uintptr, v uint32)
func read64(addr uintptr) uint64
func write64(addr uintptr, v uint64)

// Read8 loads one byte from addr.
func (Direct) Read8(addr uintptr) uint8 { return read8(addr) }

// Write8 stores one byte to addr.
func (Direct) Write8(addr uintptr, v uint8) { write8(addr, v) }

// Read16 loads a 16-bit word from addr.
func (Direct) Read16(addr uintptr) uint16 { return read16(addr) }

// Write16 stores a 16-bit word to addr.
func (Direct) Write16(addr uintptr, v uint16) { write16(addr, v) }

// Read32 loads a 32-bit word from addr.
func (Direct) Read32(addr uintptr) uint32 { return read32(addr) }

// Write32 stores a 32-bit word to addr.
func (Direct) Write32(addr uintptr, v uint32) { write32(addr, v) }

// Read64 loads a 64-bit word from addr.
func (Direct) Read64(addr uintptr) uint64 { return read64(addr) }

// Write64 stores a 64-bit word to addr.
func (Direct) Write64(addr uintptr, v uint64) { write64(addr, v) }
