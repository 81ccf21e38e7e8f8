package testenv

import (
	"os/exec"
	"testing"
)

func TestRequireFindsProgram(t *testing.T) {
	want, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	if got := Require(t, "sh"); got != want {
		t.Errorf("Require(sh) = %q, want %q", got, want)
	}
}

// A missing program skips the test, or fails it under PYHTTP_REQUIRE_ALL=1.
func TestRequireMissingProgram(t *testing.T) {
	for _, tc := range []struct {
		env        string
		skip, fail bool
	}{{"", true, false}, {"1", false, true}} {
		t.Setenv("PYHTTP_REQUIRE_ALL", tc.env)
		var skipped, failed bool
		done := make(chan struct{})
		go func() {
			defer close(done)
			ft := &fakeT{T: t}
			defer func() {
				skipped, failed = ft.skipped, ft.failed
				_ = recover()
			}()
			Require(ft, "no-such-program-pyhttp")
		}()
		<-done
		if skipped != tc.skip || failed != tc.fail {
			t.Errorf("PYHTTP_REQUIRE_ALL=%q: skipped=%v failed=%v", tc.env, skipped, failed)
		}
	}
}

// fakeT records Skipf and Fatalf instead of acting on them.
type fakeT struct {
	*testing.T
	skipped, failed bool
}

func (f *fakeT) Helper() {}
func (f *fakeT) Skipf(string, ...any) {
	f.skipped = true
	panic("skip")
}
func (f *fakeT) Fatalf(string, ...any) {
	f.failed = true
	panic("fatal")
}
