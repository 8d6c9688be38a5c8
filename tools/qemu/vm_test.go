package qemu

import (
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// User-level virtual memory (docs/ABI.md, "Virtual memory primitives";
// firmware/envs/testenv/vmbench.go): the dirty bit cleared, then set by a
// store and not by a load; a page protected read-only, then no-access,
// each faulting into libos's handler, which unprotects the page and
// resumes the access; 100 pages protected and written, 100 faults; a
// bystander throughout.
func TestVMProtectFaultResume(t *testing.T) {
	t.Parallel()
	m := "exo-manifest v1\n" +
		"env testenv arg=\"bystander 300\"\n" +
		"env testenv arg=\"vm test\"\n"
	res := boot(t, m, 3*time.Minute)
	require.Equal(t, 0, res.ExitCode, "the bystander's status")
	require.Contains(t, res.Console, "[1 testenv] bystander: 300 rounds, canary intact")
	require.Contains(t, res.Console, "[2 testenv] vm: test: bits after clear 0x1, after a load 0x3, after a store 0x7")
	require.Contains(t, res.Console, "[2 testenv] vm: test: store to a read-only page: 1 faults (at 0x8, err <nil>); load of a no-access page read 0x5eed: 2 faults (at 0x8, err <nil>)")
	require.Contains(t, res.Console, "[2 testenv] vm: test: 100 pages protected and written: 100 faults more, sum 4950, err <nil>")
	require.Contains(t, res.Console, "[2 testenv] vm: test: ok")
	requireLine(t, res, "exo: env 2 (testenv) exited with status 0")
	require.NotContains(t, res.Console, "killed")
}

// The ExOS virtual memory table under -icount (one instruction a
// nanosecond): each figure and its ratio to the procedure call.
func TestVMBench(t *testing.T) {
	t.Parallel()
	res := boot(t, "exo-manifest v1\nenv testenv arg=\"vm bench\"\n", 5*time.Minute, func(c *Config) {
		c.Extra = append(c.Extra, "-icount", "shift=0")
	})
	require.Equal(t, 0, res.ExitCode)
	for _, name := range []string{"dirty", "prot1", "unprot1", "prot100", "unprot100", "trap", "appel1", "appel2"} {
		require.Regexp(t, regexp.MustCompile(`bench: vm: `+name+` +[0-9.]+ ns  [0-9.]+x the call`), res.Console)
	}
	for _, l := range res.Lines("[1 testenv] bench: vm:") {
		t.Log(l)
	}
}
