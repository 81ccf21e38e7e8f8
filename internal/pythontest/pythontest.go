// Package pythontest finds a CPython interpreter for the differential tests
// that compare the engines with Python's own http.server. Tests skip when
// none of the wanted versions is installed.
package pythontest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pyhttp/caddy-pyhttp/internal/pyversion"
)

// Find returns the path of a CPython whose version is between 3.minMinor
// and 3.maxMinor inclusive, or "" if there is none. It looks on PATH
// (python3, python3.N) and in pyenv's versions directory.
func Find(minMinor, maxMinor int) string {
	var cands []string
	names := []string{"python3"}
	for m := minMinor; m <= maxMinor; m++ {
		names = append(names, fmt.Sprintf("python3.%d", m))
	}
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			cands = append(cands, p)
		}
	}
	root := os.Getenv("PYENV_ROOT")
	if root == "" {
		if out, err := exec.Command("pyenv", "root").Output(); err == nil {
			root = strings.TrimSpace(string(out))
		}
	}
	if root != "" {
		for m := minMinor; m <= maxMinor; m++ {
			found, _ := filepath.Glob(filepath.Join(root, "versions", fmt.Sprintf("3.%d.*", m), "bin", "python3"))
			cands = append(cands, found...)
		}
	}
	check := fmt.Sprintf("import sys; sys.exit(not (3, %d) <= sys.version_info[:2] <= (3, %d))", minMinor, maxMinor)
	for _, p := range cands {
		if exec.Command(p, "-c", check).Run() == nil {
			return p
		}
	}
	return ""
}

// Interpreter is a python3 binary and its version, which names subtests.
type Interpreter struct {
	Path, Version string
	// V is the python_version that must reproduce this interpreter.
	V pyversion.Version
}

// Interpreters returns the interpreters the differential tests run against:
// the CPython 3.11, 3.12 and 3.13 that are installed (pyenv or PATH), else
// python3 from PATH, or the space-separated list in LISTING_PYTHONS. Tests
// skip when none is found.
func Interpreters(t testing.TB) []Interpreter {
	t.Helper()
	list := strings.Fields(os.Getenv("LISTING_PYTHONS"))
	if len(list) == 0 {
		for minor := 11; minor <= 13; minor++ {
			if p := Find(minor, minor); p != "" {
				list = append(list, p)
			}
		}
	}
	if len(list) == 0 {
		list = []string{"python3"}
	}
	var found []Interpreter
	for _, p := range list {
		path, err := exec.LookPath(p)
		if err != nil {
			continue
		}
		out, err := exec.Command(path, "-c", "import platform; print(platform.python_version())").Output()
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		version := strings.TrimSpace(string(out))
		major, minor, _ := strings.Cut(version, ".")
		minor, _, _ = strings.Cut(minor, ".")
		v, err := pyversion.Parse(major + "." + minor)
		if err != nil {
			t.Fatalf("%s: python %s: %v", path, version, err)
		}
		found = append(found, Interpreter{Path: path, Version: "py" + version, V: v})
	}
	if len(found) == 0 {
		t.Skip("python3 not found")
	}
	return found
}

// Run runs script under python with the filesystem encoding forced to
// UTF-8 (PYTHONUTF8=1, which also makes the error handler surrogateescape,
// as on any modern Linux) and returns its stdout and stderr.
func Run(t testing.TB, python, script string, args ...string) (stdout, stderr []byte) {
	t.Helper()
	cmd := exec.Command(python, append([]string{"-c", script}, args...)...)
	cmd.Env = append(os.Environ(), "PYTHONUTF8=1", "PYTHONIOENCODING=utf-8:surrogateescape")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s: %v\n%s", python, err, errb.Bytes())
	}
	return out.Bytes(), errb.Bytes()
}

// EachVersion runs fn as a subtest for every python_version that has an
// interpreter of its own (Default is 3.11's output), with the exact
// CPython of that version; a version whose CPython is not installed is
// skipped with a message.
func EachVersion(t *testing.T, fn func(t *testing.T, py string, v pyversion.Version)) {
	for _, tc := range []struct {
		v     pyversion.Version
		minor int
	}{
		{pyversion.Default, 11},
		{pyversion.V3_11, 11},
		{pyversion.V3_12, 12},
		{pyversion.V3_13, 13},
	} {
		t.Run(fmt.Sprintf("python_version=%q", tc.v), func(t *testing.T) {
			py := Find(tc.minor, tc.minor)
			if py == "" {
				t.Skipf("no CPython 3.%d found", tc.minor)
			}
			fn(t, py, tc.v)
		})
	}
}
