package listing

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/pyhttp/caddy-pyhttp/internal/pythontest"
	"github.com/pyhttp/caddy-pyhttp/internal/pyversion"
)

// interpreter is a python3 binary and its version, which names subtests;
// v is the python_version that must reproduce it.
type interpreter struct {
	path, version string
	v             pyversion.Version
}

// pythons returns the interpreters the differential tests run against:
// the CPython 3.11, 3.12 and 3.13 that are installed (pyenv or PATH), else
// python3 from PATH, or the space-separated list in LISTING_PYTHONS. Tests
// skip when none is found.
func pythons(t *testing.T) []interpreter {
	t.Helper()
	list := strings.Fields(os.Getenv("LISTING_PYTHONS"))
	if len(list) == 0 {
		for minor := 11; minor <= 13; minor++ {
			if p := pythontest.Find(minor, minor); p != "" {
				list = append(list, p)
			}
		}
	}
	if len(list) == 0 {
		list = []string{"python3"}
	}
	var found []interpreter
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
		found = append(found, interpreter{path: path, version: "py" + version, v: v})
	}
	if len(found) == 0 {
		t.Skip("python3 not found")
	}
	return found
}

// runPython runs script under python with the filesystem encoding forced to
// UTF-8 (PYTHONUTF8=1, which also makes the error handler surrogateescape,
// as on any modern Linux) and returns its stdout and stderr.
func runPython(t *testing.T, python, script string, args ...string) (stdout, stderr []byte) {
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

// pyListDirectory drives SimpleHTTPRequestHandler.list_directory directly,
// without a socket: argv[1] is the directory, argv[2] the raw request path.
// The body goes to stdout and the headers, one "name: value" per line, to
// stderr.
const pyListDirectory = `
import sys, http.server
class H(http.server.SimpleHTTPRequestHandler):
    def __init__(self):
        pass
    def send_response(self, code, message=None):
        sys.stderr.write("status: %d\n" % code)
    def send_header(self, k, v):
        sys.stderr.write("%s: %s\n" % (k, v))
    def end_headers(self):
        pass
    def send_error(self, code, message=None, explain=None):
        sys.stderr.write("error: %d %s\n" % (code, message))
        sys.exit(3)
h = H()
h.path = sys.argv[2]
f = h.list_directory(sys.argv[1])
sys.stdout.buffer.write(f.read())
`

// parseHeaders parses pyListDirectory's stderr.
func parseHeaders(b []byte) map[string]string {
	h := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ": ")
		if ok {
			h[k] = v
		}
	}
	return h
}

// atoi64 parses a Content-Length.
func atoi64(t *testing.T, s string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatalf("bad Content-Length %q: %v", s, err)
	}
	return n
}
