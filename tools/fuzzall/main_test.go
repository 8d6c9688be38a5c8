package main

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
)

// Outputs recorded from go1.26 runs of a scratch module's fuzz targets
// (and, for the coordinator race, from the CI failure the race caused).
func TestVerdict(t *testing.T) {
	failed := errors.New("exit status 1")
	for _, tc := range []struct {
		name string
		err  error
		out  string
		want outcome
	}{
		{"clean run", nil, "fuzz: elapsed: 3s, execs: 20000 (6666/sec), new interesting: 0 (total: 31)\nPASS\nok  \tx\t3.1s\n", pass},
		{"new failing input", failed, "--- FAIL: FuzzX (0.13s)\n    --- FAIL: FuzzX (0.00s)\n        f_test.go:6: found\n    \n    Failing input written to testdata/fuzz/FuzzX/1a4feb8ad1fe53b6\n    To re-run:\n    go test -run=FuzzX/1a4feb8ad1fe53b6\nFAIL\n", finding},
		{"seed entry panics", failed, "failure while testing seed corpus entry: FuzzP/seed#0\n--- FAIL: FuzzP (0.01s)\n    --- FAIL: FuzzP (0.00s)\n        testing.go:1927: panic: boom\n", finding},
		{"panic in the fuzz function", failed, "--- FAIL: FuzzX (1.20s)\n        panic: runtime error: index out of range [3] with length 3\n", finding},
		{"build error", failed, "# github.com/exo-os/exo/ash\nash/x.go:3:1: syntax error\nFAIL\tgithub.com/exo-os/exo/ash [build failed]\n", finding},
		{"coordinator race", failed, "fuzz: elapsed: 10s, execs: 4211 (421/sec), new interesting: 0 (total: 96)\n--- FAIL: FuzzLoadELF (10.03s)\n    context deadline exceeded\nFAIL\nexit status 1\nFAIL\tgithub.com/exo-os/exo/ash\t10.1s\n", noFinding},
	} {
		require.Equal(t, tc.want, verdict(tc.err, []byte(tc.out)), tc.name)
	}
}

func TestParseListAndBudgets(t *testing.T) {
	out := "FuzzLoadELF\nFuzzVerifyRun\nok  \tgithub.com/exo-os/exo/ash\t0.01s\n" +
		"?   \tgithub.com/exo-os/exo/tools/exorun\t[no test files]\n" +
		"FuzzNew\nok  \tgithub.com/exo-os/exo/kernel/new\t0.01s\n"
	got := parseList([]byte(out))
	require.Equal(t, []target{
		{"github.com/exo-os/exo/ash", "FuzzLoadELF"},
		{"github.com/exo-os/exo/ash", "FuzzVerifyRun"},
		{"github.com/exo-os/exo/kernel/new", "FuzzNew"},
	}, got)
	require.Equal(t, 4000, got[0].budget())
	require.Equal(t, 60000, got[1].budget())
	require.Equal(t, defaultBudget, got[2].budget())
}
