//go:build tamago

package main

import (
	"fmt"

	"github.com/exo-os/exo/caps"
	"github.com/exo-os/exo/kernel/abi"
	"github.com/exo-os/exo/libos"
	"github.com/exo-os/exo/libos/sys"
)

// In bench_riscv64.s: the null system call after writing a floating-point
// register, which leaves mstatus.FS dirty so the kernel must save the
// floating-point state on that trap.
func nullDirtyFP()

// nopDirtyFP is the same without the ecall, to subtract.
func nopDirtyFP()

const (
	batches = 5
	rounds  = 20_000
)

// measure returns the time of one call of f, in picoseconds: the mean over
// a batch of rounds calls, timed by the time counter, from the fastest of
// several batches (the machine is shared; the fastest batch is the one
// least disturbed by others).
func measure(f func()) uint64 { return measureN(f, rounds) }

// measureN is measure with n calls per batch.
func measureN(f func(), n int) uint64 {
	hz := libos.Startup().TimebaseHz
	best := ^uint64(0)
	for b := 0; b < batches; b++ {
		start := sys.Time()
		for i := 0; i < n; i++ {
			f()
		}
		best = min(best, (sys.Time()-start)*(1e12/uint64(n))/hz)
	}
	return best
}

func ns(ps uint64) string { return fmt.Sprintf("%d.%d ns", ps/1000, ps%1000/100) }

func ratio(a, b uint64) string {
	if b == 0 {
		return "-"
	}
	return fmt.Sprintf("%d.%02dx", a/b, a*100/b%100)
}

// bench prints the trap-path figures of docs/MEASUREMENTS.md, all from one
// boot so that they can be compared. With a "pingpong" partner running, the
// first figure is the yield round trip between the two environments.
func bench() {
	hz := libos.Startup().TimebaseHz
	fmt.Printf("bench: reset to first instruction of env %d: %d us\n", libos.EnvID(), libos.FirstTicks()*1_000_000/hz)

	// Env-to-env: with the partner yielding back each time, one yield here
	// is two environment switches.
	pp := measure(sys.Yield)
	// Let the partner finish before the rest, so it cannot take slots.
	for owner := partner(); owner; owner = partner() {
		sys.Yield()
	}
	self := measure(sys.Yield)

	call := measure(sys.Nop)
	floor := uint64(0)
	if floorFast() {
		floor = measure(sys.Floor)
	}
	null := measure(sys.Null)
	nopfp := measure(nopDirtyFP)
	nullfp := measure(nullDirtyFP)

	fmt.Printf("bench: procedure call          %s\n", ns(call))
	if floor != 0 {
		fmt.Printf("bench: trap floor (asm only)   %s  %s the call\n", ns(floor), ratio(floor, call))
		fmt.Printf("bench: null system call        %s  %s the call, %s the floor\n", ns(null), ratio(null, call), ratio(null, floor))
	} else {
		fmt.Printf("bench: trap floor              not in this kernel (the exo_floor build has it)\n")
		fmt.Printf("bench: null system call        %s  %s the call\n", ns(null), ratio(null, call))
	}
	fmt.Printf("bench: null call, FP saved     %s  (+%s for the floating-point save)\n", ns(nullfp-nopfp), ns(nullfp-nopfp-null))
	fmt.Printf("bench: yield to itself         %s\n", ns(self))
	fmt.Printf("bench: yield round trip, 2 envs %s  (one switch: %s)\n", ns(pp), ns(pp/2))
	benchMap(null)
}

// benchMap measures a capability-checked binding: mapping one of the
// environment's own pages read-only (and unmapping it, to repeat). The
// kernel caches capabilities whose MAC chain verified (caps/seen.go), so a
// capability presented again costs no MAC computation: "cached" repeats one
// capability, "uncached" cycles through 128 distinct ones (more than the
// cache holds), with one derivation record and with four. In the
// measurement build (capabilities unchecked) the same lines give the
// unchecked cost.
func benchMap(null uint64) {
	p := page()
	ppn, _ := libos.PhysPage(p)
	root, _ := libos.RootPageCap(p)
	_, lo, hi, _ := root.Effective()
	const distinct = 128
	var one, four [distinct]caps.Cap
	for k := range distinct {
		one[k] = must(caps.Derive(root, caps.PageRead|caps.PageWrite, max(lo, ppn-uint64(k)), hi))
		four[k] = one[k]
		for four[k].Depth() < caps.MaxRecords {
			four[k] = must(caps.Derive(four[k], caps.PageRead|caps.PageWrite, max(lo, ppn-uint64(k)), hi))
		}
	}
	const n = 2_000 // an uncached call hashes; fewer rounds keep the boot short
	for _, c := range []struct {
		name string
		set  []caps.Cap
	}{
		{"root, cached            ", []caps.Cap{root}},
		{"4 derivations, cached   ", four[:1]},
		{"1 derivation, uncached  ", one[:]},
		{"4 derivations, uncached ", four[:]},
	} {
		i := 0
		t := measureN(func() {
			if err := sys.Map(shareVA, ppn, abi.MapRead, &c.set[i]); err != nil {
				panic(err)
			}
			sys.Unmap(shareVA)
			if i++; i == len(c.set) {
				i = 0
			}
		}, n)
		fmt.Printf("bench: map+unmap, %s %s  %s the null call\n", c.name, ns(t), ratio(t, null))
	}
}

// floorFast reports whether the kernel answers the floor call in its trap
// vector (the exo_floor build): that path leaves a1 as it was, where the
// full path returns ENOSYS in it.
func floorFast() bool {
	const mark = 0x5a5a
	_, a1 := sys.Syscall(abi.SysFloor, 0, mark, 0, 0, 0, 0)
	return a1 == mark
}

// partner reports whether another environment still holds a slot.
func partner() bool {
	s := libos.Slots()
	for i := uint32(0); i < s.N; i++ {
		if o := s.Owner[i]; o != 0 && o != libos.EnvID() {
			return true
		}
	}
	return false
}
