package listing

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// interpreter is a python3 binary and its version, which names subtests.
type interpreter struct{ path, version string }

// pythons returns the interpreters the differential tests run against:
// python3 from PATH, or the space-separated list in LISTING_PYTHONS (for
// example the 3.12 and 3.13 binaries) to check several versions. Tests skip
// when none is found.
func pythons(t *testing.T) []interpreter {
	t.Helper()
	list := strings.Fields(os.Getenv("LISTING_PYTHONS"))
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
		found = append(found, interpreter{path, "py" + strings.TrimSpace(string(out))})
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
