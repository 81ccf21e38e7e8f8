// Package testenv holds test helpers shared by the packages of this module.
package testenv

import (
	"os"
	"os/exec"
	"testing"
)

// Require returns the path of program, found with exec.LookPath. If the
// machine lacks it the test is skipped with a message, unless the
// environment variable PYHTTP_REQUIRE_ALL is "1" (as in CI), in which case
// the test fails.
func Require(t testing.TB, program string) string {
	t.Helper()
	path, err := exec.LookPath(program)
	if err == nil {
		return path
	}
	if os.Getenv("PYHTTP_REQUIRE_ALL") == "1" {
		t.Fatalf("%s is required (PYHTTP_REQUIRE_ALL=1): %v", program, err)
	}
	t.Skipf("%s not found, skipping: %v", program, err)
	return ""
}
