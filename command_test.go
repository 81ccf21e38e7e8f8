package pyhttp

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	caddycmd "github.com/caddyserver/caddy/v2/cmd"

	"github.com/caddyserver/caddy/v2"
)

// serverFlags parses args with the flags pyhttp-server registers.
func serverFlags(t *testing.T, args ...string) caddycmd.Flags {
	t.Helper()
	fs := pflag.NewFlagSet("pyhttp-server", pflag.ContinueOnError)
	fs.StringP("bind", "b", "", "")
	fs.StringP("directory", "d", "", "")
	fs.StringP("protocol", "p", "HTTP/1.0", "")
	fs.Bool("cgi", false, "")
	fs.String("domain", "", "")
	fs.String("tls-cert", "", "")
	fs.String("tls-key", "", "")
	fs.Bool("access-log", true, "")
	fs.String("python-version", "", "")
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return caddycmd.Flags{FlagSet: fs}
}

func TestPyHTTPServerFlags(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name    string
		args    []string
		banner  string
		wantErr string
	}{
		{name: "defaults", args: []string{"-d", dir}, banner: "Serving HTTP on 0.0.0.0 port 8000 (http://0.0.0.0:8000/) ..."},
		{name: "port and bind", args: []string{"-d", dir, "-b", "127.0.0.1", "9000"}, banner: "Serving HTTP on 127.0.0.1 port 9000 (http://127.0.0.1:9000/) ..."},
		{name: "IPv6 bind is bracketed in the URL", args: []string{"--directory", dir, "--bind", "::1", "8080"}, banner: "Serving HTTP on ::1 port 8080 (http://[::1]:8080/) ..."},
		{name: "protocol accepted", args: []string{"-d", dir, "-p", "HTTP/1.1"}, banner: "Serving HTTP on 0.0.0.0 port 8000 (http://0.0.0.0:8000/) ..."},
		{name: "domain means HTTPS on 443", args: []string{"-d", dir, "--domain", "example.com"}, banner: "Serving HTTPS on 0.0.0.0 port 443 (https://example.com:443/) ..."},
		{name: "tls files", args: []string{"-d", dir, "--tls-cert", "c.pem", "--tls-key", "k.pem", "4443"}, banner: "Serving HTTPS on 0.0.0.0 port 4443 (https://0.0.0.0:4443/) ..."},
		{name: "port not a number", args: []string{"-d", dir, "http"}, wantErr: "argument port: invalid int value: 'http'"},
		{name: "port out of range", args: []string{"-d", dir, "70000"}, wantErr: "invalid int value"},
		{name: "bad protocol", args: []string{"-d", dir, "-p", "HTTP/2"}, wantErr: "invalid protocol version"},
		{name: "key without cert", args: []string{"-d", dir, "--tls-key", "k.pem"}, wantErr: "--tls-key requires --tls-cert to be set"},
		{name: "cert without key", args: []string{"-d", dir, "--tls-cert", "c.pem"}, wantErr: "--tls-cert requires --tls-key"},
		{name: "missing directory", args: []string{"-d", dir + "/nope"}, wantErr: "is not a directory"},
		{name: "python version", args: []string{"-d", dir, "--python-version", "3.14"}, banner: "Serving HTTP on 0.0.0.0 port 8000 (http://0.0.0.0:8000/) ..."},
		{name: "unsupported python version", args: []string{"-d", dir, "--python-version", "3.10"}, wantErr: `argument --python-version: unsupported Python version "3.10" (allowed: 3.11, 3.12, 3.13, 3.14)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts, err := parseServerFlags(serverFlags(t, tc.args...))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := opts.banner(); got != tc.banner {
				t.Errorf("banner = %q, want %q", got, tc.banner)
			}
		})
	}
}

// The command's generated config must be one Caddy accepts, with Python's
// error page in the error routes, CGI only with --cgi, and no admin
// endpoint (with one on TCP, pyhttp_cgi as root would refuse to load).
func TestPyHTTPServerConfig(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name    string
		args    []string
		handler string
		// versions is how many handlers must carry python_version.
		versions int
	}{
		{name: "simple", args: []string{"-d", dir, "-b", "127.0.0.1", "18000"}, handler: `"handler":"pyhttp_simple"`},
		{name: "cgi", args: []string{"-d", dir, "--cgi", "-b", "127.0.0.1", "18001"}, handler: `"handler":"pyhttp_cgi"`},
		{name: "python version reaches both handlers", args: []string{"-d", dir, "--python-version", "3.14", "-b", "127.0.0.1", "18002"}, handler: `"handler":"pyhttp_simple"`, versions: 2},
		{name: "python version reaches cgi", args: []string{"-d", dir, "--cgi", "--python-version", "3.13", "-b", "127.0.0.1", "18003"}, handler: `"handler":"pyhttp_cgi"`, versions: 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts, err := parseServerFlags(serverFlags(t, tc.args...))
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := opts.config()
			if err != nil {
				t.Fatal(err)
			}
			data, err := json.Marshal(cfg)
			if err != nil {
				t.Fatal(err)
			}
			js := string(data)
			for _, want := range []string{tc.handler, `"handler":"pyhttp_error_page"`, `"listen":["127.0.0.1:` + tc.args[len(tc.args)-1] + `"]`, `"format":"pyhttp"`,
				// Safe by construction: no admin endpoint a script could reach.
				`"admin":{"disabled":true`} {
				if !strings.Contains(js, want) {
					t.Errorf("config lacks %s:\n%s", want, js)
				}
			}
			if n := strings.Count(js, `"python_version":`); n != tc.versions {
				t.Errorf("python_version set on %d handlers, want %d:\n%s", n, tc.versions, js)
			}
			if err := caddy.Validate(cfg); err != nil {
				t.Errorf("caddy rejects the config: %v", err)
			}
		})
	}
}
