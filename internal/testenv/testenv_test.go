package testenv

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

func TestRequireFindsProgram(t *testing.T) {
	if got := Require(t, "sh"); !strings.HasSuffix(got, "/sh") {
		t.Errorf("Require(sh) = %q", got)
	}
}

// A missing program fails the test under PYHTTP_REQUIRE_ALL=1 and skips it
// otherwise; the verdict is read from a child test binary run.
func TestRequireMissing(t *testing.T) {
	if os.Getenv("TESTENV_CHILD") == "1" {
		Require(t, "/nonexistent/pyhttp-no-such-program")
		t.Log("NOT STOPPED")
		return
	}
	for _, tc := range []struct{ requireAll, want string }{{"", "--- SKIP"}, {"1", "--- FAIL"}} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestRequireMissing$", "-test.v")
		cmd.Env = append(os.Environ(), "TESTENV_CHILD=1", "PYHTTP_REQUIRE_ALL="+tc.requireAll)
		out, _ := cmd.CombinedOutput()
		if !strings.Contains(string(out), tc.want) || strings.Contains(string(out), "NOT STOPPED") {
			t.Errorf("PYHTTP_REQUIRE_ALL=%q: want %s, got\n%s", tc.requireAll, tc.want, out)
		}
	}
}
