package pypath

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// defaultCGIDirs are Python's cgi_directories plus a nested entry.
var defaultCGIDirs = []string{"/cgi-bin", "/htbin", "/sub/dir/cgi-bin"}

// TestCollapsePath proves CollapsePath rebuilds paths exactly as
// _url_collapse_path does, including its odd "//" for a single segment.
func TestCollapsePath(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
	}{
		{"spec dotdot", "/a/b/c/../d", "/a/b/d"},
		{"single segment", "/cgi-bin", "//cgi-bin"},
		{"root", "/", "//"},
		{"empty", "", "//"},
		{"trailing slash", "/a/b/", "/a/b/"},
		{"decoded first", "/%63gi-bin/s", "/cgi-bin/s"},
		{"encoded slash splits", "/cgi-bin%2fs", "/cgi-bin/s"},
		{"dotdot pops", "/files/../cgi-bin/s", "/cgi-bin/s"},
		{"double slash", "//cgi-bin/s", "/cgi-bin/s"},
		{"dot segments", "/./a/./b", "/a/b"},
		{"last dot becomes empty", "/a/.", "/a/"},
		{"last dotdot pops and becomes empty", "/a/b/..", "/a/"},
		{"hash stays", "/cgi-bin/x.sh#f", "/cgi-bin/x.sh#f"},
		{"encoded question mark is text", "/cgi-bin/a%3Fb", "/cgi-bin/a?b"},
		{"decoded once", "/cgi-bin/%252e%252e", "/cgi-bin/%2e%2e"},
		{"backslash literal", `/cgi-bin\..\x`, `//cgi-bin\..\x`},
		{"relative", "a/b", "/a/b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := CollapsePath(tt.in)
			if err != nil {
				t.Fatalf("CollapsePath(%q): %v", tt.in, err)
			}
			if got != tt.want {
				t.Errorf("CollapsePath(%q) got %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// TestCollapsePathErrors proves that where Python raises IndexError or
// would carry a NUL we return a sentinel instead of a path.
func TestCollapsePathErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in string
		want     error
	}{
		{"dotdot at start", "/../x", ErrAboveRoot},
		{"last dotdot at start", "/..", ErrAboveRoot},
		{"encoded dotdot", "/%2e%2e/cgi-bin/x", ErrAboveRoot},
		{"one too many", "/a/../../b", ErrAboveRoot},
		{"nul", "/cgi-bin/a%00", ErrNUL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := CollapsePath(tt.in)
			if !errors.Is(err, tt.want) {
				t.Errorf("CollapsePath(%q) got (%q, %v), want %v", tt.in, got, err, tt.want)
			}
		})
	}
}

// TestMatchCGIDir proves is_cgi's leading-prefix match: exact,
// case-sensitive, first '/' searched from index 1.
func TestMatchCGIDir(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, collapsed, dir, rest string
		ok                         bool
	}{
		{"script", "/cgi-bin/x.sh", "/cgi-bin", "x.sh", true},
		{"path info", "/cgi-bin/x.sh/a/b", "/cgi-bin", "x.sh/a/b", true},
		{"empty script", "/cgi-bin/", "/cgi-bin", "", true},
		{"no slash after dir", "//cgi-bin", "", "", false},
		{"second dir", "/htbin/y", "/htbin", "y", true},
		{"not leading", "/x/cgi-bin/y", "", "", false},
		{"case-sensitive", "/CGI-BIN/y", "", "", false},
		{"longer name", "/cgi-binx/y", "", "", false},
		{"nested dir", "/sub/dir/cgi-bin/s", "/sub/dir/cgi-bin", "s", true},
		{"nested dir parent", "/sub/dir/s", "", "", false},
		{"root", "//", "", "", false},
		{"hash in name", "/cgi-bin/x.sh#f", "/cgi-bin", "x.sh#f", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir, rest, ok := MatchCGIDir(tt.collapsed, defaultCGIDirs)
			if dir != tt.dir || rest != tt.rest || ok != tt.ok {
				t.Errorf("MatchCGIDir(%q) got (%q, %q, %v), want (%q, %q, %v)",
					tt.collapsed, dir, rest, ok, tt.dir, tt.rest, tt.ok)
			}
		})
	}
}

// TestCGIDetection proves that every spelling of a CGI path that Python runs
// is detected as CGI, so the static handler never discloses a script.
func TestCGIDetection(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, raw, rest string
		ok              bool
	}{
		{"encoded letter", "/%63gi-bin/s", "s", true},
		{"encoded slash", "/cgi-bin%2fs", "s", true},
		{"dotdot", "/files/../cgi-bin/s", "s", true},
		{"double slash", "//cgi-bin/s", "s", true},
		{"dir without slash is static", "/cgi-bin", "", false},
		{"dir with slash is cgi", "/cgi-bin/", "", true},
		{"nested", "/sub/./dir//cgi-bin/s/p", "s/p", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			collapsed, err := CollapsePath(tt.raw)
			if err != nil {
				t.Fatalf("CollapsePath(%q): %v", tt.raw, err)
			}
			_, rest, ok := MatchCGIDir(collapsed, defaultCGIDirs)
			if rest != tt.rest || ok != tt.ok {
				t.Errorf("%q: got (%q, %v), want (%q, %v)", tt.raw, rest, ok, tt.rest, tt.ok)
			}
		})
	}
}

// cgiTree builds root/cgi-bin/{sub/nested.sh,x.sh}, root/htbin/ and
// root/a/cgi/deep/ for the LocateScript tests and the fuzzer.
func cgiTree(tb testing.TB, root string) {
	tb.Helper()
	for _, d := range []string{"cgi-bin/sub/deeper", "htbin", "a/cgi/deep", "files"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			tb.Fatal(err)
		}
	}
	for _, f := range []string{"cgi-bin/x.sh", "cgi-bin/sub/nested.sh", "a/cgi/s", "secret.sh"} {
		if err := os.WriteFile(filepath.Join(root, f), []byte("#!/bin/sh\n"), 0o755); err != nil {
			tb.Fatal(err)
		}
	}
}

// TestLocateScript proves run_cgi's walk: existing directories move the
// script boundary, the next segment is the script, and the rest is
// PATH_INFO, decoded once and never escaping the CGI directory.
func TestLocateScript(t *testing.T) {
	root := t.TempDir()
	cgiTree(t, root)
	tests := []struct {
		name, raw string
		want      Script
	}{
		{"nested script", "/cgi-bin/sub/nested.sh/more", Script{"/cgi-bin", "/cgi-bin/sub/nested.sh", "cgi-bin/sub/nested.sh", "/more"}},
		{"plain script", "/cgi-bin/x.sh", Script{"/cgi-bin", "/cgi-bin/x.sh", "cgi-bin/x.sh", ""}},
		{"path info trailing slash", "/cgi-bin/x.sh/a/b/", Script{"/cgi-bin", "/cgi-bin/x.sh", "cgi-bin/x.sh", "/a/b/"}},
		{"path info decoded once", "/cgi-bin/x.sh/%2541", Script{"/cgi-bin", "/cgi-bin/x.sh", "cgi-bin/x.sh", "/%41"}},
		{"empty script", "/cgi-bin/", Script{"/cgi-bin", "/cgi-bin/", "cgi-bin", ""}},
		{"walk stops at a file", "/cgi-bin/sub/deeper/missing/x", Script{"/cgi-bin", "/cgi-bin/sub/deeper/missing", "cgi-bin/sub/deeper/missing", "/x"}},
		{"directory as script", "/cgi-bin/sub", Script{"/cgi-bin", "/cgi-bin/sub", "cgi-bin/sub", ""}},
		{"walked dir with trailing slash", "/cgi-bin/sub/", Script{"/cgi-bin", "/cgi-bin/sub/", "cgi-bin/sub", ""}},
		{"nested cgi dir", "/a/cgi/s/x", Script{"/a/cgi", "/a/cgi/s", "a/cgi/s", "/x"}},
		{"hash cut for file only", "/cgi-bin/x.sh#f", Script{"/cgi-bin", "/cgi-bin/x.sh#f", "cgi-bin/x.sh", ""}},
		// Python resolves the ".." left by the '#' cut to root, a directory
		// outside the CGI directory; both answers are 403 "not a plain file".
		{"dotdot left by hash cut stays inside", "/cgi-bin/..#x", Script{"/cgi-bin", "/cgi-bin/..#x", "cgi-bin", ""}},
		{"walk through dotdot-hash stays inside", "/cgi-bin/sub/..#/x.sh", Script{"/cgi-bin", "/cgi-bin/sub/..#/x.sh", "cgi-bin/sub", ""}},
		{"question mark is part of name", "/cgi-bin/x.sh%3Fq=/p", Script{"/cgi-bin", "/cgi-bin/x.sh?q=", "cgi-bin/x.sh?q=", "/p"}},
		// Python decodes the script name again and would run root/secret.sh.
		{"double-encoded dotdot stays inside", "/cgi-bin/%252e%252e%252fsecret.sh", Script{"/cgi-bin", "/cgi-bin/%2e%2e%2fsecret.sh", "cgi-bin/%2e%2e%2fsecret.sh", ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			collapsed, err := CollapsePath(tt.raw)
			if err != nil {
				t.Fatalf("CollapsePath(%q): %v", tt.raw, err)
			}
			dir, rest, ok := MatchCGIDir(collapsed, []string{"/cgi-bin", "/htbin", "/a/cgi"})
			if !ok {
				t.Fatalf("MatchCGIDir(%q) did not match", collapsed)
			}
			got := LocateScript(root, dir, rest)
			want := tt.want
			want.File = filepath.Join(root, want.File)
			if got != want {
				t.Errorf("LocateScript(%q) got %+v, want %+v", tt.raw, got, want)
			}
		})
	}
}

// TestLocateScriptFollowsSymlinks proves the walk follows a symlinked
// directory, as os.path.isdir does in run_cgi.
func TestLocateScriptFollowsSymlinks(t *testing.T) {
	root := t.TempDir()
	cgiTree(t, root)
	if err := os.Symlink("sub", filepath.Join(root, "cgi-bin", "link")); err != nil {
		t.Skipf("symlink: %v", err)
	}
	got := LocateScript(root, "/cgi-bin", "link/nested.sh/i")
	if got.Name != "/cgi-bin/link/nested.sh" || got.PathInfo != "/i" {
		t.Errorf("got Name %q PathInfo %q, want %q and %q", got.Name, got.PathInfo, "/cgi-bin/link/nested.sh", "/i")
	}
}

// TestCleanCGIDir proves configured CGI directories are normalised to the
// form is_cgi compares against, and that unmatchable ones are refused with
// a message naming the problem.
func TestCleanCGIDir(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want, wantErr string
	}{
		{"default", "/cgi-bin", "/cgi-bin", ""},
		{"trailing slash stripped", "/htbin/", "/htbin", ""},
		{"nested", "/sub/dir/cgi-bin", "/sub/dir/cgi-bin", ""},
		{"relative", "cgi-bin", "", `cgi directory "cgi-bin" must start with "/"`},
		{"empty", "", "", `cgi directory "" must start with "/"`},
		{"root", "/", "", `cgi directory "/" must not be "/"`},
		{"double slash", "/a//b", "", `cgi directory "/a//b" must not contain an empty segment`},
		{"two trailing slashes", "/a//", "", `cgi directory "/a//" must not contain an empty segment`},
		{"dot", "/a/./b", "", `cgi directory "/a/./b" must not contain a "." segment`},
		{"dotdot", "/a/..", "", `cgi directory "/a/.." must not contain a ".." segment`},
		{"query", "/a?b", "", `cgi directory "/a?b" must not contain '?'`},
		{"hash", "/a#b", "", `cgi directory "/a#b" must not contain '#'`},
		{"nul", "/a\x00", "", `cgi directory "/a\x00" must not contain '\x00'`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := CleanCGIDir(tt.in)
			if tt.wantErr == "" {
				if err != nil || got != tt.want {
					t.Errorf("CleanCGIDir(%q) got (%q, %v), want %q", tt.in, got, err, tt.want)
				}
				return
			}
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("CleanCGIDir(%q) got error %v, want %q", tt.in, err, tt.wantErr)
			}
			if !errors.Is(err, ErrInvalidCGIDir) {
				t.Errorf("CleanCGIDir(%q) error %v does not wrap ErrInvalidCGIDir", tt.in, err)
			}
			if got != "" {
				t.Errorf("CleanCGIDir(%q) got %q with an error", tt.in, got)
			}
		})
	}
}

// TestCleanCGIDirMatches proves a cleaned directory matches its own
// requests: the trailing slash must not survive into the comparison.
func TestCleanCGIDirMatches(t *testing.T) {
	t.Parallel()
	d, err := CleanCGIDir("/htbin/")
	if err != nil {
		t.Fatal(err)
	}
	if _, rest, ok := MatchCGIDir("/htbin/x", []string{d}); !ok || rest != "x" {
		t.Errorf("got (%q, %v), want (%q, true)", rest, ok, "x")
	}
	if strings.HasSuffix(d, "/") {
		t.Errorf("got %q, want no trailing slash", d)
	}
}
