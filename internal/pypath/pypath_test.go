package pypath

import (
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/pyhttp/caddy-pyhttp/internal/pyversion"
)

// TestTarget proves that Target rebuilds the request target exactly as the
// client sent it, percent-encoding and '#' included, with leading slashes
// collapsed as parse_request does since gh-87389.
func TestTarget(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, raw, want string
	}{
		{"root", "/", "/"},
		{"plain", "/a/b.txt", "/a/b.txt"},
		{"escape kept as sent", "/s%75b", "/s%75b"},
		{"lower-case escape kept", "/caf%c3%a9", "/caf%c3%a9"},
		{"encoded slash kept", "/a%2fb", "/a%2fb"},
		{"space escape", "/a%20b", "/a%20b"},
		{"raw utf-8", "/é", "/é"},
		{"query", "/a?x=1&y=%2F", "/a?x=1&y=%2F"},
		{"empty query kept", "/a?", "/a?"},
		{"fragment stays in path", "/a#f", "/a#f"},
		{"fragment and query", "/a#f?q", "/a#f?q"},
		{"double slash collapsed", "//evil.example/x", "/evil.example/x"},
		{"many slashes collapsed", "////x//y", "/x//y"},
		{"only slashes", "///", "/"},
		{"collapse reaches into query", "//?a", "/?a"},
		{"inner double slash kept", "/a//b", "/a//b"},
		{"absolute form drops scheme and host", "http://h.example//x?q", "/x?q"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			u, err := url.ParseRequestURI(tt.raw)
			if err != nil {
				t.Fatalf("ParseRequestURI(%q): %v", tt.raw, err)
			}
			if got := Target(u); got != tt.want {
				t.Errorf("Target(%q) got %q, want %q", tt.raw, got, tt.want)
			}
		})
	}
}

// TestTargetStaleRawPath proves a RawPath left behind by a rewrite of Path
// does not resurrect the old path.
func TestTargetStaleRawPath(t *testing.T) {
	t.Parallel()
	u, err := url.ParseRequestURI("/old%2fname?q")
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/new name"
	if got, want := Target(u), "/new%20name?q"; got != want {
		t.Errorf("Target got %q, want %q", got, want)
	}
}

// TestTargetThroughServer proves that a real net/http server hands Target
// the '#', the escapes and the raw bytes that the client put on the wire.
func TestTargetThroughServer(t *testing.T) {
	got := make(chan string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- Target(r.URL)
	}))
	defer srv.Close()
	for _, raw := range []string{"/d%2F/x#frag?q=%41", "/caf\xc3\xa9/%ED%B3%BF", "/a?"} {
		conn, err := net.Dial("tcp", srv.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(conn, "GET "+raw+" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, conn)
		conn.Close()
		if g := <-got; g != raw {
			t.Errorf("Target via net/http got %q, want %q", g, raw)
		}
	}
}

// TestUnquote proves Unquote is urllib.parse.unquote on bytes: escapes of
// either case decode, malformed ones stay, and '+' is not a space.
// TestTranslate proves translate_path's rules from spec section 4: query and
// fragment cut before decoding, trailing slash from the encoded form, '..'
// clamped at the root, and %2F as a separator.
func TestTranslate(t *testing.T) {
	t.Parallel()
	const root = "/srv/www"
	tests := []struct {
		name, target, want string
	}{
		{"root", "/", "/srv/www/"},
		{"empty", "", "/srv/www"},
		{"file", "/a.txt", "/srv/www/a.txt"},
		{"query cut", "/a.txt?x=1/../../b", "/srv/www/a.txt"},
		{"fragment cut", "/a.txt#frag", "/srv/www/a.txt"},
		{"query cut before fragment", "/a#b?c", "/srv/www/a"},
		{"encoded question mark is a name", "/a%3Fb", "/srv/www/a?b"},
		{"encoded hash is a name", "/a%23b", "/srv/www/a#b"},
		{"encoded slash separates", "/files%2Fnotes.txt", "/srv/www/files/notes.txt"},
		{"trailing slash kept", "/dir/", "/srv/www/dir/"},
		{"trailing slash before query", "/d/?q", "/srv/www/d/"},
		{"trailing slash after fragment cut", "/d#/", "/srv/www/d"},
		{"encoded trailing slash does not count in 3.11", "/dir%2F", "/srv/www/dir"},
		{"encoded space is a name", "/dir/%20", "/srv/www/dir/ "},
		{"trailing whitespace ignored for slash test", "/dir/ ", "/srv/www/dir/ /"},
		{"dotdot clamped", "/a/../../x", "/srv/www/x"},
		{"dotdot escape attempt", "/../../../etc/passwd", "/srv/www/etc/passwd"},
		{"encoded dotdot", "/%2e%2e/%2E%2e%2fetc/passwd", "/srv/www/etc/passwd"},
		{"dotdot to root", "/a/..", "/srv/www"},
		{"dotdot to root with slash", "/a/../", "/srv/www/"},
		{"double slashes", "/a//b///c", "/srv/www/a/b/c"},
		{"dots", "/./a/./b/.", "/srv/www/a/b"},
		{"relative", "a/../../b", "/srv/www/b"},
		{"backslashes literal", `/a\..\b`, `/srv/www/a\..\b`},
		{"plus literal", "/a+b", "/srv/www/a+b"},
		{"utf-8", "/caf%c3%a9", "/srv/www/café"},
		{"encoded surrogate folds to byte", "/%ED%B3%BF", "/srv/www/\xff"},
		{"lowest encoded surrogate", "/%ed%b2%80x", "/srv/www/\x80x"},
		{"invalid utf-8 escape kept as byte", "/%FF", "/srv/www/\xff"},
		{"raw byte kept", "/\xe9", "/srv/www/\xe9"},
		{"malformed escape literal", "/100%/%zz", "/srv/www/100%/%zz"},
		{"nul after query ignored", "/a?%00", "/srv/www/a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Translate(pyversion.Default, root, tt.target)
			if err != nil {
				t.Fatalf("Translate(%q): %v", tt.target, err)
			}
			if got != tt.want {
				t.Errorf("Translate(%q) got %q, want %q", tt.target, got, tt.want)
			}
		})
	}
}

// TestTranslateNUL proves a decoded NUL is an error, not a path, because
// Python's open() raises ValueError on it and drops the connection.
func TestTranslateNUL(t *testing.T) {
	t.Parallel()
	for _, target := range []string{"/%00", "/a%00b", "/a/%00/..", "/\x00"} {
		t.Run(target, func(t *testing.T) {
			t.Parallel()
			got, err := Translate(pyversion.Default, "/srv", target)
			if !errors.Is(err, ErrNUL) {
				t.Errorf("Translate(%q) got (%q, %v), want ErrNUL", target, got, err)
			}
		})
	}
}

// TestTranslateSlashRoot proves serving "/" yields single-slash paths and no
// "//" for the root itself.
func TestTranslateSlashRoot(t *testing.T) {
	t.Parallel()
	tests := []struct{ target, want string }{
		{"/", "/"},
		{"/a/", "/a/"},
		{"/../a", "/a"},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			t.Parallel()
			if got, _ := Translate(pyversion.Default, "/", tt.target); got != tt.want {
				t.Errorf("Translate(%q, %q) got %q, want %q", "/", tt.target, got, tt.want)
			}
		})
	}
}

// TestDirRedirect proves the 301 Location keeps the path as sent plus "/",
// keeps query and fragment as urlsplit/urlunsplit do, and is never
// scheme-relative.
func TestDirRedirect(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, target, want string
		ok                 bool
	}{
		{"plain", "/dir", "/dir/", true},
		{"already slashed", "/dir/", "", false},
		{"encoding kept", "/s%75b", "/s%75b/", true},
		{"query kept", "/d?a=1&b=/", "/d/?a=1&b=/", true},
		{"fragment kept", "/d#top", "/d/#top", true},
		{"query and fragment", "/d?q#f", "/d/?q#f", true},
		{"fragment holding question mark", "/d#f?q", "/d/#f?q", true},
		{"bare question mark dropped", "/d?", "/d/", true},
		{"bare hash dropped", "/d#", "/d/", true},
		{"slashed with query", "/d/?q", "", false},
		{"encoded slash does not count in 3.11", "/d%2F", "/d%2F/", true},
		{"double slash never scheme-relative", "//evil.example", "/evil.example/", true},
		{"triple slash never scheme-relative", "///evil.example?x", "/evil.example/?x", true},
		{"empty", "", "/", true},
		{"backslash never scheme-relative", "/\\evil.example", "/%5Cevil.example/", true},
		{"slash backslash", "/\\/evil.example?x=\\", "/%5C/evil.example/?x=\\", true},
		{"tab is dropped by browsers", "/\t/evil.example", "/%09/evil.example/", true},
		{"newline and space", "/a\nb c", "/a%0Ab%20c/", true},
		{"utf-8 kept", "/caf\xc3\xa9", "/caf\xc3\xa9/", true},
		{"encoded backslash kept", "/%5cevil.example", "/%5cevil.example/", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, ok := DirRedirect(pyversion.Default, tt.target)
			if BrowserSchemeRelative(got) {
				t.Errorf("DirRedirect(%q) got %q, which a browser reads as scheme-relative", tt.target, got)
			}
			if got != tt.want || ok != tt.ok {
				t.Errorf("DirRedirect(%q) got (%q, %v), want (%q, %v)", tt.target, got, ok, tt.want, tt.ok)
			}
			if strings.HasPrefix(got, "//") {
				t.Errorf("DirRedirect(%q) got scheme-relative %q", tt.target, got)
			}
		})
	}
}

// TestListingPath proves the title follows 3.14: fragment and query are
// stripped, and nothing is decoded or escaped here.
func TestListingPath(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, target, want string
	}{
		{"root", "/", "/"},
		{"not decoded", "/caf%C3%A9/", "/caf%C3%A9/"},
		{"query stripped", "/d/?q=<b>", "/d/"},
		{"fragment stripped", "/d/#x?y", "/d/"},
		{"not escaped", "/<b>&/", "/<b>&/"},
		{"encoded question mark kept", "/a%3Fb/", "/a%3Fb/"},
		{"plus literal", "/a+b/", "/a+b/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := ListingPath(pyversion.Default, tt.target); got != tt.want {
				t.Errorf("ListingPath(%q) got %q, want %q", tt.target, got, tt.want)
			}
		})
	}
}

// TestRules314 pins the path rules 3.14 changed, for which no CPython is
// installed here, against 3.13's on the same targets (3.13's column is what
// TestMatchesCPython checks against CPython): the trailing slash found after
// decoding, no redirect for a path ending in %2F, and the title without the
// query. Each row differs between the two versions in at least one column,
// so either branch regressing to the other's rules fails.
func TestRules314(t *testing.T) {
	t.Parallel()
	type result struct {
		translate, redirect, title string
	}
	for _, tt := range []struct {
		target       string
		py313, py314 result
	}{
		{"/dir%2F", result{"/srv/dir", "/dir%2F/", "/dir%2F"}, result{"/srv/dir/", "", "/dir%2F"}},
		{"/dir%2f?q=1", result{"/srv/dir", "/dir%2f/?q=1", "/dir%2f?q=1"}, result{"/srv/dir/", "", "/dir%2f"}},
		{"/a%2Fb%2F", result{"/srv/a/b", "/a%2Fb%2F/", "/a%2Fb%2F"}, result{"/srv/a/b/", "", "/a%2Fb%2F"}},
		{"/d/?q=<b>", result{"/srv/d/", "", "/d/?q=<b>"}, result{"/srv/d/", "", "/d/"}},
		{"/d/#f?q", result{"/srv/d/", "", "/d/#f?q"}, result{"/srv/d/", "", "/d/"}},
		{"/file.txt%2F", result{"/srv/file.txt", "/file.txt%2F/", "/file.txt%2F"}, result{"/srv/file.txt/", "", "/file.txt%2F"}},
	} {
		t.Run(tt.target, func(t *testing.T) {
			t.Parallel()
			for _, c := range []struct {
				v    pyversion.Version
				want result
			}{{pyversion.V3_13, tt.py313}, {pyversion.V3_14, tt.py314}} {
				var got result
				var err error
				if got.translate, err = Translate(c.v, "/srv", tt.target); err != nil {
					t.Fatal(err)
				}
				got.redirect, _ = DirRedirect(c.v, tt.target)
				got.title = ListingPath(c.v, tt.target)
				if got != c.want {
					t.Errorf("python_version %q: got %+v, want %+v", c.v, got, c.want)
				}
			}
		})
	}
}
