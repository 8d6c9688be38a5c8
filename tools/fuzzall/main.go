// Command fuzzall runs every fuzz target in the module for a short time
// (`make fuzz-brief`, part of `make test`). Each target's checked-in corpus
// (testdata/fuzz) runs as regression tests in plain `go test`; this adds a
// little new exploration on every run.
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"strings"
)

func main() {
	fuzztime := flag.String("fuzztime", "10s", "time per fuzz target")
	minimize := flag.String("fuzzminimizetime", "1s", "time to minimize each new input (go test -fuzzminimizetime)")
	flag.Parse()

	out, err := exec.Command("go", "test", "-list", "^Fuzz", "./...").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "fuzzall: listing fuzz targets: %v\n%s", err, out)
		os.Exit(1)
	}
	type target struct{ pkg, name string }
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
	failed := 0
	for _, t := range targets {
		fmt.Printf("fuzzall: %s %s for %s\n", t.pkg, t.name, *fuzztime)
		// Go minimizes every new interesting input for up to a minute by
		// default; a minimization still running when -fuzztime ends fails
		// the run ("context deadline exceeded") without any finding, so
		// keep it well inside a brief run's time.
		cmd := exec.Command("go", "test", "-run", "^$", "-fuzz", "^"+t.name+"$", "-fuzztime", *fuzztime, "-fuzzminimizetime", *minimize, t.pkg)
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		if err := cmd.Run(); err != nil {
			fmt.Printf("fuzzall: %s %s FAILED: %v\n", t.pkg, t.name, err)
			failed++
		}
	}
	fmt.Printf("fuzzall: %d targets, %d failed\n", len(targets), failed)
	if failed > 0 {
		os.Exit(1)
	}
}
