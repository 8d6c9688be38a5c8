package qemu

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/exo-os/exo/internal/testtool"
)

// These tests boot the firmware `make firmware` built (EXO_FIRMWARE) in
// QEMU, each with a boot manifest placed in memory, a hard timeout, and
// assertions on the console and the exit status. `make test` sets
// EXO_REQUIRE_TOOLS=1, which turns a missing firmware or QEMU into a failure
// rather than a skip.

func firmware(t *testing.T) string {
	t.Helper()
	testtool.Path(t, Binary)
	return testtool.Env(t, "EXO_FIRMWARE", "make test builds the firmware and sets it")
}

func boot(t *testing.T, manifest string, timeout time.Duration, mod ...func(*Config)) *Result {
	t.Helper()
	c := Config{Firmware: firmware(t), Manifest: manifest, Timeout: timeout}
	for _, m := range mod {
		m(&c)
	}
	res, err := Run(context.Background(), c)
	require.NoError(t, err)
	t.Logf("console (%v):\n%s", res.Elapsed.Round(time.Millisecond), res.Console)
	require.False(t, res.TimedOut, "QEMU still running after %v", timeout)
	return res
}

// Test 1: the first environment's Go runtime runs goroutines and a
// GC-heavy loop to completion, and its exit status becomes the machine's.
func TestBootRunsGoProgram(t *testing.T) {
	t.Parallel()
	res := boot(t, "exo-manifest v1\nenv hello mem=16M arg=\"exit=42\"\n", 2*time.Minute)
	require.Equal(t, 42, res.ExitCode)
	require.Contains(t, res.Console, `[1 hello] hello from env 1 ("exit=42")`)
	require.Contains(t, res.Console, "[1 hello] sum of squares 1..100 = 338350", "goroutines and channels")
	// time.Sleep(20ms) through the kernel: never shorter, and longer only
	// by however long other work on this machine held QEMU up.
	slept := regexp.MustCompile(`\[1 hello\] slept (\d+)ms`).FindStringSubmatch(res.Console)
	require.NotNil(t, slept, "time.Sleep through the kernel")
	ms, _ := strconv.Atoi(slept[1])
	require.GreaterOrEqual(t, ms, 20)
	m := regexp.MustCompile(`gc: (\d+) cycles, (\d+) MiB allocated`).FindStringSubmatch(res.Console)
	require.NotNil(t, m, "the GC report")
	cycles, _ := strconv.Atoi(m[1])
	allocated, _ := strconv.Atoi(m[2])
	require.GreaterOrEqual(t, cycles, 2, "the collector ran under load")
	require.Greater(t, allocated, 16, "it allocated more than its whole memory")
	requireLine(t, res, "exo: env 1 (hello) exited with status 42 (")
}

// Test 2: an environment that spins without system calls does not starve
// another: the worker finishes its rounds while the spinner still spins.
func TestSpinnerDoesNotStarve(t *testing.T) {
	t.Parallel()
	res := boot(t, "exo-manifest v1\nquantum 5ms\nenv testenv arg=\"worker 20\"\nenv testenv arg=\"spin 2000\"\n", 2*time.Minute)
	require.Equal(t, 0, res.ExitCode)
	worker := strings.Index(res.Console, "\nexo: env 1 (testenv) exited with status 0")
	spinner := strings.Index(res.Console, "[2 testenv] spin:")
	require.Positive(t, worker)
	require.Positive(t, spinner)
	require.Less(t, worker, spinner, "the worker finished while the spinner was still spinning")
	require.Len(t, res.Lines("[1 testenv] worker: round"), 20)
	m := regexp.MustCompile(`spin: (\d+) loops`).FindStringSubmatch(res.Console)
	require.NotNil(t, m)
	loops, _ := strconv.Atoi(m[1])
	require.Positive(t, loops)
	p := regexp.MustCompile(`env 2 \(testenv\) exited with status 0 \(\d+ slices, (\d+) preempted`).FindStringSubmatch(res.Console)
	require.NotNil(t, p)
	preempted, _ := strconv.Atoi(p[1])
	require.Greater(t, preempted, 10, "the spinner was taken off the CPU by the timer, again and again")
}

// Test 3: hostile environments are killed with a report naming the cause
// and address, or get errors from system calls; the bystander's memory is
// untouched and it completes.
func TestHostileEnvironments(t *testing.T) {
	t.Parallel()
	kinds := []struct {
		arg  string
		want string // the kill report after "killed: "
	}{
		{"hostile write-kernel", "store page fault at pc 0x[0-9a-f]+, address 0x80000000$"},
		{"hostile write-other", "store page fault at pc 0x[0-9a-f]+, address 0x84200000$"},
		{"hostile write-text", "store page fault at pc 0x[0-9a-f]+, address 0x1010000$"},
		{"hostile write-startup", "store page fault at pc 0x[0-9a-f]+, address 0x1000$"},
		{"hostile illegal", "illegal instruction at pc 0x[0-9a-f]+ \\(instruction 0x0\\)$|illegal instruction at pc 0x[0-9a-f]+$"},
		{"hostile mret", "illegal instruction at pc 0x[0-9a-f]+ \\(instruction 0x30200073\\)$"},
		{"hostile csr", "illegal instruction at pc 0x[0-9a-f]+ \\(instruction 0x300022f3\\)$"},
		{"hostile jump-unmapped", "instruction page fault at pc 0xdead0000, address 0xdead0000$"},
	}
	m := "exo-manifest v1\nenv testenv arg=\"bystander 300\"\nenv testenv arg=\"badptr\"\n"
	for _, k := range kinds {
		m += fmt.Sprintf("env testenv arg=%q\n", k.arg)
	}
	res := boot(t, m, 3*time.Minute)
	require.Equal(t, 0, res.ExitCode, "the bystander's status")
	require.Contains(t, res.Console, "[1 testenv] bystander: 300 rounds, canary intact")
	require.Contains(t, res.Console, "[2 testenv] badptr: all 13 bad calls refused with the right error")
	requireLine(t, res, "exo: env 2 (testenv) exited with status 0")
	for i, k := range kinds {
		id := i + 3
		lines := res.Lines(fmt.Sprintf("exo: env %d (testenv) killed: ", id))
		require.Len(t, lines, 1, "env %d (%s) has one kill report", id, k.arg)
		require.Regexp(t, k.want, strings.SplitN(lines[0], "killed: ", 2)[1], "env %d (%s)", id, k.arg)
	}
	require.NotContains(t, res.Console, "survived")
	requireLine(t, res, "exo: all environments finished")
}

// Test 4: many environments at once, each in its own address space, with
// floating-point work that would expose leaked or lost FP state.
func TestManyEnvironments(t *testing.T) {
	t.Parallel()
	m := "exo-manifest v1\nquantum 2ms\n"
	for i := 0; i < 4; i++ {
		m += "env hello mem=16M\n"
	}
	for i := 0; i < 4; i++ {
		m += "env testenv mem=16M arg=\"float 40\"\n"
	}
	for i := 0; i < 2; i++ {
		m += "env testenv mem=16M arg=\"worker 10\"\n"
	}
	res := boot(t, m, 3*time.Minute)
	require.Equal(t, 0, res.ExitCode)
	for id := 1; id <= 10; id++ {
		require.Len(t, res.Lines(fmt.Sprintf("exo: env %d ", id)), 1, "env %d finished once", id)
		require.Contains(t, res.Console, fmt.Sprintf("exo: env %d (", id))
	}
	exited := 0
	for _, l := range res.Lines("exo: env ") {
		if strings.Contains(l, ") exited with status 0 (") {
			exited++
		}
	}
	require.Equal(t, 10, exited)
	require.Equal(t, 4, strings.Count(res.Console, "float: 40 rounds exact"))
	require.NotContains(t, res.Console, "killed")
}

// The kernel refuses to boot without what it needs, and says why.
func TestBootRefusals(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		manifest string
		mod      func(*Config)
		want     string
	}{
		{"no entropy", "exo-manifest v1\nenv hello\n", func(c *Config) { c.NoEntropy = true }, "no entropy source"},
		{"bad manifest", "exo-manifest v1\nenv hello mem=3\n", nil, "placed at 0x84100000 manifest: manifest line 2: mem: \"3\" is not a multiple of 4096"},
		{"unknown image", "exo-manifest v1\nenv nosuch\n", nil, `manifest line 2: no image named "nosuch"`},
		{"too little memory", "exo-manifest v1\nenv hello\n", func(c *Config) { c.Memory = "96M" }, "96 MiB of RAM, the kernel needs at least"},
	} {
		var mods []func(*Config)
		if tc.mod != nil {
			mods = append(mods, tc.mod)
		}
		res := boot(t, tc.manifest, time.Minute, mods...)
		require.Contains(t, res.Console, tc.want, tc.name)
		require.NotEqual(t, 0, res.ExitCode, tc.name)
		require.NotContains(t, res.Console, "[1 ", "%s: no environment ran", tc.name)
	}
}

// An environment whose Go runtime dies during its own start-up still exits
// (through the kernel), so the machine does not hang on it.
func TestEnvironmentDyingAtStartup(t *testing.T) {
	t.Parallel()
	res := boot(t, "exo-manifest v1\nenv testenv mem=16M arg=\"worker 3\"\nenv testenv mem=6M arg=\"worker 3\"\n", time.Minute)
	require.Equal(t, 0, res.ExitCode)
	require.Contains(t, res.Console, "[2 testenv] fatal error: out of memory")
	requireLine(t, res, "exo: env 2 (testenv) exited with status 2")
	requireLine(t, res, "exo: env 1 (testenv) exited with status 0")
}

// The capability issue's scenario: a parent passes a child a read-only
// capability for one of its pages; the child maps and reads it, is refused
// write access three ways (its capability, a derivation adding write, a
// forged record), learns of the revocation of its read-write page and is
// refused with the old capability, and dies writing the read-only page. A
// bystander runs throughout, undisturbed.
func TestCapabilitySharing(t *testing.T) {
	t.Parallel()
	res := boot(t, "exo-manifest v1\nslots 8\nenv testenv arg=\"share\" spare=24M spawn=yes\nenv testenv arg=\"bystander 100\"\n", 2*time.Minute)
	require.Equal(t, 0, res.ExitCode, "the parent's status")
	// The child's id is the lowest free one when it is spawned: 3, or 2
	// if the bystander has already finished (ids are reused).
	started := regexp.MustCompile(`\[1 testenv\] share: started env (\d+) in slot \d+ with a read-only capability for page (0x[0-9a-f]+)`).FindStringSubmatch(res.Console)
	require.NotNil(t, started)
	c, page := "["+started[1]+" testenv] ", started[2]
	for _, want := range []string{
		c + `child: read "written by env 1 for its child" through a read-only mapping of page ` + page,
		c + "child: map read-write with the read-only capability: exo: ECAPRIGHTS (11)",
		c + "child: derive a write capability: caps: rights not held",
		c + "child: map read-write with a forged capability: exo: ECAPFORGED (9)",
		c + "child: writing to the read-only page",
		"[1 testenv] share: the child has finished (status 0x100000000)",
		"[2 testenv] bystander: 100 rounds, canary intact",
	} {
		require.Contains(t, res.Console, want)
	}
	revoked := regexp.MustCompile(`share: revoked page (0x[0-9a-f]+), the child's read-write page`).FindStringSubmatch(res.Console)
	require.NotNil(t, revoked)
	require.Contains(t, res.Console, c+"child: lost page "+revoked[1]+" mapped at 0x40001000")
	require.Contains(t, res.Console, c+"child: the old flag capability: exo: ECAPREVOKED (13): name "+revoked[1]+" was revoked")
	require.Regexp(t, `(?m)^exo: env `+started[1]+` \(testenv\) killed: store page fault at pc 0x[0-9a-f]+, address 0x40000000$`, res.Console)
	requireLine(t, res, "exo: env 2 (testenv) exited with status 0")
}

// A hostile environment presents thousands of forged capabilities and gets
// nothing mapped, while a bystander runs unaffected.
func TestForgedCapabilities(t *testing.T) {
	t.Parallel()
	res := boot(t, "exo-manifest v1\nenv testenv arg=\"bystander 200\"\nenv testenv arg=\"forger 5000\"\n", 2*time.Minute)
	require.Equal(t, 0, res.ExitCode)
	require.Contains(t, res.Console, "[1 testenv] bystander: 200 rounds, canary intact")
	m := regexp.MustCompile(`\[2 testenv\] forger: (\d+) forged capabilities, (\d+) accepted, (\d+) left a mapping; refused with map\[(.*)\]`).FindStringSubmatch(res.Console)
	require.NotNil(t, m)
	require.Equal(t, []string{"5000", "0", "0"}, m[1:4])
	for _, code := range []string{"ECAPFORGED", "ECAPMALFORMED", "ECAPKIND"} {
		require.Contains(t, m[4], code+":", "the forgeries reach the %s refusal", code)
	}
	requireLine(t, res, "exo: env 2 (testenv) exited with status 0")
	require.NotContains(t, res.Console, "ACCEPTED")
	require.NotContains(t, res.Console, "killed")
}
