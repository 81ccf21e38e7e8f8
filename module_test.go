package pyhttp

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// pyRepr must format method and script names exactly as Python's repr(),
// since they appear in Python's error messages.
func TestPyRepr(t *testing.T) {
	t.Parallel()
	inputs := []string{
		"PUT", "get", "", "it's", `say "hi"`, `both ' and "`, `back\slash`,
		"tab\tnew\nline\rcr", "\x00\x01\x1f\x7f", "/cgi-bin/김", "caf\u00e9", "\u00a0nbsp",
		"\u0085next", "\u200bzwsp", "\U0001F600", "\xff\xfe", "/cgi-bin/x y",
	}
	want := map[string]string{
		"PUT": `'PUT'`, "get": `'get'`, "": `''`, "it's": `"it's"`, `say "hi"`: `'say "hi"'`,
		`both ' and "`: `'both \' and "'`, `back\slash`: `'back\\slash'`,
		"tab\tnew\nline\rcr": `'tab\tnew\nline\rcr'`, "\x00\x01\x1f\x7f": `'\x00\x01\x1f\x7f'`,
		"/cgi-bin/김": `'/cgi-bin/김'`, "caf\u00e9": `'café'`, "\u00a0nbsp": `'\xa0nbsp'`,
		"\u0085next": `'\x85next'`, "\u200bzwsp": `'\u200bzwsp'`, "\U0001F600": "'\U0001F600'",
		"\xff\xfe": `'\udcff\udcfe'`, "/cgi-bin/x y": `'/cgi-bin/x y'`,
	}
	for _, in := range inputs {
		if got := pyRepr(in); got != want[in] {
			t.Errorf("pyRepr(%q) = %s, want %s", in, got, want[in])
		}
	}

	// Cross-check with the interpreter where it is installed.
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not installed")
	}
	script := "import json,sys\nfor s in json.load(sys.stdin): print(repr(s))"
	var valid []string
	for _, in := range inputs {
		if in != "\xff\xfe" { // not representable in JSON
			valid = append(valid, in)
		}
	}
	data, _ := json.Marshal(valid)
	cmd := exec.Command(python, "-c", script)
	cmd.Stdin = bytes.NewReader(data)
	cmd.Env = append(cmd.Environ(), "PYTHONIOENCODING=utf-8")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python3: %v", err)
	}
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if len(lines) != len(valid) {
		t.Fatalf("python printed %d lines, want %d", len(lines), len(valid))
	}
	for i, in := range valid {
		if got := pyRepr(in); got != lines[i] {
			t.Errorf("pyRepr(%q) = %s, python says %s", in, got, lines[i])
		}
	}
}

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

func TestFileHidden(t *testing.T) {
	t.Parallel()
	hide := []string{".git", "*.bak", "/srv/www/private", "/srv/www/Caddyfile"}
	for _, tc := range []struct {
		name string
		want bool
	}{
		{"/srv/www/index.html", false},
		{"/srv/www/.git", true},
		{"/srv/www/.git/config", true},
		{"/srv/www/sub/old.bak", true},
		{"/srv/www/private", true},
		{"/srv/www/private/key", true},
		{"/srv/www/privateer", false},
		{"/srv/www/Caddyfile", true},
		{"/srv/www/sub/Caddyfile", false},
		{"/srv/www/.gitignore", false},
	} {
		if got := fileHidden(tc.name, hide); got != tc.want {
			t.Errorf("fileHidden(%q) = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestEscapeLog(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"/plain":         "/plain",
		"/a\nb":          `/a\x0ab`,
		"/back\\slash":   `/back\\slash`,
		"/\x1b[31mred":   `/\x1b[31mred`,
		"/del\x7f":       `/del\x7f`,
		"/c1\u0085":      `/c1\x85`,
		"/김":             "/김",
		"GET / HTTP/1.1": "GET / HTTP/1.1",
	} {
		if got := escapeLog(in); got != want {
			t.Errorf("escapeLog(%q) = %q, want %q", in, got, want)
		}
	}
}

// listingHide must hide exactly the children fileHidden hides, for every
// directory that is not itself hidden.
func TestListingHideAgreesWithFileHidden(t *testing.T) {
	t.Parallel()
	hide := []string{".git", "*.bak", "/srv/www/Caddyfile", "/srv/*/secret*", "/srv/www/sub/x?", "/other/file"}
	dirs := []string{"/srv/www", "/srv/www/sub", "/srv/data", "/srv", "/other", "/"}
	names := []string{"index.html", ".git", "a.bak", "Caddyfile", "secret.txt", "secret", "x1", "x12", "file", "www", "sub", "data"}
	for _, dir := range dirs {
		if fileHidden(dir, hide) {
			continue
		}
		filter := listingHide(dir, hide)
		for _, name := range names {
			want := fileHidden(filepath.Join(dir, name), hide)
			got := filter != nil && filter(name)
			if got != want {
				t.Errorf("listingHide(%q)(%q) = %v, fileHidden says %v", dir, name, got, want)
			}
		}
	}
	if listingHide("/srv/www", []string{"/elsewhere/Caddyfile"}) != nil {
		t.Error("a pattern for another directory still costs a per-entry check")
	}
}
