package pyhttp

import (
	"context"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

func TestCGIModesUnmarshalCaddyfile(t *testing.T) {
	for _, tc := range []struct {
		name    string
		input   string
		want    CGI
		wantErr string
	}{
		{
			name:  "program",
			input: "pyhttp_cgi {\n program /usr/lib/git-core/git-http-backend --flag\n script_name /git\n all_methods\n}",
			want:  CGI{Program: []string{"/usr/lib/git-core/git-http-backend", "--flag"}, ScriptName: "/git", AllMethods: true},
		},
		{
			name:  "script_ext accumulates",
			input: "pyhttp_cgi {\n script_ext .php .CGI\n script_ext .pl\n interpreter .php /usr/bin/php-cgi\n index index.php index.html\n}",
			want: CGI{ScriptExts: []string{".php", ".CGI", ".pl"}, Interpreters: map[string][]string{".php": {"/usr/bin/php-cgi"}},
				IndexNames: []string{"index.php", "index.html"}},
		},
		{name: "program without path", input: "pyhttp_cgi {\n program\n}", wantErr: "wrong argument count"},
		{name: "program relative", input: "pyhttp_cgi {\n program git-http-backend\n}", wantErr: "must be an absolute path"},
		{name: "program twice", input: "pyhttp_cgi {\n program /a\n program /b\n}", wantErr: "program already specified"},
		{name: "script_name without slash", input: "pyhttp_cgi {\n script_name cgit\n}", wantErr: "script_name must start with '/'"},
		{name: "script_name trailing slash", input: "pyhttp_cgi {\n script_name /cgit/\n}", wantErr: "script_name must start with '/'"},
		{name: "script_name dot-dot", input: "pyhttp_cgi {\n script_name /a/../b\n}", wantErr: "script_name must start with '/'"},
		{name: "script_name twice", input: "pyhttp_cgi {\n script_name /a\n script_name /b\n}", wantErr: "script_name already specified"},
		{name: "script_name empty", input: "pyhttp_cgi {\n script_name\n}", wantErr: "wrong argument count"},
		{name: "script_ext without dot", input: "pyhttp_cgi {\n script_ext php\n}", wantErr: "must look like .ext"},
		{name: "script_ext with slash", input: "pyhttp_cgi {\n script_ext .a/b\n}", wantErr: "script_ext"},
		{name: "script_ext trailing dot", input: "pyhttp_cgi {\n script_ext .php.\n}", wantErr: "script_ext"},
		{name: "script_ext empty", input: "pyhttp_cgi {\n script_ext\n}", wantErr: "wrong argument count"},
		{name: "all_methods argument", input: "pyhttp_cgi {\n all_methods yes\n}", wantErr: "wrong argument count"},
		{name: "all_methods twice", input: "pyhttp_cgi {\n all_methods\n all_methods\n}", wantErr: "all_methods already specified"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var got CGI
			err := got.UnmarshalCaddyfile(caddyfile.NewTestDispenser(tc.input))
			checkUnmarshal(t, err, tc.wantErr, got, tc.want)
		})
	}
}

// Mode combinations that cannot work fail at load.
func TestCGIModesProvisionRejectsBadSettings(t *testing.T) {
	for _, tc := range []struct {
		name    string
		cgi     CGI
		wantErr string
	}{
		{name: "program with cgi_dirs", cgi: CGI{Program: []string{"/bin/sh"}, CGIDirs: []string{"/cgi-bin"}}, wantErr: "program and cgi_dirs cannot be combined"},
		{name: "program with script_ext", cgi: CGI{Program: []string{"/bin/sh"}, ScriptExts: []string{".php"}}, wantErr: "program and script_ext cannot be combined"},
		{name: "program with passthru", cgi: CGI{Program: []string{"/bin/sh"}, Passthru: true}, wantErr: "program and passthru cannot be combined"},
		{name: "program missing", cgi: CGI{Program: []string{"/nonexistent/pyhttp-program"}}, wantErr: "no such file"},
		{name: "program not executable", cgi: CGI{Program: []string{"/etc/passwd"}}, wantErr: "not an executable file"},
		{name: "program directory", cgi: CGI{Program: []string{"/usr"}}, wantErr: "not an executable file"},
		{name: "program relative", cgi: CGI{Program: []string{"sh"}}, wantErr: "must be an absolute path"},
		{name: "script_name without program", cgi: CGI{ScriptName: "/x"}, wantErr: "script_name requires program"},
		{name: "script_name bad", cgi: CGI{Program: []string{"/bin/sh"}, ScriptName: "x"}, wantErr: "script_name"},
		{name: "script_ext with cgi_dirs", cgi: CGI{ScriptExts: []string{".php"}, CGIDirs: []string{"/cgi-bin"}}, wantErr: "script_ext and cgi_dirs cannot be combined"},
		{name: "script_ext without dot", cgi: CGI{ScriptExts: []string{"php"}}, wantErr: "must look like .ext"},
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

// The chunked-body default: 64 MiB in Python's mode, 1 GiB where real
// applications (git push, uploads) run; an explicit setting wins.
func TestCGIModesMaxRequestBodyDefault(t *testing.T) {
	for _, tc := range []struct {
		name string
		cgi  CGI
		want int64
	}{
		// 0 leaves cgihost's own default of 64 MiB in force: each default
		// is written once, where it is used.
		{name: "directory", cgi: CGI{}, want: 0},
		{name: "program", cgi: CGI{Program: []string{"/bin/sh"}}, want: 1 << 30},
		{name: "extension", cgi: CGI{ScriptExts: []string{".cgi"}}, want: 1 << 30},
		{name: "explicit", cgi: CGI{Program: []string{"/bin/sh"}, MaxRequestBody: 5}, want: 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
			defer cancel()
			c := tc.cgi
			if err := c.Provision(ctx); err != nil {
				t.Fatal(err)
			}
			defer c.Cleanup()
			if c.MaxRequestBody != tc.want || c.host.MaxRequestBody != tc.want {
				t.Errorf("MaxRequestBody = %d (host %d), want %d", c.MaxRequestBody, c.host.MaxRequestBody, tc.want)
			}
		})
	}
}
