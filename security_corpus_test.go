package pyhttp

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pyhttp/caddy-pyhttp/internal/pypath"
)

// traversalCorpus generates request targets that try to leave the root or
// reach a script's source by another spelling: every combination of a
// start, a way to write "..", a way to write "/", a depth and a goal, plus
// spellings of the script's own URL.
func traversalCorpus() []string {
	starts := []string{"/", "/pub/", "//", "/\\", "/cgi-bin/", "/pub/./", "/%2e/"}
	dots := []string{"..", "%2e%2e", "%2E%2E", ".%2e", "%2e.", "%c0%ae%c0%ae", "%252e%252e", "..%00", "%e0%80%ae%e0%80%ae"}
	seps := []string{"/", "%2f", "%2F", "%5c", "\\", "//", "/./", "%c0%af"}
	goals := []string{"etc/passwd", "outside/secret.txt"}
	var out []string
	for _, st := range starts {
		for _, d := range dots {
			for _, sep := range seps {
				for depth := 1; depth <= 4; depth += 3 {
					for _, g := range goals {
						out = append(out, st+strings.Repeat(d+sep, depth)+g)
					}
				}
			}
		}
	}
	script := []string{
		"/cgi-bin/hello.sh", "/%63gi-bin/hello.sh", "/cgi-bin%2fhello.sh", "/cgi-bin%2Fhello.sh",
		"/cgi-bin%5chello.sh", "/cgi-bin\\hello.sh", "/pub/..%2fcgi-bin/hello.sh", "/pub/%2e%2e/cgi-bin/hello.sh",
		"/cgi-bin/./hello.sh", "//cgi-bin/hello.sh", "/cgi-bin//hello.sh", "/\\cgi-bin/hello.sh",
		"/pub/../cgi-bin/hello.sh", "/cgi-bin/hello.sh%00", "/cgi-bin/hello.sh/", "/cgi-bin/hello.sh.",
		"/CGI-BIN/hello.sh", "/Cgi-Bin/hello.sh", "/cgi-bin/HELLO.SH", "/cgi-bin/hello.sh#x",
		"/cgi-bin/#/../hello.sh", "/pub/link/hello.sh", "/pub/link/", "/pub/hard.txt", "/pub/link",
		"/%2e/cgi-bin/hello.sh", "/cgi-bin/%2e/hello.sh", "/pub/%2e%2e%2fcgi-bin%2fhello.sh",
	}
	for _, s := range script {
		out = append(out, s, s+"?x", strings.ReplaceAll(s, "hello", "HeLLo"))
	}
	// Redirect bait: directory names a browser may read as another host.
	for _, s := range []string{"/\\evil.example", "/\\/evil.example", "//\\evil.example", "/%5cevil.example", "/%09/evil.example", "///evil.example"} {
		out = append(out, s, s+"?q")
	}
	return out
}

// corpusGet sends one raw GET and returns the status, Location and body;
// ok is false when the server closed the connection without an answer.
func corpusGet(t *testing.T, port int, target string) (status int, loc string, body []byte, ok bool) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(conn, "GET "+target+" HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"); err != nil {
		return 0, "", nil, false
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), &http.Request{Method: http.MethodGet})
	if err != nil {
		return 0, "", nil, false
	}
	defer resp.Body.Close()
	body, _ = io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Location"), body, true
}

// No generated traversal variant makes pyhttp_simple or pyhttp_cgi serve a
// byte from outside the root, pyhttp_cgi serve a script's source, or
// either send a Location a browser reads as another host.
func TestSecurityTraversalCorpus(t *testing.T) {
	base := publicTempDir(t)
	root := filepath.Join(base, "site")
	if err := os.Mkdir(root, 0o755); err != nil {
		t.Fatal(err)
	}
	copyTree(t, filepath.Join("testdata", "security"), root)
	chmodAll(t, root, 0o755, "cgi-bin/hello.sh")
	writeTree(t, base, map[string]string{"outside/secret.txt": "PYHTTP-OUTSIDE-ROOT\n"})
	for _, d := range []string{`\evil.example`, "\t", `\`} {
		if err := os.Mkdir(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(filepath.Join(root, "cgi-bin"), filepath.Join(root, "pub", "link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(filepath.Join(root, "cgi-bin", "hello.sh"), filepath.Join(root, "pub", "hard.txt")); err != nil {
		t.Fatal(err)
	}
	startCaddy(t, fmt.Sprintf(`
http://:%d {
	root * %s
	pyhttp_simple
}
http://:%d {
	root * %s
	pyhttp_cgi
}
`, simplePort, root, cgiPort, root))

	corpus := traversalCorpus()
	if len(corpus) < 500 {
		t.Fatalf("corpus has %d variants, want at least 500", len(corpus))
	}
	statuses := map[int]int{}
	for _, target := range corpus {
		for _, site := range []struct {
			name string
			port int
			cgi  bool
		}{{"pyhttp_simple", simplePort, false}, {"pyhttp_cgi", cgiPort, true}} {
			status, loc, body, ok := corpusGet(t, site.port, target)
			if !ok {
				continue // refused by the HTTP parser: nothing served
			}
			statuses[status]++
			b := string(body)
			if strings.Contains(b, "PYHTTP-OUTSIDE-ROOT") || strings.Contains(b, "root:x:0:0") {
				t.Errorf("%s GET %q: %d served a file outside the root", site.name, target, status)
			}
			if site.cgi && strings.Contains(b, "PYHTTP-SOURCE-MARKER") {
				t.Errorf("%s GET %q: %d served a script's source", site.name, target, status)
			}
			if pypath.BrowserSchemeRelative(loc) {
				t.Errorf("%s GET %q: Location %q is scheme-relative in a browser", site.name, target, loc)
			}
			if status >= 500 {
				t.Errorf("%s GET %q: %d", site.name, target, status)
			}
		}
	}
	t.Logf("%d variants on 2 handlers; statuses %v", len(corpus), statuses)
}
