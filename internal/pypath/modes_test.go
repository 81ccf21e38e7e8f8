package pypath

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pyhttp/caddy-pyhttp/internal/pyversion"
)

func TestCleanScriptExt(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{".php", ".php"}, {".PHP", ".php"}, {".tar.cgi", ".tar.cgi"},
	} {
		got, err := CleanScriptExt(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("CleanScriptExt(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", ".", "php", ".a/b", ".php.", ".p:p", ".a\x00", ".a b", `.a\b`} {
		if _, err := CleanScriptExt(bad); !errors.Is(err, ErrInvalidExt) {
			t.Errorf("CleanScriptExt(%q) error %v, want ErrInvalidExt", bad, err)
		}
	}
}

func TestScriptExt(t *testing.T) {
	exts := []string{".php", ".cgi"}
	for _, tc := range []struct {
		name, ext string
		exact     bool
	}{
		{"index.php", ".php", true},
		{"upper.PHP", ".php", true},
		{"/a/b/x.Cgi", ".cgi", true},
		{"x.php.", ".php", false},
		{"x.php. . ", ".php", false},
		{"x.php::$DATA", ".php", false},
		{"x.php:stream", ".php", false},
		{"x.phps", "", false},
		{"x.php.txt", "", false},
		{"php", "", false},
		{".php", ".php", false}, // a dot file: refused, never served
		{"README", "", false},
	} {
		ext, exact := ScriptExt(tc.name, exts)
		if ext != tc.ext || exact != tc.exact {
			t.Errorf("ScriptExt(%q) = %q, %v; want %q, %v", tc.name, ext, exact, tc.ext, tc.exact)
		}
	}
}

// extTree builds root/app/run.php, root/app/page.txt, root/dir.php/ (a
// directory with a script extension) and root/dir.php/in.php.
func extTree(t testing.TB) string {
	root := t.TempDir()
	for _, d := range []string{"app", "dir.php", "deep/er"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"app/run.php", "app/page.txt", "dir.php/in.php", "deep/er/x.cgi", "app/run.php."} {
		if err := os.WriteFile(filepath.Join(root, f), []byte("<?php secret"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestLocateExtScript(t *testing.T) {
	root := extTree(t)
	exts := []string{".php", ".cgi"}
	for _, tc := range []struct {
		collapsed, name, pathInfo string
		found, forbidden          bool
	}{
		{collapsed: "/app/run.php", name: "/app/run.php", found: true},
		{collapsed: "//app/run.php", name: "/app/run.php", found: true},
		{collapsed: "/app/run.php/", name: "/app/run.php", pathInfo: "/", found: true},
		{collapsed: "/app/run.php/a/b c/", name: "/app/run.php", pathInfo: "/a/b c/", found: true},
		{collapsed: "/dir.php/in.php/x", name: "/dir.php/in.php", pathInfo: "/x", found: true},
		{collapsed: "/deep/er/x.cgi", name: "/deep/er/x.cgi", found: true},
		{collapsed: "/app/page.txt"},
		{collapsed: "/app/page.txt/run.php"},
		{collapsed: "/app/missing.php"},
		{collapsed: "/app/"},
		{collapsed: "/app/run.php.", forbidden: true},
		{collapsed: "/app/run.php::$DATA", forbidden: true},
		{collapsed: "/app/missing.php.", forbidden: true},
	} {
		s, found, forbidden := LocateExtScript(root, tc.collapsed, exts)
		if found != tc.found || forbidden != tc.forbidden || s.Name != tc.name || s.PathInfo != tc.pathInfo {
			t.Errorf("LocateExtScript(%q) = %+v, %v, %v; want name %q path info %q, %v, %v",
				tc.collapsed, s, found, forbidden, tc.name, tc.pathInfo, tc.found, tc.forbidden)
		}
		if found && s.File != filepath.Join(root, filepath.FromSlash(tc.name)) {
			t.Errorf("LocateExtScript(%q) file %q", tc.collapsed, s.File)
		}
	}
}

func TestProgramPathInfo(t *testing.T) {
	for _, tc := range []struct {
		decoded, scriptName string
		strip               bool
		want                string
		err                 error
	}{
		{decoded: "/a/b c", want: "/a/b c"},
		{decoded: "/", want: "/"},
		{decoded: "", want: ""},
		{decoded: "//a//b/", want: "/a/b/"},
		{decoded: "/a/./b/../c", want: "/a/c"},
		{decoded: "/a/..", want: "/"},
		{decoded: "/..", err: ErrAboveRoot},
		{decoded: "/a\x00", err: ErrNUL},
		{decoded: "/cgit", scriptName: "/cgit", strip: true, want: ""},
		{decoded: "/cgit/", scriptName: "/cgit", strip: true, want: "/"},
		{decoded: "/cgit/repo/tree", scriptName: "/cgit", strip: true, want: "/repo/tree"},
		{decoded: "/cgitx/repo", scriptName: "/cgit", strip: true, want: "/cgitx/repo"},
		{decoded: "/cgit/repo", scriptName: "/cgit", strip: false, want: "/cgit/repo"},
		// Caddy's path matcher (`pyhttp_cgi /cgit*`) and strip_prefix
		// ignore case; so does the strip here.
		{decoded: "/CGIT/repo", scriptName: "/cgit", strip: true, want: "/repo"},
		{decoded: "/Cgit", scriptName: "/cgit", strip: true, want: ""},
		{decoded: "/CGITX", scriptName: "/cgit", strip: true, want: "/CGITX"},
	} {
		got, err := ProgramPathInfo(tc.decoded, tc.scriptName, tc.strip)
		if got != tc.want || !errors.Is(err, tc.err) {
			t.Errorf("ProgramPathInfo(%q, %q, %v) = %q, %v; want %q, %v", tc.decoded, tc.scriptName, tc.strip, got, err, tc.want, tc.err)
		}
	}
}

func TestStrippedPrefix(t *testing.T) {
	for _, tc := range []struct{ orig, cur, esc, dec string }{
		{"/git/demo.git/info/refs", "/demo.git/info/refs", "/git", "/git"},
		{"/env/a/b%20c", "/a/b%20c", "/env", "/env"},
		{"/my%20app/x", "/x", "/my%20app", "/my app"},
		{"/git/", "/", "/git", "/git"},
		{"/git", "/", "/git", "/git"},
		{"/a/b", "/a/b", "", ""},
		{"/foo", "/bar/foo", "", ""},
		{"/x%00/y", "/y", "", ""},
		{"/", "/", "", ""},
		// Caddy resolves dot segments only after stripping, in the decoded
		// path: the prefix must not keep them, or a client puts any text
		// into SCRIPT_NAME ("/app/<b>/../index.php").
		{"/app/zz/%2e%2e/index.php", "/index.php", "/app", "/app"},
		{"/app/%3Cb%3E/%2E%2E/x", "/x", "/app", "/app"},
		{"/app/%2e/sub", "/sub", "/app", "/app"},
		{"/app/x/%2e%2e", "/", "/app", "/app"},
		{"/p/%2e%2e/%2e%2e/x", "/x", "", ""},
	} {
		esc, dec := StrippedPrefix(tc.orig, tc.cur)
		if esc != tc.esc || dec != tc.dec {
			t.Errorf("StrippedPrefix(%q, %q) = %q, %q; want %q, %q", tc.orig, tc.cur, esc, dec, tc.esc, tc.dec)
		}
	}
}

// FuzzExtScript checks, for any request path, that a located script lies
// under the root and has a script extension, and that whenever the static
// branch (Translate) would reach a file with a script extension, its name
// still carries that extension, so the static guard refuses it.
func FuzzExtScript(f *testing.F) {
	for _, s := range append(traversalSeeds, "/app/run.php", "/app/RUN.PHP", "/app/run.php.", "/app/run%2ephp",
		"/app/run.php%00", "/app/run.php::$DATA", "//app//./run.php/x", "/dir.php/in.php/", "/app/run.php%2f") {
		f.Add(s)
	}
	root := extTree(f)
	exts := []string{".php", ".cgi"}
	scripts := map[string]os.FileInfo{}
	for _, name := range []string{"app/run.php", "dir.php/in.php", "deep/er/x.cgi"} {
		fi, err := os.Stat(filepath.Join(root, name))
		if err != nil {
			f.Fatal(err)
		}
		scripts[name] = fi
	}
	f.Fuzz(func(t *testing.T, target string) {
		p, _, _ := strings.Cut(target, "?")
		collapsed, err := CollapsePath(p)
		if err != nil {
			return // 400
		}
		s, found, forbidden := LocateExtScript(root, collapsed, exts)
		if found {
			if !strings.HasPrefix(s.File, root+string(filepath.Separator)) {
				t.Fatalf("script %q for %q outside %q", s.File, target, root)
			}
			if ext, exact := ScriptExt(s.File, exts); ext == "" || !exact {
				t.Fatalf("script %q for %q has no script extension", s.File, target)
			}
			return
		}
		if forbidden {
			return
		}
		name, err := Translate(pyversion.Default, root, target)
		if err != nil {
			return
		}
		name = strings.TrimSuffix(name, "/")
		fi, err := os.Stat(name)
		if err != nil {
			return
		}
		for _, sfi := range scripts {
			if os.SameFile(fi, sfi) {
				if ext, _ := ScriptExt(name, exts); ext == "" {
					t.Fatalf("%q reaches script %q through the static branch as %q", target, sfi.Name(), name)
				}
			}
		}
	})
}
