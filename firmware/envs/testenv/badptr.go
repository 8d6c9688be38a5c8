//go:build tamago

package main

import (
	"fmt"
	"unsafe"

	"github.com/exo-os/exo/kernel/abi"
	"github.com/exo-os/exo/libos"
	"github.com/exo-os/exo/libos/sys"
)

// badptr hands the kernel buffers it must refuse, and checks that each call
// returns the documented error, writes nothing and does not kill the
// caller.
func badptr() int {
	s := libos.Startup()
	ramEnd := s.RAMStart + s.RAMSize
	var buf [16]byte
	ok := uint64(uintptr(unsafe.Pointer(&buf[0])))
	cases := []struct {
		what   string
		n      uint64
		a0, a1 uint64
		want   uint64
	}{
		{"write from the kernel's memory", abi.SysWrite, 0x80000000, 16, abi.ErrFault},
		{"write from page 0", abi.SysWrite, 0, 1, abi.ErrFault},
		{"write from an unmapped page", abi.SysWrite, 0x4000, 8, abi.ErrFault},
		{"write running off the end of RAM", abi.SysWrite, ramEnd - 4, 8, abi.ErrFault},
		{"write wrapping the address space", abi.SysWrite, ^uint64(0) - 4, 16, abi.ErrFault},
		{"write of more than MaxWrite", abi.SysWrite, ok, abi.MaxWrite + 1, abi.ErrTooBig},
		{"random into the kernel's memory", abi.SysRandom, 0x80000000, 16, abi.ErrFault},
		{"random into read-only text", abi.SysRandom, abi.TextStart, 16, abi.ErrFault},
		{"random into the start-up block", abi.SysRandom, abi.StartupVA, 16, abi.ErrFault},
		{"random into the slot vector", abi.SysRandom, abi.SlotsVA, 16, abi.ErrFault},
		{"random into the capability list", abi.SysRandom, abi.CapsVA, 16, abi.ErrFault},
		{"random of more than MaxRandom", abi.SysRandom, ok, abi.MaxRandom + 1, abi.ErrTooBig},
		{"an unknown system call", 0x3ff, 0, 0, abi.ErrNoSys},
	}
	bad := 0
	for _, c := range cases {
		_, e := sys.Syscall(c.n, c.a0, c.a1, 0, 0, 0, 0)
		if e != c.want {
			fmt.Printf("badptr: %s: got %s, want %s\n", c.what, abi.ErrorName(e), abi.ErrorName(c.want))
			bad++
		}
	}
	if bad > 0 {
		return 1
	}
	fmt.Printf("badptr: all %d bad calls refused with the right error\n", len(cases))
	return 0
}
