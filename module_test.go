package pyhttp

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/caddyserver/caddy/v2"

	"github.com/pyhttp/caddy-pyhttp/internal/pypath"
)

func TestAcceptsJSON(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		accept string
		want   bool
	}{
		{"", false},
		{"*/*", false},
		{"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", false},
		{"application/json", true},
		{"application/json; charset=utf-8", true},
		{"text/html, application/json;q=0.5", true},
		{"application/json;q=0", false},
		{"application/json;q=0.000", false},
		{"application/jsonp", false},
		{"garbage;;;", false},
	} {
		if got := acceptsJSON(tc.accept); got != tc.want {
			t.Errorf("acceptsJSON(%q) = %v, want %v", tc.accept, got, tc.want)
		}
	}
}

// provisionCGI provisions a pyhttp_cgi handler outside a server, for tests
// that call ServeHTTP or its helpers directly.
func provisionCGI(t *testing.T, c *CGI) {
	t.Helper()
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	t.Cleanup(cancel)
	if err := c.Provision(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Cleanup() })
}

// withReplacer gives r the replacer Caddy's server would add.
func withReplacer(r *http.Request, ctx context.Context) (*http.Request, *caddy.Replacer) {
	repl := caddy.NewReplacer()
	return r.WithContext(context.WithValue(ctx, caddy.ReplacerCtxKey, repl)), repl
}

// A client that left before the script's header is recorded as 499 and is
// no error, as reverse_proxy does: no error route runs, nothing is logged
// above debug.
func TestCGIClientGoneIs499(t *testing.T) {
	c := &CGI{Root: cgiTree(t)}
	provisionCGI(t, c)
	core, logs := observer.New(zapcore.DebugLevel)
	c.logger = zap.New(core)
	ctx, cancel := context.WithCancel(context.Background())
	r, _ := withReplacer(httptest.NewRequest("GET", "/cgi-bin/sleep.sh", nil), ctx)
	w := httptest.NewRecorder()
	done := make(chan error, 1)
	go func() { done <- c.ServeHTTP(w, r, nil) }()
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("ServeHTTP returned %v, want nil", err)
	}
	if w.Code != 499 {
		t.Errorf("status = %d, want 499", w.Code)
	}
	for _, e := range logs.All() {
		if e.Level > zapcore.DebugLevel {
			t.Errorf("logged %s %q for a client that left, want debug only", e.Level, e.Message)
		}
	}
}

// AUTH_TYPE names the scheme of the Authorization header Caddy's
// authentication read, and is unset for an authentication without one.
func TestCGIAuthType(t *testing.T) {
	c := &CGI{}
	script := pypath.Script{Name: "/cgi-bin/env.sh", File: "/srv/cgi-bin/env.sh"}
	for _, tc := range []struct {
		user, authorization, want string
	}{
		{user: "alice", authorization: "Basic YWxpY2U6cHc=", want: "Basic"},
		{user: "alice", authorization: "Bearer t0ken", want: "Bearer"},
		{user: "alice", want: ""}, // forward_auth on a cookie, say
		{authorization: "Basic YWxpY2U6cHc=", want: ""},
	} {
		r, repl := withReplacer(httptest.NewRequest("GET", "/cgi-bin/env.sh", nil), context.Background())
		if tc.authorization != "" {
			r.Header.Set("Authorization", tc.authorization)
		}
		if tc.user != "" {
			repl.Set("http.auth.user.id", tc.user)
		}
		env, err := c.buildEnv(r, repl, "/srv", script)
		if err != nil {
			t.Fatal(err)
		}
		got, set := "", false
		for _, kv := range env {
			if v, ok := strings.CutPrefix(kv, "AUTH_TYPE="); ok {
				got, set = v, true
			}
		}
		if got != tc.want || set != (tc.want != "") {
			t.Errorf("user %q, Authorization %q: AUTH_TYPE = %q (set %v), want %q", tc.user, tc.authorization, got, set, tc.want)
		}
	}
}

// A relative Caddy data directory lies under the working directory, the
// default root, and holds private keys: it is hidden as file_server hides
// it.
func TestRelativeDataDirIsHidden(t *testing.T) {
	t.Setenv("XDG_DATA_HOME", "pyhttp-data")
	s := &Simple{}
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	defer cancel()
	if err := s.Provision(ctx); err != nil {
		t.Fatal(err)
	}
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	key := filepath.Join(wd, "pyhttp-data", "caddy", "certificates", "site.key")
	if !fileHidden(key, s.hide) {
		t.Errorf("%s is not hidden; hide = %q", key, s.hide)
	}
	if fileHidden(filepath.Join(wd, "pyhttp-data", "other"), s.hide) {
		t.Errorf("more than the data directory is hidden; hide = %q", s.hide)
	}
}

// {http.error.message} is Python's message alone: the Go error and the
// file-system paths behind it go to the log, never to the client.
func TestErrorMessageIsPythonsAlone(t *testing.T) {
	root := cgiTree(t)
	startCaddy(t, fmt.Sprintf(`
http://localhost:%d {
	root * %s
	pyhttp_cgi {
		cgi_dirs /cgi-bin
	}
	handle_errors {
		respond "{http.error.status_code} {http.error.message}"
	}
}
`, cgiPort, root))
	for _, tc := range []struct{ method, path, want string }{
		{"GET", "/nope", "404 File not found"},
		{"GET", "/cgi-bin/nope", "404 No such CGI script ('/cgi-bin/nope')"},
		{"GET", "/cgi-bin/sub", "403 CGI script is not a plain file ('/cgi-bin/sub')"},
		{"PUT", "/other.txt", "501 Unsupported method ('PUT')"},
		{"GET", "/cgi-bin/malformed.sh", "502 Bad Gateway"},
	} {
		resp, body := do(t, tc.method, cgiURL(tc.path), nil)
		if got := string(body); got != tc.want {
			t.Errorf("%s %s: got %d %q, want %q", tc.method, tc.path, resp.StatusCode, got, tc.want)
		}
		if strings.Contains(string(body), root) || strings.Contains(string(body), ": ") {
			t.Errorf("%s %s: message leaks a cause: %q", tc.method, tc.path, body)
		}
	}
}

// The cause of an error, with its path, is logged with the request's
// identity, since the error carries Python's message alone.
func TestErrorCauseIsLogged(t *testing.T) {
	root := publicTempDir(t)
	s := &Simple{Root: root}
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	defer cancel()
	if err := s.Provision(ctx); err != nil {
		t.Fatal(err)
	}
	core, logs := observer.New(zapcore.DebugLevel)
	s.logger = zap.New(core)
	r, _ := withReplacer(httptest.NewRequest("GET", "/nope", nil), context.Background())
	err := s.ServeHTTP(httptest.NewRecorder(), r, nil)
	if err == nil || err.Error() == "" || strings.Contains(err.Error(), root) {
		t.Fatalf("error = %v, want Python's message alone", err)
	}
	entries := logs.FilterMessage("request failed").All()
	if len(entries) != 1 {
		t.Fatalf("got %d log entries, want 1", len(entries))
	}
	fields := entries[0].ContextMap()
	if cause, _ := fields["error"].(string); !strings.Contains(cause, filepath.Join(root, "nope")) {
		t.Errorf("logged error = %q, want the path", cause)
	}
	if fields["method"] != "GET" || fields["uri"] != "/nope" || fields["status"] != int64(404) {
		t.Errorf("logged request identity = %v", fields)
	}
}
