package kernel

import (
	"unsafe"

	"github.com/exo-os/exo/kernel/mem"
	"github.com/exo-os/exo/kernel/vm"
)

// Reaching environment memory from the kernel. The kernel runs without
// translation, so it translates user addresses through the environment's
// own page table, and checks every byte of a buffer before it touches any:
// a bad pointer makes a call fail with nothing done, never a kernel fault.
// A zero-length buffer is never looked at; the calls return at once.

// userRange reports whether every byte of [va, va+n) is mapped in as as a
// user page with at least perm.
func userRange(as *vm.AddressSpace, va, n uint64, perm vm.Perm) bool {
	if va+n < va || va+n > vm.UserTop {
		return false
	}
	for p := va &^ (mem.PageSize - 1); p < va+n; p += mem.PageSize {
		_, got, ok := as.Lookup(p)
		if !ok || got&(perm|vm.U) != perm|vm.U {
			return false
		}
	}
	return true
}

// copyIn copies len(dst) bytes at user address va into dst, if every byte
// is in a User-readable page of e; it copies nothing otherwise.
func (k *Kernel) copyIn(e *Env, dst []byte, va uint64) bool {
	n := uint64(len(dst))
	if !userRange(e.as, va, n, vm.R) {
		return false
	}
	for done := uint64(0); done < n; {
		pa, _, _ := e.as.Lookup(va + done)
		off := pa % mem.PageSize
		done += uint64(copy(dst[done:], k.phys.Page(pa - off)[off:]))
	}
	return true
}

// copyOut copies src to user address va, if every byte is in a
// User-writable page of e; it copies nothing otherwise.
func (k *Kernel) copyOut(e *Env, va uint64, src []byte) bool {
	n := uint64(len(src))
	if !userRange(e.as, va, n, vm.R|vm.W) {
		return false
	}
	for done := uint64(0); done < n; {
		pa, _, _ := e.as.Lookup(va + done)
		off := pa % mem.PageSize
		done += uint64(copy(k.phys.Page(pa - off)[off:], src[done:]))
	}
	return true
}

// bytesOf views a fixed-size ABI structure as bytes, for copyIn.
func bytesOf[T any](p *T) []byte {
	return unsafe.Slice((*byte)(unsafe.Pointer(p)), unsafe.Sizeof(*p))
}

// pageAs views the frame at pa as a T (an ABI page layout).
func pageAs[T any](p mem.Phys, pa uint64) *T {
	return (*T)(unsafe.Pointer(p.Page(pa)))
}
