// Package testtool finds the external programs tests need (QEMU, tcpdump,
// mkimage, ...) and decides what a missing one means: under `make test`,
// which sets EXO_REQUIRE_TOOLS=1, a failure; in a plain `go test`, a skip
// that says what was missing.
package testtool

import (
	"os"
	"os/exec"
	"testing"
)

// Required reports whether missing tools fail tests instead of skipping them.
func Required() bool { return os.Getenv("EXO_REQUIRE_TOOLS") == "1" }

// Path returns the path of the program name, or ends the test.
func Path(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		Missing(t, name+" not found in PATH")
	}
	return p
}

// Missing ends the test because something it needs is absent: a failure
// when tools are required, else a skip.
func Missing(t testing.TB, what string) {
	t.Helper()
	if Required() {
		t.Fatalf("%s (EXO_REQUIRE_TOOLS=1)", what)
	}
	t.Skipf("%s; skipping (make test requires it)", what)
}

// Env returns the value of the environment variable name, or ends the test
// if it is unset.
func Env(t testing.TB, name, why string) string {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		Missing(t, name+" is not set ("+why+")")
	}
	return v
}
