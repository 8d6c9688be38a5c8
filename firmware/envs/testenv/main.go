//go:build tamago

// Command testenv is the environment the QEMU tests and benchmarks boot.
// Its boot argument picks a role and its parameters:
//
//	bystander N       does N rounds of work over a canary buffer, checks it
//	                  was never disturbed, exits 0 (1 if it was)
//	spin MS           spins MS milliseconds with no system call, then
//	                  reports its loop count and exits
//	worker N          N rounds of work, printing progress, exits 0
//	float N           N rounds of floating-point work checked against the
//	                  exact answer (catches floating-point state leaking
//	                  between environments), exits 0 or 1
//	badptr            passes kernel, unmapped, read-only and oversized
//	                  buffers to system calls; exits 0 if every one was
//	                  refused with the right error
//	hostile KIND      does one forbidden thing: write-kernel, write-other,
//	                  write-text, write-startup, illegal, mret, csr,
//	                  jump-unmapped
//	bench             measures the trap path (see bench.go)
//	pingpong N        yields N times (the partner of another pingpong)
//	share             (spawn=yes) starts a "child" with a read-only
//	                  capability for one of its pages, then revokes the
//	                  child's read-write page (see capability.go)
//	child             share's child: reads, is refused write access,
//	                  loses a page, and dies writing a read-only page
//	forger N          presents N forged capabilities; exits 0 if every one
//	                  was refused and nothing was mapped
//	ptbomb            maps a page in every 2 MiB region from 1 GiB up until
//	                  its page-table charge is spent (see resources.go)
//	spawnbomb         (spawn=N, spare=) spawns children that die at once
//	                  until refused, reaps them, does it again
//	spawnone          (spawn=yes, spare=) spawns one child and reaps it
//	ctlbytes          writes control bytes and a line that mimics the kernel
//	wx                tries to map a frame writable and executable at once
//	storm             (spawn=yes, spare=) makes the kernel do its most work
//	                  per call: a huge child, full writes, revocation
//	pmp KIND          load, store or exec on the page the PMP test build
//	                  maps from the kernel's memory
//	verifybomb        (net guards=udp:5000) binds a filter the verifier
//	                  cannot finish within its budget and reports how long
//	                  the refused call took (see verifybomb.go)
package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/exo-os/exo/libos"
	"github.com/exo-os/exo/libos/sys"
)

func main() {
	f := strings.Fields(libos.Arg())
	if len(f) == 0 {
		fmt.Println("testenv: no role given")
		os.Exit(2)
	}
	n := 0
	if len(f) > 1 {
		n, _ = strconv.Atoi(f[1])
	}
	switch f[0] {
	case "bystander":
		os.Exit(bystander(n))
	case "spin":
		spin(n)
	case "worker":
		worker(n)
	case "float":
		os.Exit(float(n))
	case "badptr":
		os.Exit(badptr())
	case "hostile":
		mustDie(f, "hostile act", "a kind", hostile)
	case "bench":
		bench()
	case "pingpong":
		for i := 0; i < n; i++ {
			sys.Yield()
		}
	case "share":
		os.Exit(share())
	case "child":
		os.Exit(child())
	case "forger":
		os.Exit(forger(n))
	case "ptbomb":
		os.Exit(ptbomb())
	case "spawnbomb":
		os.Exit(spawnbomb())
	case "spawnone":
		os.Exit(spawnone())
	case "ctlbytes":
		ctlbytes()
	case "wx":
		os.Exit(wx())
	case "storm":
		os.Exit(storm())
	case "verifybomb":
		os.Exit(verifybomb())
	case "pmp":
		mustDie(f, "pmp access", "load, store or exec", pmp)
	default:
		fmt.Printf("testenv: unknown role %q\n", f[0])
		os.Exit(2)
	}
}

// mustDie runs act(f[1]), an act the kernel must end this environment
// for: returning from it is the failure, reported as "survived" (the
// QEMU tests look for the word) with status 3.
func mustDie(f []string, what, needs string, act func(string)) {
	if len(f) < 2 {
		fmt.Printf("testenv: %s needs %s\n", f[0], needs)
		os.Exit(2)
	}
	act(f[1])
	fmt.Printf("testenv: %s survived: %s\n", what, f[1])
	os.Exit(3)
}

// bystander keeps a canary pattern in its memory across many time slices
// while hostile environments run, and checks it.
func bystander(rounds int) int {
	canary := make([]uint64, 1<<16)
	for i := range canary {
		canary[i] = uint64(i) * 0x9e3779b97f4a7c15
	}
	for r := 0; r < rounds; r++ {
		sum := uint64(0)
		for i := range canary {
			if canary[i] != uint64(i)*0x9e3779b97f4a7c15 {
				fmt.Printf("bystander: canary %d changed in round %d\n", i, r)
				return 1
			}
			sum += canary[i]
		}
		if r%10 == 0 {
			fmt.Printf("bystander: round %d ok\n", r)
		}
	}
	fmt.Printf("bystander: %d rounds, canary intact\n", rounds)
	return 0
}

func spin(ms int) {
	hz := libos.Startup().TimebaseHz
	end := sys.Time() + uint64(ms)*hz/1000
	loops := 0
	for sys.Time() < end {
		loops++
	}
	fmt.Printf("spin: %d loops in %d ms without a system call\n", loops, ms)
}

func worker(rounds int) {
	x := uint64(1)
	for r := 1; r <= rounds; r++ {
		for i := 0; i < 200_000; i++ {
			x = x*6364136223846793005 + 1442695040888963407
		}
		fmt.Printf("worker: round %d (%x)\n", r, x>>48)
	}
}

// float computes a sum whose every partial result is exact in float64, so
// any corruption of the floating-point registers by another environment
// shows as a wrong answer.
func float(rounds int) int {
	for r := 0; r < rounds; r++ {
		acc := 0.0
		for i := 1; i <= 100_000; i++ {
			acc += float64(i) * 0.5
		}
		if want := 0.5 * 100_000 * 100_001 / 2; acc != want {
			fmt.Printf("float: round %d got %v, want %v\n", r, acc, want)
			return 1
		}
	}
	fmt.Printf("float: %d rounds exact\n", rounds)
	return 0
}
