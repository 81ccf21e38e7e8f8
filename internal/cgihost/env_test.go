package cgihost

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// envMap turns "K=V" entries into a map, failing on duplicates.
func envMap(t *testing.T, env []string) map[string]string {
	t.Helper()
	m := make(map[string]string, len(env))
	for _, kv := range env {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			t.Fatalf("got entry %q without '='", kv)
		}
		if _, dup := m[k]; dup {
			t.Fatalf("got %s twice", k)
		}
		m[k] = v
	}
	return m
}

func TestBuildEnv(t *testing.T) {
	t.Setenv("PATH", "/test/bin")
	t.Setenv("CGIHOST_PASSED", "yes")
	t.Setenv("CGIHOST_SECRET", "leak")
	t.Setenv("HTTP_USER_AGENT", "server-side")

	type check map[string]string
	tests := []struct {
		name   string
		req    func() *http.Request
		cfg    EnvConfig
		want   check
		absent []string
	}{
		{
			name: "basic GET",
			req: func() *http.Request {
				r := httptest.NewRequest("GET", "http://example.com:8080/cgi-bin/s.sh/extra?a=b", nil)
				r.RemoteAddr = "192.0.2.7:5555"
				r.Header.Set("User-Agent", "ua/1")
				r.Header.Set("Accept", "text/html")
				r.Header.Add("Accept", "text/plain")
				r.Header.Add("Cookie", "a=1")
				r.Header.Add("Cookie", "b=2")
				return r
			},
			cfg: EnvConfig{
				ServerSoftware: "pyhttp-test", DocumentRoot: "/srv/www/", ScriptName: "/cgi-bin/s.sh",
				ScriptFilename: "/srv/www/cgi-bin/s.sh", PathInfo: "/extra", PassEnv: []string{"CGIHOST_PASSED", "CGIHOST_UNSET"},
			},
			want: check{
				"SERVER_SOFTWARE": "pyhttp-test", "SERVER_NAME": "example.com", "SERVER_PORT": "8080",
				"SERVER_PROTOCOL": "HTTP/1.1", "GATEWAY_INTERFACE": "CGI/1.1", "REQUEST_METHOD": "GET",
				"SCRIPT_NAME": "/cgi-bin/s.sh", "PATH_INFO": "/extra", "PATH_TRANSLATED": "/srv/www/extra",
				"QUERY_STRING": "a=b", "REMOTE_ADDR": "192.0.2.7", "REMOTE_PORT": "5555",
				"REQUEST_URI": "http://example.com:8080/cgi-bin/s.sh/extra?a=b", "SCRIPT_FILENAME": "/srv/www/cgi-bin/s.sh",
				"DOCUMENT_ROOT": "/srv/www/", "REQUEST_SCHEME": "http", "HTTP_HOST": "example.com:8080",
				"HTTP_USER_AGENT": "ua/1", "HTTP_ACCEPT": "text/html,text/plain", "HTTP_COOKIE": "a=1; b=2",
				"PATH": "/test/bin", "CGIHOST_PASSED": "yes",
			},
			absent: []string{"CONTENT_TYPE", "CONTENT_LENGTH", "HTTPS", "REMOTE_USER", "AUTH_TYPE", "CGIHOST_SECRET", "CGIHOST_UNSET"},
		},
		{
			name: "POST with body, TLS, IPv6",
			req: func() *http.Request {
				r := httptest.NewRequest("POST", "https://[2001:db8::1]/s", strings.NewReader("abc"))
				r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				r.RemoteAddr = "[2001:db8::2]:443"
				r.Proto = "HTTP/2.0"
				r.RequestURI = "/s"
				return r
			},
			want: check{
				"SERVER_NAME": "2001:db8::1", "SERVER_PORT": "443", "SERVER_PROTOCOL": "HTTP/2.0",
				"CONTENT_TYPE": "application/x-www-form-urlencoded", "CONTENT_LENGTH": "3",
				"HTTPS": "on", "REQUEST_SCHEME": "https", "REMOTE_ADDR": "2001:db8::2", "REMOTE_PORT": "443",
				"QUERY_STRING": "", "REQUEST_URI": "/s", "SERVER_SOFTWARE": "caddy-pyhttp", "SCRIPT_NAME": "",
			},
			absent: []string{"HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH", "PATH_INFO", "PATH_TRANSLATED", "DOCUMENT_ROOT", "SCRIPT_FILENAME"},
		},
		{
			name: "Content-Length 0 header without body",
			req: func() *http.Request {
				r := httptest.NewRequest("GET", "/x", nil)
				r.Header.Set("Content-Length", "0")
				return r
			},
			want: check{"CONTENT_LENGTH": "0"},
		},
		{
			name: "local address port wins over Host",
			req: func() *http.Request {
				r := httptest.NewRequest("GET", "http://example.com:8080/", nil)
				ctx := context.WithValue(r.Context(), http.LocalAddrContextKey, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9999})
				return r.WithContext(ctx)
			},
			want: check{"SERVER_PORT": "9999", "SERVER_NAME": "example.com"},
		},
		{
			name: "no Host: name from local address, default port",
			req: func() *http.Request {
				r := httptest.NewRequest("GET", "/", nil)
				r.Host = ""
				ctx := context.WithValue(r.Context(), http.LocalAddrContextKey, &net.TCPAddr{IP: net.IPv4(10, 0, 0, 1), Port: 80})
				return r.WithContext(ctx)
			},
			want:   check{"SERVER_NAME": "10.0.0.1", "SERVER_PORT": "80"},
			absent: []string{"HTTP_HOST"},
		},
		{
			name: "TLS default port",
			req: func() *http.Request {
				r := httptest.NewRequest("GET", "https://example.com/", nil)
				r.TLS = &tls.ConnectionState{}
				return r
			},
			want: check{"SERVER_PORT": "443", "SERVER_NAME": "example.com"},
		},
		{
			name: "verified user and overrides",
			req: func() *http.Request {
				r := httptest.NewRequest("GET", "/", nil)
				r.Header.Set("Authorization", "Basic dXNlcjpwdw==")
				return r
			},
			cfg: EnvConfig{
				RemoteUser: "alice", AuthType: "Basic", RequestURI: "/orig?x", RemoteAddr: "198.51.100.1:1",
				Env: []string{"SERVER_NAME=forced", "EXTRA=a=b"},
			},
			want:   check{"REMOTE_USER": "alice", "AUTH_TYPE": "Basic", "REQUEST_URI": "/orig?x", "REMOTE_ADDR": "198.51.100.1", "SERVER_NAME": "forced", "EXTRA": "a=b"},
			absent: []string{"HTTP_AUTHORIZATION"},
		},
		{
			name:   "AUTH_TYPE needs a user",
			req:    func() *http.Request { return httptest.NewRequest("GET", "/", nil) },
			cfg:    EnvConfig{AuthType: "Basic"},
			absent: []string{"AUTH_TYPE", "REMOTE_USER"},
		},
		{
			name: "header names folded",
			req: func() *http.Request {
				r := httptest.NewRequest("GET", "/", nil)
				r.Header["X-Weird.Name+1"] = []string{"v"}
				r.Header["x-lower"] = []string{"l"}
				return r
			},
			want: check{"HTTP_X_WEIRD_NAME_1": "v", "HTTP_X_LOWER": "l"},
		},
		{
			name:   "server environment does not leak",
			req:    func() *http.Request { return httptest.NewRequest("GET", "/", nil) },
			absent: []string{"HTTP_USER_AGENT", "CGIHOST_SECRET", "HOME"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, err := BuildEnv(tt.req(), &tt.cfg)
			if err != nil {
				t.Fatalf("got error %v, want nil", err)
			}
			if !slices.IsSorted(env) {
				t.Errorf("got unsorted environment %q", env)
			}
			m := envMap(t, env)
			for k, want := range tt.want {
				if got, ok := m[k]; !ok || got != want {
					t.Errorf("got %s=%q (set: %v), want %q", k, got, ok, want)
				}
			}
			for _, k := range tt.absent {
				if v, ok := m[k]; ok {
					t.Errorf("got %s=%q, want it unset", k, v)
				}
			}
		})
	}
}

// A request's Proxy header must never become HTTP_PROXY (httpoxy,
// CVE-2016-5385), whatever its spelling.
func TestBuildEnvDropsProxyHeader(t *testing.T) {
	t.Parallel()
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Proxy", "http://evil:3128")
	r.Header["proxy"] = []string{"http://evil:3129"}
	env, err := BuildEnv(r, nil)
	if err != nil {
		t.Fatalf("got error %v, want nil", err)
	}
	if v, ok := envMap(t, env)["HTTP_PROXY"]; ok {
		t.Errorf("got HTTP_PROXY=%q, want it unset", v)
	}
}

// Credentials reach the script only when PassAuth says so (Apache CGIPassAuth).
func TestBuildEnvAuthorizationWithheldUnlessPassAuth(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name     string
		passAuth bool
		want     bool
	}{
		{name: "default", passAuth: false, want: false},
		{name: "PassAuth", passAuth: true, want: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest("GET", "/", nil)
			r.Header.Set("Authorization", "Bearer t0ken")
			env, err := BuildEnv(r, &EnvConfig{PassAuth: tt.passAuth})
			if err != nil {
				t.Fatalf("got error %v, want nil", err)
			}
			got, ok := envMap(t, env)["HTTP_AUTHORIZATION"]
			if ok != tt.want || (ok && got != "Bearer t0ken") {
				t.Errorf("got HTTP_AUTHORIZATION=%q (set: %v), want set: %v", got, ok, tt.want)
			}
		})
	}
}

// A client header must not override a variable set with Env (model: Caddy
// fastcgi TestBuildEnvConfiguredVarsOverrideHeaders).
func TestBuildEnvConfiguredVarsOverrideHeaders(t *testing.T) {
	t.Parallel()
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("X-Forwarded-For", "client-controlled")
	r.Header.Set("Host-Override", "x")
	env, err := BuildEnv(r, &EnvConfig{Env: []string{"HTTP_X_FORWARDED_FOR=trusted", "HTTP_HOST=fixed"}})
	if err != nil {
		t.Fatalf("got error %v, want nil", err)
	}
	m := envMap(t, env)
	for k, want := range map[string]string{"HTTP_X_FORWARDED_FOR": "trusted", "HTTP_HOST": "fixed"} {
		if m[k] != want {
			t.Errorf("got %s=%q, want %q", k, m[k], want)
		}
	}
}

// Two distinct header names folding to one variable are refused rather than
// letting either silently win.
func TestBuildEnvHeaderCollision(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name  string
		names []string
		want  error
	}{
		{name: "dash and underscore", names: []string{"X-Foo", "X_Foo"}, want: ErrHeaderCollision},
		{name: "case variants", names: []string{"X-Foo", "x-foo"}, want: ErrHeaderCollision},
		{name: "dot and dash", names: []string{"X.Foo", "X-Foo"}, want: ErrHeaderCollision},
		{name: "dropped names do not collide", names: []string{"Proxy", "proxy"}},
		{name: "authorization withheld", names: []string{"Authorization", "authorization"}},
		{name: "distinct", names: []string{"X-Foo", "X-Foo2"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest("GET", "/", nil)
			for _, n := range tt.names {
				r.Header[n] = []string{"v"}
			}
			_, err := BuildEnv(r, nil)
			if !errors.Is(err, tt.want) {
				t.Errorf("got error %v, want %v", err, tt.want)
			}
		})
	}
}

// Values that execve cannot carry are refused instead of failing later.
func TestBuildEnvInvalid(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		cfg  EnvConfig
	}{
		{name: "NUL in PATH_INFO", cfg: EnvConfig{PathInfo: "/a\x00b"}},
		{name: "Env entry without =", cfg: EnvConfig{Env: []string{"NOVALUE"}}},
		{name: "Env entry without name", cfg: EnvConfig{Env: []string{"=v"}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := BuildEnv(httptest.NewRequest("GET", "/", nil), &tt.cfg)
			if !errors.Is(err, ErrInvalidEnv) {
				t.Errorf("got error %v, want %v", err, ErrInvalidEnv)
			}
		})
	}
}

func TestArgv(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		in   string
		want []string
	}{
		{name: "no query gives one empty argument", in: "", want: []string{""}},
		{name: "word", in: "hello", want: []string{"hello"}},
		{name: "plus is space, no decoding", in: "hello+big%20world", want: []string{"hello big%20world"}},
		{name: "equals means no arguments", in: "a=b", want: nil},
		{name: "equals anywhere", in: "x+y=z", want: nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := Argv(tt.in); !slices.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestLoggableEnvRedacts(t *testing.T) {
	t.Parallel()
	env := []string{"HTTP_COOKIE=sid=1", "HTTP_AUTHORIZATION=Basic x", "HTTP_PROXY_AUTHORIZATION=Basic y", "HTTP_ACCEPT=*/*"}
	for _, tt := range []struct {
		name    string
		logCred bool
		want    map[string]string
	}{
		{name: "redacted", want: map[string]string{"HTTP_COOKIE": "", "HTTP_AUTHORIZATION": "", "HTTP_PROXY_AUTHORIZATION": "", "HTTP_ACCEPT": "*/*"}},
		{name: "kept", logCred: true, want: map[string]string{"HTTP_COOKIE": "sid=1", "HTTP_AUTHORIZATION": "Basic x", "HTTP_PROXY_AUTHORIZATION": "Basic y", "HTTP_ACCEPT": "*/*"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			core, logs := observer.New(zapcore.DebugLevel)
			zap.New(core).Info("env", zap.Object("env", LoggableEnv{Env: env, LogCredentials: tt.logCred}))
			got := logs.All()[0].ContextMap()["env"].(map[string]any)
			for k, want := range tt.want {
				if got[k] != want {
					t.Errorf("got %s=%q, want %q", k, got[k], want)
				}
			}
		})
	}
}

// FuzzBuildEnv checks that whatever a client sends, the environment stays
// well-formed: sorted unique names made of [A-Z0-9_] for HTTP_* variables,
// no NUL anywhere, and never HTTP_PROXY or (without PassAuth)
// HTTP_AUTHORIZATION.
func FuzzBuildEnv(f *testing.F) {
	f.Add("X-Foo", "bar", "/info", "a=b")
	f.Add("Proxy", "http://evil", "", "")
	f.Add("authorization", "Basic x", "/a%00b", "q")
	f.Add("X_Foo", "v\x00", "/\x00", "+")
	f.Add("X-Foo0", "v", "", "") // HTTP_X_FOO0 beside HTTP_X_FOO
	f.Fuzz(func(t *testing.T, name, value, pathInfo, query string) {
		r := httptest.NewRequest("GET", "/", nil)
		r.URL.RawQuery = query
		r.Header[name] = []string{value}
		r.Header["X-Foo"] = []string{"fixed"}
		env, err := BuildEnv(r, &EnvConfig{PathInfo: pathInfo})
		if err != nil {
			if !errors.Is(err, ErrHeaderCollision) && !errors.Is(err, ErrInvalidEnv) {
				t.Fatalf("got error %v, want ErrHeaderCollision or ErrInvalidEnv", err)
			}
			return
		}
		// Sorted by name, not by the "K=V" string: "=" sorts after digits,
		// so HTTP_X_FOO0=v comes before HTTP_X_FOO=fixed as strings.
		if !slices.IsSortedFunc(env, func(a, b string) int {
			ka, _, _ := strings.Cut(a, "=")
			kb, _, _ := strings.Cut(b, "=")
			return strings.Compare(ka, kb)
		}) {
			t.Fatalf("got environment not sorted by name %q", env)
		}
		seen := map[string]bool{}
		for _, kv := range env {
			k, _, ok := strings.Cut(kv, "=")
			if !ok || k == "" || strings.IndexByte(kv, 0) >= 0 {
				t.Fatalf("got malformed entry %q", kv)
			}
			if seen[k] {
				t.Fatalf("got %s twice", k)
			}
			seen[k] = true
			if strings.HasPrefix(k, "HTTP_") && strings.Trim(k, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") != "" {
				t.Fatalf("got variable name %q, want only [A-Z0-9_]", k)
			}
		}
		if seen["HTTP_PROXY"] || seen["HTTP_AUTHORIZATION"] {
			t.Fatalf("got HTTP_PROXY or HTTP_AUTHORIZATION in %q", env)
		}
	})
}

// Defaults fill only what the request left unset, and an empty Cookie
// field adds no empty cookie-pair.
func TestBuildEnvDefaultsAndEmptyCookie(t *testing.T) {
	t.Parallel()
	r := httptest.NewRequest("GET", "http://example.com/cgi-bin/s.sh", nil)
	r.Header["Cookie"] = []string{"", "b=2"}
	r.Header.Set("User-Agent", "ua/1")
	env, err := BuildEnv(r, &EnvConfig{ScriptName: "/cgi-bin/s.sh", Defaults: []string{"PATH_INFO=", "HTTP_USER_AGENT=", "REMOTE_HOST="}})
	if err != nil {
		t.Fatal(err)
	}
	m := make(map[string]string)
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	for k, want := range map[string]string{"PATH_INFO": "", "REMOTE_HOST": "", "HTTP_USER_AGENT": "ua/1", "HTTP_COOKIE": "b=2"} {
		if got, ok := m[k]; !ok || got != want {
			t.Errorf("%s: got %q (set: %v), want %q", k, got, ok, want)
		}
	}
	if _, err := BuildEnv(r, &EnvConfig{Defaults: []string{"=x"}}); !errors.Is(err, ErrInvalidEnv) {
		t.Errorf("nameless default: got %v, want ErrInvalidEnv", err)
	}
}

// REDIRECT_STATUS is always 200 (php-cgi's cgi.force_redirect wants it) and
// SERVER_ADDR is the local address the request came in on.
func TestBuildEnvRedirectStatusAndServerAddr(t *testing.T) {
	r := httptest.NewRequest("GET", "http://example.com/x.php", nil)
	env := envMap(t, mustBuildEnv(t, r))
	if env["REDIRECT_STATUS"] != "200" {
		t.Errorf("REDIRECT_STATUS = %q, want 200", env["REDIRECT_STATUS"])
	}
	if _, ok := env["SERVER_ADDR"]; ok {
		t.Errorf("SERVER_ADDR = %q without a local address", env["SERVER_ADDR"])
	}
	addr := &net.TCPAddr{IP: net.ParseIP("192.0.2.9"), Port: 8443}
	r = r.WithContext(context.WithValue(r.Context(), http.LocalAddrContextKey, net.Addr(addr)))
	env = envMap(t, mustBuildEnv(t, r))
	if env["SERVER_ADDR"] != "192.0.2.9" {
		t.Errorf("SERVER_ADDR = %q, want 192.0.2.9", env["SERVER_ADDR"])
	}
}

func mustBuildEnv(t *testing.T, r *http.Request) []string {
	t.Helper()
	env, err := BuildEnv(r, &EnvConfig{})
	if err != nil {
		t.Fatal(err)
	}
	return env
}
