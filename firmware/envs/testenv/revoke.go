//go:build tamago

package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"unsafe"

	"github.com/exo-os/exo/kernel/abi"
	"github.com/exo-os/exo/libos"
	"github.com/exo-os/exo/libos/sys"
)

// Visible revocation (tools/qemu/revocation_test.go), as the roles
//
//	revoke parent MODE           spawn a child with revSpare spare frames
//	                             and ask it for revCount of them by a
//	                             deadline; report what it got back
//	revoke child MODE DEADLINE   MODE give: register a handler that gives
//	                             back the lowest frames of its first spare
//	                             run; MODE ignore: no handler. Report what
//	                             it holds and its loss log after DEADLINE
//
// The role is chosen here, before main, so that main.go stays as it was.
func init() {
	f := strings.Fields(libos.Arg())
	if len(f) < 3 || f[0] != "revoke" {
		return
	}
	switch f[1] {
	case "parent":
		os.Exit(revParent(f[2]))
	case "child":
		if len(f) == 4 {
			if d, err := strconv.ParseUint(f[3], 10, 64); err == nil {
				os.Exit(revChild(f[2], d))
			}
		}
	}
	fmt.Println("revoke: bad role", libos.Arg())
	os.Exit(1)
}

const (
	revSpare = 16 // spare frames the child gets
	revCount = 4  // frames asked back
)

// In revoke_riscv64.s.
func revEntry()
func revEntryPC() uintptr

var (
	// revSave is the handler's save area (abi.ExceptionFrameSize bytes).
	revSave abi64Frame
	// revFirst is the first frame the handler gives back; revTold the
	// count it was asked for (0: not told); revOwed and revGiveErr the
	// results of its RevokeGive.
	revFirst, revTold, revOwed, revGiveErr uint64
)

func revParent(mode string) int {
	slot := freeSlot()
	if slot < 0 {
		fmt.Println("revoke: no free slot")
		return 1
	}
	hz := libos.Startup().TimebaseHz
	deadline := sys.Time() + 3*hz
	_, childCap, err := libos.Spawn(libos.Child{Image: "testenv", Mem: 16 << 20, Spare: revSpare * abi.PageSize, Slot: uint32(slot), Arg: fmt.Sprintf("revoke child %s %d", mode, deadline)})
	if err != nil {
		fmt.Println("revoke: spawn:", err)
		return 1
	}
	// Let the child start (and register its handler).
	sys.SleepUntil(sys.Time() + hz/2)
	before := spareFrames()
	if held, err := sys.RevokeRequest(&childCap, abi.RevokeSlots, 1, deadline); err == nil || held != 0 {
		fmt.Println("revoke: asking for the child's only slot was not refused:", err)
		return 1
	}
	if held, err := sys.RevokeRequest(&childCap, abi.RevokePages, revSpare+1, deadline); err == nil || held != revSpare {
		fmt.Println("revoke: asking for more frames than the child holds was not refused:", held, err)
		return 1
	}
	if _, err := sys.RevokeRequest(&childCap, abi.RevokePages, revCount, deadline); err != nil {
		fmt.Println("revoke: request:", err)
		return 1
	}
	fmt.Printf("revoke: asked the child for %d of its %d spare frames\n", revCount, revSpare)
	sys.SleepUntil(deadline + hz)
	fmt.Printf("revoke: parent got %d frames back\n", spareFrames()-before)
	if !waitFor(20, func() bool {
		st, err := sys.EnvControl(abi.EnvStatus, &childCap)
		return err == nil && st == abi.EnvStateZombie
	}) {
		fmt.Println("revoke: the child never finished")
		return 1
	}
	if _, err := sys.EnvControl(abi.EnvReap, &childCap); err != nil {
		fmt.Println("revoke: reap:", err)
		return 1
	}
	fmt.Println("revoke: done")
	return 0
}

func revChild(mode string, deadline uint64) int {
	hz := libos.Startup().TimebaseHz
	spare := libos.Spare()
	if len(spare) == 0 {
		fmt.Println("revoke: child has no spare frames")
		return 1
	}
	before := spareFrames()
	if mode == "give" {
		revFirst = spare[0].PA / abi.PageSize
		if _, err := sys.RevokeHandler(revEntryPC(), uintptr(unsafe.Pointer(&revSave))); err != nil {
			fmt.Println("revoke: handler:", err)
			return 1
		}
		fmt.Printf("revoke: child will give back frames %#x..%#x\n", revFirst, revFirst+revCount-1)
	}
	// Busy, as a program ignoring the request would be, until after the
	// deadline.
	for sys.Time() < deadline+hz/2 {
		sys.Yield()
	}
	lost, n := libos.Lost()
	var b strings.Builder
	for _, l := range lost {
		fmt.Fprintf(&b, " %d:%#x", l.Kind, l.Name)
	}
	fmt.Printf("revoke: child told %d, owed %d, give error %d; spare %d -> %d; lost %d:%s\n", revTold, revOwed, revGiveErr, before, spareFrames(), n, b.String())
	// Give its frames back only after the parent has counted.
	sys.SleepUntil(deadline + 2*hz)
	return 0
}
