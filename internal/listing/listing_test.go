package listing

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
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

// The HTML listing of a tricky directory must equal, byte for byte, the body
// CPython's list_directory produces for the same directory and path, and
// HTMLLength and ContentType must equal its headers.
func TestWriteHTMLMatchesPython(t *testing.T) {
	root := t.TempDir()
	dir := buildTree(t, root)
	cases := []struct {
		name, dir, path, title string
	}{
		{"special", dir, "/special/", "/special/"},
		{"nested", filepath.Join(dir, "nested"), "/special/nested/", "/special/nested/"},
		{"empty", filepath.Join(dir, "empty"), "/e/", "/e/"},
		{"title escaping", dir, "/t&<>\"'/?q=<b>#f", "/t&<>\"'/?q=<b>#f"},
		{"title decoded", dir, "/%EA%B9%80%20x/", "/김 x/"},
		{"title undecodable", dir, "/%FF/", "/\uFFFD/"},   // unquote falls back to errors="replace"
		{"title surrogate", dir, "/%ED%B3%BF/", "/\xff/"}, // surrogatepass, then surrogateescape on output
	}
	for _, python := range pythons(t) {
		for _, tc := range cases {
			t.Run(python.version+"/"+tc.name, func(t *testing.T) {
				want, headers := runPython(t, python.path, pyListDirectory, tc.dir, tc.path)
				h := parseHeaders(headers)
				entries, err := Read(tc.dir, Options{})
				if err != nil {
					t.Fatal(err)
				}
				var got bytes.Buffer
				if err := WriteHTML(&got, tc.title, entries); err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got.Bytes(), want) {
					t.Errorf("body differs from Python\ngot:\n%s\nwant:\n%s", got.Bytes(), want)
				}
				if n := HTMLLength(tc.title, entries); n != int64(got.Len()) || n != atoi64(t, h["Content-Length"]) {
					t.Errorf("HTMLLength = %d, written %d, Python Content-Length %s", n, got.Len(), h["Content-Length"])
				}
				if got, want := ContentType, h["Content-type"]; got != want {
					t.Errorf("ContentType: got %q, want %q", got, want)
				}
			})
		}
	}
}
