package listing

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pyhttp/caddy-pyhttp/internal/pystr"
	"github.com/pyhttp/caddy-pyhttp/internal/pythontest"
	"github.com/pyhttp/caddy-pyhttp/internal/pyversion"
)

// buildTree creates the differential fixture in dir: every name class that
// changes the href, the label or the sort order. It returns the directory
// holding the entries.
func buildTree(t testing.TB, root string) string {
	t.Helper()
	dir := filepath.Join(root, "special")
	files := []string{
		"sp ace & <tag> \"q\" 's'.txt",
		"김윤미.txt",
		"#%?.txt",
		"@+=:,;!$()*&#%?",
		"safe-_.~chars",
		".dotfile",
		"B_x.txt", "ba.txt", "_under", "Zeta", "alpha", "a", "A",
		"README", "readme", "ReadMe", // equal keys: directory order must be kept
		"İstanbul", "i̇x", "ix", // U+0130 lowers to "i\u0307"
		"ΑΣ", "ΑΣΑ", "ας", "ασ", "Σ", "Σ.txt", // final sigma
		"ǅungla", "ß", "ǆ",
		"bad\xff.txt", "\x80x", "é", "\ue000pua", "\xed\xa0\x80sur", // undecodable bytes vs code points
		"new\nline", "tab\tname",
	}
	dirs := []string{"nested", "empty", "Dir With Space", "d&<>"}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range dirs {
		if err := os.Mkdir(filepath.Join(dir, name), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "nested", "inner.txt"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	links := map[string]string{
		"link-to-file": "ba.txt",
		"link-to-dir":  "nested",
		"Link Up":      "..",
		"broken":       "nowhere",
		"loop":         "loop",
		"abs-dir":      dir,
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// buildRandomTree creates n files with names drawn from an alphabet of
// case pairs, sort-relevant punctuation and undecodable bytes, so many names
// collide after lower-casing and the stable sort is exercised at scale.
func buildRandomTree(t testing.TB, root string, n int) string {
	t.Helper()
	dir := filepath.Join(root, "random")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	alphabet := []string{"a", "A", "b", "B", "_", ".", "-", " ", "Σ", "σ", "ς", "İ", "i", "é", "É", "\xff", "\x80", "김", "&", "'", "K", "\u212a"}
	rng := rand.New(rand.NewPCG(1, 2))
	for range n {
		var b strings.Builder
		for range 1 + rng.IntN(4) {
			b.WriteString(alphabet[rng.IntN(len(alphabet))])
		}
		name := b.String()
		if name == "." || name == ".." {
			continue
		}
		err := os.WriteFile(filepath.Join(dir, name), nil, 0o600)
		if err != nil && !errors.Is(err, fs.ErrExist) {
			t.Fatal(err)
		}
	}
	return dir
}

// The HTML listing of a tricky directory must equal, byte for byte, the body
// CPython's list_directory produces for the same directory and path, and
// HTMLLength and ContentType must equal its headers.
func TestWriteHTMLMatchesPython(t *testing.T) {
	root := t.TempDir()
	dir := buildTree(t, root)
	cases := []struct {
		name, dir, path string
	}{
		{"special", dir, "/special/"},
		{"nested", filepath.Join(dir, "nested"), "/special/nested/"},
		{"empty", filepath.Join(dir, "empty"), "/e/"},
		{"random names", buildRandomTree(t, root, 3000), "/r/"},
		{"title escaping", dir, "/t&<>\"'/?q=<b>#f"},
		{"title decoded", dir, "/%EA%B9%80%20x/"},
		{"title undecodable", dir, "/%FF/"},     // unquote falls back to errors="replace"
		{"title surrogate", dir, "/%ED%B3%BF/"}, // surrogatepass, then surrogateescape on output
	}
	for _, python := range pythontest.Interpreters(t) {
		for _, tc := range cases {
			t.Run(python.Version+"/"+tc.name, func(t *testing.T) {
				want, headers := pythontest.Run(t, python.Path, pyListDirectory, tc.dir, tc.path)
				h := parseHeaders(headers)
				title, err := DecodeTitle(tc.path)
				if err != nil {
					t.Fatal(err)
				}
				entries, err := Read(tc.dir, Options{})
				if err != nil {
					t.Fatal(err)
				}
				var got bytes.Buffer
				if err := WriteHTML(&got, python.V, title, entries); err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got.Bytes(), want) {
					t.Errorf("body differs from Python\ngot:\n%s\nwant:\n%s", got.Bytes(), want)
				}
				if n := HTMLLength(python.V, title, entries); n != int64(got.Len()) || n != atoi64(t, h["Content-Length"]) {
					t.Errorf("HTMLLength = %d, written %d, Python Content-Length %s", n, got.Len(), h["Content-Length"])
				}
				if got, want := ContentType, h["Content-type"]; got != want {
					t.Errorf("ContentType: got %q, want %q", got, want)
				}
			})
		}
	}
}

// Read takes types from the directory and follows symlinks only to decide
// IsDir, as os.path.isdir and os.path.islink do, and sorts by Python's key.
func TestReadTypes(t *testing.T) {
	dir := buildTree(t, t.TempDir())
	entries, err := Read(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Entry{}
	for _, e := range entries {
		got[e.Name] = e
	}
	tests := []struct {
		name             string
		isDir, isSymlink bool
	}{
		{"ba.txt", false, false},
		{"nested", true, false},
		{"empty", true, false},
		{"link-to-file", false, true},
		{"link-to-dir", true, true},
		{"abs-dir", true, true},
		{"broken", false, true},
		{"loop", false, true},
	}
	for _, tt := range tests {
		e, ok := got[tt.name]
		if !ok {
			t.Errorf("%q: missing from listing", tt.name)
			continue
		}
		if e.IsDir != tt.isDir || e.IsSymlink != tt.isSymlink {
			t.Errorf("%q: got IsDir=%v IsSymlink=%v, want IsDir=%v IsSymlink=%v", tt.name, e.IsDir, e.IsSymlink, tt.isDir, tt.isSymlink)
		}
		if e.Size != 0 || !e.ModTime.IsZero() {
			t.Errorf("%q: got Size=%d ModTime=%v without Options.Stat, want zero", tt.name, e.Size, e.ModTime)
		}
	}
	for i := 1; i < len(entries); i++ {
		if pystr.SortKey(entries[i-1].Name) > pystr.SortKey(entries[i].Name) {
			t.Errorf("order: got %q before %q", entries[i-1].Name, entries[i].Name)
		}
	}
}

// Names whose lower-cased keys are equal keep directory (getdents) order,
// because Python's list.sort is stable.
func TestReadSortIsStable(t *testing.T) {
	dir := t.TempDir()
	var names []string
	for _, a := range []string{"x", "X"} {
		for _, b := range []string{"y", "Y"} {
			for _, c := range []string{"z", "Z", "ẞ"} {
				names = append(names, a+b+c)
			}
		}
	}
	for _, n := range names {
		if err := os.WriteFile(filepath.Join(dir, n), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	f, err := os.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := f.Readdirnames(-1) // directory order
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	want := slices.Clone(raw)
	slices.SortStableFunc(want, func(a, b string) int { return strings.Compare(pystr.Lower(a), pystr.Lower(b)) })
	entries, err := Read(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name)
	}
	if !slices.Equal(got, want) {
		t.Errorf("order: got %q, want %q (directory order %q)", got, want, raw)
	}
}

// Hide removes entries before sorting; Stat fills Size and ModTime,
// following symlinks and falling back to the link for a broken one.
func TestReadOptions(t *testing.T) {
	dir := t.TempDir()
	mt := time.Date(2024, 5, 1, 12, 0, 0, 500, time.UTC)
	if err := os.WriteFile(filepath.Join(dir, "f.txt"), []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(filepath.Join(dir, "f.txt"), mt, mt); err != nil {
		t.Fatal(err)
	}
	for _, l := range [][2]string{{"f.txt", "to-f"}, {"missing-target", "broken"}} {
		if err := os.Symlink(l[0], filepath.Join(dir, l[1])); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, ".hidden"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	entries, err := Read(dir, Options{Stat: true, Hide: func(name string) bool { return strings.HasPrefix(name, ".") }})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name)
	}
	if want := []string{"broken", "f.txt", "to-f"}; !slices.Equal(names, want) {
		t.Fatalf("names: got %q, want %q", names, want)
	}
	for _, e := range entries[1:] {
		if e.Size != 5 || !e.ModTime.Equal(mt) {
			t.Errorf("%q: got Size=%d ModTime=%v, want 5 and %v", e.Name, e.Size, e.ModTime, mt)
		}
	}
	if b := entries[0]; b.Size != int64(len("missing-target")) || b.ModTime.IsZero() {
		t.Errorf("broken link: got Size=%d ModTime=%v, want the link's own lstat", b.Size, b.ModTime)
	}
}

// Errors opening or reading the directory come back wrapped, so the caller
// can map them (Python answers 404 "No permission to list directory").
func TestReadErrors(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path string
		want       error
	}{
		{"missing", filepath.Join(dir, "nope"), fs.ErrNotExist},
		{"not a directory", file, syscall.ENOTDIR},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Read(tt.path, Options{})
			if !errors.Is(err, tt.want) {
				t.Errorf("Read(%q) error: got %v, want %v", tt.path, err, tt.want)
			}
		})
	}
}

// makeFlatDir creates n entries: mostly lower-case files, every 10th with
// upper case, every 100th a directory, every 1000th a symlink.
func makeFlatDir(tb testing.TB, dir string, n int) {
	tb.Helper()
	for i := range n {
		var err error
		switch {
		case i%1000 == 999:
			err = os.Symlink("file000000.txt", filepath.Join(dir, fmt.Sprintf("link%06d", i)))
		case i%100 == 99:
			err = os.Mkdir(filepath.Join(dir, fmt.Sprintf("dir %06d", i)), 0o755)
		case i%10 == 9:
			err = os.WriteFile(filepath.Join(dir, fmt.Sprintf("IMG_%06d.JPG", i)), nil, 0o600)
		default:
			err = os.WriteFile(filepath.Join(dir, fmt.Sprintf("file%06d.txt", i)), nil, 0o600)
		}
		if err != nil {
			tb.Fatal(err)
		}
	}
}

// BenchmarkListing measures ReadIndex plus HTMLLength and WriteHTML to
// io.Discard, the whole HTML path of a listing request.
func BenchmarkListing(b *testing.B) {
	for _, n := range []int{1_000, 10_000, 100_000} {
		b.Run(fmt.Sprintf("entries=%d", n), func(b *testing.B) {
			dir := b.TempDir()
			makeFlatDir(b, dir, n)
			b.ReportAllocs()
			for b.Loop() {
				x, err := ReadIndex(dir, Options{})
				if err != nil {
					b.Fatal(err)
				}
				x.HTMLLength(pyversion.Default, "/big/")
				if err := x.WriteHTML(io.Discard, pyversion.Default, "/big/"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
