package pypath

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/pyhttp/caddy-pyhttp/internal/pyversion"
)

// securitySeeds add the spellings of issue 7 to the shared traversal seeds:
// backslashes, controls, overlong UTF-8 and mixed case.
var securitySeeds = []string{
	"/\\evil.example", "/\\/evil.example", "//\\evil.example", "/\t/evil.example",
	"/%5cevil.example", "/%5C%5Cevil", "/cgi-bin%5chello.sh", "/CGI-BIN/hello.sh",
	"/%c0%ae%c0%ae/etc/passwd", "/%e0%80%ae%e0%80%ae/x", "/%c0%af../x",
	"/pub/..%2fcgi-bin/hello.sh", "/%63gi-bin/hello.sh", "/cgi-bin/./hello.sh",
}

// FuzzSecurityPathMapping checks the invariants the handlers rely on for
// any target, for every Python release: a path the CGI check does not
// take for a script never maps to a file inside a CGI directory (so no
// spelling of a script's URL reaches the static branch), every mapped
// file is under the root, and no trailing-slash redirect is read by a
// browser as another host.
func FuzzSecurityPathMapping(f *testing.F) {
	for _, s := range append(traversalSeeds, securitySeeds...) {
		f.Add(s)
	}
	const root = "/srv/www"
	dirs := []string{"/cgi-bin", "/htbin", "/a/cgi"}
	f.Fuzz(func(t *testing.T, target string) {
		if !strings.HasPrefix(target, "/") {
			target = "/" + target // as Target makes every request target
		}
		for _, v := range []pyversion.Version{pyversion.Default, pyversion.V3_13, pyversion.V3_14} {
			loc, _ := DirRedirect(v, target)
			if BrowserSchemeRelative(loc) {
				t.Fatalf("%q: DirRedirect(%q) got %q, scheme-relative in a browser", v, target, loc)
			}
			file, err := Translate(v, root, target)
			if err != nil {
				continue
			}
			rel, err := filepath.Rel(root, file)
			if err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
				t.Fatalf("%q: Translate(%q) got %q, outside %q", v, target, file, root)
			}
			// A '#' cannot be in a valid request target (RFC 9112 section
			// 3.2); Translate drops what follows it, the CGI check (as
			// Python's is_cgi) does not, and a raw request that sends one
			// is stopped by the handler's check of the opened file
			// instead (TestSecurityTraversalCorpus).
			rawPath, _, _ := strings.Cut(target, "#")
			rawPath, _, _ = strings.Cut(rawPath, "?")
			collapsed, err := CollapsePath(rawPath)
			if err != nil {
				continue // 400 before any file is touched
			}
			if _, _, isCGI := MatchCGIDir(collapsed, dirs); isCGI {
				continue
			}
			for _, d := range dirs {
				inside := filepath.Join(root, d)
				// The directory itself only gets the trailing-slash
				// redirect; anything in it would be a script's source.
				if f := strings.TrimSuffix(file, "/"); strings.HasPrefix(f, inside+"/") {
					t.Fatalf("%q: %q is not a CGI path (collapsed %q) but maps to %q inside %s", v, target, collapsed, file, d)
				}
			}
		}
	})
}
