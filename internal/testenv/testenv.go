// Package testenv finds the programs that tests need and may lack.
package testenv

import (
	"os"
	"os/exec"
	"testing"
)

// Require returns the path of program (looked up with exec.LookPath, so an
// absolute path is checked as it is). When it is missing the test is
// skipped with a clear message, or fails if PYHTTP_REQUIRE_ALL=1 is set,
// as in CI, which must never pass without running such tests.
func Require(t testing.TB, program string) string {
	t.Helper()
	path, err := exec.LookPath(program)
	if err == nil {
		return path
	}
	if os.Getenv("PYHTTP_REQUIRE_ALL") == "1" {
		t.Fatalf("%s is required (PYHTTP_REQUIRE_ALL=1) but missing: %v", program, err)
	}
	t.Skipf("skipping: %s not found (%v); install it or set PYHTTP_REQUIRE_ALL=1 to make this a failure", program, err)
	return ""
}
