package listing

import (
	"bufio"
	"bytes"
	"strconv"
	"strings"
	"testing"
)

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
