package sys

import (
	"unsafe"

	"github.com/exo-os/exo/caps"
	"github.com/exo-os/exo/kernel/abi"
)

// Protect sets the permissions of n pages from the page-aligned va to perm
// (abi.MapRead, MapWrite, MapExec, or abi.ProtNone) in place, on showing c:
// one page capability covering every page they map, with the rights perm
// needs (none for ProtNone; c may then be nil). All or nothing.
func Protect(va uint64, n int, perm uint64, c *caps.Cap) error {
	return bindErr(Syscall(abi.SysProtect, va, uint64(n), perm, ptr(c), 0, 0))
}

// PageBits writes the abi.PageMapped, PageAccessed and PageDirty bits of
// len(out) pages from va into out, after which it clears the bits flags
// names (abi.PageClearAccessed, PageClearDirty), and returns how many of
// the pages are mapped.
func PageBits(va uint64, out []byte, flags uint64) (int, error) {
	var p uint64
	if len(out) > 0 {
		p = uint64(uintptr(unsafe.Pointer(&out[0])))
	}
	v, e := Syscall(abi.SysPageBits, va, uint64(len(out)), p, flags, 0, 0)
	return int(v), errno(e)
}
