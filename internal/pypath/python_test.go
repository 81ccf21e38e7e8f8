package pypath

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/pyhttp/caddy-pyhttp/internal/pythontest"
	"github.com/pyhttp/caddy-pyhttp/internal/pyversion"
)

// pythonDiff runs each target through a real CGIHTTPRequestHandler's
// parse_request, translate_path, _url_collapse_path, is_cgi and send_head's
// redirect arithmetic, without a socket, and prints the results as JSON.
// File system paths are hex of os.fsencode so that bytes survive.
const pythonDiff = `
import http.server, io, json, os, sys, urllib.parse
H = http.server.CGIHTTPRequestHandler
out = {'version': list(sys.version_info[:2]), 'results': []}
for t in json.load(sys.stdin):
    h = H.__new__(H)
    h.directory = '/srv/www'
    h.cgi_directories = ['/cgi-bin', '/htbin', '/a/cgi']
    h.client_address = ('127.0.0.1', 0)
    h.rfile = io.BytesIO(b'\r\n')
    h.wfile = io.BytesIO()
    h.log_message = lambda *a: None
    h.raw_requestline = ('GET ' + t + ' HTTP/1.0\r\n').encode('latin-1')
    r = {}
    out['results'].append(r)
    if not h.parse_request():
        r['parse_error'] = True
        continue
    r['path'] = h.path
    r['translate'] = os.fsencode(h.translate_path(h.path)).hex()
    try:
        r['collapse'] = http.server._url_collapse_path(h.path.partition('?')[0])
    except IndexError:
        r['collapse_error'] = True
    try:
        if h.is_cgi():
            d, rest = h.cgi_info
            q = h.path.partition('?')[2]
            if q:  # _url_collapse_path re-attached the query; Go split it off
                rest = rest[:-len(q) - 1]
            r['cgi'] = [d, rest]
    except IndexError:
        pass
    parts = urllib.parse.urlsplit(h.path)
    if not parts.path.endswith('/'):
        r['redirect'] = urllib.parse.urlunsplit(parts[:2] + (parts[2] + '/',) + parts[3:])
json.dump(out, sys.stdout)
`

// pythonResult is one target's answer from pythonDiff.
type pythonResult struct {
	ParseError    bool     `json:"parse_error"`
	Path          string   `json:"path"`
	Translate     string   `json:"translate"`
	Collapse      string   `json:"collapse"`
	CollapseError bool     `json:"collapse_error"`
	CGI           []string `json:"cgi"`
	Redirect      *string  `json:"redirect"`
}

// differentialTargets are raw request targets as a client sends them. Left
// out on purpose, because we differ from CPython by design (see the package
// doc): a NUL (Python crashes), escapes that are not UTF-8 such as %FF
// (Python 3.11 maps them to U+FFFD), raw non-ASCII bytes (Python reads them
// as Latin-1 and writes UTF-8), absolute-form targets (Python maps the
// scheme and host onto directories), and malformed escapes such as %zz,
// which Go's server already answers with 400.
var differentialTargets = []string{
	"/", "/index.html", "/a/b/c.txt", "/dir", "/dir/", "/dir/?q=1", "/dir?q=1",
	"/dir?", "/dir#", "/dir#frag", "/dir?q#frag", "/dir#f?q", "/d/#f", "/a#b/c",
	"/a?b#c/d", "/a%3Fb", "/a%23b", "/a%3fb?c%3F", "/files%2Fnotes.txt",
	"/files%2fsub%2F", "/dir%2F", "/s%75b", "/caf%C3%A9", "/caf%c3%a9/",
	"/%E2%82%AC/x", "/a+b", "/a%2Bb", "/a%20b", "/%25", "/%2541",
	"/..", "/../", "/../../etc/passwd", "/a/../../x", "/a/b/../../../../c",
	"/%2e%2e/%2e%2e/etc/passwd", "/%2E%2e%2fetc/passwd", "/.%2e/x", "/a/%2e/b",
	"/./a/./b/.", "/a/.", "/a/..", "/a/../", "/a//b///c", "//", "///",
	"//evil.example", "//evil.example/x?y", "////a//b", "//?q", "/a\\..\\b",
	"/\\\\evil", "/a/..\\../b", "/cgi-bin", "/cgi-bin/", "/cgi-bin/x.sh",
	"/cgi-bin/x.sh/path/info", "/cgi-bin/x.sh?a=b?c=d", "/cgi-bin/x.sh#f",
	"/%63gi-bin/s", "/cgi-bin%2fs", "/files/../cgi-bin/s", "//cgi-bin/s",
	"/x/cgi-bin/y", "/CGI-BIN/y", "/cgi-binx/y", "/htbin/y/", "/a/cgi/s/t",
	"/a/cgi", "/a/./cgi/s", "/cgi-bin/../x", "/cgi-bin/..", "/cgi-bin/./",
	"/cgi-bin/%252e%252e%252fsecret", "/cgi-bin/a%3Fb/c", "/cgi-bin?x/y",
	"/%ED%B3%BF",
}

// TestMatchesCPython proves, target by target, that Target, Translate,
// CollapsePath, MatchCGIDir and DirRedirect with python_version 3.11, 3.12
// and 3.13 agree with that exact CPython where it is installed, and with
// Default agree with 3.11. (3.14 changed translate_path and has no
// interpreter here: TestRules314; 3.15 removed CGI.)
func TestMatchesCPython(t *testing.T) {
	pythontest.EachVersion(t, matchesCPython)
}

// matchesCPython runs the differential targets through py and compares.
func matchesCPython(t *testing.T, py string, v pyversion.Version) {
	in, err := json.Marshal(differentialTargets)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(py, "-c", pythonDiff)
	cmd.Stdin = bytes.NewReader(in)
	cmd.Stderr = os.Stderr
	raw, err := cmd.Output()
	if err != nil {
		t.Fatalf("running python3: %v", err)
	}
	var out struct {
		Version []int          `json:"version"`
		Results []pythonResult `json:"results"`
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("decoding python3 output: %v", err)
	}
	if len(out.Results) != len(differentialTargets) {
		t.Fatalf("python3 gave %d results for %d targets", len(out.Results), len(differentialTargets))
	}
	dirs := []string{"/cgi-bin", "/htbin", "/a/cgi"}
	for i, raw := range differentialTargets {
		want := out.Results[i]
		t.Run(raw, func(t *testing.T) {
			if want.ParseError {
				t.Fatalf("python3 rejected %q; drop it from the table", raw)
			}
			u, err := url.ParseRequestURI(raw)
			if err != nil {
				t.Fatalf("ParseRequestURI(%q): %v", raw, err)
			}
			target := Target(u)
			if target != want.Path {
				t.Errorf("Target got %q, want %q", target, want.Path)
			}

			got, err := Translate(v, "/srv/www", target)
			if err != nil {
				t.Errorf("Translate(%q): %v", target, err)
			} else if g := hex.EncodeToString([]byte(got)); g != want.Translate {
				w, _ := hex.DecodeString(want.Translate)
				t.Errorf("Translate(%q) got %q, want %q", target, got, w)
			}

			loc, ok := DirRedirect(v, target)
			switch {
			case want.Redirect == nil && ok:
				t.Errorf("DirRedirect(%q) got %q, want no redirect", target, loc)
			case want.Redirect != nil && (!ok || loc != pythonLocation(*want.Redirect)):
				t.Errorf("DirRedirect(%q) got (%q, %v), want %q (Python's %q with its path escaped)", target, loc, ok, pythonLocation(*want.Redirect), *want.Redirect)
			}

			pathPart, _, _ := strings.Cut(target, "?")
			collapsed, err := CollapsePath(pathPart)
			if want.CollapseError {
				if !errors.Is(err, ErrAboveRoot) {
					t.Errorf("CollapsePath(%q) got (%q, %v), want ErrAboveRoot", pathPart, collapsed, err)
				}
				return
			}
			if strings.Contains(want.Collapse, "\ufffd") {
				// Python's _url_collapse_path decodes with errors='replace';
				// we keep the bytes, so the strings cannot be compared.
				return
			}
			if err != nil || collapsed != want.Collapse {
				t.Errorf("CollapsePath(%q) got (%q, %v), want %q", pathPart, collapsed, err, want.Collapse)
			}
			dir, rest, ok := MatchCGIDir(collapsed, dirs)
			var gotCGI []string
			if ok {
				gotCGI = []string{dir, rest}
			}
			if strings.Join(gotCGI, "\x00") != strings.Join(want.CGI, "\x00") || ok != (want.CGI != nil) {
				t.Errorf("MatchCGIDir(%q) got %q, want %q", collapsed, gotCGI, want.CGI)
			}
		})
	}
}

// pythonLocation is Python's redirect Location with the one deliberate
// difference: the path part goes through EscapeLocationPath, so that `\`
// cannot make it scheme-relative in a browser.
func pythonLocation(loc string) string {
	i := strings.IndexAny(loc, "?#")
	if i < 0 {
		return EscapeLocationPath(loc)
	}
	return EscapeLocationPath(loc[:i]) + loc[i:]
}
