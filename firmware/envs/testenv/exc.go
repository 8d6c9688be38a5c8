//go:build tamago

package main

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"unsafe"

	"github.com/exo-os/exo/caps"
	"github.com/exo-os/exo/libos"
	"github.com/exo-os/exo/libos/sys"
)

// Exceptions reflected to the environment (tools/qemu/exceptions_test.go),
// as the role "exc KIND":
//
//	exc map      catch its own page fault in an assembly handler, map the
//	             page with its own capability, resume the load
//	exc nested   a handler that faults itself: the kernel ends the env
//	exc gopanic  Go programs' faults as Go panics: recover from nil
//	             dereferences, a call through a nil func, a wild load under
//	             debug.SetPanicOnFault
//	exc gowild   a wild load without SetPanicOnFault: the Go message, then
//	             the kernel's report
//	exc bench    exception dispatch against the null system call
//
// The role is chosen here, before main, so that main.go stays as it was.
func init() {
	f := strings.Fields(libos.Arg())
	if len(f) < 2 || f[0] != "exc" {
		return
	}
	os.Exit(excRole(f[1]))
}

// In exc_riscv64.s.
func mapEntry()
func badEntry()
func mapEntryPC() uintptr
func badEntryPC() uintptr
func loadAt(addr uintptr) uint64
func misalignedAMO(addr uintptr)

var (
	// The save area of testenv's handler, and what mapEntry maps.
	excSave abi64Frame
	mapPPN  uint64
	mapCap  caps.Cap
	mapErr  uint64
	// excCount counts entries into mapEntry.
	excCount uint64
	// target holds a whole page whose frame mapEntry maps.
	target [1024]uint64
)

// abi64Frame is the save area: abi.ExceptionFrameSize bytes, 8-aligned.
type abi64Frame [40]uint64

const excVA = 0x50000000

func excRole(kind string) int {
	fmt.Printf("exc: %s\n", kind)
	switch kind {
	case "map":
		return excMap()
	case "nested":
		if _, err := sys.ExcHandler(badEntryPC(), uintptr(unsafe.Pointer(&excSave))); err != nil {
			fmt.Println("exc: register:", err)
			return 1
		}
		loadAt(0xbad0000)
		fmt.Println("exc: nested: survived")
		return 3
	case "gopanic":
		return excGoPanic()
	case "gowild":
		if err := libos.EnableFaultPanics(); err != nil {
			fmt.Println("exc: enable:", err)
			return 1
		}
		wildLoad(0xdead0000)
		fmt.Println("exc: gowild: survived")
		return 3
	case "bench":
		return excBench()
	}
	fmt.Printf("exc: unknown kind %q\n", kind)
	return 2
}

func excMap() int {
	p := uintptr(unsafe.Pointer(&target[512]))
	target[512] = 0x5eed_f00d
	ppn, ok := libos.PhysPage(p)
	c, ok2 := libos.RootPageCap(p)
	if !ok || !ok2 {
		fmt.Println("exc: map: no page or capability for the target")
		return 1
	}
	mapPPN, mapCap = ppn, c
	// Refusals first: each changes nothing.
	if bad, err := sys.ExcHandler(0xdead0000, uintptr(unsafe.Pointer(&excSave))); !errors.Is(err, sys.ErrFault) || bad != 0xdead0000 {
		fmt.Println("exc: map: an unmapped entry was not refused:", err)
		return 1
	}
	if _, err := sys.ExcHandler(mapEntryPC(), 0x1000); !errors.Is(err, sys.ErrFault) {
		fmt.Println("exc: map: a read-only save area was not refused:", err)
		return 1
	}
	if _, err := sys.ExcHandler(mapEntryPC(), uintptr(unsafe.Pointer(&excSave))); err != nil {
		fmt.Println("exc: register:", err)
		return 1
	}
	va := uintptr(excVA) + p%4096
	got := loadAt(va)
	fmt.Printf("exc: map: caught the page fault at %#x, mapped page %#x, read %#x (%d exceptions)\n", va, ppn, got, excCount)
	// An illegal instruction and a misaligned AMO, skipped by the handler.
	undefined()
	var w [2]uint64
	misalignedAMO(uintptr(unsafe.Pointer(&w)) + 2)
	fmt.Printf("exc: map: skipped an illegal instruction and a misaligned AMO (%d exceptions)\n", excCount)
	if got != 0x5eed_f00d || excCount != 3 {
		return 1
	}
	return 0
}

//go:noinline
func wildLoad(addr uintptr) uint64 { return *(*uint64)(unsafe.Add(nil, addr)) }

type node struct {
	pad  [64]byte
	next *node
}

//go:noinline
func nilField(n *node) *node { return n.next }

// recovered runs f and returns what it panicked with.
func recovered(f func()) (r any) {
	defer func() { r = recover() }()
	f()
	return nil
}

func excGoPanic() int {
	if err := libos.EnableFaultPanics(); err != nil {
		fmt.Println("exc: enable:", err)
		return 1
	}
	fails := 0
	check := func(what string, r any, wantAddr uintptr) {
		re, ok := r.(runtime.Error)
		msg := fmt.Sprint(r)
		a, hasAddr := r.(interface{ Addr() uintptr })
		good := ok && msg == "runtime error: invalid memory address or nil pointer dereference"
		if wantAddr != 0 {
			good = good && hasAddr && a.Addr() == wantAddr
		}
		if !good {
			fails++
			fmt.Printf("exc: gopanic: %s: got %v (%T, runtime.Error %v)\n", what, r, r, ok)
			return
		}
		_ = re
	}
	// Many in a row, with garbage and goroutines about: the stack the
	// runtime unwinds must be sound every time.
	const rounds = 200
	done := make(chan int)
	go func() {
		n := 0
		for i := 0; i < rounds; i++ {
			check("nil in a goroutine", recovered(func() { nilField(nil) }), 0)
			n++
			runtime.Gosched()
		}
		done <- n
	}()
	var keep [][]byte
	for i := 0; i < rounds; i++ {
		check("nil field", recovered(func() { nilField(nil) }), 0)
		keep = append(keep, make([]byte, 4096))
		if i%50 == 0 {
			runtime.GC()
		}
		runtime.Gosched()
	}
	inG := <-done
	var fn func()
	check("nil func", recovered(func() { fn() }), 0)
	old := debug.SetPanicOnFault(true)
	check("wild load, SetPanicOnFault", recovered(func() { wildLoad(0xdead0008) }), 0xdead0008)
	debug.SetPanicOnFault(old)
	fmt.Printf("exc: gopanic: recovered %d nil dereferences here and %d in a goroutine, a nil func call, a wild load with SetPanicOnFault; %d wrong (%d KiB kept)\n",
		rounds, inG, fails, len(keep)*4)
	if fails != 0 {
		return 1
	}
	r := recovered(func() { nilField(nil) })
	fmt.Printf("exc: gopanic: %v\n", r)
	return 0
}

func excBench() int {
	if _, err := sys.ExcHandler(mapEntryPC(), uintptr(unsafe.Pointer(&excSave))); err != nil {
		fmt.Println("exc: register:", err)
		return 1
	}
	call := measure(sys.Nop)
	null := measure(sys.Null)
	ill := measure(undefined)
	var w [2]uint64
	mis := measure(func() { misalignedAMO(uintptr(unsafe.Pointer(&w)) + 2) })
	fmt.Printf("exc: bench: procedure call %s, null system call %s (%s the call)\n", ns(call), ns(null), ratio(null, call))
	fmt.Printf("exc: bench: illegal instruction delivered and resumed %s  %s the null call, %s the call\n", ns(ill), ratio(ill, null), ratio(ill, call))
	fmt.Printf("exc: bench: misaligned AMO delivered and resumed      %s  %s the null call, %s the call\n", ns(mis), ratio(mis, null), ratio(mis, call))
	return 0
}
