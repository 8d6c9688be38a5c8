//go:build tamago

package main

import (
	"fmt"
	"os"
	"strings"
	"unsafe"

	"github.com/exo-os/exo/kernel/abi"
	"github.com/exo-os/exo/libos"
	"github.com/exo-os/exo/libos/sys"
)

// User-level virtual memory (tools/qemu/vm_test.go), as the role "vm KIND":
//
//	vm test    protect, fault, the libos handler unprotects, resume; no
//	           access likewise; the dirty bit read before and after a write
//	vm bench   the ExOS virtual memory table (Engler et al., SOSP'95):
//	           dirty, prot1, prot100, unprot100, trap, appel1, appel2
//
// The role is chosen here, before main, so that main.go stays as it was.
func init() {
	f := strings.Fields(libos.Arg())
	if len(f) < 2 || f[0] != "vm" {
		return
	}
	os.Exit(vmRole(f[1]))
}

// vmArea holds vmPages whole pages (and one to align them) of the
// environment's bss: its own RAM, with its root page capability.
var vmArea [(vmPages + 1) * abi.PageSize]byte

const vmPages = 100

// vmBase returns the first whole page of vmArea.
func vmBase() uintptr {
	p := uintptr(unsafe.Pointer(&vmArea[0]))
	return (p + abi.PageSize - 1) &^ (abi.PageSize - 1)
}

//go:noinline
func store64(p uintptr, v uint64) { *(*uint64)(unsafe.Add(nil, p)) = v }

//go:noinline
func load64(p uintptr) uint64 { return *(*uint64)(unsafe.Add(nil, p)) }

func vmRole(kind string) int {
	fmt.Printf("vm: %s\n", kind)
	base := vmBase()
	// Touch every page first: the runtime's bss is mapped, but this makes
	// the figures free of first-use effects.
	for i := 0; i < vmPages; i++ {
		store64(base+uintptr(i)*abi.PageSize, uint64(i))
	}
	if err := libos.HandleProtFaults(base, base+vmPages*abi.PageSize, abi.MapRead|abi.MapWrite); err != nil {
		fmt.Println("vm: handler:", err)
		return 1
	}
	switch kind {
	case "test":
		return vmTest(base)
	case "bench":
		return vmBench(base)
	}
	fmt.Printf("vm: unknown kind %q\n", kind)
	return 2
}

func vmTest(base uintptr) int {
	var bits [2]byte
	read := func() byte {
		if err := libos.PageBits(base, bits[:], 0); err != nil {
			fmt.Println("vm: page bits:", err)
			os.Exit(1)
		}
		return bits[0]
	}
	// Dirty: cleared, read, written, read.
	if err := libos.PageBits(base, bits[:], abi.PageClearAccessed|abi.PageClearDirty); err != nil {
		fmt.Println("vm: clear:", err)
		return 1
	}
	b0 := read()
	v := load64(base)
	b1 := read()
	store64(base, v+1)
	b2 := read()
	fmt.Printf("vm: test: bits after clear %#x, after a load %#x, after a store %#x\n", b0, b1, b2)

	// Protect read-only, write: the handler unprotects, the store happens.
	p := base + 3*abi.PageSize
	if err := libos.Protect(p, 1, abi.MapRead); err != nil {
		fmt.Println("vm: protect:", err)
		return 1
	}
	store64(p+8, 0x5eed)
	n1, last1, err1 := libos.ProtFaults()
	// No access: a load faults, the handler unprotects, the load happens.
	if err := libos.Protect(p, 1, abi.ProtNone); err != nil {
		fmt.Println("vm: protect none:", err)
		return 1
	}
	got := load64(p + 8)
	n2, last2, err2 := libos.ProtFaults()
	fmt.Printf("vm: test: store to a read-only page: %d faults (at %#x, err %v); load of a no-access page read %#x: %d faults (at %#x, err %v)\n",
		n1, last(last1)-p, err1, got, n2, last(last2)-p, err2)
	// 100 pages protected, each written once: 100 faults more.
	if err := libos.Protect(base, vmPages, abi.MapRead); err != nil {
		fmt.Println("vm: protect 100:", err)
		return 1
	}
	for i := vmPages - 1; i >= 0; i-- {
		store64(base+uintptr(i)*abi.PageSize+16, uint64(i))
	}
	n3, _, err3 := libos.ProtFaults()
	sum := uint64(0)
	for i := 0; i < vmPages; i++ {
		sum += load64(base + uintptr(i)*abi.PageSize + 16)
	}
	fmt.Printf("vm: test: 100 pages protected and written: %d faults more, sum %d, err %v\n", n3-n2, sum, err3)
	ok := b0&(abi.PageAccessed|abi.PageDirty) == 0 && b1&abi.PageAccessed != 0 && b1&abi.PageDirty == 0 &&
		b2&abi.PageDirty != 0 && n1 == 1 && n2 == 2 && got == 0x5eed && n3-n2 == vmPages && sum == vmPages*(vmPages-1)/2 &&
		err1 == nil && err2 == nil && err3 == nil
	if !ok {
		fmt.Println("vm: test: FAILED")
		return 1
	}
	fmt.Println("vm: test: ok")
	return 0
}

func last(a []uintptr) uintptr {
	if len(a) == 0 {
		return 0
	}
	return a[len(a)-1]
}

func vmBench(base uintptr) int {
	must0 := func(err error) {
		if err != nil {
			panic(err)
		}
	}
	var bits [1]byte
	call := measure(sys.Nop)
	dirty := measure(func() { must0(libos.PageBits(base, bits[:], 0)) })
	prot1 := measure(func() { must0(libos.Protect(base, 1, abi.MapRead)) })
	unprot1 := measure(func() { must0(libos.Unprotect(base, 1)) })
	const n100 = 2_000
	prot100 := measureN(func() { must0(libos.Protect(base, vmPages, abi.MapRead)) }, n100)
	unprot100 := measureN(func() { must0(libos.Unprotect(base, vmPages)) }, n100)
	// trap: a store to a read-only page, delivered to the handler, which
	// steps over it and resumes.
	p := base + 5*abi.PageSize
	must0(libos.Protect(p, 1, abi.MapRead))
	libos.SkipProtFaults(true)
	trap := measure(func() { store64(p, 1) })
	libos.SkipProtFaults(false)
	must0(libos.Unprotect(p, 1))
	// appel1: protect a page, then write it: the fault, the handler's
	// unprotect, the write resumed (Appel and Li's prot1+trap+unprot:
	// their handler protects another page and unprotects the faulting
	// one).
	appel1 := measure(func() {
		must0(libos.Protect(p, 1, abi.MapRead))
		store64(p, 2)
	})
	// appel2: protect 100 pages, write each (in a scattered order): a
	// fault and an unprotect each; per page.
	var order [vmPages]uintptr
	for i := range order {
		order[i] = base + uintptr(i*37%vmPages)*abi.PageSize
	}
	appel2 := measureN(func() {
		must0(libos.Protect(base, vmPages, abi.MapRead))
		for _, q := range order {
			store64(q, 3)
		}
	}, 200) / vmPages
	n, _, err := libos.ProtFaults()
	if err != nil {
		fmt.Println("vm: bench: the handler's protect failed:", err)
		return 1
	}
	fmt.Printf("bench: vm: procedure call  %s\n", ns(call))
	for _, r := range []struct {
		name string
		t    uint64
	}{
		{"dirty     ", dirty}, {"prot1     ", prot1}, {"unprot1   ", unprot1},
		{"prot100   ", prot100}, {"unprot100 ", unprot100}, {"trap      ", trap},
		{"appel1    ", appel1}, {"appel2    ", appel2},
	} {
		fmt.Printf("bench: vm: %s %s  %s the call\n", r.name, ns(r.t), ratio(r.t, call))
	}
	fmt.Printf("bench: vm: (%d faults handled)\n", n)
	return 0
}
