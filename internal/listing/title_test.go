package listing

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/pyhttp/caddy-pyhttp/internal/pystr"
	"github.com/pyhttp/caddy-pyhttp/internal/pythontest"
)

func TestDecodeTitle(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
		err            error
	}{
		{"plain", "/d/", "/d/", nil},
		{"query kept", "/d/?q=<b>", "/d/?q=<b>", nil},
		{"space", "/a%20b/", "/a b/", nil},
		{"lower-case hex", "/%c3%a9", "/é", nil},
		{"mixed-case hex", "/%eA%b9%80", "/김", nil},
		{"bad escape stays literal", "/%zz%4", "/%zz%4", nil},
		{"percent before escape", "/%%41", "/%A", nil},
		{"invalid byte falls back to replace", "/%FF/", "/\uFFFD/", nil},
		{"maximal subpart is one U+FFFD", "/%E4%B8%41", "/\uFFFDA", nil},
		{"surrogate escape becomes the raw byte", "/%ED%B3%BF/", "/\xff/", nil},
		{"fallback turns surrogates into U+FFFD", "/%ED%B3%BF%FF", "/\uFFFD\uFFFD\uFFFD\uFFFD", nil},
		{"high surrogate cannot be encoded", "/%ED%A0%80/", "", ErrUnencodableTitle},
		{"raw UTF-8 is read as Latin-1", "/\xc3\xa9/", "/Ã©/", nil},
		{"raw byte splits runs", "/%E4\xb8%41", "/\uFFFD¸A", nil},
		{"overlong", "/%C0%AF", "/\uFFFD\uFFFD", nil},
		{"above U+10FFFF", "/%F4%90%80%80", "/\uFFFD\uFFFD\uFFFD\uFFFD", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := DecodeTitle(tt.in)
			if !errors.Is(err, tt.err) {
				t.Fatalf("DecodeTitle(%q) error: got %v, want %v", tt.in, err, tt.err)
			}
			if got != tt.want {
				t.Errorf("DecodeTitle(%q): got %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// pyTitles prints, for each hex-encoded raw request target in argv, the
// hex of the <title> list_directory writes for an empty directory, or
// "ERR" when Python fails to produce the page (UnicodeEncodeError).
const pyTitles = `
import sys, os, tempfile, http.server
class H(http.server.SimpleHTTPRequestHandler):
    def __init__(self): pass
    def send_response(self, *a): pass
    def send_header(self, *a): pass
    def end_headers(self): pass
d = tempfile.mkdtemp()
for arg in sys.argv[1:]:
    h = H()
    h.path = bytes.fromhex(arg).decode("iso-8859-1")
    try:
        body = h.list_directory(d).read()
    except UnicodeEncodeError:
        print("ERR")
        continue
    start = body.index(b"<title>Directory listing for ") + len(b"<title>Directory listing for ")
    print(body[start:body.index(b"</title>")].hex())
os.rmdir(d)
`

// DecodeTitle plus Escape must give the title CPython writes for the same
// raw request target, including its surrogatepass/replace fallback and
// Latin-1 request line, for hand-picked and random targets.
func TestDecodeTitleMatchesPython(t *testing.T) {
	targets := []string{
		"/", "/a%20b/", "/%EA%B9%80/", "/%ff/", "/%FF%41/", "/%E4%B8%41", "/%ED%B3%BF/",
		"/%ED%A0%80/", "/%ED%A0%80%FF", "/\xc3\xa9/", "/\xe9%41", "/%zz%4", "/%%41",
		"/?q=<b>&x=%3C", "/%F0%9F%98%80", "/%F4%90%80%80", "/%C0%AF", "/%E0%80%AF", "/%F0%8F",
		"/%ed%9f%bf", "/%ED%B2%80%ED%B3%BF", "/%E4%B8", "/%F0%9F%98", "/%e4\xb8%ad",
	}
	tokens := []string{"%", "%E", "%ED", "%B3", "%BF", "%A0", "%80", "%F0", "%9F", "%C3", "%FF", "%4", "A", "/", "<", "&", "\xc3", "\xff", "z", "%e4", "%b8"}
	rng := rand.New(rand.NewPCG(3, 4))
	for range 3000 {
		var b strings.Builder
		for range 1 + rng.IntN(6) {
			b.WriteString(tokens[rng.IntN(len(tokens))])
		}
		targets = append(targets, b.String())
	}
	args := make([]string, len(targets))
	for i, tg := range targets {
		args[i] = hex.EncodeToString([]byte(tg))
	}
	for _, python := range pythontest.Interpreters(t) {
		t.Run(python.Version, func(t *testing.T) {
			out, _ := pythontest.Run(t, python.Path, pyTitles, args...)
			sc := bufio.NewScanner(bytes.NewReader(out))
			i, bad := 0, 0
			for ; sc.Scan(); i++ {
				got, err := DecodeTitle(targets[i])
				if err != nil {
					got = "ERR"
				} else {
					got = hex.EncodeToString([]byte(pystr.HTMLEscape(got)))
				}
				if want := sc.Text(); got != want {
					bad++
					t.Errorf("title for %q: got %s, want %s", targets[i], got, want)
				}
				if bad > 10 {
					t.Fatal("too many differences")
				}
			}
			if i != len(targets) {
				t.Fatalf("python answered %d targets, want %d", i, len(targets))
			}
		})
	}
}

// FuzzDecodeTitle checks that DecodeTitle never panics, that percent-encoding
// every byte of a name and decoding it gives the name back (with undecodable
// bytes surviving as surrogate escapes, as Python's surrogatepass and
// surrogateescape pair does), and that a target without "%" or non-ASCII
// bytes is its own title.
func FuzzDecodeTitle(f *testing.F) {
	for _, s := range []string{"/", "/a b/", "김", "\xff", "\xed\xa0\x80", "%ED%B3%BF", "%zz", "\xc3\xa9"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_, _ = DecodeTitle(s)
		got, err := DecodeTitle(pystr.Quote(s))
		if err != nil {
			t.Fatalf("DecodeTitle(Quote(%q)) error: %v", s, err)
		}
		if got != s {
			t.Fatalf("DecodeTitle(Quote(%q)): got %q, want %q", s, got, s)
		}
		if !strings.Contains(s, "%") && !strings.ContainsFunc(s, func(r rune) bool { return r >= utf8.RuneSelf }) {
			if got, _ := DecodeTitle(s); got != s {
				t.Fatalf("DecodeTitle(%q): got %q, want it unchanged", s, got)
			}
		}
	})
}
