//go:build tamago

package main

import (
	"errors"
	"fmt"
	"unsafe"

	"github.com/exo-os/exo/caps"
	"github.com/exo-os/exo/kernel/abi"
	"github.com/exo-os/exo/libos"
	"github.com/exo-os/exo/libos/sys"
)

// The roles that spend resources the way an attacker would, for the QEMU
// tests of issue 10: each must be charged to its environment (or tree)
// alone and come back, and none may hold the CPU.

// ptbomb maps one of its own pages in every 2 MiB region from 1 GiB up,
// each needing a new page table, until the kernel refuses; the tables come
// from its own charge, so the refusal is its alone.
func ptbomb() int {
	p := page()
	ppn, _ := libos.PhysPage(p)
	root, _ := libos.RootPageCap(p)
	ro := must(caps.Derive(root, caps.PageRead, ppn, ppn))
	n := 0
	var err error
	for va := uint64(1 << 30); va < 1<<38; va += 2 << 20 {
		if err = sys.Map(va, ppn, abi.MapRead, &ro); err != nil {
			break
		}
		n++
	}
	s := libos.Startup()
	fmt.Printf("ptbomb: %d mappings, then %v; page tables %d of %d\n", n, err, s.TablesUsed, s.TablesMax)
	if !errors.Is(err, sys.ErrNoMem) || s.TablesUsed != s.TablesMax {
		return 1
	}
	return 0
}

// spawnbomb starts children that die at start-up (6 MiB is too little for
// a Go runtime) until it is refused (its tree's env ids or its spare
// frames run out), reaps them all, and does it
// again: the second round must get as far as the first (frames and ids
// came back), and a capability for a child of the first round must name
// nobody in the second, although the ids are the same.
func spawnbomb() int {
	var rounds [2]int
	var errs [2]error
	var first caps.Cap
	var firstID uint32
	for round := range rounds {
		var kids []caps.Cap
		for {
			id, c, err := spawnAnywhere(libos.Child{Image: "testenv", Mem: 6 << 20, Arg: "worker 1"})
			if err != nil {
				errs[round] = err
				break
			}
			if round == 0 && len(kids) == 0 {
				first, firstID = c, id
			}
			kids = append(kids, c)
		}
		rounds[round] = len(kids)
		for _, c := range kids {
			if !waitFor(30, func() bool {
				st, err := sys.EnvControl(abi.EnvStatus, &c)
				return err == nil && st == abi.EnvStateZombie
			}) {
				fmt.Println("spawnbomb: a child never finished")
				return 1
			}
			if _, err := sys.EnvControl(abi.EnvReap, &c); err != nil {
				fmt.Println("spawnbomb: reap:", err)
				return 1
			}
		}
	}
	_, old := sys.EnvControl(abi.EnvStatus, &first)
	fmt.Printf("spawnbomb: round 1: %d children, then %v; round 2: %d children, then %v; env %d's first capability: %v\n",
		rounds[0], errs[0], rounds[1], errs[1], firstID, old)
	if rounds[0] == 0 || rounds[0] != rounds[1] || !errors.Is(old, sys.ErrCapRevoked) {
		return 1
	}
	return 0
}

// spawnone starts one 16 MiB child that says hello, waits for it and reaps
// it: the bystander's proof that other trees' bombs took nothing of its.
func spawnone() int {
	id, c, err := spawnAnywhere(libos.Child{Image: "testenv", Mem: 16 << 20, Arg: "worker 2"})
	if err != nil {
		fmt.Println("spawnone:", err)
		return 1
	}
	if !waitFor(60, func() bool {
		st, err := sys.EnvControl(abi.EnvStatus, &c)
		return err == nil && st == abi.EnvStateZombie
	}) {
		fmt.Println("spawnone: the child never finished")
		return 1
	}
	status, err := sys.EnvControl(abi.EnvReap, &c)
	fmt.Printf("spawnone: env %d finished with status %#x (%v)\n", id, status, err)
	if err != nil || status != 0 {
		return 1
	}
	return 0
}

// ctlbytes writes bytes a terminal would obey: a carriage return and a
// line made to look like the kernel's, a screen clear, a bell.
func ctlbytes() {
	sys.Write([]byte("hidden\rexo: env 1 (testenv) exited with status 0\n"))
	sys.Write([]byte("\x1b[2J\x1b[H\x07cleared\n"))
	sys.Write([]byte("c1 csi \u009b31m, invalid \xff\n"))
}

// wx tries to make one of its frames writable and executable at once, in
// two mappings: its text writable at another address, its data
// executable.
func wx() int {
	text := uintptr(abi.TextStart)
	textPPN, _ := libos.PhysPage(text)
	textRoot, _ := libos.RootPageCap(text)
	data := page()
	dataPPN, _ := libos.PhysPage(data)
	dataRoot, _ := libos.RootPageCap(data)
	err1 := sys.Map(shareVA, textPPN, abi.MapRead|abi.MapWrite, &textRoot)
	err2 := sys.Map(shareVA, dataPPN, abi.MapRead|abi.MapExec, &dataRoot)
	// Read-only and executable aliases are fine.
	err3 := sys.Map(shareVA, textPPN, abi.MapRead|abi.MapExec, &textRoot)
	fmt.Printf("wx: writable alias of text: %v; executable alias of data: %v; executable alias of text: %v\n", err1, err2, err3)
	if !errors.Is(err1, sys.ErrInval) || !errors.Is(err2, sys.ErrInval) || err3 != nil {
		return 1
	}
	return 0
}

// storm makes the kernel do the most work it can per call while a
// bystander runs: it spawns a child almost the size of its spare frames
// (built in the child's slots), writes the console's limit, draws
// entropy, verifies capabilities no cache has seen, revokes its RAM and
// destroys the child in the middle of its build. The kernel's closing
// line reports the longest a due timer interrupt waited and the longest
// step of kernel work; the measurement build (make bench) also reports
// the longest each call took in the kernel.
func storm() int {
	hz := libos.Startup().TimebaseHz
	big := make([]byte, abi.MaxWrite)
	for i := range big {
		big[i] = byte('a' + i%26)
	}
	big[len(big)-1] = '\n'
	// With the console drained (a second at the line's rate), a write
	// of the most a call takes does not wait for room: its time is the
	// kernel's.
	sys.SleepUntil(sys.Time() + hz)
	sys.Write(big)
	var rnd [abi.MaxRandom]byte
	for i := 0; i < 8; i++ {
		sys.Random(rnd[:])
	}
	var spare uint64
	for _, r := range libos.Spare() {
		spare += r.Pages
	}
	mem := (spare - abi.SpawnFrames(0, 0) - 600) * abi.PageSize &^ (2<<20 - 1)
	id, child, err := spawnAnywhere(libos.Child{Image: "testenv", Mem: mem, Arg: "worker 1"})
	if err != nil {
		fmt.Println("storm: spawn:", err)
		return 1
	}
	fmt.Printf("storm: spawned env %d with %d MiB\n", id, mem>>20)
	p := page()
	root, _ := libos.RootPageCap(p)
	ppn, _ := libos.PhysPage(p)
	_, lo, hi, _ := root.Effective()
	for i := uint64(0); i < 64; i++ {
		c := must(caps.Derive(root, caps.PageRead, lo+i, hi))
		for c.Depth() < caps.MaxRecords {
			c = must(caps.Derive(c, caps.PageRead, lo+i, hi))
		}
		if err := sys.Map(shareVA, ppn, abi.MapRead, &c); err != nil {
			fmt.Println("storm: map:", err)
			return 1
		}
		sys.Unmap(shareVA)
	}
	whole := root
	if _, err := sys.Revoke(&whole); err != nil {
		fmt.Println("storm: revoke:", err)
		return 1
	}
	st, _ := sys.EnvControl(abi.EnvStatus, &child)
	if _, err := sys.EnvControl(abi.EnvDestroy, &child); err != nil {
		fmt.Println("storm: destroy:", err)
		return 1
	}
	if !waitFor(60, func() bool {
		st, err := sys.EnvControl(abi.EnvStatus, &child)
		return err == nil && st == abi.EnvStateZombie
	}) {
		fmt.Println("storm: the child's teardown never finished")
		return 1
	}
	sys.EnvControl(abi.EnvReap, &child)
	var after uint64
	for _, r := range libos.Spare() {
		after += r.Pages
	}
	fmt.Printf("storm: destroyed env %d in state %d; %d of %d spare frames back\n", id, st, after, spare)
	if after != spare {
		return 1
	}
	return 0
}

// pmp touches the page the PMP test build maps from the kernel's own
// memory, as kind says: load, store or exec. PMP must refuse each.
func pmp(kind string) {
	fmt.Printf("pmp: %s at %#x\n", kind, abi.PMPTestVA)
	switch kind {
	case "load":
		fmt.Printf("pmp: read %#x\n", *(*uint64)(unsafe.Add(nil, abi.PMPTestVA)))
	case "store":
		store(abi.PMPTestVA, 0xbad)
	case "exec":
		jump(abi.PMPTestVA)
	}
}

// spawnAnywhere spawns c in a free slot. Another environment may take the
// slot between the look at the vector and the call (EEXIST): it looks
// again.
func spawnAnywhere(c libos.Child) (uint32, caps.Cap, error) {
	for tries := 0; ; tries++ {
		slot := freeSlot()
		if slot < 0 {
			return 0, caps.Cap{}, errors.New("no free slot")
		}
		c.Slot = uint32(slot)
		id, cp, err := libos.Spawn(c)
		if !errors.Is(err, sys.ErrExist) || tries == 16 {
			return id, cp, err
		}
	}
}
