// Command fuzzall runs every fuzz target in the module briefly (`make
// fuzz-brief`, part of `make test`). Each target's checked-in corpus
// (testdata/fuzz) runs as regression tests in plain `go test`; this adds a
// little new exploration on every run.
//
// Budgets are counts of executions (`go test -fuzztime Nx`), not durations,
// so that a loaded machine takes longer rather than failing: Go 1.26's fuzz
// coordinator can end a duration-bounded run with "context deadline
// exceeded" and no finding (golang/go#75804, fixed in Go 1.27). The counts
// in budgets are sized for about 10 s each on this project's 2-core CI
// machines. A run fails only if go test wrote a failing input, printed a
// panic, or could not build; any other error from go test is reported and
// not counted, since it says nothing about the code under test.
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
)

// budgets are the executions per target, keyed "package/Target" relative
// to the module, sized for about 10 s each here (measured with
// `go test -fuzz ^T$ -fuzztime 20000x`; FuzzLoadELF's executions are
// dearer because each input is a whole ELF object).
var budgets = map[string]int{
	"ash/FuzzLoadELF":              4000,
	"ash/FuzzVerifyRun":            60000,
	"ash/FuzzAssemble":             60000,
	"ash/FuzzDisassemble":          30000,
	"ash/FuzzImportCBPF":           40000,
	"board/fdt/FuzzMemory":         80000,
	"caps/FuzzParseVerify":         60000,
	"caps/FuzzDeriveChain":         40000,
	"kernel/elf/FuzzParse":         80000,
	"kernel/manifest/FuzzParse":    80000,
	"kernel/FuzzSystemCalls":       1000, // a whole kernel run an input
	"kernel/FuzzNetReceive":        100000,
	"kernel/demux/FuzzClassify":    200000,
	"internal/ping/FuzzParseFrame": 100000,
	// The library OS's network stack (rates measured here: the wire
	// parsers ~70k/s, the stack ~40k/s, TCP's segment parser ~50k/s and
	// its Deliver ~15k/s, gVisor's input ~15k/s).
	"libos/net/wire/FuzzEthernet":    200000,
	"libos/net/wire/FuzzARP":         200000,
	"libos/net/wire/FuzzIPv4":        200000,
	"libos/net/wire/FuzzICMP":        200000,
	"libos/net/wire/FuzzUDP":         200000,
	"libos/net/stack/FuzzStackInput": 300000,
	"libos/net/tcp/FuzzSegment":      300000,
	"libos/net/tcp/FuzzDeliver":      120000,
	"libos/net/link/FuzzWire":        100000,
	"libos/net/gvisor/FuzzInput":     60000,
	// Message vectoring: the handler against a Go reference (~20k/s),
	// the ring's reader against hostile headers (~7k/s).
	"libos/netash/FuzzUDPVector": 200000,
	"libos/net/vector/FuzzRing":  70000,
	// The GMAC driver against a hostile device's descriptors (~20k/s).
	"board/driver/dwmac/FuzzReceive": 200000,
	// The VisionFive 2's packed environment images (~25k/s).
	"firmware/visionfive2/envpack/FuzzOpen": 200000,
	// make compare's parsers of the two consoles (~10k/s).
	"tools/compare/FuzzParse": 100000,
	// Protected control transfers: three environments' random calls,
	// returns and corrupt frames, each input a kernel run (~300/s); the
	// IPC ring's corrupted counts (~40k/s).
	"kernel/FuzzPCT":     3000,
	"libos/ipc/FuzzRing": 400000,
	// Wakeup predicates: random programs and windows while another
	// environment flips the window's words, a kernel run each (~150/s).
	"kernel/FuzzPredicateWait": 1500,
}

// defaultBudget is the count for a target budgets does not name.
const defaultBudget = 20000

const module = "github.com/exo-os/exo/"

func main() {
	fuzztime := flag.String("fuzztime", "", "budget for every target, as go test -fuzztime takes it (default: the per-target counts)")
	minimize := flag.String("fuzzminimizetime", "100x", "budget to minimize each new input (go test -fuzzminimizetime)")
	flag.Parse()

	out, err := exec.Command("go", "test", "-list", "^Fuzz", "./...").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "fuzzall: listing fuzz targets: %v\n%s", err, out)
		os.Exit(1)
	}
	targets := parseList(out)
	for _, t := range targets {
		if _, ok := budgets[t.key()]; !ok && *fuzztime == "" {
			// A target without a budget would get the default, which
			// may be minutes for a slow one: say so rather than guess.
			fmt.Fprintf(os.Stderr, "fuzzall: %s has no execution budget in tools/fuzzall/main.go; add one sized for about 10 s\n", t.key())
			os.Exit(1)
		}
	}
	failed, inconclusive := 0, 0
	for _, t := range targets {
		budget := *fuzztime
		if budget == "" {
			budget = fmt.Sprintf("%dx", t.budget())
		}
		fmt.Printf("fuzzall: %s %s for %s\n", t.pkg, t.name, budget)
		var buf bytes.Buffer
		cmd := exec.Command("go", "test", "-run", "^$", "-fuzz", "^"+t.name+"$", "-fuzztime", budget, "-fuzzminimizetime", *minimize, t.pkg)
		cmd.Stdout = io.MultiWriter(os.Stdout, &buf)
		cmd.Stderr = cmd.Stdout
		err := cmd.Run()
		switch v := verdict(err, buf.Bytes()); v {
		case pass:
		case finding:
			fmt.Printf("fuzzall: %s %s FAILED: %v\n", t.pkg, t.name, err)
			failed++
		case noFinding:
			fmt.Printf("fuzzall: %s %s: go test failed (%v) without a failing input, a panic or a build error; not counted as a failure (see golang/go#75804)\n", t.pkg, t.name, err)
			inconclusive++
		}
	}
	fmt.Printf("fuzzall: %d targets, %d failed, %d inconclusive\n", len(targets), failed, inconclusive)
	if failed > 0 || len(targets) == 0 {
		os.Exit(1)
	}
}

type target struct{ pkg, name string }

// key names the target as budgets does.
func (t target) key() string { return strings.TrimPrefix(t.pkg, module) + "/" + t.name }

func (t target) budget() int {
	if n, ok := budgets[t.key()]; ok {
		return n
	}
	return defaultBudget
}

// parseList reads `go test -list` output: target names, each package's
// followed by its "ok" line.
func parseList(out []byte) []target {
	var targets, pending []target
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "Fuzz"):
			pending = append(pending, target{name: line})
		case strings.HasPrefix(line, "ok"):
			f := strings.Fields(line)
			for _, t := range pending {
				t.pkg = f[1]
				targets = append(targets, t)
			}
			pending = nil
		}
	}
	return targets
}

type outcome int

const (
	pass outcome = iota
	finding
	noFinding
)

// verdict classifies a go test -fuzz run by its error and output: a
// failure is a failing input the fuzzer wrote, a seed-corpus entry that
// failed, a panic, or a build that did not complete.
func verdict(err error, out []byte) outcome {
	if err == nil {
		return pass
	}
	for _, sign := range []string{
		"Failing input written to",
		"failure while testing seed corpus entry",
		"panic: ",
		"[build failed]",
		"[setup failed]",
	} {
		if bytes.Contains(out, []byte(sign)) {
			return finding
		}
	}
	return noFinding
}
