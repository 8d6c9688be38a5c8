package qemu

import (
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Exceptions reflected to the environment (docs/ABI.md, "Exceptions";
// firmware/envs/testenv/exc.go). One boot: an env that catches its own
// page fault and maps the page; one whose handler faults (killed alone);
// a Go program that recovers from nil dereferences; a Go program's wild
// load, which still ends in the kernel's report; a bystander throughout.
func TestExceptionsReflected(t *testing.T) {
	t.Parallel()
	m := "exo-manifest v1\n" +
		"env testenv arg=\"bystander 300\"\n" +
		"env testenv arg=\"exc map\"\n" +
		"env testenv arg=\"exc nested\"\n" +
		"env testenv arg=\"exc gopanic\"\n" +
		"env testenv arg=\"exc gowild\"\n"
	res := boot(t, m, 3*time.Minute)
	require.Equal(t, 0, res.ExitCode, "the bystander's status")
	require.Contains(t, res.Console, "[1 testenv] bystander: 300 rounds, canary intact")

	// 2: the handler mapped the page and the load went on.
	require.Regexp(t, `\[2 testenv\] exc: map: caught the page fault at 0x50000[0-9a-f]{3}, mapped page 0x[0-9a-f]+, read 0x5eedf00d \(1 exceptions\)`, res.Console)
	require.Contains(t, res.Console, "[2 testenv] exc: map: skipped an illegal instruction and a misaligned AMO (3 exceptions)")
	requireLine(t, res, "exo: env 2 (testenv) exited with status 0")

	// 3: a fault in the handler ends it, with the report.
	require.Regexp(t, `(?m)^exo: env 3 \(testenv\) killed: load page fault at pc 0x[0-9a-f]+, address 0xbad000 \(in its exception handler\)$`, res.Console)
	require.NotContains(t, res.Console, "nested: survived")

	// 4: Go panics, recovered.
	require.Contains(t, res.Console, "[4 testenv] exc: gopanic: recovered 200 nil dereferences here and 200 in a goroutine, a nil func call, a wild load with SetPanicOnFault; 0 wrong")
	require.Contains(t, res.Console, "[4 testenv] exc: gopanic: runtime error: invalid memory address or nil pointer dereference")
	requireLine(t, res, "exo: env 4 (testenv) exited with status 0")

	// 5: a wild load without SetPanicOnFault: Go's message, then the
	// kernel's report of the load as it happened.
	require.Contains(t, res.Console, "[5 testenv] unexpected fault address 0xdead0000")
	require.Regexp(t, `(?m)^exo: env 5 \(testenv\) killed: load page fault at pc 0x[0-9a-f]+, address 0xdead0000$`, res.Console)
	require.NotContains(t, res.Console, "gowild: survived")
	requireLine(t, res, "exo: all environments finished")
}

// Exception dispatch under -icount (one instruction a nanosecond): an
// illegal instruction and a misaligned AMO delivered to an assembly
// handler and resumed, against the null system call in the same boot.
func TestExceptionDispatchCost(t *testing.T) {
	t.Parallel()
	res := boot(t, "exo-manifest v1\nenv testenv arg=\"exc bench\"\n", 3*time.Minute, func(c *Config) {
		c.Extra = append(c.Extra, "-icount", "shift=0")
	})
	require.Equal(t, 0, res.ExitCode)
	for _, re := range []string{
		`exc: bench: procedure call [0-9.]+ ns, null system call [0-9.]+ ns`,
		`exc: bench: illegal instruction delivered and resumed [0-9.]+ ns +[0-9.]+x the null call`,
		`exc: bench: misaligned AMO delivered and resumed +[0-9.]+ ns +[0-9.]+x the null call`,
	} {
		require.Regexp(t, regexp.MustCompile(re), res.Console)
	}
	for _, l := range res.Lines("[1 testenv] exc: bench:") {
		t.Log(l)
	}
}
