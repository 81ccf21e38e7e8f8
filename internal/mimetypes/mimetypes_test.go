package mimetypes

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/pyhttp/caddy-pyhttp/internal/pystr"
	"github.com/pyhttp/caddy-pyhttp/internal/pythontest"
)

// TestTypeByNameSpecTable checks the spec's section-7 table (the "with Debian
// mime.types" column, updated to 3.13 built-ins) plus the lookup rules around
// it; every want was printed by CPython 3.13.0's guess_type on Debian.
func TestTypeByNameSpecTable(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		want string
	}{
		{"index.html", "text/html"},
		{"index.htm", "text/html"},
		{"a.txt", "text/plain"},
		{"a.css", "text/css"},
		{"app.js", "text/javascript"},
		{"app.mjs", "text/javascript"},
		{"a.json", "application/json"},
		{"a.xml", "application/xml"},
		{"a.svg", "image/svg+xml"},
		{"a.svgz", "image/svg+xml"},
		{"a.png", "image/png"},
		{"a.jpg", "image/jpeg"},
		{"a.gif", "image/gif"},
		{"favicon.ico", "image/vnd.microsoft.icon"},
		{"a.webp", "image/webp"},
		{"a.wasm", "application/wasm"},
		{"a.pdf", "application/pdf"},
		{"a.zip", "application/zip"},
		{"a.tar", "application/x-tar"},
		{"a.gz", "application/gzip"},
		{"a.tar.gz", "application/gzip"},
		{"a.tgz", "application/x-tar"},
		{"a.tbz2", "application/x-tar"},
		{"a.txz", "application/x-tar"},
		{"a.bz2", "application/x-bzip2"},
		{"a.xz", "application/x-xz"},
		{"a.Z", "application/octet-stream"},
		{"a.whl", "application/octet-stream"},
		{"a.egg", "application/octet-stream"},
		{"README.md", "text/markdown"},
		{"a.markdown", "text/markdown"},
		{"a.rst", "text/prs.fallenstein.rst"},
		{"a.rtf", "application/rtf"},
		{"a.py", "text/x-python"},
		{"a.sh", "text/x-sh"},
		{"a.c", "text/x-csrc"},
		{"a.h", "text/x-chdr"},
		{"a.csv", "text/csv"},
		{"a.tsv", "text/tab-separated-values"},
		{"a.woff", "font/woff"},
		{"a.woff2", "font/woff2"},
		{"a.ttf", "font/ttf"},
		{"a.otf", "font/otf"},
		{"a.mp3", "audio/mpeg"},
		{"a.mp4", "video/mp4"},
		{"a.webm", "video/webm"},
		{"a.wav", "audio/x-wav"},
		{"a.ts", "text/vnd.trolltech.linguist"},
		{"a.yaml", "application/octet-stream"},
		{"a.yml", "application/octet-stream"},
		{"a.toml", "application/octet-stream"},
		{"a.ini", "application/octet-stream"},
		{"a.log", "application/octet-stream"},
		{"a.map", "application/octet-stream"},
		{"main.go", "application/octet-stream"},
		{"a.php", "application/octet-stream"},
		// Encoding suffixes outside extensions_map are stripped, not served.
		{"app.js.br", "text/javascript"},
		{"a.tar.br", "application/x-tar"},
		{"a.svg.gz", "application/gzip"},
		{"a.tar.Z", "application/octet-stream"},
		// Case: overrides and types are tried lower-cased, encodings are not.
		{"INDEX.HTML", "text/html"},
		{"a.GZ", "application/gzip"},
		{"a.TGZ", "application/x-tar"},
		{"x.Tgz", "application/x-tar"},
		{"a.z", "application/octet-stream"},
		{"a.TAR.BR", "application/octet-stream"},
		// Upper-case keys from mime.types are unreachable in 3.11.7+.
		{"a.ELN", "application/octet-stream"},
		{"a.teiCorpus", "application/octet-stream"},
		// No extension: none, a dotfile, only dots, a trailing dot.
		{"Makefile", "application/octet-stream"},
		{".bashrc", "application/octet-stream"},
		{"..x", "application/octet-stream"},
		{"...", "application/octet-stream"},
		{"a.", "application/octet-stream"},
		{"", "application/octet-stream"},
		{"unknown.zzz", "application/octet-stream"},
		// Only the last path component counts.
		{"/srv/d.d/file", "application/octet-stream"},
		{"/srv/d.html/", "application/octet-stream"},
		{"/srv/site/.well-known/a.json", "application/json"},
		// The extension starts at the last dot: "..b" is ".b".
		{"a..b", "chemical/x-molconn-Z"},
	}
	tab := Default()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := tab.TypeByName(tt.name); got != tt.want {
				t.Errorf("TypeByName(%q): got %q, want %q", tt.name, got, tt.want)
			}
		})
	}
}

// TestTypeByNameNeverCharset proves no table entry adds a charset parameter,
// which Go's mime.TypeByExtension does and Python never does.
func TestTypeByNameNeverCharset(t *testing.T) {
	t.Parallel()
	for ext, typ := range defaultTypes {
		if strings.Contains(typ, ";") {
			t.Errorf("defaultTypes[%q]: got %q, want no parameters", ext, typ)
		}
	}
}

func TestSplitext(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, base, ext string
	}{
		{"a.txt", "a", ".txt"},
		{"a.tar.gz", "a.tar", ".gz"},
		{".bashrc", ".bashrc", ""},
		{"..bashrc", "..bashrc", ""},
		{"..a.b", "..a", ".b"},
		{"a.", "a", "."},
		{"...", "...", ""},
		{"", "", ""},
		{"noext", "noext", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			base, ext := splitext(tt.name)
			if base != tt.base || ext != tt.ext {
				t.Errorf("splitext(%q): got (%q, %q), want (%q, %q)", tt.name, base, ext, tt.base, tt.ext)
			}
		})
	}
}

func TestPyLower(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
	}{
		{"ascii", ".HTML", ".html"},
		{"dotted capital I uses the full mapping", ".İCS", ".i\u0307cs"},
		{"kelvin sign folds to ascii", ".\u212aml", ".kml"},
		{"invalid utf-8 passes through", ".\xffHTML", ".\xffhtml"},
		{"non-ascii letter", ".ÄB", ".äb"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := pystr.Lower(tt.in); got != tt.want {
				t.Errorf("pystr.Lower(%q): got %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// TestNewOverrides proves user entries win over both extensions_map and the
// mimetypes table, are matched as is then lower-cased, and leave Default alone.
func TestNewOverrides(t *testing.T) {
	t.Parallel()
	tab, err := New(map[string]string{
		".md":   "text/plain; charset=utf-8",
		".gz":   "application/x-gzip",
		".YAML": "application/yaml",
		".js":   "application/javascript",
	})
	if err != nil {
		t.Fatalf("New: got error %v, want nil", err)
	}
	tests := []struct {
		tab  *Table
		name string
		want string
	}{
		{tab, "README.md", "text/plain; charset=utf-8"},
		{tab, "README.MD", "text/plain; charset=utf-8"},
		{tab, "a.tar.gz", "application/x-gzip"},
		{tab, "a.YAML", "application/yaml"},
		// ".YAML" is only matched as is: "a.yaml" lower-cases to ".yaml", not ".YAML".
		{tab, "a.yaml", "application/octet-stream"},
		{tab, "app.js", "application/javascript"},
		// The handler's own defaults survive unless overridden.
		{tab, "a.bz2", "application/x-bzip2"},
		{tab, "a.html", "text/html"},
		{Default(), "README.md", "text/markdown"},
		{Default(), "a.tar.gz", "application/gzip"},
	}
	for _, tt := range tests {
		t.Run(tt.name+"/"+tt.want, func(t *testing.T) {
			t.Parallel()
			if got := tt.tab.TypeByName(tt.name); got != tt.want {
				t.Errorf("TypeByName(%q): got %q, want %q", tt.name, got, tt.want)
			}
		})
	}
}

func TestNewRejects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		overrides map[string]string
		want      error
		mention   string
	}{
		{"no leading dot", map[string]string{"md": "text/markdown"}, ErrInvalidExtension, `"md"`},
		{"slash in key", map[string]string{".a/b": "text/plain"}, ErrInvalidExtension, `".a/b"`},
		{"second dot never matches", map[string]string{".tar.gz": "application/gzip"}, ErrInvalidExtension, `".tar.gz"`},
		{"no subtype", map[string]string{".x": "text"}, ErrInvalidType, `".x"`},
		{"empty subtype", map[string]string{".x": "text/"}, ErrInvalidType, `".x"`},
		{"empty value", map[string]string{".x": ""}, ErrInvalidType, `".x"`},
		{"bad parameter", map[string]string{".x": "text/plain; charset"}, ErrInvalidType, `".x"`},
		{"header injection", map[string]string{".x": "text/plain\r\nX-Evil: 1"}, ErrInvalidType, `".x"`},
		{"one bad among good", map[string]string{".ok": "text/plain", ".bad": "nope"}, ErrInvalidType, `".bad"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tab, err := New(tt.overrides)
			if !errors.Is(err, tt.want) {
				t.Fatalf("New(%q): got error %v, want %v", tt.overrides, err, tt.want)
			}
			if tab != nil {
				t.Errorf("New(%q): got a table, want nil", tt.overrides)
			}
			if !strings.Contains(err.Error(), tt.mention) {
				t.Errorf("New error: got %q, want it to name %s", err, tt.mention)
			}
		})
	}
}

func TestNewAccepts(t *testing.T) {
	t.Parallel()
	for _, v := range []string{"text/plain", "text/plain; charset=utf-8", `text/x; a="b c"`, "application/vnd.a+json"} {
		t.Run(v, func(t *testing.T) {
			t.Parallel()
			if _, err := New(map[string]string{".x": v, ".": v}); err != nil {
				t.Errorf("New(%q): got error %v, want nil", v, err)
			}
		})
	}
}

// FuzzTypeByName checks that any name gets a non-empty type/subtype from the
// table without parameters, and that only the last path component matters.
func FuzzTypeByName(f *testing.F) {
	for _, s := range []string{"a.tar.gz", "x.TGZ", ".bashrc", "a.svgz.gz", "a..b", "İ.İCS", "\xff.\xfe", "a.tgz.tgz"} {
		f.Add(s)
	}
	tab := Default()
	values := typeValues()
	f.Fuzz(func(t *testing.T, name string) {
		got := tab.TypeByName(name)
		if _, ok := values[got]; !ok {
			t.Fatalf("TypeByName(%q): got %q, want a table value", name, got)
		}
		last := name[strings.LastIndexByte(name, '/')+1:]
		if again := tab.TypeByName("/srv/a.html/" + last); again != got {
			t.Fatalf("TypeByName with a directory prefix: got %q, want %q", again, got)
		}
	})
}

// typeValues is the set of every type TypeByName can return from the defaults.
func typeValues() map[string]struct{} {
	vs := map[string]struct{}{fallbackType: {}}
	for _, m := range []map[string]string{defaultTypes, defaultOverrides} {
		for _, v := range m {
			vs[v] = struct{}{}
		}
	}
	return vs
}

// differentialScript prints SimpleHTTPRequestHandler.guess_type for every name
// read as a JSON list from stdin, plus what the differential test needs to know
// about the interpreter and the mime.types files it loaded.
const differentialScript = `
import hashlib, http.server, json, mimetypes, os, sys
names = json.load(sys.stdin)
h = object.__new__(http.server.SimpleHTTPRequestHandler)
files = []
for f in mimetypes.knownfiles:
    if os.path.isfile(f):
        with open(f, "rb") as fp:
            files.append([f, hashlib.sha256(fp.read()).hexdigest()])
json.dump({
    "version": sys.version.split()[0],
    "newEnough": sys.version_info >= (3, 13),
    "files": files,
    "types": [h.guess_type(n) for n in names],
}, sys.stdout)
`

// TestTypeByNameMatchesPython is the differential test: every extension in the
// table, in several spellings and with encoding suffixes, must get the same
// type as CPython 3.13's http.server on a host with the same mime.types.
func TestTypeByNameMatchesPython(t *testing.T) {
	if testing.Short() {
		t.Skip("differential test runs python3")
	}
	py := pythontest.Find(13, 15)
	if py == "" {
		t.Skip("no CPython >= 3.13 found")
	}
	if _, err := os.Stat("/etc/mime.types"); err != nil {
		t.Skip("no /etc/mime.types, so Python would use another table")
	}
	names := differentialNames()
	in, err := json.Marshal(names)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(py, "-c", differentialScript)
	cmd.Stdin = bytes.NewReader(in)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("running %s: %v", py, err)
	}
	var res struct {
		Version   string
		NewEnough bool
		Files     [][2]string
		Types     []string
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("decoding python output: %v", err)
	}
	var files [][2]string
	for _, f := range mimeTypesFiles {
		files = append(files, [2]string{f.path, f.sha256})
	}
	if !slices.Equal(res.Files, files) {
		t.Skipf("python reads mime.types files %q, table was built from %q; regenerate to compare", res.Files, files)
	}
	if len(res.Types) != len(names) {
		t.Fatalf("python answered %d names, want %d", len(res.Types), len(names))
	}
	tab := Default()
	var diffs []string
	for i, n := range names {
		if got, want := tab.TypeByName(n), res.Types[i]; got != want {
			diffs = append(diffs, n+": got "+got+", want "+want)
		}
	}
	if len(diffs) > 0 && res.Version != pythonVersion {
		t.Skipf("python %s disagrees with the table from %s on %d names (first: %s); regenerate", res.Version, pythonVersion, len(diffs), diffs[0])
	}
	for _, d := range diffs {
		t.Error(d)
	}
	t.Logf("compared %d names with python %s", len(names), res.Version)
}

// differentialNames builds the names compared with Python: every known
// extension as is, upper-cased and title-cased, each suffix-map and encoding
// suffix combined with common types, and the awkward shapes from the spec.
func differentialNames() []string {
	var exts []string
	for _, m := range []map[string]string{defaultTypes, defaultSuffixes, defaultEncodings, defaultOverrides} {
		for e := range m {
			exts = append(exts, e)
		}
	}
	slices.Sort(exts)
	exts = slices.Compact(exts)
	var names []string
	for _, e := range exts {
		names = append(names, "f"+e, "F"+strings.ToUpper(e), "dir/f"+titleCase(e))
	}
	var encs []string
	for e := range defaultEncodings {
		encs = append(encs, e, strings.ToUpper(e))
	}
	slices.Sort(encs)
	for _, base := range []string{".js", ".tar", ".svg", ".html", ".TXT", ".tgz", ".svgz", ".txz", ".gz", ".Z", ".unknown", ""} {
		for _, enc := range encs {
			names = append(names, "f"+base+enc, "f"+base+enc+enc)
		}
	}
	for s := range defaultSuffixes {
		names = append(names, "f"+s+".gz", "f"+strings.ToUpper(s)+".br", ".dot"+s)
	}
	names = append(names,
		"", ".", "..", "...", "a.", "..x", ".bashrc", ".tar.gz", "a..b", "a.b.", "/x.d/f",
		"d.html/", "f.\u212aml", "f.İCS", "f.ics", "f.ÄB", "f.tgz.tgz", "f.tar.gz.br")
	return names
}

// titleCase upper-cases the first letter after the dot (".html" -> ".Html").
func titleCase(ext string) string {
	if len(ext) < 2 {
		return ext
	}
	return ext[:1] + strings.ToUpper(ext[1:2]) + ext[2:]
}
