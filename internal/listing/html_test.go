package listing

import (
	"bytes"
	"errors"
	"html"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/pyhttp/caddy-pyhttp/internal/pystr"
	"github.com/pyhttp/caddy-pyhttp/internal/pyversion"
)

// The document for an empty directory is Python's template with "<ul>"
// directly followed by "</ul>", and an entry list renders the spec §6
// example lines exactly.
func TestWriteHTMLDocument(t *testing.T) {
	t.Parallel()
	const emptyDoc = "<!DOCTYPE HTML>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n" +
		"<title>Directory listing for /a&amp;b/</title>\n</head>\n<body>\n" +
		"<h1>Directory listing for /a&amp;b/</h1>\n<hr>\n<ul>\n</ul>\n<hr>\n</body>\n</html>\n"
	special := []Entry{
		{Name: ".dotfile"},
		{Name: "B_x.txt"},
		{Name: "ba.txt"},
		{Name: "link-to-dir", IsDir: true, IsSymlink: true},
		{Name: `sp ace & <tag> "q" 's'.txt`},
		{Name: "김윤미.txt"},
	}
	specialItems := `<li><a href=".dotfile">.dotfile</a></li>
<li><a href="B_x.txt">B_x.txt</a></li>
<li><a href="ba.txt">ba.txt</a></li>
<li><a href="link-to-dir/">link-to-dir@</a></li>
<li><a href="sp%20ace%20%26%20%3Ctag%3E%20%22q%22%20%27s%27.txt">sp ace &amp; &lt;tag&gt; "q" 's'.txt</a></li>
<li><a href="%EA%B9%80%EC%9C%A4%EB%AF%B8.txt">김윤미.txt</a></li>
`
	tests := []struct {
		name    string
		title   string
		entries []Entry
		want    string
	}{
		{"empty directory", "/a&b/", nil, emptyDoc},
		{"spec example", "/special/", special, strings.Replace(strings.ReplaceAll(emptyDoc, "/a&amp;b/", "/special/"), "<ul>\n", "<ul>\n"+specialItems, 1)},
		{"directory and broken link", "/", []Entry{{Name: "d", IsDir: true}, {Name: "b", IsSymlink: true}},
			strings.Replace(strings.ReplaceAll(emptyDoc, "/a&amp;b/", "/"), "<ul>\n", "<ul>\n<li><a href=\"d/\">d/</a></li>\n<li><a href=\"b\">b@</a></li>\n", 1)},
		{"undecodable name", "/", []Entry{{Name: "\xff"}},
			strings.Replace(strings.ReplaceAll(emptyDoc, "/a&amp;b/", "/"), "<ul>\n", "<ul>\n<li><a href=\"%ED%B3%BF\">\xff</a></li>\n", 1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			if err := WriteHTML(&buf, pyversion.Default, tt.title, tt.entries); err != nil {
				t.Fatal(err)
			}
			if got := buf.String(); got != tt.want {
				t.Errorf("WriteHTML: got %q, want %q", got, tt.want)
			}
			if got := HTMLLength(pyversion.Default, tt.title, tt.entries); got != int64(len(tt.want)) {
				t.Errorf("HTMLLength: got %d, want %d", got, len(tt.want))
			}
		})
	}
}

// errWriter fails every write.
type errWriter struct{ n int }

var errBroken = errors.New("broken pipe")

func (w *errWriter) Write(p []byte) (int, error) {
	w.n++
	return 0, errBroken
}

// A write error (client gone) is returned and stops the stream instead of
// formatting the rest of a huge listing into a dead connection.
func TestWriteHTMLStopsOnWriteError(t *testing.T) {
	t.Parallel()
	entries := make([]Entry, 100_000)
	for i := range entries {
		entries[i].Name = strings.Repeat("x", 100)
	}
	w := &errWriter{}
	if err := WriteHTML(w, pyversion.Default, "/", entries); !errors.Is(err, errBroken) {
		t.Errorf("WriteHTML error: got %v, want %v", err, errBroken)
	}
	if w.n != 1 {
		t.Errorf("writes after the first error: got %d, want 1", w.n)
	}
}

// Index.WriteHTML, which the server uses, does not allocate per entry: the
// cost is its chunk buffer only; Index.HTMLLength allocates nothing.
func TestWriteHTMLAllocs(t *testing.T) {
	x := IndexOf([]Entry{{Name: "김 & <x>"}, {Name: "\xff", IsDir: true}, {Name: "plain.txt"}})
	var buf bytes.Buffer
	buf.Grow(1 << 12)
	allocs := testing.AllocsPerRun(50, func() {
		buf.Reset()
		_ = x.WriteHTML(&buf, pyversion.Default, "/t/")
	})
	if allocs > 1 {
		t.Errorf("WriteHTML allocations: got %v, want <= 1 (its chunk buffer)", allocs)
	}
	if allocs := testing.AllocsPerRun(50, func() { x.HTMLLength(pyversion.Default, "/t/") }); allocs != 0 {
		t.Errorf("HTMLLength allocations: got %v, want 0", allocs)
	}
}

// unsurrogate undoes Quote's surrogatepass step after percent-decoding:
// an encoded U+DC80..U+DCFF (ED B2 80..ED B3 BF) is the raw byte it stands
// for. No valid UTF-8 contains these sequences, so the mapping is exact.
func unsurrogate(b []byte) string {
	var out []byte
	for i := 0; i < len(b); i++ {
		if i+2 < len(b) && b[i] == 0xED && (b[i+1] == 0xB2 || b[i+1] == 0xB3) && b[i+2]&0xC0 == 0x80 {
			out = append(out, 0x80|(b[i+1]&1)<<6|b[i+2]&0x3F)
			i += 2
			continue
		}
		out = append(out, b[i])
	}
	return string(out)
}

// FuzzListing builds a listing from fuzzed names (split at "/", which no
// file name contains) and flags, and checks that HTMLLength equals the bytes
// written, that the document has Python's frame, and that every label
// HTML-unescapes and every href percent-decodes back to the name plus its
// suffix.
func FuzzListing(f *testing.F) {
	f.Add("/special/", `.dotfile/B_x.txt/link-to-dir/sp ace & <tag> "q" 's'.txt/김윤미.txt`, []byte{0, 0, 3, 0, 0})
	f.Add("/t&<>/?q=<b>", "\xff/\x80x/&amp;/a%20b/@+=:,;!$()*#%?", []byte{1, 2, 3})
	f.Add("", "", []byte{})
	f.Add("/\xed\xa0\x80/", "</a></li>\n/\"></a>/İΣ", []byte{2, 1})
	f.Fuzz(func(t *testing.T, title, joined string, flags []byte) {
		var entries []Entry
		if joined != "" {
			for i, name := range strings.Split(joined, "/") {
				var fl byte
				if i < len(flags) {
					fl = flags[i]
				}
				entries = append(entries, Entry{Name: name, IsDir: fl&1 != 0, IsSymlink: fl&2 != 0})
			}
		}
		var buf bytes.Buffer
		if err := WriteHTML(&buf, pyversion.Default, title, entries); err != nil {
			t.Fatal(err)
		}
		doc := buf.String()
		if n := HTMLLength(pyversion.Default, title, entries); n != int64(len(doc)) {
			t.Fatalf("HTMLLength: got %d, want %d (bytes written)", n, len(doc))
		}
		head := htmlHead + pystr.HTMLEscape(title) + htmlTitleEnd + pystr.HTMLEscape(title) + htmlH1End
		if !strings.HasPrefix(doc, head) || !strings.HasSuffix(doc, htmlTail) || len(doc) < len(head)+len(htmlTail) {
			t.Fatalf("document frame: got %q", doc)
		}
		if got := html.UnescapeString(pystr.HTMLEscape(title)); got != title && utf8.ValidString(title) {
			t.Fatalf("title round trip: got %q, want %q", got, title)
		}
		rest := doc[len(head) : len(doc)-len(htmlTail)]
		for _, e := range entries {
			var ok bool
			if rest, ok = strings.CutPrefix(rest, htmlItemStart); !ok {
				t.Fatalf("entry %q: missing %q in %q", e.Name, htmlItemStart, rest)
			}
			href, after, ok := strings.Cut(rest, htmlItemMid)
			if !ok {
				t.Fatalf("entry %q: unterminated href in %q", e.Name, rest)
			}
			label, after, ok := strings.Cut(after, htmlItemEnd)
			if !ok {
				t.Fatalf("entry %q: unterminated label in %q", e.Name, after)
			}
			rest = after
			wantHref, wantLabel := e.Name, e.Name
			if e.IsDir {
				wantHref += "/"
				wantLabel += "/"
			}
			if e.IsSymlink {
				wantLabel = e.Name + "@"
			}
			raw, err := url.PathUnescape(href)
			if err != nil {
				t.Fatalf("href %q: %v", href, err)
			}
			if got := unsurrogate([]byte(raw)); got != wantHref {
				t.Fatalf("href %q unquotes to %q, want %q", href, got, wantHref)
			}
			if strings.ContainsFunc(href, func(r rune) bool { return r != '%' && pystr.QuotedLen(string(r)) != 1 }) {
				t.Fatalf("href %q has a byte quote would encode", href)
			}
			// html.UnescapeString rewrites invalid UTF-8 inside entities
			// only, and labels have none besides &amp; &lt; &gt;.
			if got := html.UnescapeString(label); got != wantLabel {
				t.Fatalf("label %q unescapes to %q, want %q", label, got, wantLabel)
			}
		}
		if rest != "" {
			t.Fatalf("trailing items: got %q, want none", rest)
		}
	})
}

// TestWriteHTML314Golden pins python_version 3.14, for which no CPython is
// installed here, to golden documents written from 3.14's list_directory:
// the unindented colour-scheme block after <meta charset>. The 3.13
// document of the same listing must differ from the golden, so a 3.14
// branch that fell back to 3.13's head fails, and HTMLLength must agree.
func TestWriteHTML314Golden(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		file, title string
		entries     []Entry
	}{
		{"listing.html", "/d & <x>/", []Entry{
			{Name: ".dotfile"},
			{Name: "a&b <c>.txt"},
			{Name: "broken", IsSymlink: true},
			{Name: "dir", IsDir: true},
			{Name: "link", IsDir: true, IsSymlink: true},
		}},
		{"empty.html", "/empty/", nil},
	} {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			want, err := os.ReadFile(filepath.Join("testdata", "py314", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			var got bytes.Buffer
			if err := WriteHTML(&got, pyversion.V3_14, tt.title, tt.entries); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.Bytes(), want) {
				t.Errorf("WriteHTML(3.14): got\n%s\nwant\n%s", got.Bytes(), want)
			}
			if n := HTMLLength(pyversion.V3_14, tt.title, tt.entries); n != int64(len(want)) {
				t.Errorf("HTMLLength(3.14) = %d, golden is %d bytes", n, len(want))
			}
			var old bytes.Buffer
			if err := WriteHTML(&old, pyversion.V3_13, tt.title, tt.entries); err != nil {
				t.Fatal(err)
			}
			if bytes.Equal(old.Bytes(), want) {
				t.Error("the 3.13 document equals the 3.14 golden: the versions are not told apart")
			}
		})
	}
}
