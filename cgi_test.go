package pyhttp

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"fmt"
	"net/http"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/pyhttp/caddy-pyhttp/internal/errorpage"
	"github.com/pyhttp/caddy-pyhttp/internal/pyversion"
)

// sourceMarker is a line every fixture script carries and none prints: a
// response containing it disclosed a script's source.
const sourceMarker = "PYHTTP-SOURCE-MARKER"

// cgiTree copies testdata/cgi into a fresh public directory, gives the
// scripts their run bits (noexec.sh and hello.py stay without) and returns
// the root.
func cgiTree(t *testing.T) string {
	t.Helper()
	root := publicTempDir(t)
	copyTree(t, filepath.Join("testdata", "cgi"), root)
	chmodAll(t, root, 0o755,
		"cgi-bin/env.sh", "cgi-bin/diffenv.sh", "cgi-bin/sub/nested.sh",
		"cgi-bin/status.sh", "cgi-bin/absredirect.sh", "cgi-bin/localredirect.sh",
		"cgi-bin/loop.sh", "cgi-bin/malformed.sh", "cgi-bin/sleep.sh",
		"cgi-bin/slow.sh", "cgi-bin/id.sh")
	return root
}

// cgiSite serves root with pyhttp_cgi and Python's error pages on cgiPort;
// options go inside the pyhttp_cgi block, extra before it in the site.
func cgiSite(t *testing.T, root, options, extra string) {
	t.Helper()
	startCaddy(t, fmt.Sprintf(`
http://:%d {
	root * %s
	%s
	route {
		pyhttp_cgi {
			%s
		}
		respond "next"
	}
	handle_errors {
		pyhttp_error_page
	}
}
`, cgiPort, root, extra, options))
}

func cgiURL(path string) string { return fmt.Sprintf("http://localhost:%d%s", cgiPort, path) }

// parseEnv reads env.sh's output ("K=V" lines) into a map.
func parseEnv(t *testing.T, body []byte) map[string]string {
	t.Helper()
	env := make(map[string]string)
	sc := bufio.NewScanner(bytes.NewReader(body))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "=")
		if !ok {
			t.Fatalf("env.sh output line without '=': %q in\n%s", sc.Text(), body)
		}
		env[k] = v
	}
	if len(env) == 0 {
		t.Fatal("env.sh printed nothing")
	}
	return env
}

// checkNoSource fails if a response carries a script's source.
func checkNoSource(t *testing.T, body []byte) {
	t.Helper()
	if bytes.Contains(body, []byte(sourceMarker)) {
		t.Fatalf("response discloses script source:\n%s", body)
	}
}

// pyhttp_cgi answers Python's CGI error cases with Python's status and
// send_error message, and /cgi-bin gets the same 301 as in Python.
func TestCGIErrorsLikePython(t *testing.T) {
	root := cgiTree(t)
	cgiSite(t, root, "", "")
	for _, tc := range []struct {
		name, line string
		header     []string
		status     int
		message    string
		location   string
	}{
		{name: "missing script", line: "GET /cgi-bin/x HTTP/1.1", status: 404, message: "No such CGI script ('/cgi-bin/x')"},
		{name: "missing script with path info", line: "GET /cgi-bin/x/y/z HTTP/1.1", status: 404, message: "No such CGI script ('/cgi-bin/x')"},
		{name: "cgi-bin itself", line: "GET /cgi-bin/ HTTP/1.1", status: 403, message: "CGI script is not a plain file ('/cgi-bin/')"},
		{name: "subdirectory", line: "GET /cgi-bin/sub HTTP/1.1", status: 403, message: "CGI script is not a plain file ('/cgi-bin/sub')"},
		{name: "subdirectory with slash", line: "GET /cgi-bin/sub/ HTTP/1.1", status: 403, message: "CGI script is not a plain file ('/cgi-bin/sub/')"},
		{name: "not executable", line: "GET /cgi-bin/noexec.sh HTTP/1.1", status: 403, message: "CGI script is not executable ('/cgi-bin/noexec.sh')"},
		{name: "no interpreter for .py", line: "GET /cgi-bin/hello.py HTTP/1.1", status: 403, message: "CGI script is not executable ('/cgi-bin/hello.py')"},
		// Regression: checkNotInCGIDir answered 403 here.
		{name: "cgi-bin without slash", line: "GET /cgi-bin HTTP/1.1", status: 301, location: "/cgi-bin/"},
		{name: "POST to a static path", line: "POST /other.txt HTTP/1.1", header: []string{"Content-Length", "0"}, status: 501, message: "Can only POST to CGI scripts"},
		{name: "PUT to a script", line: "PUT /cgi-bin/env.sh HTTP/1.1", header: []string{"Content-Length", "0"}, status: 501, message: "Unsupported method ('PUT')"},
		{name: "DELETE to a static path", line: "DELETE /other.txt HTTP/1.1", status: 501, message: "Unsupported method ('DELETE')"},
		{name: "malformed headers", line: "GET /cgi-bin/malformed.sh HTTP/1.1", status: 502},
		{name: "local redirect loop", line: "GET /cgi-bin/loop.sh HTTP/1.1", status: 500, message: "Too many local redirects"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := rawRequest(t, cgiPort, tc.line, tc.header...)
			checkNoSource(t, body)
			if resp.StatusCode != tc.status {
				t.Fatalf("status: got %d, want %d (body %q)", resp.StatusCode, tc.status, body)
			}
			if got := resp.Header.Get("Location"); got != tc.location {
				t.Errorf("Location: got %q, want %q", got, tc.location)
			}
			if tc.message != "" {
				if want := errorpage.Render(pyversion.Default, tc.status, tc.message, ""); !bytes.Equal(body, want) {
					t.Errorf("error page:\ngot  %q\nwant %q", body, want)
				}
			}
		})
	}
}

// Every spelling of a script's URL that Python's is_cgi collapses onto
// cgi-bin runs the script; none serves its source.
func TestCGISpellingsRunTheScript(t *testing.T) {
	root := cgiTree(t)
	// A symbolic link elsewhere in the tree pointing into cgi-bin must not
	// become a way to read scripts as static files.
	if err := os.Symlink("cgi-bin", filepath.Join(root, "peek")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("cgi-bin/env.sh", filepath.Join(root, "files", "env-link.sh")); err != nil {
		t.Fatal(err)
	}
	// Regression (found in review): an index file linked to a script was
	// served as the directory's index, source and all.
	if err := os.MkdirAll(filepath.Join(root, "docs"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../cgi-bin/env.sh", filepath.Join(root, "docs", "index.html")); err != nil {
		t.Fatal(err)
	}
	cgiSite(t, root, "", "")
	for _, tc := range []struct{ name, line, scriptName string }{
		{"plain", "GET /cgi-bin/env.sh HTTP/1.1", "/cgi-bin/env.sh"},
		{"encoded c", "GET /%63gi-bin/env.sh HTTP/1.1", "/cgi-bin/env.sh"},
		{"encoded slash", "GET /cgi-bin%2fenv.sh HTTP/1.1", "/cgi-bin/env.sh"},
		{"upper-case encoded slash", "GET /cgi-bin%2Fenv.sh HTTP/1.1", "/cgi-bin/env.sh"},
		{"dot-dot from another dir", "GET /files/../cgi-bin/env.sh HTTP/1.1", "/cgi-bin/env.sh"},
		{"encoded dot-dot", "GET /files/%2e%2e/cgi-bin/env.sh HTTP/1.1", "/cgi-bin/env.sh"},
		{"double leading slash", "GET //cgi-bin/env.sh HTTP/1.1", "/cgi-bin/env.sh"},
		{"inner double slash", "GET /cgi-bin//env.sh HTTP/1.1", "/cgi-bin/env.sh"},
		{"dot segment", "GET /./cgi-bin/./env.sh HTTP/1.1", "/cgi-bin/env.sh"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := rawRequest(t, cgiPort, tc.line)
			checkNoSource(t, body)
			if resp.StatusCode != 200 {
				t.Fatalf("status: got %d, want 200 (body %q)", resp.StatusCode, body)
			}
			if got := parseEnv(t, body)["SCRIPT_NAME"]; got != tc.scriptName {
				t.Errorf("SCRIPT_NAME: got %q, want %q", got, tc.scriptName)
			}
		})
	}
	for _, tc := range []struct{ name, line string }{
		{"symlinked cgi-bin", "GET /peek/env.sh HTTP/1.1"},
		{"symlinked cgi-bin listing", "GET /peek/ HTTP/1.1"},
		{"symlink to a script", "GET /files/env-link.sh HTTP/1.1"},
		{"HEAD of a symlink to a script", "HEAD /files/env-link.sh HTTP/1.1"},
		{"index file linked to a script", "GET /docs/ HTTP/1.1"},
		{"index file linked to a script, by name", "GET /docs/index.html HTTP/1.1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := rawRequest(t, cgiPort, tc.line)
			checkNoSource(t, body)
			if resp.StatusCode < 400 {
				t.Errorf("status: got %d, want an error (body %q)", resp.StatusCode, body)
			}
		})
	}
	// Static files outside cgi-bin are still served.
	resp, body := rawRequest(t, cgiPort, "GET /files/readme.txt HTTP/1.1")
	if resp.StatusCode != 200 || string(body) != "a static file\n" {
		t.Errorf("static file: got %d %q, want 200 %q", resp.StatusCode, body, "a static file\n")
	}
}

// Scripts get the RFC 3875 environment built from the request, and from
// the server only PATH, pass_env and env.
func TestCGIEnvironment(t *testing.T) {
	root := cgiTree(t)
	t.Setenv("PYHTTP_PASSED", "passed-value")
	t.Setenv("PYHTTP_NOT_PASSED", "leaked")
	cgiSite(t, root, `pass_env PYHTTP_PASSED
			env GREETING "hello {http.request.uri.path}"`, "")

	t.Run("request variables", func(t *testing.T) {
		resp, body := do(t, "GET", cgiURL("/cgi-bin/env.sh/extra/p%20th?a=%20b&c+d"), nil,
			"Host", "example.test:1234",
			"X-Custom", "custom value",
			"User-Agent", "difftest/1",
			"Cookie", "k=v",
			"Proxy", "http://evil.example:3128",
			"Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("mallory:pw")))
		if resp.StatusCode != 200 {
			t.Fatalf("status: got %d, want 200 (body %q)", resp.StatusCode, body)
		}
		env := parseEnv(t, body)
		for name, want := range map[string]string{
			"GATEWAY_INTERFACE": "CGI/1.1",
			"REQUEST_METHOD":    "GET",
			"SERVER_NAME":       "example.test",
			"SERVER_PROTOCOL":   "HTTP/1.1",
			"SCRIPT_NAME":       "/cgi-bin/env.sh",
			"SCRIPT_FILENAME":   filepath.Join(root, "cgi-bin", "env.sh"),
			"PATH_INFO":         "/extra/p th",
			"PATH_TRANSLATED":   root + "/extra/p th",
			"QUERY_STRING":      "a=%20b&c+d",
			"REQUEST_URI":       "/cgi-bin/env.sh/extra/p%20th?a=%20b&c+d",
			"DOCUMENT_ROOT":     root,
			"HTTP_HOST":         "example.test:1234",
			"HTTP_X_CUSTOM":     "custom value",
			"HTTP_USER_AGENT":   "difftest/1",
			"HTTP_COOKIE":       "k=v",
			"PYHTTP_PASSED":     "passed-value",
			"GREETING":          "hello /cgi-bin/env.sh/extra/p th", // Caddy's uri.path is decoded
			"PATH":              os.Getenv("PATH"),
			"ARGC":              "0",
			"PWD":               filepath.Join(root, "cgi-bin"),
		} {
			if got, ok := env[name]; !ok || got != want {
				t.Errorf("%s: got %q (set: %v), want %q", name, got, ok, want)
			}
		}
		// httpoxy, unverified credentials, and the server's own environment
		// must not reach the script.
		for _, name := range []string{"HTTP_PROXY", "HTTP_AUTHORIZATION", "REMOTE_USER", "AUTH_TYPE",
			"PYHTTP_NOT_PASSED", "HOME", "CONTENT_TYPE"} {
			if v, ok := env[name]; ok {
				t.Errorf("%s is set to %q, want unset", name, v)
			}
		}
		// A GET without a body has an empty CONTENT_LENGTH, as under
		// Python (regression: Caddy's body wrappers once made it "0"), and
		// Python's always-present variables are there, empty.
		for _, name := range []string{"CONTENT_LENGTH", "REMOTE_HOST", "HTTP_REFERER"} {
			if v, ok := env[name]; !ok || v != "" {
				t.Errorf("%s: got %q (set: %v), want set and empty", name, v, ok)
			}
		}
		// Only CGI variables, PATH, pass_env and env: nothing else from the
		// server (the shell adds PWD, and SHLVL or _ in some shells).
		allowed := []string{"AUTH_TYPE", "CONTENT_LENGTH", "CONTENT_TYPE", "DOCUMENT_ROOT", "REMOTE_HOST",
			"GATEWAY_INTERFACE", "HTTPS", "PATH_INFO", "PATH_TRANSLATED", "QUERY_STRING",
			"REMOTE_ADDR", "REMOTE_PORT", "REMOTE_USER", "REQUEST_METHOD", "REQUEST_SCHEME",
			"REQUEST_URI", "SCRIPT_FILENAME", "SCRIPT_NAME", "SERVER_NAME", "SERVER_PORT", "SERVER_ADDR", "REDIRECT_STATUS",
			"SERVER_PROTOCOL", "SERVER_SOFTWARE", "PATH", "PYHTTP_PASSED", "GREETING",
			"PWD", "SHLVL", "_", "OLDPWD", "ARGC", "STDIN"}
		for name := range env {
			if !strings.HasPrefix(name, "HTTP_") && !slices.Contains(allowed, name) {
				t.Errorf("unexpected variable %s=%q", name, env[name])
			}
		}
	})

	t.Run("HTTP/1.0 request", func(t *testing.T) {
		resp, body := rawRequest(t, cgiPort, "GET /cgi-bin/env.sh HTTP/1.0")
		if resp.StatusCode != 200 {
			t.Fatalf("status: got %d, want 200 (body %q)", resp.StatusCode, body)
		}
		env := parseEnv(t, body)
		if got := env["SERVER_PROTOCOL"]; got != "HTTP/1.0" {
			t.Errorf("SERVER_PROTOCOL: got %q, want %q", got, "HTTP/1.0")
		}
		// Python passes one empty argument when there is no query.
		if got := env["ARGC"]; got != "1" {
			t.Errorf("ARGC: got %q, want %q", got, "1")
		}
		// Python sets PATH_INFO even without path info, empty.
		if v, ok := env["PATH_INFO"]; !ok || v != "" {
			t.Errorf("PATH_INFO without path info: got %q (set: %v), want set and empty", v, ok)
		}
		if _, ok := env["PATH_TRANSLATED"]; ok {
			t.Errorf("PATH_TRANSLATED set without path info: %q", env["PATH_TRANSLATED"])
		}
	})

	t.Run("ISINDEX argv", func(t *testing.T) {
		_, body := rawRequest(t, cgiPort, "GET /cgi-bin/env.sh?first+second%20third HTTP/1.1")
		env := parseEnv(t, body)
		// run_cgi: '+' becomes ' ', nothing is decoded, one argument.
		if got, want := env["ARGC"]+"|"+env["ARGV_1"], "1|first second%20third"; got != want {
			t.Errorf("argc|argv[1]: got %q, want %q", got, want)
		}
		_, body = rawRequest(t, cgiPort, "GET /cgi-bin/env.sh?k=v+w HTTP/1.1")
		if got := parseEnv(t, body)["ARGC"]; got != "0" {
			t.Errorf("argc with '=' in the query: got %q, want %q", got, "0")
		}
	})

	t.Run("POST body on stdin", func(t *testing.T) {
		payload := "name=%EA%B9%80&x=1"
		resp, body := do(t, "POST", cgiURL("/cgi-bin/env.sh"), strings.NewReader(payload),
			"Content-Type", "application/x-www-form-urlencoded")
		if resp.StatusCode != 200 {
			t.Fatalf("status: got %d, want 200 (body %q)", resp.StatusCode, body)
		}
		env := parseEnv(t, body)
		for name, want := range map[string]string{
			"REQUEST_METHOD": "POST",
			"CONTENT_LENGTH": fmt.Sprint(len(payload)),
			"CONTENT_TYPE":   "application/x-www-form-urlencoded",
			"STDIN":          payload,
		} {
			if got := env[name]; got != want {
				t.Errorf("%s: got %q, want %q", name, got, want)
			}
		}
	})

	// PATH_INFO is decoded once (README, "PATH_INFO"): Python would decode
	// %2541 to "A" and move "?b" into QUERY_STRING.
	t.Run("PATH_INFO decoded once", func(t *testing.T) {
		_, body := rawRequest(t, cgiPort, "GET /cgi-bin/env.sh/a%2541%3Fb HTTP/1.1")
		env := parseEnv(t, body)
		if got, want := env["PATH_INFO"]+"|"+env["QUERY_STRING"], "/a%41?b|"; got != want {
			t.Errorf("PATH_INFO|QUERY_STRING: got %q, want %q", got, want)
		}
	})

	t.Run("nested script", func(t *testing.T) {
		resp, body := rawRequest(t, cgiPort, "GET /cgi-bin/sub/nested.sh/more/x?q=1 HTTP/1.1")
		if resp.StatusCode != 200 {
			t.Fatalf("status: got %d, want 200 (body %q)", resp.StatusCode, body)
		}
		env := parseEnv(t, body)
		for name, want := range map[string]string{
			"SCRIPT_NAME":  "/cgi-bin/sub/nested.sh",
			"PATH_INFO":    "/more/x",
			"QUERY_STRING": "q=1",
		} {
			if got := env[name]; got != want {
				t.Errorf("%s: got %q, want %q", name, got, want)
			}
		}
	})
}

// Authorization reaches scripts only as Caddy verified it: REMOTE_USER from
// basic_auth, HTTP_AUTHORIZATION only with pass_auth.
func TestCGIAuthentication(t *testing.T) {
	root := cgiTree(t)
	// bcrypt (cost 4) of "s3cret", as `caddy hash-password` would print it.
	const hash = "$2a$04$iQSD/hwq5v2gI7pjDNyp.eCgGsQvHgTx2EvH4lTKuseqGGjEqi2Xy"
	basicAuth := fmt.Sprintf("basic_auth /cgi-bin/* {\n\t\talice %s\n\t}", hash)
	creds := "Basic " + base64.StdEncoding.EncodeToString([]byte("alice:s3cret"))

	t.Run("basic_auth sets REMOTE_USER", func(t *testing.T) {
		cgiSite(t, root, "", basicAuth)
		resp, _ := do(t, "GET", cgiURL("/cgi-bin/env.sh"), nil)
		if resp.StatusCode != 401 {
			t.Errorf("without credentials: got %d, want 401", resp.StatusCode)
		}
		resp, body := do(t, "GET", cgiURL("/cgi-bin/env.sh"), nil, "Authorization", creds)
		if resp.StatusCode != 200 {
			t.Fatalf("status: got %d, want 200 (body %q)", resp.StatusCode, body)
		}
		env := parseEnv(t, body)
		if got := env["REMOTE_USER"]; got != "alice" {
			t.Errorf("REMOTE_USER: got %q, want %q", got, "alice")
		}
		if got := env["AUTH_TYPE"]; got != "Basic" {
			t.Errorf("AUTH_TYPE: got %q, want %q", got, "Basic")
		}
		if v, ok := env["HTTP_AUTHORIZATION"]; ok {
			t.Errorf("HTTP_AUTHORIZATION without pass_auth: %q", v)
		}
	})

	t.Run("pass_auth exports the header", func(t *testing.T) {
		cgiSite(t, root, "pass_auth", "")
		_, body := do(t, "GET", cgiURL("/cgi-bin/env.sh"), nil, "Authorization", creds)
		env := parseEnv(t, body)
		if got := env["HTTP_AUTHORIZATION"]; got != creds {
			t.Errorf("HTTP_AUTHORIZATION: got %q, want %q", got, creds)
		}
		// Without basic_auth nobody verified the header.
		if v, ok := env["REMOTE_USER"]; ok {
			t.Errorf("REMOTE_USER from an unverified header: %q", v)
		}
	})
}

// Script output is interpreted per RFC 3875 section 6 (Status, Location,
// HEAD) and scripts run through interpreters and as nobody when root.
func TestCGIResponses(t *testing.T) {
	root := cgiTree(t)
	cgiSite(t, root, "interpreter .py /usr/bin/python3", "")

	t.Run("Status honoured", func(t *testing.T) {
		resp, body := do(t, "GET", cgiURL("/cgi-bin/status.sh"), nil)
		if resp.StatusCode != 404 || string(body) != "not here\n" {
			t.Errorf("got %d %q, want 404 %q", resp.StatusCode, body, "not here\n")
		}
	})
	t.Run("absolute Location is a 302", func(t *testing.T) {
		resp, _ := do(t, "GET", cgiURL("/cgi-bin/absredirect.sh"), nil)
		if resp.StatusCode != 302 || resp.Header.Get("Location") != "http://example.com/elsewhere" {
			t.Errorf("got %d Location %q, want 302 %q", resp.StatusCode, resp.Header.Get("Location"), "http://example.com/elsewhere")
		}
	})
	t.Run("local Location served internally", func(t *testing.T) {
		resp, body := do(t, "POST", cgiURL("/cgi-bin/localredirect.sh"), strings.NewReader("ignored"))
		if resp.StatusCode != 200 || string(body) != "other body\n" {
			t.Errorf("got %d %q, want 200 %q", resp.StatusCode, body, "other body\n")
		}
		if got := resp.Header.Get("Location"); got != "" {
			t.Errorf("Location leaked to the client: %q", got)
		}
	})
	t.Run("HEAD has no body", func(t *testing.T) {
		resp, body := do(t, "HEAD", cgiURL("/cgi-bin/env.sh"), nil)
		if resp.StatusCode != 200 || len(body) != 0 {
			t.Errorf("got %d with %d body bytes, want 200 and none", resp.StatusCode, len(body))
		}
		if got := resp.Header.Get("Content-Type"); got != "text/plain" {
			t.Errorf("Content-Type: got %q, want %q", got, "text/plain")
		}
	})
	t.Run("interpreter runs a non-executable .py", func(t *testing.T) {
		if _, err := os.Stat("/usr/bin/python3"); err != nil {
			t.Skip("/usr/bin/python3 not found")
		}
		resp, body := do(t, "GET", cgiURL("/cgi-bin/hello.py"), nil)
		checkNoSource(t, body)
		if resp.StatusCode != 200 || string(body) != "hello from python\n" {
			t.Errorf("got %d %q, want 200 %q", resp.StatusCode, body, "hello from python\n")
		}
	})
	t.Run("scripts run as nobody when root", func(t *testing.T) {
		if os.Geteuid() != 0 {
			t.Skip("not running as root")
		}
		nobody, err := user.Lookup("nobody")
		if err != nil {
			t.Skip("no nobody account")
		}
		_, body := do(t, "GET", cgiURL("/cgi-bin/id.sh"), nil)
		want := fmt.Sprintf("uid=%s\ngid=%s\ngroups=%s\n", nobody.Uid, nobody.Gid, nobody.Gid)
		if string(body) != want {
			t.Errorf("identity:\ngot  %q\nwant %q", body, want)
		}
	})
}

// With passthru, non-CGI requests reach the next handler while scripts
// still run.
func TestCGIPassthru(t *testing.T) {
	root := cgiTree(t)
	cgiSite(t, root, "passthru", "")
	for _, tc := range []struct{ name, path, want string }{
		{"static path goes to the next handler", "/other.txt", "next"},
		{"missing path too", "/nope", "next"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, body := do(t, "GET", cgiURL(tc.path), nil)
			if string(body) != tc.want {
				t.Errorf("body: got %q, want %q", body, tc.want)
			}
		})
	}
	t.Run("scripts still run", func(t *testing.T) {
		resp, body := do(t, "GET", cgiURL("/cgi-bin/env.sh"), nil)
		if resp.StatusCode != 200 || parseEnv(t, body)["SCRIPT_NAME"] != "/cgi-bin/env.sh" {
			t.Errorf("got %d %q, want the script's output", resp.StatusCode, body)
		}
	})
}

// timeout turns a script silent past its deadline into 504, and max_procs
// with queue_timeout turns a request that waits too long into 503.
func TestCGIProcessControl(t *testing.T) {
	root := cgiTree(t)

	t.Run("timeout gives 504", func(t *testing.T) {
		cgiSite(t, root, "timeout 1s\n\t\t\tkill_grace 100ms", "")
		resp, body := do(t, "GET", cgiURL("/cgi-bin/sleep.sh"), nil)
		if resp.StatusCode != 504 {
			t.Errorf("status: got %d, want 504 (body %q)", resp.StatusCode, body)
		}
	})

	t.Run("max_procs queue gives 503", func(t *testing.T) {
		cgiSite(t, root, "max_procs 1\n\t\t\tqueue_timeout 100ms", "")
		type result struct {
			status     int
			retryAfter string
		}
		results := make([]result, 2)
		var wg sync.WaitGroup
		for i := range results {
			wg.Go(func() {
				req, err := http.NewRequest("GET", cgiURL("/cgi-bin/slow.sh"), nil)
				if err != nil {
					t.Error(err)
					return
				}
				resp, err := noRedirectClient.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				resp.Body.Close()
				results[i] = result{resp.StatusCode, resp.Header.Get("Retry-After")}
			})
		}
		wg.Wait()
		statuses := []int{results[0].status, results[1].status}
		slices.Sort(statuses)
		if !slices.Equal(statuses, []int{200, 503}) {
			t.Fatalf("statuses: got %v, want [200 503]", statuses)
		}
		for _, r := range results {
			if r.status == 503 && r.retryAfter == "" {
				t.Errorf("503 without Retry-After")
			}
		}
	})
}
