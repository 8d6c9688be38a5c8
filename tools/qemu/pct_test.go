package qemu

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Protected control transfers and the ExOS IPC table (docs/ABI.md,
// "Protected control transfers"; libos/ipc; firmware/envs/testenv/ipc.go).
// One boot: testenv "ipc" spawns its server and checks every reply of 20
// round trips through a pipe, a word pipe, a shared word, and 20
// synchronous transfers into the server's entry point carrying values in
// a0..a5 (the server's procedure sums two, echoes one, returns its
// counter and the caller's id), then one asynchronous transfer; a
// bystander keeps running from before the first transfer to after the
// last, its memory untouched.
func TestPCTPingPong(t *testing.T) {
	t.Parallel()
	m := "exo-manifest v1\nslots 8\n" +
		"env testenv arg=\"bystander 20000\"\n" +
		"env testenv arg=\"ipc 20\" spare=24M spawn=yes\n"
	res := boot(t, m, 3*time.Minute)
	require.Equal(t, 0, res.ExitCode, "the bystander's status")
	for _, col := range []string{"pipe", "pipe'", "shm", "lrpc"} {
		require.Contains(t, res.Console, "[2 testenv] ipc: "+col+": round trips done, 0 wrong\n")
	}
	require.Regexp(t, `\[3 testenv\] ipcsrv: served 21 lrpc calls\n`, res.Console, "20 synchronous, 1 asynchronous")
	require.Contains(t, res.Console, "[2 testenv] ipc: 21 lrpc calls made (one asynchronous), 0 wrong replies, server status 0\n")
	requireLine(t, res, "exo: env 2 (testenv) exited with status 0")
	requireLine(t, res, "exo: env 3 (testenv) exited with status 0")

	// The bystander ran before, during and after the transfers.
	c := res.Console
	ready := strings.Index(c, "ipc: server env 3 ready")
	lrpc := strings.Index(c, "ipc: lrpc: round trips done")
	done := strings.Index(c, "[1 testenv] bystander: 20000 rounds, canary intact")
	require.True(t, ready > 0 && lrpc > ready && done > lrpc, "bystander end after the transfers: ready %d, lrpc %d, bystander %d", ready, lrpc, done)
	require.Regexp(t, `\[1 testenv\] bystander: round [0-9]+ ok`, c[ready:lrpc], "bystander progress during the IPC")
	require.NotContains(t, c, "killed")
}

// The ExOS IPC table under -icount (one instruction a nanosecond): a round
// trip of each column against the procedure call in the same boot, with
// no other environment to take quanta between the two.
func TestPCTIPCCost(t *testing.T) {
	t.Parallel()
	res := boot(t, "exo-manifest v1\nslots 4\nenv testenv arg=\"ipc 2000 bench\" spare=24M spawn=yes\n", 3*time.Minute, func(c *Config) {
		c.Extra = append(c.Extra, "-icount", "shift=0")
	})
	require.Equal(t, 0, res.ExitCode)
	require.Contains(t, res.Console, "ipc: 10001 lrpc calls made (one asynchronous), 0 wrong replies, server status 0")
	require.Regexp(t, `bench: ipc procedure call +[0-9.]+ ns`, res.Console)
	for _, col := range []string{`pipe `, `pipe'`, `shm  `, `lrpc `} {
		require.Regexp(t, regexp.MustCompile(`bench: ipc `+regexp.QuoteMeta(col)+` round trip +[0-9.]+ ns +[0-9.]+x the call`), res.Console)
	}
	for _, l := range res.Lines("[1 testenv] bench: ipc") {
		t.Log(l)
	}
}
