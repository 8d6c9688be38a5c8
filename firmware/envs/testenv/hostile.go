//go:build tamago

package main

import (
	"fmt"
	"unsafe"

	"github.com/exo-os/exo/kernel/abi"
	"github.com/exo-os/exo/libos/sys"
)

// Privileged and illegal instructions, in hostile_riscv64.s.
func readMstatus() uint64
func doMret()
func jump(pc uint64)
func undefined()

//go:noinline
func store(addr uintptr, v uint64) {
	*(*uint64)(unsafe.Add(nil, addr)) = v
}

// hostile does one thing an environment must not be able to do. Each one
// must end in the kernel killing this environment, with nothing else
// affected.
func hostile(kind string) {
	fmt.Printf("hostile: %s\n", kind)
	switch kind {
	case "write-kernel":
		store(0x80000000, 0xbad) // the kernel's own image
	case "write-other":
		// Where other environments' frames are in physical memory. An
		// environment has no mapping for them, whatever address it uses.
		for a := uintptr(0x84200000); a < 0x84200000+64<<20; a += 1 << 20 {
			store(a, 0xbad)
		}
	case "write-text":
		store(uintptr(abi.TextStart), 0xbad)
	case "write-startup":
		store(abi.StartupVA, 0xbad)
	case "illegal":
		undefined()
	case "mret":
		doMret()
	case "csr":
		readMstatus()
	case "jump-unmapped":
		jump(0xdead0000)
	}
	sys.Null()
}
