//go:build tamago

package main

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"unsafe"

	"github.com/exo-os/exo/caps"
	"github.com/exo-os/exo/kernel/abi"
	"github.com/exo-os/exo/libos"
	"github.com/exo-os/exo/libos/sys"
)

// Where the capability roles map pages: above every environment's RAM.
const (
	shareVA = 0x40000000
	flagVA  = shareVA + 0x1000
)

// page returns the address of a page-aligned, page-sized part of a fresh
// heap buffer, and keeps the buffer alive.
func page() uintptr {
	b := make([]byte, 2*abi.PageSize)
	keep = append(keep, b)
	return (uintptr(unsafe.Pointer(&b[0])) + abi.PageSize - 1) &^ (abi.PageSize - 1)
}

var keep [][]byte

func bytesAt(va uintptr, n int) []byte { return unsafe.Slice((*byte)(unsafe.Add(nil, va)), n) }

func must(c caps.Cap, err error) caps.Cap {
	if err != nil {
		fmt.Println("testenv:", err)
		sys.Exit(4)
	}
	return c
}

// waitFor yields until cond holds, for at most seconds.
func waitFor(seconds uint64, cond func() bool) bool {
	end := sys.Time() + seconds*libos.Startup().TimebaseHz
	for !cond() {
		if sys.Time() > end {
			return false
		}
		sys.Yield()
	}
	return true
}

// share is the parent of the capability issue's scenario (spawn=yes): it
// writes data into one of its pages, derives a read-only capability for
// that page alone and a read-write one for a second (flag) page, and starts
// a child with both. When the child has raised the flag it revokes the
// flag page; it exits when the child has finished.
func share() int {
	data, flag := page(), page()
	msg := fmt.Sprintf("written by env %d for its child", libos.EnvID())
	copy(bytesAt(data, abi.PageSize), msg)
	dataPPN, _ := libos.PhysPage(data)
	flagPPN, _ := libos.PhysPage(flag)
	root, _ := libos.RootPageCap(data)
	ro := must(caps.Derive(root, caps.PageRead, dataPPN, dataPPN))
	flagRoot, _ := libos.RootPageCap(flag)
	rw := must(caps.Derive(flagRoot, caps.PageRead|caps.PageWrite, flagPPN, flagPPN))
	flagRevoke := must(caps.Derive(flagRoot, caps.PageRevoke, flagPPN, flagPPN))

	slot := freeSlot()
	if slot < 0 {
		fmt.Println("share: no free slot")
		return 1
	}
	id, childCap, err := libos.Spawn(libos.Child{Image: "testenv", Mem: 16 << 20, Slot: uint32(slot), Arg: "child", Pass: []caps.Cap{ro, rw}})
	if err != nil {
		fmt.Println("share: spawn:", err)
		return 1
	}
	fmt.Printf("share: started env %d in slot %d with a read-only capability for page %#x\n", id, slot, dataPPN)

	if !waitFor(20, func() bool { return bytesAt(flag, 1)[0] == 1 }) {
		fmt.Println("share: the child never raised the flag")
		return 1
	}
	if _, err := sys.Revoke(&flagRevoke); err != nil {
		fmt.Println("share: revoke:", err)
		return 1
	}
	fmt.Printf("share: revoked page %#x, the child's read-write page\n", flagPPN)
	if !waitFor(20, func() bool {
		st, err := sys.EnvControl(abi.EnvStatus, &childCap)
		return err == nil && st == abi.EnvStateZombie
	}) {
		fmt.Println("share: the child never finished")
		return 1
	}
	status, err := sys.EnvControl(abi.EnvReap, &childCap)
	if err != nil {
		fmt.Println("share: reap:", err)
		return 1
	}
	fmt.Printf("share: the child has finished (status %#x); its %d frames are spare again\n", status, spareFrames())
	return 0
}

// freeSlot returns a slot nobody holds, or -1.
func freeSlot() int {
	s := libos.Slots()
	for i := 0; i < int(s.N); i++ {
		if s.Owner[i] == abi.FreeSlot {
			return i
		}
	}
	return -1
}

// spareFrames returns how many spare frames this environment holds.
func spareFrames() uint64 {
	n := uint64(0)
	for _, r := range libos.Spare() {
		n += r.Pages
	}
	return n
}

// child is share's child: it maps the data page read-only and reads it;
// asks for write access with its capability, with a derivation that adds
// write, and with a forged one; raises the flag, waits to lose the flag
// page, and finally writes to the read-only page, which kills it.
func child() int {
	passed := libos.Passed()
	if len(passed) != 2 {
		fmt.Printf("child: %d capabilities passed, want 2\n", len(passed))
		return 1
	}
	ro, rw := passed[0], passed[1]
	_, dataPPN, _, _ := ro.Effective()
	_, flagPPN, _, _ := rw.Effective()
	if err := sys.Map(shareVA, dataPPN, abi.MapRead, &ro); err != nil {
		fmt.Println("child: map read-only:", err)
		return 1
	}
	msg := bytesAt(shareVA, 64)
	for i, c := range msg {
		if c == 0 {
			msg = msg[:i]
			break
		}
	}
	fmt.Printf("child: read %q through a read-only mapping of page %#x\n", msg, dataPPN)

	err := sys.Map(shareVA+0x2000, dataPPN, abi.MapRead|abi.MapWrite, &ro)
	fmt.Printf("child: map read-write with the read-only capability: %v\n", err)
	_, err = caps.Derive(ro, caps.PageRead|caps.PageWrite, dataPPN, dataPPN)
	fmt.Printf("child: derive a write capability: %v\n", err)
	forged := ro
	forged[32] |= byte(caps.PageWrite) // the derivation record's rights mask
	err = sys.Map(shareVA+0x2000, dataPPN, abi.MapRead|abi.MapWrite, &forged)
	fmt.Printf("child: map read-write with a forged capability: %v\n", err)

	if err := sys.Map(flagVA, flagPPN, abi.MapRead|abi.MapWrite, &rw); err != nil {
		fmt.Println("child: map the flag page:", err)
		return 1
	}
	bytesAt(flagVA, 1)[0] = 1
	if !waitFor(20, func() bool { _, n := libos.Lost(); return n > 0 }) {
		fmt.Println("child: the flag page was never revoked")
		return 1
	}
	lost, _ := libos.Lost()
	fmt.Printf("child: lost page %#x mapped at %#x\n", lost[0].Name, lost[0].VA)
	err = sys.Map(flagVA, flagPPN, abi.MapRead|abi.MapWrite, &rw)
	var r *sys.RevokedError
	if errors.As(err, &r) && r.Name == flagPPN {
		fmt.Printf("child: the old flag capability: %v\n", err)
	} else {
		fmt.Printf("child: the old flag capability: %v (want ECAPREVOKED for %#x)\n", err, flagPPN)
	}
	fmt.Println("child: writing to the read-only page")
	bytesAt(shareVA, 1)[0] = 'X'
	return 3 // not reached: the write faults
}

// forger presents n forged capabilities, of kinds modelled on what an
// attacker can do with bytes it holds, for pages it does not own (another
// environment's, the kernel's) and pages it does, and checks that every
// one was refused and that nothing got mapped.
func forger(n int) int {
	probe := page()
	root, _ := libos.RootPageCap(probe)
	_, lo, hi, _ := root.Effective()
	slotRoot, _ := libos.RootCap(caps.KindSlot, uint64(firstSlot()))
	rng := rand.New(rand.NewPCG(uint64(n), 0x5eed))
	// Pages the forger does not own: just outside its memory (neighbours
	// in the pool: other environments), the kernel image, far away.
	targets := []uint64{lo - 1, hi + 1, lo - 4096, hi + 4096, 0x80000, 0x80010, 0x84200}
	kinds := []string{"random bytes", "one bit flipped", "range widened", "kind changed", "record widened", "random MAC", "epoch moved", "rights added", "slot capability"}
	accepted, mapped := 0, 0
	refusals := map[string]int{}
	for i := 0; i < n; i++ {
		c := root
		ppn := targets[rng.IntN(len(targets))]
		switch k := i % len(kinds); kinds[k] {
		case "random bytes":
			for j := range c {
				c[j] = byte(rng.Uint32())
			}
		case "one bit flipped":
			bit := rng.IntN(caps.Size * 8)
			c[bit/8] ^= 1 << (bit % 8)
			ppn = lo + rng.Uint64N(hi-lo+1) // even for its own pages
		case "range widened":
			putU64(c[8:], min(lo, ppn))
			putU64(c[16:], max(hi, ppn))
		case "kind changed":
			c[1] = byte(caps.KindSlot + caps.Kind(rng.IntN(2)))
		case "record widened":
			d := must(caps.Derive(root, caps.PageRead, lo, lo))
			putU64(d[40:], min(lo, ppn))
			putU64(d[48:], max(lo, ppn))
			c = d
		case "random MAC":
			for j := caps.Size - caps.TagSize; j < caps.Size; j++ {
				c[j] = byte(rng.Uint32())
			}
		case "epoch moved":
			putU64(c[24:], uint64(rng.Uint32()))
		case "rights added":
			d := must(caps.Derive(root, caps.PageRead, lo, hi))
			d[32] |= byte(caps.PageWrite)
			c, ppn = d, lo
		case "slot capability":
			c = slotRoot
		}
		err := sys.Map(shareVA, ppn, abi.MapRead|abi.MapWrite, &c)
		if err == nil {
			accepted++
			fmt.Printf("forger: ACCEPTED %s for page %#x\n", kinds[i%len(kinds)], ppn)
		} else {
			refusals[errName(err)]++
		}
		if _, err := sys.Unmap(shareVA); !errors.Is(err, sys.ErrNotFound) {
			mapped++
		}
	}
	fmt.Printf("forger: %d forged capabilities, %d accepted, %d left a mapping; refused with %v\n", n, accepted, mapped, refusals)
	if accepted > 0 || mapped > 0 {
		return 1
	}
	return 0
}

func errName(err error) string {
	var e sys.Errno
	var r *sys.RevokedError
	switch {
	case errors.As(err, &r):
		return abi.ErrorName(abi.ErrCapRevoked)
	case errors.As(err, &e):
		return abi.ErrorName(uint64(e))
	}
	return err.Error()
}

func putU64(b []byte, v uint64) {
	for i := 0; i < 8; i++ {
		b[i] = byte(v >> (8 * i))
	}
}

func firstSlot() int {
	s := libos.Slots()
	for i := 0; i < int(s.N); i++ {
		if s.Owner[i] == libos.EnvID() {
			return i
		}
	}
	return 0
}
