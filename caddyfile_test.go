package pyhttp

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

func TestSimpleUnmarshalCaddyfile(t *testing.T) {
	for _, tc := range []struct {
		name    string
		input   string
		want    Simple
		wantErr string
	}{
		{name: "bare", input: `pyhttp_simple`, want: Simple{}},
		{
			name: "all subdirectives",
			input: `pyhttp_simple {
				root /srv/www
				index default.html index.html
				mime .wasm application/wasm
				mime .MD text/markdown
				hide .git *.bak
				hide /srv/www/private
			}`,
			want: Simple{
				Root:       "/srv/www",
				IndexNames: []string{"default.html", "index.html"},
				MIMETypes:  map[string]string{".wasm": "application/wasm", ".MD": "text/markdown"},
				Hide:       []string{".git", "*.bak", "/srv/www/private"},
			},
		},
		{name: "inline argument", input: `pyhttp_simple browse`, wantErr: "wrong argument count"},
		{name: "unknown subdirective", input: "pyhttp_simple {\n browse\n}", wantErr: "unknown subdirective 'browse'"},
		{name: "root without path", input: "pyhttp_simple {\n root\n}", wantErr: "wrong argument count"},
		{name: "root with two paths", input: "pyhttp_simple {\n root /a /b\n}", wantErr: "wrong argument count"},
		{name: "root twice", input: "pyhttp_simple {\n root /a\n root /b\n}", wantErr: "root already specified"},
		{name: "index without names", input: "pyhttp_simple {\n index\n}", wantErr: "wrong argument count"},
		{name: "mime one argument", input: "pyhttp_simple {\n mime .wasm\n}", wantErr: "wrong argument count"},
		{name: "mime three arguments", input: "pyhttp_simple {\n mime .wasm application/wasm extra\n}", wantErr: "wrong argument count"},
		{name: "mime twice for one extension", input: "pyhttp_simple {\n mime .x a/b\n mime .x c/d\n}", wantErr: "already specified"},
		{name: "hide without globs", input: "pyhttp_simple {\n hide\n}", wantErr: "wrong argument count"},
		{name: "python_version", input: "pyhttp_simple {\n python_version 3.14\n}", want: Simple{PythonVersion: "3.14"}},
		{name: "python_version without value", input: "pyhttp_simple {\n python_version\n}", wantErr: "wrong argument count"},
		{name: "python_version with two values", input: "pyhttp_simple {\n python_version 3.13 3.14\n}", wantErr: "wrong argument count"},
		{name: "python_version twice", input: "pyhttp_simple {\n python_version 3.13\n python_version 3.14\n}", wantErr: "python_version already specified"},
		{name: "fs", input: "pyhttp_simple {\n fs assets\n}", want: Simple{FileSystem: "assets"}},
		{name: "fs without name", input: "pyhttp_simple {\n fs\n}", wantErr: "wrong argument count"},
		{name: "fs twice", input: "pyhttp_simple {\n fs a\n fs b\n}", wantErr: "fs already specified"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var got Simple
			err := got.UnmarshalCaddyfile(caddyfile.NewTestDispenser(tc.input))
			checkUnmarshal(t, err, tc.wantErr, got, tc.want)
		})
	}
}

func TestCGIUnmarshalCaddyfile(t *testing.T) {
	for _, tc := range []struct {
		name    string
		input   string
		want    CGI
		wantErr string
	}{
		{name: "bare", input: `pyhttp_cgi`, want: CGI{}},
		{
			name: "all subdirectives",
			input: `pyhttp_cgi {
				root /srv/www
				cgi_dirs /cgi-bin /app/scripts
				passthru
				interpreter .py /usr/bin/python3 -u
				interpreter .pl perl
				env APP_MODE production
				env SITE {host}
				pass_env LANG
				pass_env TZ LC_ALL
				pass_auth
				dir /srv/work
				user www-data staff
				timeout 30s
				kill_grace 2s
				max_procs 8
				queue_timeout 1m
				max_request_body 10MiB
				index main.html
				mime .cgi text/plain
				hide *.orig
			}`,
			want: CGI{
				Root:           "/srv/www",
				CGIDirs:        []string{"/cgi-bin", "/app/scripts"},
				Passthru:       true,
				Interpreters:   map[string][]string{".py": {"/usr/bin/python3", "-u"}, ".pl": {"perl"}},
				Env:            map[string]string{"APP_MODE": "production", "SITE": "{host}"},
				PassEnv:        []string{"LANG", "TZ", "LC_ALL"},
				PassAuth:       true,
				Dir:            "/srv/work",
				User:           "www-data",
				Group:          "staff",
				Timeout:        caddy.Duration(30 * time.Second),
				KillGrace:      caddy.Duration(2 * time.Second),
				MaxProcs:       8,
				QueueTimeout:   caddy.Duration(time.Minute),
				MaxRequestBody: 10 << 20,
				IndexNames:     []string{"main.html"},
				MIMETypes:      map[string]string{".cgi": "text/plain"},
				Hide:           []string{"*.orig"},
			},
		},
		{name: "user without group", input: "pyhttp_cgi {\n user 33\n}", want: CGI{User: "33"}},
		{name: "user owner", input: "pyhttp_cgi {\n user owner\n}", want: CGI{User: "owner"}},
		{name: "strict", input: "pyhttp_cgi {\n strict\n}", want: CGI{Strict: true}},
		{name: "strict with argument", input: "pyhttp_cgi {\n strict on\n}", wantErr: "wrong argument count"},
		{name: "strict twice", input: "pyhttp_cgi {\n strict\n strict\n}", wantErr: "strict already specified"},
		{name: "user_pool", input: "pyhttp_cgi {\n user_pool 61000-61999\n}", want: CGI{UserPool: "61000-61999"}},
		{name: "user_pool twice", input: "pyhttp_cgi {\n user_pool 1-2\n user_pool 3-4\n}", wantErr: "user_pool already specified"},
		{name: "user_pool no argument", input: "pyhttp_cgi {\n user_pool\n}", wantErr: "wrong argument count"},
		{name: "spool_budget", input: "pyhttp_cgi {\n spool_budget 2GiB\n}", want: CGI{SpoolBudget: 2 << 30}},
		{name: "spool_budget zero", input: "pyhttp_cgi {\n spool_budget 0\n}", wantErr: "bad spool_budget value 0"},
		{name: "spool_budget not a size", input: "pyhttp_cgi {\n spool_budget lots\n}", wantErr: "bad spool_budget value lots"},
		{name: "spool_budget twice", input: "pyhttp_cgi {\n spool_budget 1GB\n spool_budget 2GB\n}", wantErr: "spool_budget already specified"},
		{name: "spool_budget no argument", input: "pyhttp_cgi {\n spool_budget\n}", wantErr: "wrong argument count"},
		{name: "inline argument", input: `pyhttp_cgi /cgi-bin`, wantErr: "wrong argument count"},
		{name: "unknown subdirective", input: "pyhttp_cgi {\n script_dir /x\n}", wantErr: "unknown subdirective 'script_dir'"},
		{name: "passthru with argument", input: "pyhttp_cgi {\n passthru yes\n}", wantErr: "wrong argument count"},
		{name: "pass_auth with argument", input: "pyhttp_cgi {\n pass_auth on\n}", wantErr: "wrong argument count"},
		{name: "cgi_dirs empty", input: "pyhttp_cgi {\n cgi_dirs\n}", wantErr: "wrong argument count"},
		{name: "cgi_dirs twice", input: "pyhttp_cgi {\n cgi_dirs /a\n cgi_dirs /b\n}", wantErr: "cgi_dirs already specified"},
		{name: "interpreter without program", input: "pyhttp_cgi {\n interpreter .py\n}", wantErr: "wrong argument count"},
		{name: "interpreter twice", input: "pyhttp_cgi {\n interpreter .py a\n interpreter .py b\n}", wantErr: "already specified"},
		{name: "env one argument", input: "pyhttp_cgi {\n env A\n}", wantErr: "wrong argument count"},
		{name: "env three arguments", input: "pyhttp_cgi {\n env A b c\n}", wantErr: "wrong argument count"},
		{name: "env twice", input: "pyhttp_cgi {\n env A b\n env A c\n}", wantErr: "env A already specified"},
		{name: "pass_env empty", input: "pyhttp_cgi {\n pass_env\n}", wantErr: "wrong argument count"},
		{name: "user empty", input: "pyhttp_cgi {\n user\n}", wantErr: "wrong argument count"},
		{name: "user three arguments", input: "pyhttp_cgi {\n user a b c\n}", wantErr: "wrong argument count"},
		{name: "timeout bad duration", input: "pyhttp_cgi {\n timeout soon\n}", wantErr: "bad timeout value soon"},
		{name: "timeout missing", input: "pyhttp_cgi {\n timeout\n}", wantErr: "wrong argument count"},
		{name: "timeout twice", input: "pyhttp_cgi {\n timeout 1s\n timeout 2s\n}", wantErr: "timeout already specified"},
		{name: "kill_grace bad", input: "pyhttp_cgi {\n kill_grace 5\n}", wantErr: "bad kill_grace value 5"},
		{name: "queue_timeout bad", input: "pyhttp_cgi {\n queue_timeout x\n}", wantErr: "bad queue_timeout value x"},
		{name: "max_procs not a number", input: "pyhttp_cgi {\n max_procs many\n}", wantErr: "bad max_procs value many"},
		{name: "max_procs two arguments", input: "pyhttp_cgi {\n max_procs 1 2\n}", wantErr: "wrong argument count"},
		{name: "max_request_body bad unit", input: "pyhttp_cgi {\n max_request_body 10XB\n}", wantErr: "bad max_request_body value 10XB"},
		{name: "max_request_body not a size", input: "pyhttp_cgi {\n max_request_body lots\n}", wantErr: "bad max_request_body value lots"},
		// A second single-valued subdirective must not silently replace the
		// first (a later "max_procs 0" would lift the limit).
		{name: "max_procs twice", input: "pyhttp_cgi {\n max_procs 4\n max_procs 0\n}", wantErr: "max_procs already specified"},
		{name: "max_request_body twice", input: "pyhttp_cgi {\n max_request_body 1MB\n max_request_body 2MB\n}", wantErr: "max_request_body already specified"},
		{name: "zero timeout then another", input: "pyhttp_cgi {\n timeout 0s\n timeout 10s\n}", wantErr: "timeout already specified"},
		{name: "passthru twice", input: "pyhttp_cgi {\n passthru\n passthru\n}", wantErr: "passthru already specified"},
		{name: "python_version", input: "pyhttp_cgi {\n python_version 3.12\n}", want: CGI{PythonVersion: "3.12"}},
		{name: "python_version twice", input: "pyhttp_cgi {\n python_version 3.12\n python_version 3.12\n}", wantErr: "python_version already specified"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var got CGI
			err := got.UnmarshalCaddyfile(caddyfile.NewTestDispenser(tc.input))
			checkUnmarshal(t, err, tc.wantErr, got, tc.want)
		})
	}
}

func TestErrorPageUnmarshalCaddyfile(t *testing.T) {
	for _, tc := range []struct {
		name    string
		input   string
		want    ErrorPage
		wantErr string
	}{
		{name: "bare", input: `pyhttp_error_page`, want: ErrorPage{}},
		{name: "inline status", input: `pyhttp_error_page 404`, want: ErrorPage{StatusCode: "404"}},
		{name: "placeholder status", input: `pyhttp_error_page {http.error.status_code}`, want: ErrorPage{StatusCode: "{http.error.status_code}"}},
		{
			name:  "block",
			input: "pyhttp_error_page {\n status 503\n message \"Down for maintenance\"\n explain {vars.why}\n}",
			want:  ErrorPage{StatusCode: "503", Message: "Down for maintenance", Explain: "{vars.why}"},
		},
		{name: "two inline arguments", input: `pyhttp_error_page 404 500`, wantErr: "wrong argument count"},
		{name: "status twice", input: "pyhttp_error_page 404 {\n status 500\n}", wantErr: "status already specified"},
		{name: "message without text", input: "pyhttp_error_page {\n message\n}", wantErr: "wrong argument count"},
		{name: "unknown subdirective", input: "pyhttp_error_page {\n body x\n}", wantErr: "unknown subdirective 'body'"},
		{name: "python_version", input: "pyhttp_error_page {\n python_version 3.13\n}", want: ErrorPage{PythonVersion: "3.13"}},
		{name: "python_version without value", input: "pyhttp_error_page {\n python_version\n}", wantErr: "wrong argument count"},
		{name: "python_version twice", input: "pyhttp_error_page {\n python_version 3.11\n python_version 3.14\n}", wantErr: "python_version already specified"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var got ErrorPage
			err := got.UnmarshalCaddyfile(caddyfile.NewTestDispenser(tc.input))
			checkUnmarshal(t, err, tc.wantErr, got, tc.want)
		})
	}
}

func TestLogEncoderUnmarshalCaddyfile(t *testing.T) {
	var e LogEncoder
	if err := e.UnmarshalCaddyfile(caddyfile.NewTestDispenser(`pyhttp`)); err != nil {
		t.Errorf("bare: got error %v", err)
	}
	if err := e.UnmarshalCaddyfile(caddyfile.NewTestDispenser(`pyhttp extra`)); err == nil {
		t.Error("argument: got no error")
	}
}

func checkUnmarshal[T any](t *testing.T, err error, wantErr string, got, want T) {
	t.Helper()
	if wantErr != "" {
		if err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Fatalf("got error %v, want one containing %q", err, wantErr)
		}
		return
	}
	if err != nil {
		t.Fatalf("got error %v, want none", err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
}

func TestMaxRequestBodySizes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in      string
		want    int64
		wantErr bool
	}{
		// The spellings README documented before humanize.ParseBytes
		// replaced the hand-written parser keep their values.
		{in: "0", want: 0},
		{in: "1024", want: 1024},
		{in: "10B", want: 10},
		{in: "64MiB", want: 64 << 20},
		{in: "64mib", want: 64 << 20},
		{in: "1MB", want: 1000000},
		{in: "2k", want: 2000},
		{in: "3KiB", want: 3072},
		{in: "1GiB", want: 1 << 30},
		{in: "1G", want: 1000000000},
		// New with humanize: fractions and larger units, as request_body.
		{in: "1.5MB", want: 1500000},
		{in: "1TB", want: 1000000000000},
		{in: "MB", wantErr: true},
		{in: "-1", wantErr: true},
		{in: "10XB", wantErr: true},
		{in: "99999999999999999999", wantErr: true},
		{in: "9EiB", wantErr: true}, // fits uint64, not int64
	} {
		t.Run(tc.in, func(t *testing.T) {
			var got CGI
			err := got.UnmarshalCaddyfile(caddyfile.NewTestDispenser("pyhttp_cgi {\n max_request_body " + tc.in + "\n}"))
			if (err != nil) != tc.wantErr {
				t.Fatalf("max_request_body %q: error = %v, want error %v", tc.in, err, tc.wantErr)
			}
			if got.MaxRequestBody != tc.want {
				t.Errorf("max_request_body %q = %d, want %d", tc.in, got.MaxRequestBody, tc.want)
			}
		})
	}
}

// The Caddyfile parser checks syntax only; what a value means is checked
// once, at load (Provision, Validate), for JSON and Caddyfile alike. Each
// case parses cleanly and must then fail to load with the rule's message.
func TestCaddyfileMeaningCheckedAtLoad(t *testing.T) {
	for _, tc := range []struct {
		name    string
		input   string
		wantErr string
	}{
		{name: "index with a slash", input: "pyhttp_simple {\n index a/index.html\n}", wantErr: `index file name "a/index.html"`},
		{name: "mime extension without dot", input: "pyhttp_simple {\n mime wasm application/wasm\n}", wantErr: `mime entry "wasm"`},
		{name: "mime double extension", input: "pyhttp_simple {\n mime .tar.gz application/gzip\n}", wantErr: `mime entry ".tar.gz"`},
		{name: "mime bad type", input: "pyhttp_simple {\n mime .wasm wasm\n}", wantErr: `mime entry ".wasm"`},
		{name: "hide bad glob", input: "pyhttp_simple {\n hide [\n}", wantErr: "bad hide pattern"},
		{name: "cgi static mime", input: "pyhttp_cgi {\n mime .tar.gz application/gzip\n}", wantErr: `mime entry ".tar.gz"`},
		{name: "interpreter extension without dot", input: "pyhttp_cgi {\n interpreter py python3\n}", wantErr: "must start with a dot"},
		{name: "timeout negative", input: "pyhttp_cgi {\n timeout -1s\n}", wantErr: "timeout must not be negative"},
		{name: "kill_grace negative", input: "pyhttp_cgi {\n kill_grace -1s\n}", wantErr: "kill_grace must not be negative"},
		{name: "max_procs negative", input: "pyhttp_cgi {\n max_procs -2\n}", wantErr: "max_procs must not be negative"},
		{name: "cgi_dirs without leading slash", input: "pyhttp_cgi {\n cgi_dirs cgi-bin\n}", wantErr: "must start with"},
		{name: "cgi_dirs with dot-dot", input: "pyhttp_cgi {\n cgi_dirs /a/../b\n}", wantErr: "cgi_dirs"},
		{name: "env name with equals", input: "pyhttp_cgi {\n env A=B x\n}", wantErr: "env: bad variable name"},
		{name: "pass_env name with equals", input: "pyhttp_cgi {\n pass_env A=B\n}", wantErr: "pass_env: bad variable name"},
		{name: "bad inline status", input: `pyhttp_error_page teapot`, wantErr: "status code must be a number"},
		{name: "status out of range", input: "pyhttp_error_page {\n status 1000\n}", wantErr: "status code must be a number"},
		{name: "interim status", input: "pyhttp_error_page {\n message x\n status 99\n}", wantErr: "status code must be a number"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := caddyfile.NewTestDispenser(tc.input)
			var m interface {
				caddy.Module
				caddyfile.Unmarshaler
			}
			switch name, _, _ := strings.Cut(tc.input, " "); name {
			case "pyhttp_simple":
				m = new(Simple)
			case "pyhttp_cgi":
				m = new(CGI)
			default:
				m = new(ErrorPage)
			}
			if err := m.UnmarshalCaddyfile(d); err != nil {
				t.Fatalf("parsing: %v (meaning belongs to Provision/Validate)", err)
			}
			ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
			defer cancel()
			var err error
			if p, ok := m.(caddy.Provisioner); ok {
				err = p.Provision(ctx)
			}
			if v, ok := m.(caddy.Validator); ok && err == nil {
				err = v.Validate()
			}
			if c, ok := m.(caddy.CleanerUpper); ok {
				_ = c.Cleanup()
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("got %v, want an error containing %q", err, tc.wantErr)
			}
		})
	}
}

// Settings that can only fail later must fail at load, naming the field.
func TestCGIProvisionRejectsBadSettings(t *testing.T) {
	for _, tc := range []struct {
		name    string
		cgi     CGI
		wantErr string
	}{
		{name: "missing dir", cgi: CGI{Dir: "/nonexistent/pyhttp-dir"}, wantErr: `dir "/nonexistent/pyhttp-dir" is not a directory`},
		{name: "bad cgi dir", cgi: CGI{CGIDirs: []string{"cgi-bin"}}, wantErr: "cgi_dirs"},
		{name: "interpreter without dot", cgi: CGI{Interpreters: map[string][]string{"py": {"python3"}}}, wantErr: "must start with a dot"},
		{name: "unknown user", cgi: CGI{User: "no-such-user-pyhttp"}, wantErr: "no-such-user-pyhttp"},
		{name: "user_pool not a range", cgi: CGI{UserPool: "61000"}, wantErr: "want a uid range"},
		{name: "user_pool with root", cgi: CGI{UserPool: "0-10"}, wantErr: "want 0 < first <= last"},
		{name: "user_pool reversed", cgi: CGI{UserPool: "62000-61000"}, wantErr: "want 0 < first <= last"},
		{name: "user_pool too large", cgi: CGI{UserPool: "100000-300000"}, wantErr: "at most 65536 uids"},
		{name: "user_pool with user", cgi: CGI{UserPool: "61000-61009", User: "nobody"}, wantErr: "user_pool and user cannot be combined"},
		{name: "user_pool under max_procs", cgi: CGI{UserPool: "61000-61001", MaxProcs: 3}, wantErr: "fewer than max_procs 3"},
		{name: "user_pool over an account", cgi: CGI{UserPool: "65530-65534"}, wantErr: `uid 65534 belongs to account "nobody"`},
		{name: "negative spool_budget", cgi: CGI{SpoolBudget: -1}, wantErr: "spool_budget must not be negative"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
			defer cancel()
			c := tc.cgi
			err := c.Provision(ctx)
			if err == nil {
				err = c.Validate()
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("got %v, want an error containing %q", err, tc.wantErr)
			}
			_ = c.Cleanup()
		})
	}
}

// An unsupported python_version fails at load in each handler, naming the
// field and the allowed values.
func TestProvisionRejectsBadPythonVersion(t *testing.T) {
	const want = `python_version: unsupported Python version "3.10" (allowed: 3.11, 3.12, 3.13, 3.14)`
	for _, tc := range []struct {
		name string
		h    caddy.Provisioner
	}{
		{"pyhttp_simple", &Simple{PythonVersion: "3.10"}},
		{"pyhttp_cgi", &CGI{PythonVersion: "3.10"}},
		{"pyhttp_error_page", &ErrorPage{PythonVersion: "3.10"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
			defer cancel()
			err := tc.h.Provision(ctx)
			if err == nil || err.Error() != want {
				t.Errorf("got %v, want %q", err, want)
			}
			if c, ok := tc.h.(caddy.CleanerUpper); ok {
				_ = c.Cleanup()
			}
		})
	}
}

func TestCaddyfileLimits(t *testing.T) {
	d := caddyfile.NewTestDispenser(`pyhttp_cgi {
		limits {
			cpu 10
			memory 256MiB
			processes 50
			files 128
			file_size 10MB
		}
	}`)
	var c CGI
	if err := c.UnmarshalCaddyfile(d); err != nil {
		t.Fatal(err)
	}
	want := ScriptLimits{CPU: 10, Memory: 256 << 20, Processes: 50, Files: 128, FileSize: 10_000_000}
	if c.Limits == nil || *c.Limits != want {
		t.Errorf("got %+v, want %+v", c.Limits, want)
	}
	for _, bad := range []string{
		"limits {\n cpu -1\n}", "limits {\n memory lots\n}", "limits {\n swap 1\n}",
		"limits {\n cpu 1\n cpu 2\n}", "limits {\n cpu\n}", "limits {\n}\nlimits {\n}",
	} {
		d := caddyfile.NewTestDispenser("pyhttp_cgi {\n" + bad + "\n}")
		var c CGI
		if err := c.UnmarshalCaddyfile(d); err == nil {
			t.Errorf("%q: got no error, want one", bad)
		}
	}
	if err := (&CGI{Limits: &ScriptLimits{Files: -1}}).Validate(); err == nil {
		t.Error("got no error for a negative limit, want one")
	}
}
