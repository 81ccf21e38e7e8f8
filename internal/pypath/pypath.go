// Package pypath reproduces the URL-to-filesystem path rules of CPython's
// http.server for the static and the CGI handler: the request target as
// Python's handler sees it in self.path, translate_path, the directory
// redirect of send_head, the listing title, _url_collapse_path, is_cgi and
// the script walk of run_cgi. The rules are 3.11's; Translate, DirRedirect
// and ListingPath take a pyversion.Version for the places where 3.14 changed
// them (pyversion's package doc lists them).
//
// The package needs no Caddy. Inputs come from Go's net/http, which has
// already split the query off at the first '?' (url.URL.RawQuery) but leaves
// a '#' in the path, because a request-target carries no fragment (RFC 9112
// §3.2) and Go does not look for one.
//
// Where Python would crash (a NUL byte, a '..' that _url_collapse_path cannot
// pop) the functions return ErrNUL or ErrAboveRoot instead, so that the
// caller can answer 400 rather than drop the connection. They never panic.
//
// Deliberate differences from CPython, all on hostile or non-UTF-8 input:
//   - Bytes are bytes. Python decodes the request line as Latin-1 and then
//     encodes file names as UTF-8, so a raw (unescaped) byte 0xE9 becomes the
//     two bytes C3 A9 on disk; here raw bytes reach the filesystem unchanged.
//   - An escape that is not valid UTF-8 (%FF) decodes to that byte, as
//     urllib.parse.unquote(errors='surrogateescape') followed by a
//     surrogateescape file-system encode would. Python 3.11's translate_path
//     falls back to errors='replace' and looks for U+FFFD instead.
//   - The CGI functions decode once. Python decodes the script name and
//     PATH_INFO a second time (translate_path and unquote in run_cgi), which
//     lets /cgi-bin/%252e%252e%252fx run the file x above the CGI directory.
package pypath

import (
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"

	"github.com/pyhttp/caddy-pyhttp/internal/pystr"
	"github.com/pyhttp/caddy-pyhttp/internal/pyversion"
)

var (
	// ErrNUL reports a decoded path that contains a NUL byte. Python raises
	// ValueError ("embedded null byte") from open() and drops the connection.
	ErrNUL = errors.New("path contains a NUL byte")

	// ErrAboveRoot reports a '..' that http.server._url_collapse_path cannot
	// pop because nothing is left before it; Python raises IndexError there
	// and drops the connection.
	ErrAboveRoot = errors.New("path climbs above the root")
)

// Target returns the request target as Python's handler sees it in
// self.path: the raw path as the client sent it (u.RawPath if non-empty,
// else u.EscapedPath(), which equals the raw path whenever Go left RawPath
// empty), then "?"+u.RawQuery when u.RawQuery != "" or u.ForceQuery, with any
// run of leading slashes collapsed to one. The collapse is
// BaseHTTPRequestHandler.parse_request's fix for gh-87389: "//host/x" would
// otherwise reach the redirect Location and be read as scheme-relative.
//
// Scheme and host of an absolute-form request are not part of the result,
// although Python keeps them in self.path; mapping "http:" and the host name
// onto directories under the root helps nobody.
//
// A RawPath that no longer decodes to u.Path (a middleware rewrote Path and
// left RawPath stale) is ignored in favour of u.EscapedPath(). u.EscapedPath
// alone is not enough: it also discards a RawPath holding a raw '#' or raw
// non-ASCII bytes, which Python would see as sent.
func Target(u *url.URL) string {
	p := u.RawPath
	if p == "" || pystr.Unquote(p) != u.Path {
		p = u.EscapedPath()
	}
	if u.RawQuery != "" || u.ForceQuery {
		p += "?" + u.RawQuery
	}
	return collapseLeadingSlashes(p)
}

// collapseLeadingSlashes is parse_request's '/' + path.lstrip('/') for a path
// that starts with "//" (gh-87389).
func collapseLeadingSlashes(s string) string {
	if strings.HasPrefix(s, "//") {
		return "/" + strings.TrimLeft(s, "/")
	}
	return s
}

// decode is Unquote followed by foldSurrogates: the bytes Python would hand
// to the filesystem for a percent-encoded path.
func decode(s string) string {
	return foldSurrogates(pystr.Unquote(s))
}

// foldSurrogates turns each UTF-8-encoded lone surrogate U+DC80..U+DCFF
// (ED B2 80 .. ED B3 BF) back into the single byte 0x80..0xFF it escapes.
// Python's listing quotes an undecodable name byte 0xFF as %ED%B3%BF
// (quote(errors='surrogatepass')); translate_path unquotes it with
// errors='surrogatepass' to U+DCFF, and the surrogateescape file-system
// encoding turns that into 0xFF again. Without the fold the listing's own
// links to non-UTF-8 names would not resolve.
func foldSurrogates(s string) string {
	i := strings.Index(s, "\xed")
	if i < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	b.WriteString(s[:i])
	for ; i < len(s); i++ {
		if s[i] == 0xED && i+2 < len(s) && (s[i+1] == 0xB2 || s[i+1] == 0xB3) && s[i+2]&0xC0 == 0x80 {
			b.WriteByte((s[i+1]&0x01)<<6 | s[i+2]&0x3F | 0x80)
			i += 2
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// Translate is SimpleHTTPRequestHandler.translate_path of Python v for a
// target from Target and a served directory root (absolute and clean):
//
//  1. cut the target at the first '?', then at the first '#', before any
//     decoding, so %3F and %23 stay literal characters of a file name
//     (3.14 cuts at '#' first, which leaves the same path);
//  2. record a trailing slash when the still-encoded path, with trailing
//     whitespace stripped, ends in '/' (issue 17324); 3.14 looks at the
//     decoded path instead, without stripping, so an encoded %2F at the
//     end counts there;
//  3. percent-decode (Unquote, with encoded surrogates folded back to bytes,
//     see the package doc);
//  4. posixpath.normpath: collapse "//", drop ".", resolve "..", clamping at
//     "/" so "/a/../../x" is "/x";
//  5. drop empty, "." and ".." words, and join the rest onto root;
//  6. append "/" if step 2 saw a trailing slash.
//
// A decoded "/" (%2F) is an ordinary separator and a backslash is an
// ordinary character, as on POSIX. The result, minus a trailing "/", is root
// or lies under root+"/" and has no ".." element. Translate returns ErrNUL if
// the decoded path contains a NUL byte, anywhere: Python only crashes when
// the NUL survives normpath, but a NUL is never part of a legitimate request.
func Translate(v pyversion.Version, root, target string) (string, error) {
	p, _, _ := strings.Cut(target, "?")
	p, _, _ = strings.Cut(p, "#")
	trailing := strings.HasSuffix(trimRightSpace(p), "/")
	p = decode(p)
	if v.DecodedTrailingSlash() {
		trailing = strings.HasSuffix(p, "/")
	}
	if strings.IndexByte(p, 0) >= 0 {
		return "", fmt.Errorf("translating %q: %w", target, ErrNUL)
	}
	res := joinUnder(root, p)
	if trailing && !strings.HasSuffix(res, "/") {
		res += "/"
	}
	return res, nil
}

// trimRightSpace is Python's str.rstrip() on the request line, which
// http.server decodes as Latin-1, so every byte is one character and the
// whitespace characters are exactly these bytes (str.isspace).
func trimRightSpace(s string) string {
	for len(s) > 0 {
		switch s[len(s)-1] {
		case '\t', '\n', '\v', '\f', '\r', 0x1C, 0x1D, 0x1E, 0x1F, ' ', 0x85, 0xA0:
			s = s[:len(s)-1]
		default:
			return s
		}
	}
	return s
}

// joinUnder is steps 4 and 5 of translate_path on an already decoded path:
// posixpath.normpath, then the surviving words joined onto root. A ".." that
// normpath keeps (only possible in a relative path, at its start) is dropped
// just as translate_path drops it, so ".." never pops a word of root.
func joinUnder(root, decoded string) string {
	words := make([]string, 0, strings.Count(decoded, "/")+1)
	for w := range strings.SplitSeq(decoded, "/") {
		switch w {
		case "", ".":
		case "..":
			if len(words) > 0 {
				words = words[:len(words)-1]
			}
		default:
			words = append(words, w)
		}
	}
	return filepath.Join(append([]string{root}, words...)...)
}

// DirRedirect is send_head's 301 for a directory requested without a
// trailing slash, as Python v sends it. It splits target as
// urllib.parse.urlsplit does (fragment at the first '#', then query at the
// first '?' before it) and returns the Location urlunsplit builds: the path
// part as sent (percent-encoding kept, so /s%75b gives /s%75b/) plus "/",
// then "?query" and "#fragment" when they are non-empty (urlunsplit drops a
// bare "?" or "#"). It returns "", false if the path part already ends in
// "/", or for 3.14 in "%2f" or "%2F", which 3.14's translate_path takes
// as a trailing slash too.
//
// Leading slashes are collapsed again here, although Target already did, so
// that the Location can never be scheme-relative ("//evil.example/") even if
// a caller forgets (gh-87389, open redirect). The path part is also passed
// through EscapeLocationPath, which Python does not do: a directory named
// `\evil.example` would otherwise give `Location: /\evil.example/`, which
// browsers read as `//evil.example/`.
func DirRedirect(v pyversion.Version, target string) (string, bool) {
	target = collapseLeadingSlashes(target)
	rest, frag, _ := strings.Cut(target, "#")
	p, query, _ := strings.Cut(rest, "?")
	if strings.HasSuffix(p, "/") {
		return "", false
	}
	if v.EncodedSlashRedirect() && (strings.HasSuffix(p, "%2f") || strings.HasSuffix(p, "%2F")) {
		return "", false
	}
	loc := EscapeLocationPath(p) + "/"
	if query != "" {
		loc += "?" + query
	}
	if frag != "" {
		loc += "#" + frag
	}
	return loc, true
}

// ListingPath is the part of target that a directory listing's title shows
// for Python v, still percent-encoded; listing.DecodeTitle decodes it as
// Python does. 3.11–3.13 show self.path whole, query included, so for them
// it is target. 3.14's list_directory strips "#..." and then "?..." before
// decoding, and so does Default: a title that echoes the query string is
// kept only for those who ask for 3.11–3.13 by name.
func ListingPath(v pyversion.Version, target string) string {
	if v.TitleKeepsQuery() {
		return target
	}
	p, _, _ := strings.Cut(target, "#")
	p, _, _ = strings.Cut(p, "?")
	return p
}

// EscapeLocationPath percent-encodes in the path part of a Location the
// bytes a browser may take for a separator or drop: `\` (the WHATWG URL
// parser reads it as `/` in http and https URLs, so `/\host` is
// scheme-relative), ASCII controls (tab, CR and LF are removed from URLs,
// so `/\t/host` becomes `//host`), space and DEL. Every other byte is kept
// as sent, so the Location of an ordinary name is Python's.
func EscapeLocationPath(p string) string {
	i := strings.IndexFunc(p, func(r rune) bool { return r < 0x80 && locationUnsafe(byte(r)) })
	if i < 0 {
		return p
	}
	var b strings.Builder
	b.Grow(len(p) + 8)
	b.WriteString(p[:i])
	for j := i; j < len(p); j++ {
		if c := p[j]; locationUnsafe(c) {
			b.WriteByte('%')
			b.WriteByte("0123456789ABCDEF"[c>>4])
			b.WriteByte("0123456789ABCDEF"[c&15])
		} else {
			b.WriteByte(c)
		}
	}
	return b.String()
}

// locationUnsafe reports whether c is escaped by EscapeLocationPath.
func locationUnsafe(c byte) bool { return c == '\\' || c <= ' ' || c == 0x7f }

// BrowserSchemeRelative reports whether a browser would read the Location
// loc as scheme-relative (another host): WHATWG URL parsing drops tab, CR
// and LF anywhere and leading C0 controls and spaces, and treats `\` as
// `/`. Tests and fuzzers use it as the oracle for open redirects.
func BrowserSchemeRelative(loc string) bool {
	loc = strings.TrimLeft(loc, "\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f ")
	loc = strings.NewReplacer("\t", "", "\r", "", "\n", "", "\\", "/").Replace(loc)
	return strings.HasPrefix(loc, "//")
}
