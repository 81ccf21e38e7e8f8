package pypath

import (
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pyhttp/caddy-pyhttp/internal/pystr"
	"github.com/pyhttp/caddy-pyhttp/internal/pyversion"
)

// traversalSeeds are path traversal and confusion attempts shared by both
// fuzzers; the same inputs are committed under testdata/fuzz so that plain
// go test replays them.
var traversalSeeds = []string{
	"/", "", "..", "/..", "/../../../../etc/passwd", "/a/../../b",
	"/%2e%2e/%2e%2e/etc/passwd", "/%2E%2e%2fetc%2Fpasswd", "/.%2e/.%2E/x",
	"/cgi-bin/%2e%2e/secret.sh", "/cgi-bin/%252e%252e%252fsecret.sh",
	"/cgi-bin%2f..%2f..%2fsecret.sh", "/cgi-bin/..\\..\\secret.sh",
	"/cgi-bin/x.sh/../../..", "/a/%00/..", "/cgi-bin/%00", "//evil.example/",
	"///cgi-bin//./x.sh", "/./././cgi-bin/./", "/htbin/sub/../../x",
	"/a/cgi/deep/../../../cgi-bin/x.sh", "/cgi-bin/sub/nested.sh/more",
	"/cgi-bin/#/../../x", "/cgi-bin/x?/../../y", "/d#frag?q/../..",
	"/d?q#frag/../..", strings.Repeat("../", 40) + "etc/passwd",
	strings.Repeat("/..", 40), "/%ED%B3%BF/..", "/%FF%2e%2e", "/dir/ ",
}

// FuzzTranslate checks, for any target and python_version, that Translate
// stays inside the root and that DirRedirect never yields a scheme-relative Location.
func FuzzTranslate(f *testing.F) {
	for _, s := range traversalSeeds {
		f.Add(s)
	}
	const root = "/srv/www"
	f.Fuzz(func(t *testing.T, target string) {
		for _, v := range []pyversion.Version{pyversion.Default, pyversion.V3_13, pyversion.V3_14} {
			got, err := Translate(v, root, target)
			if err != nil {
				p, _, _ := strings.Cut(target, "?")
				p, _, _ = strings.Cut(p, "#")
				if !errors.Is(err, ErrNUL) || !strings.Contains(pystr.Unquote(p), "\x00") {
					t.Fatalf("%q: Translate(%q) got error %v without a decoded NUL", v, target, err)
				}
			} else {
				r := strings.TrimSuffix(got, "/")
				if r != root && !strings.HasPrefix(r, root+"/") {
					t.Fatalf("%q: Translate(%q) got %q, outside %q", v, target, got, root)
				}
				if slices.Contains(strings.Split(r, "/"), "..") {
					t.Fatalf("%q: Translate(%q) got %q with a '..' element", v, target, got)
				}
			}
			loc, ok := DirRedirect(v, target)
			if strings.HasPrefix(loc, "//") {
				t.Fatalf("%q: DirRedirect(%q) got scheme-relative %q", v, target, loc)
			}
			if ok {
				// The path part of the Location is what the client requests next.
				p, _, _ := strings.Cut(loc, "#")
				p, _, _ = strings.Cut(p, "?")
				if !strings.HasSuffix(p, "/") {
					t.Fatalf("%q: DirRedirect(%q) got %q whose path lacks a trailing slash", v, target, loc)
				}
			}
		}
	})
}

// FuzzCGIPath checks, for any raw path, that a path detected as CGI always
// locates its script inside the matched CGI directory under the root.
func FuzzCGIPath(f *testing.F) {
	for _, s := range traversalSeeds {
		f.Add(s)
	}
	root := f.TempDir()
	cgiTree(f, root)
	dirs := []string{"/cgi-bin", "/htbin", "/a/cgi"}
	f.Fuzz(func(t *testing.T, raw string) {
		collapsed, err := CollapsePath(raw)
		if err != nil {
			if !errors.Is(err, ErrAboveRoot) && !errors.Is(err, ErrNUL) {
				t.Fatalf("CollapsePath(%q) got unexpected error %v", raw, err)
			}
			return
		}
		if !strings.HasPrefix(collapsed, "/") {
			t.Fatalf("CollapsePath(%q) got %q, want a leading '/'", raw, collapsed)
		}
		for seg := range strings.SplitSeq(collapsed, "/") {
			if seg == "." || seg == ".." {
				t.Fatalf("CollapsePath(%q) got %q with a %q segment", raw, collapsed, seg)
			}
		}
		dir, rest, ok := MatchCGIDir(collapsed, dirs)
		if !ok {
			return
		}
		if collapsed != dir+"/"+rest {
			t.Fatalf("MatchCGIDir(%q) got (%q, %q), which do not rebuild it", collapsed, dir, rest)
		}
		s := LocateScript(root, dir, rest)
		base := filepath.Join(root, dir)
		if s.File != base && !strings.HasPrefix(s.File, base+"/") {
			t.Fatalf("LocateScript(%q) got File %q, outside %q", raw, s.File, base)
		}
		if slices.Contains(strings.Split(s.File, "/"), "..") {
			t.Fatalf("LocateScript(%q) got File %q with a '..' element", raw, s.File)
		}
		if s.Dir != dir || !strings.HasPrefix(s.Name, dir+"/") {
			t.Fatalf("LocateScript(%q) got Dir %q Name %q, want both under %q", raw, s.Dir, s.Name, dir)
		}
		if s.Name+s.PathInfo != dir+"/"+rest {
			t.Fatalf("LocateScript(%q) got Name %q + PathInfo %q, want %q", raw, s.Name, s.PathInfo, dir+"/"+rest)
		}
	})
}
