package qemu

import (
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/exo-os/exo/internal/testtool"
)

// The QEMU tests of issue 10: what an environment makes the kernel hold
// is charged to it and comes back; nothing holds the machine; the
// console's lines have one author; PMP, not only the page table, keeps
// User mode out of the kernel.

// requireLine fails unless some console line starts with prefix: kernel
// lines start with "exo: ", which no environment can write at the start of
// a line (each of its lines starts "[id name] ").
func requireLine(t *testing.T, res *Result, prefix string) {
	t.Helper()
	require.NotEmpty(t, res.Lines(prefix), "a console line starting %q", prefix)
}

// lateUs returns the kernel's closing report of the longest a due timer
// interrupt waited, in microseconds.
func lateUs(t *testing.T, res *Result) int {
	t.Helper()
	m := regexp.MustCompile(`(?m)^exo: longest wait of a due timer interrupt: (\d+) us`).FindStringSubmatch(res.Console)
	require.NotNil(t, m, "the kernel's closing report")
	n, _ := strconv.Atoi(m[1])
	return n
}

// An environment's carriage return, escape sequences and a line made to
// look like the kernel's are shown as text on its own line, so the test's
// kernel-line match finds only the kernel's.
func TestConsoleCannotBeSpoofed(t *testing.T) {
	t.Parallel()
	res := boot(t, "exo-manifest v1\nenv testenv arg=\"ctlbytes\"\n", time.Minute)
	require.Equal(t, 0, res.ExitCode)
	require.Contains(t, res.Console, "[1 testenv] hidden\\x0dexo: env 1 (testenv) exited with status 0\n")
	require.Contains(t, res.Console, "[1 testenv] \\x1b[2J\\x1b[H\\x07cleared\n")
	require.Contains(t, res.Console, "[1 testenv] c1 csi \\u009b31m, invalid \\xff\n")
	lines := res.Lines("exo: env 1 (testenv) exited with status 0")
	require.Len(t, lines, 1)
	require.Regexp(t, `^exo: env 1 \(testenv\) exited with status 0 \(\d+ slices`, lines[0], "the kernel's own line")
	for _, b := range []byte(res.Console) {
		require.False(t, b < 0x20 && b != '\n' && b != '\t', "control byte %#x reached the terminal", b)
	}
}

// An environment that maps a page in every 2 MiB region spends its own
// page-table charge and is refused alone; another environment then starts
// a 16 MiB child out of its own spare frames.
func TestPageTablesChargedToTheMapper(t *testing.T) {
	t.Parallel()
	res := boot(t, "exo-manifest v1\nslots 8\nenv testenv arg=\"ptbomb\"\nenv testenv arg=\"bystander 100\"\nenv testenv arg=\"spawnone\" spare=20M spawn=yes\n", 2*time.Minute)
	require.Equal(t, 0, res.ExitCode)
	require.Regexp(t, `\[1 testenv\] ptbomb: \d+ mappings, then exo: ENOMEM \(6\); page tables (\d+) of (\d+)\n`, res.Console)
	require.Regexp(t, `\[3 testenv\] spawnone: env \d+ finished with status 0x0 \(<nil>\)\n`, res.Console)
	requireLine(t, res, "exo: env 1 (testenv) exited with status 0")
	requireLine(t, res, "exo: env 3 (testenv) exited with status 0")
	require.Contains(t, res.Console, "[2 testenv] bystander: 100 rounds, canary intact")
}

// A spawn bomb is refused when its tree's share of env ids (spawn=4: four
// descendants at once) is spent, another when its spare frames are; reaping gives every frame and
// id back, a reused id is not named by its last holder's capability, and
// a third tree spawns meanwhile.
func TestSpawnBombChargedToItsTree(t *testing.T) {
	t.Parallel()
	res := boot(t, "exo-manifest v1\nslots 16\nenv testenv arg=\"spawnbomb\" spare=40M spawn=4\nenv testenv arg=\"spawnbomb\" spare=14M spawn=16\nenv testenv arg=\"bystander 100\"\nenv testenv arg=\"spawnone\" spare=20M spawn=yes\n", 3*time.Minute)
	require.Equal(t, 0, res.ExitCode)
	for _, tc := range []struct {
		env, kids int
		refusal   string
	}{
		{1, 4, "exo: ENOMEM (6)"}, // spawn=4: four descendants at once
		{2, 2, "libos: no spare run holds the frames the child needs (1578 frames for 6 MiB of RAM)"},
	} {
		m := regexp.MustCompile(fmt.Sprintf(`\[%d testenv\] spawnbomb: round 1: (\d+) children, then (.*); round 2: (\d+) children, then (.*); env (\d+)'s first capability: (.*)\n`, tc.env)).FindStringSubmatch(res.Console)
		require.NotNil(t, m, "env %d's report", tc.env)
		require.Equal(t, strconv.Itoa(tc.kids), m[1], "env %d", tc.env)
		require.Equal(t, m[1], m[3], "env %d: the second round got as far", tc.env)
		require.Equal(t, tc.refusal, m[2])
		require.Equal(t, tc.refusal, m[4])
		require.Contains(t, m[6], "ECAPREVOKED")
		requireLine(t, res, fmt.Sprintf("exo: env %d (testenv) exited with status 0", tc.env))
	}
	require.Regexp(t, `\[4 testenv\] spawnone: env \d+ finished with status 0x0 \(<nil>\)\n`, res.Console)
	require.Contains(t, res.Console, "[3 testenv] bystander: 100 rounds, canary intact")
}

// W^X holds across mappings: no frame is writable in one mapping and
// executable in another.
func TestWXAcrossMappings(t *testing.T) {
	t.Parallel()
	res := boot(t, "exo-manifest v1\nenv testenv arg=\"wx\"\n", time.Minute)
	require.Equal(t, 0, res.ExitCode)
	require.Contains(t, res.Console, "[1 testenv] wx: writable alias of text: exo: EINVAL (4); executable alias of data: exo: EINVAL (4); executable alias of text: <nil>\n")
}

// stormBound is the longest a due timer interrupt may wait while the storm
// runs, in microseconds of -icount time (one instruction a nanosecond):
// the measured worst case is about 30 us (docs/ABI.md); before the
// kernel's long work became bounded steps, a 700 MiB spawn alone held the
// machine for about 1.8 s.
const stormBound = 500

// No kernel work holds the machine: while an environment spawns a child
// of almost 700 MiB, writes the console's limit, draws entropy, verifies
// uncached capabilities, revokes its RAM and destroys the child mid-build,
// a bystander runs, and no due timer interrupt waits longer than
// stormBound. Under -icount, so the bound is in instructions and the test
// does not depend on the machine's load.
func TestNoKernelWorkHoldsTheMachine(t *testing.T) {
	t.Parallel()
	m, err := os.ReadFile("../exorun/storm.manifest")
	require.NoError(t, err)
	res := boot(t, string(m), 4*time.Minute,
		func(c *Config) { c.Extra = append(c.Extra, "-icount", "shift=0") })
	require.Equal(t, 0, res.ExitCode)
	require.Regexp(t, `\[2 testenv\] storm: spawned env \d+ with \d+ MiB\n`, res.Console)
	require.Regexp(t, `\[2 testenv\] storm: destroyed env \d+ in state \d; (\d+) of (\d+) spare frames back\n`, res.Console)
	require.Contains(t, res.Console, "[1 testenv] bystander: 5000 rounds, canary intact")
	require.Regexp(t, `\[3 testenv\] verifybomb: \d+-instruction filter: .*EPROGRAM.*, after \d+ us\n`, res.Console, "the verifier's budget refused the bomb")
	require.Regexp(t, `\[3 testenv\] verifybomb: 256-instruction filter: <nil>, after \d+ us\n`, res.Console, "the longest program binds")
	bystanderDone := strings.Index(res.Console, "[1 testenv] bystander: 5000 rounds")
	require.Less(t, strings.Index(res.Console, "storm: spawned"), bystanderDone, "the storm ran while the bystander did")
	late := lateUs(t, res)
	t.Logf("longest wait of a due timer interrupt: %d us (bound %d)", late, stormBound)
	require.LessOrEqual(t, late, stormBound)
}

// PMP keeps User mode out of the kernel's memory even where a page table
// maps it: the test build (exo_pmptest) maps the kernel's first page into
// every environment, and a load, a store and a jump there are access
// faults (not page faults) that kill only the environment that made them.
func TestPMPRefusesKernelPage(t *testing.T) {
	t.Parallel()
	fw := testtool.Env(t, "EXO_PMPTEST_FIRMWARE", "make test builds the PMP test kernel and sets it")
	m := "exo-manifest v1\nenv testenv arg=\"bystander 100\"\n"
	for _, k := range []string{"load", "store", "exec"} {
		m += fmt.Sprintf("env testenv arg=\"pmp %s\"\n", k)
	}
	res := boot(t, m, 2*time.Minute, func(c *Config) { c.Firmware = fw })
	require.Equal(t, 0, res.ExitCode)
	require.Contains(t, res.Console, "exo: WARNING: PMP test build: every environment maps the kernel page at 0x80000000")
	for i, want := range []string{
		`load access fault at pc 0x[0-9a-f]+, address 0x4000$`,
		`store access fault at pc 0x[0-9a-f]+, address 0x4000$`,
		`instruction access fault at pc 0x4000, address 0x4000$`,
	} {
		lines := res.Lines(fmt.Sprintf("exo: env %d (testenv) killed: ", i+2))
		require.Len(t, lines, 1)
		require.Regexp(t, want, lines[0])
	}
	require.NotContains(t, res.Console, "survived")
	require.Contains(t, res.Console, "[1 testenv] bystander: 100 rounds, canary intact")
}
