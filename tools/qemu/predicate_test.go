package qemu

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Wakeup predicates (docs/ABI.md, "Wakeup predicates";
// firmware/envs/testenv/predicate.go). One boot: testenv "pred" spawns
// "predsrv" with three shared pages; the child has a predicate that does
// not verify refused, then blocks on "the shared word is nonzero"; the
// parent sleeps 50 ms, sees the child still blocked (no acknowledgement,
// the kernel reports it waiting), writes the word, and the child wakes
// and acknowledges what it saw; then 200 round trips through a pipe whose
// both sides wait on ring predicates instead of yielding. The kernel's
// counters show the predicate was evaluated (and false) in the child's
// slots before the write and held exactly once.
func TestPredicateWake(t *testing.T) {
	t.Parallel()
	m := "exo-manifest v1\nslots 8\n" +
		"env testenv arg=\"bystander 5000\"\n" +
		"env testenv arg=\"pred 200\" spare=24M spawn=yes\n"
	res := boot(t, m, 3*time.Minute)
	require.Equal(t, 0, res.ExitCode, "the bystander's status")
	c := res.Console
	blocking := strings.Index(c, "[3 testenv] predsrv: blocking on the word")
	still := strings.Index(c, "[2 testenv] pred: child env 3 still blocked after 50 ms: ack 0, state 4")
	writing := strings.Index(c, "[2 testenv] pred: writing the word")
	woke := strings.Index(c, "[3 testenv] predsrv: woke (held true, err <nil>): word 42;")
	ack := strings.Index(c, "[2 testenv] pred: child woke and saw 42")
	require.True(t, blocking >= 0 && still > blocking && writing > still && woke > writing && ack > woke,
		"order: blocking %d, still blocked %d, writing %d, woke %d, ack %d\n%s", blocking, still, writing, woke, ack, c)

	// The kernel's counters: evaluated in several of the child's slots
	// while false (50 ms of 10 ms quanta), held once, three bytecode
	// instructions an evaluation.
	mm := regexp.MustCompile(`predsrv: woke \(held true, err <nil>\): word 42; ([0-9]+) evaluations, ([0-9]+) wakes, ([0-9]+) instructions`).FindStringSubmatch(c)
	require.NotNil(t, mm)
	evals, _ := strconv.Atoi(mm[1])
	wakes, _ := strconv.Atoi(mm[2])
	insns, _ := strconv.Atoi(mm[3])
	require.GreaterOrEqual(t, evals, 3, "evaluated while false")
	require.Equal(t, 1, wakes)
	require.Equal(t, 3*evals, insns)
	t.Logf("predicate evaluations before the write: %d", evals-1)

	require.Regexp(t, `\[2 testenv\] pred: 200 pipe round trips on predicates, 0 wrong; [0-9]+ waits, [0-9]+ evaluations`, c)
	require.Regexp(t, `\[2 testenv\] pred: pipe round trip on predicates [0-9]+ ns \(mean of 200\)`, c)
	for _, l := range res.Lines("[2 testenv] pred: pipe round trip") {
		t.Log(l)
	}
	requireLine(t, res, "[2 testenv] pred: child status 0")
	requireLine(t, res, "exo: env 2 (testenv) exited with status 0")
	require.NotContains(t, c, "killed")
}
