// Package mmio is how Exo's drivers reach device registers.
//
// A driver holds a Bus and a base address as data instead of touching memory
// directly, so that the same driver serves every board (QEMU virt's 16550 has
// byte-spaced registers, the VisionFive 2's DesignWare UART has them four bytes
// apart) and so that host tests can hand it a register model (package
// mmiotest) in place of hardware.
package mmio

// Bus performs device register accesses of a fixed width. Implementations
// must not merge, reorder or elide accesses: every call is exactly one access
// of the named width.
type Bus interface {
	Read8(addr uintptr) uint8
	Write8(addr uintptr, v uint8)
	Read16(addr uintptr) uint16
	Write16(addr uintptr, v uint16)
	Read32(addr uintptr) uint32
	Write32(addr uintptr, v uint32)
	Read64(addr uintptr) uint64
	Write64(addr uintptr, v uint64)
}
