package ipc

import (
	"sync/atomic"
	"unsafe"
)

func unsafePointer[T any](p *T) unsafe.Pointer { return unsafe.Pointer(p) }

func atomicLoad(p *uint64) uint64 { return atomic.LoadUint64(p) }
