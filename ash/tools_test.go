package ash

import (
	"os"
	"os/exec"
	"testing"
)

// needTool returns the path of the first of names found on PATH. When none
// is, the test is skipped with a clear message, or fails if the environment
// sets EXO_REQUIRE_TOOLS=1 (as CI does), so a missing tool cannot silently
// turn a differential test into a pass.
func needTool(t testing.TB, names ...string) string {
	t.Helper()
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	if os.Getenv("EXO_REQUIRE_TOOLS") == "1" {
		t.Fatalf("required tool %v not found on PATH (EXO_REQUIRE_TOOLS=1)", names)
	}
	t.Skipf("skipping: %v not found on PATH (set EXO_REQUIRE_TOOLS=1 to make this an error)", names)
	return ""
}
