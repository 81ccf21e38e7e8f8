package pyhttp

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	_ "github.com/caddyserver/caddy/v2/modules/standard"

	"github.com/pyhttp/caddy-pyhttp/internal/errorpage"
	"github.com/pyhttp/caddy-pyhttp/internal/pyversion"
)

// Integration tests run an in-process Caddy, loaded with caddy.Load as the
// admin API's /load does, and make real HTTP requests to it. They must not
// run in parallel: there is one Caddy per test binary. The admin API is a
// unix socket, never TCP: pyhttp_cgi refuses to run scripts as nobody while
// any local account could reconfigure Caddy (see admin.go).

// Ports: the pyhttp_simple site and the pyhttp_cgi site (adminPort is only
// the test of the TCP admin refusal).
// PYHTTP_TEST_PORT_OFFSET shifts them all, so that two checkouts can run
// their integration tests at the same time.
var (
	portOffset = func() int {
		n, _ := strconv.Atoi(os.Getenv("PYHTTP_TEST_PORT_OFFSET"))
		return n
	}()
	adminPort  = 2999 + portOffset
	simplePort = 9080 + portOffset
	cgiPort    = 9081 + portOffset
)

// globalOptions is the global block every integration config starts with.
func globalOptions() string {
	return fmt.Sprintf(`{
	admin unix/%s
	http_port %d
	https_port %d
	grace_period 1ns
	skip_install_trust
	auto_https off
}
`, adminSocket, simplePort, 9443+portOffset)
}

// adminSocket is the in-process Caddy's admin endpoint.
var adminSocket = filepath.Join(os.TempDir(), fmt.Sprintf("pyhttp-admin-%d.sock", os.Getpid()))

// loadCaddyfile adapts a full Caddyfile and loads it into the shared
// in-process Caddy, replacing the running config.
func loadCaddyfile(caddyfile string) error {
	cfg, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(caddyfile), nil)
	if err != nil {
		return fmt.Errorf("adapting: %w", err)
	}
	if err := caddy.Load(cfg, true); err != nil {
		return err
	}
	// The old config's servers close their connections (grace_period
	// 1ns): a pooled keep-alive connection to them would fail the next
	// non-idempotent request ("use of closed network connection"), which
	// Go's transport does not retry.
	noRedirectClient.CloseIdleConnections()
	http.DefaultClient.CloseIdleConnections()
	lastLoad.Store(time.Now().UnixNano())
	return nil
}

// lastLoad is when loadCaddyfile last replaced the config. caddy.Load
// returns once the old servers have begun shutting down, not once they
// stopped accepting (caddyhttp's App.Stop says so), so a connection made
// right after a load can still be accepted by an old server and then
// reset by its 1ns grace period: do retries such a request once.
var lastLoad atomic.Int64

// reloadRace reports whether err is a connection the old config's server
// reset just after a load.
func reloadRace(err error) bool {
	return time.Since(time.Unix(0, lastLoad.Load())) < 2*time.Second &&
		(errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF))
}

// startCaddy loads caddyfile into the shared in-process Caddy.
func startCaddy(t *testing.T, caddyfile string) {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test")
	}
	if err := loadCaddyfile(globalOptions() + caddyfile); err != nil {
		t.Fatalf("loading the config: %v", err)
	}
}

// publicTempDir returns a new directory that the nobody account can reach:
// CI runs as root, and scripts then run as nobody.
func publicTempDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "pyhttp-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// writeTree creates files (path -> content) under root; a path ending in
// "/" is a directory.
func writeTree(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if strings.HasSuffix(name, "/") {
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// noRedirectClient never follows redirects, so tests see the 301 itself.
var noRedirectClient = &http.Client{
	Timeout:       30 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	Transport:     &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, DisableCompression: true},
}

// do sends a request and returns the response with its body read.
func do(t *testing.T, method, url string, body io.Reader, header ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		if header[i] == "Host" {
			req.Host = header[i+1]
			continue
		}
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := noRedirectClient.Do(req)
	if err != nil && reloadRace(err) && (req.GetBody != nil || body == nil) {
		t.Logf("%s %s: %v just after a config load; retrying once (see lastLoad)", method, url, err)
		retry := req.Clone(req.Context())
		if req.GetBody != nil {
			if retry.Body, err = req.GetBody(); err != nil {
				t.Fatal(err)
			}
		}
		resp, err = noRedirectClient.Do(retry)
	}
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", method, url, err)
	}
	return resp, data
}

// rawRequest sends a request line exactly as given (net/http would clean
// or re-encode it) and returns the response.
func rawRequest(t *testing.T, port int, requestLine string, header ...string) (*http.Response, []byte) {
	t.Helper()
	resp, data, _ := sendRaw(t, port, requestLine, "", header...)
	return resp, data
}

// sendRaw writes the request line as given, Host, Connection: close,
// Content-Length when body is not empty, the extra header pairs, then body,
// and returns the response, its body and the error that ended reading it.
func sendRaw(t *testing.T, port int, line, body string, header ...string) (*http.Response, []byte, error) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	var b strings.Builder
	b.WriteString(line + "\r\nHost: localhost\r\nConnection: close\r\n")
	if body != "" {
		fmt.Fprintf(&b, "Content-Length: %d\r\n", len(body))
	}
	for i := 0; i+1 < len(header); i += 2 {
		b.WriteString(header[i] + ": " + header[i+1] + "\r\n")
	}
	b.WriteString("\r\n" + body)
	if _, err := io.WriteString(conn, b.String()); err != nil {
		t.Fatal(err)
	}
	method, _, _ := strings.Cut(line, " ")
	resp, err := http.ReadResponse(bufio.NewReader(conn), &http.Request{Method: method})
	if err != nil {
		t.Fatalf("%s: %v", line, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return resp, data, err
}

func simpleURL(path string) string { return fmt.Sprintf("http://localhost:%d%s", simplePort, path) }

// simpleSite starts pyhttp_simple with Python's error pages on a new tree.
func simpleSite(t *testing.T) string {
	t.Helper()
	root := publicTempDir(t)
	writeTree(t, root, map[string]string{
		"hello.txt":            "hello, world\n",
		"page.html":            "<p>hi</p>\n",
		"archive.tar.gz":       "not really gzip",
		"app.js":               "console.log(1)\n",
		"noext":                "x",
		"dir/":                 "",
		"dir/a.txt":            "a",
		"dir/B.txt":            "b",
		"dir/sub/":             "",
		"withindex/index.html": "<p>index</p>\n",
		"withindex/other.txt":  "other",
		"withhtm/index.htm":    "<p>htm</p>\n",
		"sp ace/&<>.txt":       "special",
		"private/secret.txt":   "secret",
		"big.bin":              strings.Repeat("0123456789", 1000),
	})
	if err := syscall.Mkfifo(filepath.Join(root, "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	startCaddy(t, fmt.Sprintf(`
http://localhost:%d {
	root * %s
	pyhttp_simple {
		hide private
	}
	handle_errors {
		pyhttp_error_page
	}
}
`, simplePort, root))
	return root
}

func TestSimpleServesFilesLikePython(t *testing.T) {
	root := simpleSite(t)
	info, err := os.Stat(filepath.Join(root, "hello.txt"))
	if err != nil {
		t.Fatal(err)
	}
	lastModified := info.ModTime().UTC().Format(http.TimeFormat)

	for _, tc := range []struct {
		name, method, path string
		header             []string
		status             int
		contentType        string
		body               string
	}{
		{name: "text file", method: "GET", path: "/hello.txt", status: 200, contentType: "text/plain", body: "hello, world\n"},
		{name: "query ignored", method: "GET", path: "/hello.txt?x=1", status: 200, contentType: "text/plain", body: "hello, world\n"},
		{name: "html", method: "GET", path: "/page.html", status: 200, contentType: "text/html", body: "<p>hi</p>\n"},
		{name: "tar.gz is gzip, not an encoding", method: "GET", path: "/archive.tar.gz", status: 200, contentType: "application/gzip", body: "not really gzip"},
		{name: "javascript", method: "GET", path: "/app.js", status: 200, contentType: "text/javascript", body: "console.log(1)\n"},
		{name: "no extension", method: "GET", path: "/noext", status: 200, contentType: "application/octet-stream", body: "x"},
		{name: "index.html", method: "GET", path: "/withindex/", status: 200, contentType: "text/html", body: "<p>index</p>\n"},
		{name: "index.htm", method: "GET", path: "/withhtm/", status: 200, contentType: "text/html", body: "<p>htm</p>\n"},
		{name: "encoded name", method: "GET", path: "/sp%20ace/%26%3C%3E.txt", status: 200, contentType: "text/plain", body: "special"},
		{name: "encoded slash is a separator", method: "GET", path: "/dir%2Fa.txt", status: 200, contentType: "text/plain", body: "a"},
		{name: "HEAD has no body", method: "HEAD", path: "/hello.txt", status: 200, contentType: "text/plain", body: ""},
		{name: "If-Modified-Since equal gives 304", method: "GET", path: "/hello.txt", header: []string{"If-Modified-Since", lastModified}, status: 304},
		{name: "If-None-Match disables If-Modified-Since", method: "GET", path: "/hello.txt", header: []string{"If-Modified-Since", lastModified, "If-None-Match", `"x"`}, status: 200, contentType: "text/plain", body: "hello, world\n"},
		{name: "If-Modified-Since with a non-UTC zone is ignored", method: "GET", path: "/hello.txt", header: []string{"If-Modified-Since", info.ModTime().Add(time.Hour).In(time.FixedZone("", 3600)).Format(time.RFC1123Z)}, status: 200, contentType: "text/plain", body: "hello, world\n"},
		{name: "If-Modified-Since before mtime", method: "GET", path: "/hello.txt", header: []string{"If-Modified-Since", info.ModTime().Add(-time.Hour).UTC().Format(http.TimeFormat)}, status: 200, contentType: "text/plain", body: "hello, world\n"},
		{name: "range", method: "GET", path: "/big.bin", header: []string{"Range", "bytes=10-19"}, status: 206, contentType: "application/octet-stream", body: "0123456789"},
		{name: "suffix range", method: "GET", path: "/big.bin", header: []string{"Range", "bytes=-3"}, status: 206, contentType: "application/octet-stream", body: "789"},
		{name: "range to the end", method: "GET", path: "/hello.txt", header: []string{"Range", "bytes=7-"}, status: 206, contentType: "text/plain", body: "world\n"},
		{name: "unknown range unit is ignored, as Python ignores Range", method: "GET", path: "/hello.txt", header: []string{"Range", "items=0-1"}, status: 200, contentType: "text/plain", body: "hello, world\n"},
		{name: "malformed range is ignored", method: "GET", path: "/hello.txt", header: []string{"Range", "bytes=5-1"}, status: 200, contentType: "text/plain", body: "hello, world\n"},
		{name: "several ranges are ignored", method: "GET", path: "/hello.txt", header: []string{"Range", "bytes=0-1,3-4"}, status: 200, contentType: "text/plain", body: "hello, world\n"},
		{name: "stale If-Range sends the whole file", method: "GET", path: "/hello.txt", header: []string{"Range", "bytes=0-1", "If-Range", "Thu, 01 Jan 1998 00:00:00 GMT"}, status: 200, contentType: "text/plain", body: "hello, world\n"},
		{name: "matching If-Range sends the range", method: "GET", path: "/hello.txt", header: []string{"Range", "bytes=0-4", "If-Range", lastModified}, status: 206, contentType: "text/plain", body: "hello"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := do(t, tc.method, simpleURL(tc.path), nil, tc.header...)
			if resp.StatusCode != tc.status {
				t.Fatalf("status = %d, want %d (body %q)", resp.StatusCode, tc.status, body)
			}
			if got := resp.Header.Get("Content-Type"); got != tc.contentType {
				t.Errorf("Content-Type = %q, want %q", got, tc.contentType)
			}
			if string(body) != tc.body {
				t.Errorf("body = %q, want %q", body, tc.body)
			}
			if tc.status == 304 {
				for _, h := range []string{"Content-Type", "Content-Length", "Last-Modified"} {
					if v := resp.Header.Get(h); v != "" {
						t.Errorf("304 carries %s: %q", h, v)
					}
				}
			}
			if tc.status == 200 && tc.path == "/hello.txt" {
				if got := resp.Header.Get("Last-Modified"); got != lastModified {
					t.Errorf("Last-Modified = %q, want %q", got, lastModified)
				}
				if got := resp.Header.Get("Content-Length"); got != "13" {
					t.Errorf("Content-Length = %q, want 13", got)
				}
			}
		})
	}
}

func TestSimpleRedirectsAndErrors(t *testing.T) {
	simpleSite(t)
	for _, tc := range []struct {
		name, requestLine string
		header            []string
		status            int
		location          string
		message           string // Python's message on the error page
	}{
		{name: "directory gets a slash", requestLine: "GET /dir HTTP/1.1", status: 301, location: "/dir/"},
		{name: "query kept", requestLine: "GET /dir?a=b&c HTTP/1.1", status: 301, location: "/dir/?a=b&c"},
		{name: "encoding kept", requestLine: "GET /di%72 HTTP/1.1", status: 301, location: "/di%72/"},
		{name: "leading slashes collapsed, never scheme-relative", requestLine: "GET //dir HTTP/1.1", status: 301, location: "/dir/"},
		{name: "missing file", requestLine: "GET /nope.txt HTTP/1.1", status: 404, message: "File not found"},
		{name: "file with trailing slash", requestLine: "GET /hello.txt/ HTTP/1.1", status: 404, message: "File not found"},
		{name: "traversal is clamped at the root", requestLine: "GET /../../../../etc/passwd HTTP/1.1", status: 404, message: "File not found"},
		{name: "encoded traversal is clamped", requestLine: "GET /%2e%2e/%2e%2e/etc/passwd HTTP/1.1", status: 404, message: "File not found"},
		{name: "hidden file", requestLine: "GET /private/secret.txt HTTP/1.1", status: 404, message: "File not found"},
		{name: "PUT", requestLine: "PUT /hello.txt HTTP/1.1", status: 501, message: "Unsupported method ('PUT')"},
		{name: "POST", requestLine: "POST /hello.txt HTTP/1.1", status: 501, message: "Unsupported method ('POST')"},
		{name: "lower-case get", requestLine: "get /hello.txt HTTP/1.1", status: 501, message: "Unsupported method ('get')"},
		{name: "NUL byte", requestLine: "GET /hello.txt%00 HTTP/1.1", status: 400, message: "Bad request path"},
		// Opening a FIFO for reading blocks until a writer comes; Python
		// hangs there, and so did this handler once.
		{name: "FIFO is not content", requestLine: "GET /fifo HTTP/1.1", status: 404, message: "File not found"},
		{name: "unsatisfiable range", requestLine: "GET /hello.txt HTTP/1.1", header: []string{"Range", "bytes=100-"}, status: 416, message: "Requested Range Not Satisfiable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			header := tc.header
			if strings.HasPrefix(tc.requestLine, "P") {
				header = append(header, "Content-Length", "0")
			}
			resp, body := rawRequest(t, simplePort, tc.requestLine, header...)
			if resp.StatusCode != tc.status {
				t.Fatalf("status = %d, want %d (body %q)", resp.StatusCode, tc.status, body)
			}
			if tc.location != "" {
				if got := resp.Header.Get("Location"); got != tc.location {
					t.Errorf("Location = %q, want %q", got, tc.location)
				}
				if got := resp.Header.Get("Content-Length"); got != "0" || len(body) != 0 {
					t.Errorf("redirect Content-Length = %q with %d body bytes, want 0 and none", got, len(body))
				}
			}
			if tc.message != "" {
				want := errorpage.Render(pyversion.Default, tc.status, tc.message, "")
				if !bytes.Equal(body, want) {
					t.Errorf("error page =\n%s\nwant\n%s", body, want)
				}
				if got := resp.Header.Get("Content-Type"); got != "text/html;charset=utf-8" {
					t.Errorf("error Content-Type = %q", got)
				}
			}
		})
	}
}

// The 404 page must be Python's document byte for byte (335 bytes).
func TestErrorPageIsPythons(t *testing.T) {
	simpleSite(t)
	resp, body := do(t, "GET", simpleURL("/missing"), nil)
	if resp.StatusCode != 404 || len(body) != 335 {
		t.Fatalf("got %d with %d bytes, want 404 with 335", resp.StatusCode, len(body))
	}
	want := "<!DOCTYPE HTML>\n<html lang=\"en\">\n    <head>\n        <meta charset=\"utf-8\">\n" +
		"        <title>Error response</title>\n    </head>\n    <body>\n        <h1>Error response</h1>\n" +
		"        <p>Error code: 404</p>\n        <p>Message: File not found.</p>\n" +
		"        <p>Error code explanation: 404 - Nothing matches the given URI.</p>\n    </body>\n</html>\n"
	if string(body) != want {
		t.Errorf("page =\n%s\nwant\n%s", body, want)
	}
	// HEAD: the same headers, Content-Length of the page, no body.
	resp, body = do(t, "HEAD", simpleURL("/missing"), nil)
	if resp.StatusCode != 404 || len(body) != 0 || resp.Header.Get("Content-Length") != "335" {
		t.Errorf("HEAD got %d, %d body bytes, Content-Length %q", resp.StatusCode, len(body), resp.Header.Get("Content-Length"))
	}
}

func TestSimpleListing(t *testing.T) {
	simpleSite(t)
	resp, body := do(t, "GET", simpleURL("/dir/?q=%3Cb%3E"), nil)
	if resp.StatusCode != 200 {
		t.Fatalf("status = %d", resp.StatusCode)
	}
	want := "<!DOCTYPE HTML>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n" +
		"<title>Directory listing for /dir/</title>\n</head>\n<body>\n" +
		"<h1>Directory listing for /dir/</h1>\n<hr>\n<ul>\n" +
		"<li><a href=\"a.txt\">a.txt</a></li>\n<li><a href=\"B.txt\">B.txt</a></li>\n" +
		"<li><a href=\"sub/\">sub/</a></li>\n</ul>\n<hr>\n</body>\n</html>\n"
	if string(body) != want {
		t.Errorf("listing =\n%s\nwant\n%s", body, want)
	}
	if got := resp.Header.Get("Content-Type"); got != "text/html; charset=utf-8" {
		t.Errorf("Content-Type = %q", got)
	}
	if got := resp.Header.Get("Content-Length"); got != fmt.Sprint(len(want)) {
		t.Errorf("Content-Length = %q, want %d", got, len(want))
	}

	// The root listing hides what hide says.
	_, body = do(t, "GET", simpleURL("/"), nil)
	if bytes.Contains(body, []byte("private")) {
		t.Errorf("hidden directory listed:\n%s", body)
	}
	if !bytes.Contains(body, []byte(`<li><a href="sp%20ace/">sp ace/</a></li>`)) {
		t.Errorf("listing lacks the quoted directory:\n%s", body)
	}

	// JSON on request.
	resp, body = do(t, "GET", simpleURL("/dir/"), nil, "Accept", "application/json")
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("JSON Content-Type = %q", ct)
	}
	var entries []struct {
		Name  string `json:"name"`
		URL   string `json:"url"`
		IsDir bool   `json:"is_dir"`
		Size  int64  `json:"size"`
	}
	if err := json.Unmarshal(body, &entries); err != nil {
		t.Fatalf("JSON listing: %v\n%s", err, body)
	}
	if len(entries) != 3 || entries[0].Name != "a.txt" || entries[0].Size != 1 || !entries[2].IsDir || entries[2].URL != "sub/" {
		t.Errorf("JSON listing = %+v", entries)
	}
}

// A file that grows while it is sent (a log being written) must not put
// bytes past Content-Length on a keep-alive connection, where they would be
// read as the next response.
func TestSimpleGrowingFileDoesNotCorruptKeepAlive(t *testing.T) {
	root := simpleSite(t)
	name := filepath.Join(root, "growing.log")
	if err := os.WriteFile(name, bytes.Repeat([]byte("line of log\n"), 100000), 0o644); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		f, err := os.OpenFile(name, os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Error(err)
			return
		}
		defer f.Close()
		for {
			select {
			case <-stop:
				return
			default:
			}
			_, _ = f.WriteString("GARBAGE\n")
		}
	})
	defer func() { close(stop); wg.Wait() }()

	conn, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", simplePort))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	br := bufio.NewReader(conn)
	for i := range 5 {
		if _, err := fmt.Fprintf(conn, "GET /growing.log HTTP/1.1\r\nHost: localhost\r\n\r\n"); err != nil {
			return // the server closed the connection: nothing was misread
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) {
				return // closed after a response that overran: fine
			}
			t.Fatalf("response %d on the connection: %v", i, err)
		}
		if _, err := io.Copy(io.Discard, resp.Body); err != nil {
			t.Fatalf("response %d body: %v", i, err)
		}
		resp.Body.Close()
	}
}

// A file that has not changed for a long time and is sent with sendfile
// must still not put a byte past Content-Length on the wire when it grows
// during the transfer: the next response on the connection must follow the
// declared body directly. (Before sendfile was bounded at Content-Length,
// the appended bytes followed the body and the connection was then closed:
// this test failed there with the appended bytes read where the second
// response should start.)
func TestSimpleSettledFileGrowingDuringSendfileSendsNothingPastContentLength(t *testing.T) {
	root := simpleSite(t)
	name := filepath.Join(root, "settled.log")
	// Larger than the loopback socket buffers, so the send is still under
	// way while the client holds off reading.
	content := bytes.Repeat([]byte("line of log\n"), 32<<20/12)
	if err := os.WriteFile(name, content, 0o644); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(name, old, old); err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", simplePort))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := fmt.Fprintf(conn, "GET /settled.log HTTP/1.1\r\nHost: localhost\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.ContentLength != int64(len(content)) {
		t.Fatalf("got Content-Length %d, want %d", resp.ContentLength, len(content))
	}
	// The file was stat'ed as settled; now it grows under the transfer.
	f, err := os.OpenFile(name, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(bytes.Repeat([]byte("GARBAGE\n"), 1<<17)); err != nil {
		t.Fatal(err)
	}
	f.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || !bytes.Equal(body, content) {
		t.Fatalf("got %d body bytes (%v), want the %d declared", len(body), err, len(content))
	}
	// The second request on the connection is answered right after the
	// declared body: nothing was sent past it.
	if _, err := fmt.Fprintf(conn, "GET /hello.txt HTTP/1.1\r\nHost: localhost\r\n\r\n"); err != nil {
		t.Fatalf("second request: %v", err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	start, err := br.Peek(len("HTTP/1.1 "))
	if err != nil || string(start) != "HTTP/1.1 " {
		t.Fatalf("after the declared body: got %q (%v), want the next response", start, err)
	}
	resp2, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	hello, _ := io.ReadAll(resp2.Body)
	if resp2.StatusCode != http.StatusOK || string(hello) != "hello, world\n" {
		t.Fatalf("second response: %d %q", resp2.StatusCode, hello)
	}
}
