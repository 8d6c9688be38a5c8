//go:build tamago

package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"unsafe"

	"github.com/exo-os/exo/ash"
	"github.com/exo-os/exo/caps"
	"github.com/exo-os/exo/kernel/abi"
	"github.com/exo-os/exo/libos"
	"github.com/exo-os/exo/libos/ipc"
	"github.com/exo-os/exo/libos/sys"
)

// Wakeup predicates (docs/ABI.md, "Wakeup predicates";
// tools/qemu/predicate_test.go), as the roles
//
//	pred N   (spawn=yes, spare=) starts a "predsrv" child with read-write
//	         capabilities for three of its pages (a page of shared words
//	         and two rings); once the child is blocked on the predicate
//	         "word 0 is nonzero", sleeps 50 ms and checks it has not run,
//	         writes the word, waits for the child's acknowledgement, then
//	         makes N round trips through a pipe whose both sides wait on
//	         ring predicates (ipc.Ring.WaitData, WaitRoom) instead of
//	         yielding, and reaps the child
//	predsrv  the child: maps the pages, blocks on the word, reports the
//	         kernel's predicate counters, echoes N words + 1
//
// The role is chosen here, before main, so that main.go stays as it was.
func init() {
	f := strings.Fields(libos.Arg())
	if len(f) == 0 {
		return
	}
	switch f[0] {
	case "pred":
		n := 0
		if len(f) > 1 {
			n, _ = strconv.Atoi(f[1])
		}
		os.Exit(predClient(n))
	case "predsrv":
		os.Exit(predServer())
	}
}

// The shared-words page of the predicate roles.
const (
	predWord  = 0  // the word the child waits on
	predReady = 8  // the child is about to block
	predAck   = 16 // the child woke: the word it saw
	predAwake = 24 // the child runs (set before it blocks, cleared never)
)

// predNonzero is the predicate "the window's first word is nonzero".
func predNonzero() []byte {
	b := ash.NewBuilder()
	b.LoadContext(ash.R2, ash.CtxMem)
	b.Load(ash.SizeDW, ash.R0, ash.R2, 0)
	b.Exit()
	insns, err := b.Build()
	if err != nil {
		panic(err)
	}
	return ash.Encode(insns)
}

func word(b []byte, off int) *atomic.Uint64 {
	return (*atomic.Uint64)(unsafe.Pointer(&b[off]))
}

func predClient(rounds int) int {
	if rounds < 1 {
		fmt.Println("pred: needs a round count")
		return 2
	}
	va := [3]uintptr{page(), page(), page()}
	var pass []caps.Cap
	for _, v := range va {
		clear(bytesAt(v, abi.PageSize))
		ppn, _ := libos.PhysPage(v)
		root, _ := libos.RootPageCap(v)
		pass = append(pass, must(caps.Derive(root, caps.PageRead|caps.PageWrite, ppn, ppn)))
	}
	shm := bytesAt(va[0], abi.PageSize)
	slot := freeSlot()
	if slot < 0 {
		fmt.Println("pred: no free slot")
		return 1
	}
	id, child, err := libos.Spawn(libos.Child{Image: "testenv", Mem: 16 << 20, Slot: uint32(slot), Arg: "predsrv " + strconv.Itoa(rounds), Pass: pass})
	if err != nil {
		fmt.Println("pred: spawn:", err)
		return 1
	}
	if !waitFor(20, func() bool { return word(shm, predReady).Load() == 1 }) {
		fmt.Println("pred: the child never got ready")
		return 1
	}
	// The child stores predReady just before its call; give it its slot
	// to make the call, then watch it stay blocked.
	hz := libos.Startup().TimebaseHz
	sys.SleepUntil(sys.Time() + hz/20)
	st, _ := sys.EnvControl(abi.EnvStatus, &child)
	fmt.Printf("pred: child env %d still blocked after 50 ms: ack %d, state %d\n", id, word(shm, predAck).Load(), st)
	fmt.Println("pred: writing the word")
	word(shm, predWord).Store(42)
	if !waitFor(20, func() bool { return word(shm, predAck).Load() != 0 }) {
		fmt.Println("pred: the child never woke")
		return 1
	}
	fmt.Printf("pred: child woke and saw %d\n", word(shm, predAck).Load())

	r1, err1 := ipc.NewRing(bytesAt(va[1], abi.PageSize))
	r2, err2 := ipc.NewRing(bytesAt(va[2], abi.PageSize))
	if err1 != nil || err2 != nil {
		fmt.Println("pred: rings:", err1, err2)
		return 1
	}
	out := ipc.Pipe{Ring: r1, Wait: r1.WaitRoom}
	in := ipc.Pipe{Ring: r2, Wait: r2.WaitData}
	wrong := 0
	before, _ := libos.PredicateStats()
	t0 := sys.Time()
	for v := uint64(1); v <= uint64(rounds); v++ {
		out.Send(v)
		if in.Receive() != v+1 {
			wrong++
		}
	}
	elapsed := abi.TicksToNs(sys.Time()-t0, hz)
	s, _ := libos.PredicateStats()
	fmt.Printf("pred: %d pipe round trips on predicates, %d wrong; %d waits, %d evaluations\n", rounds, wrong, s.Waits-before.Waits, s.Evals-before.Evals)
	fmt.Printf("pred: pipe round trip on predicates %d ns (mean of %d)\n", elapsed/uint64(rounds), rounds)
	if !waitFor(20, func() bool {
		st, err := sys.EnvControl(abi.EnvStatus, &child)
		return err == nil && st == abi.EnvStateZombie
	}) {
		fmt.Println("pred: the child never finished")
		return 1
	}
	status, _ := sys.EnvControl(abi.EnvReap, &child)
	fmt.Printf("pred: child status %d\n", status)
	if wrong != 0 || status != 0 {
		return 1
	}
	return 0
}

func predServer() int {
	f := strings.Fields(libos.Arg())
	rounds := 0
	if len(f) > 1 {
		rounds, _ = strconv.Atoi(f[1])
	}
	passed := libos.Passed()
	if len(passed) != 3 {
		fmt.Printf("predsrv: %d capabilities passed, want 3\n", len(passed))
		return 1
	}
	for i, c := range passed {
		_, ppn, _, _ := c.Effective()
		if err := sys.Map(shareVA+uint64(i)*abi.PageSize, ppn, abi.MapRead|abi.MapWrite, &c); err != nil {
			fmt.Println("predsrv: map:", err)
			return 1
		}
	}
	shm := bytesAt(shareVA, abi.PageSize)
	prog := predNonzero()
	// Refusals first: a predicate that does not verify (it reads past
	// its 4-byte window) changes nothing.
	if _, err := libos.WaitPredicate(prog, shm[:4], 0); err != sys.ErrProgram {
		fmt.Println("predsrv: unverifiable predicate not refused:", err)
		return 1
	}
	fmt.Println("predsrv: blocking on the word")
	word(shm, predReady).Store(1)
	held, err := libos.WaitPredicate(prog, shm[:8], 0)
	v := word(shm, predWord).Load()
	s, _ := libos.PredicateStats()
	fmt.Printf("predsrv: woke (held %v, err %v): word %d; %d evaluations, %d wakes, %d instructions\n", held, err, v, s.Evals, s.Wakes, s.Insns)
	word(shm, predAck).Store(v)
	if !held || err != nil || v != 42 {
		return 1
	}
	r1, err1 := ipc.NewRing(bytesAt(shareVA+abi.PageSize, abi.PageSize))
	r2, err2 := ipc.NewRing(bytesAt(shareVA+2*abi.PageSize, abi.PageSize))
	if err1 != nil || err2 != nil {
		fmt.Println("predsrv: rings:", err1, err2)
		return 1
	}
	in := ipc.Pipe{Ring: r1, Wait: r1.WaitData}
	out := ipc.Pipe{Ring: r2, Wait: r2.WaitRoom}
	for range rounds {
		out.Send(in.Receive() + 1)
	}
	return 0
}
