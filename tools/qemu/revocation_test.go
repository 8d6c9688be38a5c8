package qemu

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Visible revocation (docs/ABI.md, "Visible revocation";
// firmware/envs/testenv/revoke.go): a parent asks its child for 4 of its 16
// spare frames by a deadline. A cooperative child's handler gives back the
// frames it chooses before the deadline and loses nothing by force; a child
// that ignores the request loses, at the deadline, exactly what its loss
// log says. Either way exactly 4 frames leave the child, for its parent.
func TestVisibleRevocation(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		mode string
		told string
	}{{"give", "4"}, {"ignore", "0"}} {
		t.Run(tc.mode, func(t *testing.T) {
			t.Parallel()
			res := boot(t, "exo-manifest v1\nslots 8\nenv testenv arg=\"revoke parent "+tc.mode+"\" spare=24M spawn=yes\n", 2*time.Minute)
			require.Equal(t, 0, res.ExitCode, "the parent's status; console:\n%s", res.Console)
			require.Contains(t, res.Console, "[1 testenv] revoke: asked the child for 4 of its 16 spare frames")
			require.Contains(t, res.Console, "[1 testenv] revoke: parent got 4 frames back")
			require.Contains(t, res.Console, "[1 testenv] revoke: done")
			m := regexp.MustCompile(`\[\d+ testenv\] revoke: child told (\d+), owed (\d+), give error (\d+); spare (\d+) -> (\d+); lost (\d+):(.*)`).FindStringSubmatch(res.Console)
			require.NotNil(t, m, res.Console)
			require.Equal(t, []string{tc.told, "0", "0", "16", "12"}, m[1:6])
			if tc.mode == "give" {
				require.Equal(t, "0", m[6], "nothing taken by force")
				require.Empty(t, strings.TrimSpace(m[7]))
				require.Regexp(t, `revoke: child will give back frames 0x[0-9a-f]+\.\.0x[0-9a-f]+`, res.Console)
				return
			}
			// Four frames, logged one by one, consecutive: the end of
			// its spare run.
			require.Equal(t, "4", m[6])
			entries := strings.Fields(m[7])
			require.Len(t, entries, 4)
			var first uint64
			for i, e := range entries {
				kind, name, ok := strings.Cut(e, ":")
				require.True(t, ok)
				require.Equal(t, "1", kind, "a page")
				n, err := strconv.ParseUint(strings.TrimPrefix(name, "0x"), 16, 64)
				require.NoError(t, err)
				if i == 0 {
					first = n
				}
				require.Equal(t, first+uint64(i), n)
			}
		})
	}
}
