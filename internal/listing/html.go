package listing

import (
	"bufio"
	"io"
	"unicode/utf8"

	"github.com/pyhttp/caddy-pyhttp/internal/pyversion"
)

// ContentType is the listing's Content-Type header value exactly as Python
// sends it: "text/html; charset=%s" % sys.getfilesystemencoding(), with a
// space after the semicolon (the error page has none).
const ContentType = "text/html; charset=utf-8"

// The fixed parts of the 3.11–3.13 document (3.14's head is htmlHead314). list_directory joins its lines
// with "\n" and the last chunk ends in "\n", so every line below, including
// the last, ends in LF.
const (
	htmlHead = "<!DOCTYPE HTML>\n" +
		"<html lang=\"en\">\n" +
		"<head>\n" +
		"<meta charset=\"utf-8\">\n" +
		"<title>Directory listing for "
	// htmlHead314 is 3.14's head: list_directory appends one unindented
	// style block (a single list item holding four LFs) after <meta
	// charset>, so that browsers follow the reader's light or dark scheme.
	htmlHead314 = "<!DOCTYPE HTML>\n" +
		"<html lang=\"en\">\n" +
		"<head>\n" +
		"<meta charset=\"utf-8\">\n" +
		"<style type=\"text/css\">\n" +
		":root {\n" +
		"color-scheme: light dark;\n" +
		"}\n" +
		"</style>\n" +
		"<title>Directory listing for "
	htmlTitleEnd = "</title>\n" +
		"</head>\n" +
		"<body>\n" +
		"<h1>Directory listing for "
	htmlH1End = "</h1>\n" +
		"<hr>\n" +
		"<ul>\n"
	htmlItemStart = "<li><a href=\""
	htmlItemMid   = "\">"
	htmlItemEnd   = "</a></li>\n"
	htmlTail      = "</ul>\n" +
		"<hr>\n" +
		"</body>\n" +
		"</html>\n"
)

// head is the document's start, up to the title text, for Python v.
func head(v pyversion.Version) string {
	if v.ColorScheme() {
		return htmlHead314
	}
	return htmlHead
}

// HTMLLength returns the exact byte length WriteHTML will write for the
// same version, title and entries, so the caller can send Content-Length
// (as Python does) before streaming the body. It allocates nothing.
func HTMLLength(v pyversion.Version, title string, entries []Entry) int64 {
	n := int64(len(head(v))+len(htmlTitleEnd)+len(htmlH1End)+len(htmlTail)) +
		2*int64(escapedLen(title))
	for i := range entries {
		e := &entries[i]
		n += int64(len(htmlItemStart)+len(htmlItemMid)+len(htmlItemEnd)) +
			int64(quotedLen(e.Name)+escapedLen(e.Name))
		if e.IsDir {
			n++ // "/" on the href
		}
		if e.IsDir || e.IsSymlink {
			n++ // "/" or "@" on the label
		}
	}
	return n
}

// WriteHTML streams the listing document of Python v (list_directory; 3.14
// adds a style block to 3.11–3.13's) for entries, in the order given,
// through a buffer, so memory stays constant however many entries there
// are. title is the decoded request target (pypath.ListingTitle chooses
// which part of it); it is escaped like a label. The entries' order is not
// changed: Read has already sorted them.
func WriteHTML(w io.Writer, v pyversion.Version, title string, entries []Entry) error {
	bw := bufio.NewWriterSize(w, 32<<10)
	bw.WriteString(head(v))
	writeEscaped(bw, title)
	bw.WriteString(htmlTitleEnd)
	writeEscaped(bw, title)
	bw.WriteString(htmlH1End)
	for i := range entries {
		e := &entries[i]
		bw.WriteString(htmlItemStart)
		writeQuoted(bw, e.Name)
		if e.IsDir {
			bw.WriteByte('/')
		}
		bw.WriteString(htmlItemMid)
		writeEscaped(bw, e.Name)
		// A symlink's "@" replaces the directory "/" on the label only:
		// list_directory sets displayname twice but linkname once.
		switch {
		case e.IsSymlink:
			bw.WriteByte('@')
		case e.IsDir:
			bw.WriteByte('/')
		}
		if _, err := bw.WriteString(htmlItemEnd); err != nil {
			return err // bufio keeps the first write error; stop early
		}
	}
	bw.WriteString(htmlTail)
	return bw.Flush()
}

// Quote is urllib.parse.quote(s, errors="surrogatepass") with the default
// safe="/": every byte outside A-Z a-z 0-9 _ . - ~ / becomes %XX with
// upper-case hex. url.PathEscape keeps @ + = : , ; ! $ ( ) * & and so must
// not be used. s is taken as Python's surrogateescape-decoded filename, so an
// undecodable byte b is encoded as the surrogatepass UTF-8 of U+DC00+b
// (0xFF becomes %ED%B3%BF), which Python's own unquote maps back.
func Quote(s string) string {
	n := quotedLen(s)
	if n == len(s) {
		return s
	}
	b := make([]byte, 0, n)
	return string(appendQuoted(b, s))
}

// Escape is html.escape(s, quote=False): only &, < and > are replaced.
// html.EscapeString also escapes quotes and so must not be used; Python
// leaves them literal in listing labels. Other bytes, including undecodable
// ones, pass through unchanged because Python encodes the page with
// surrogateescape.
func Escape(s string) string {
	n := escapedLen(s)
	if n == len(s) {
		return s
	}
	b := make([]byte, 0, n)
	for i := range len(s) {
		switch c := s[i]; c {
		case '&':
			b = append(b, "&amp;"...)
		case '<':
			b = append(b, "&lt;"...)
		case '>':
			b = append(b, "&gt;"...)
		default:
			b = append(b, c)
		}
	}
	return string(b)
}

// unreserved marks the bytes urllib.parse.quote never encodes: its
// _ALWAYS_SAFE set (RFC 3986 §2.3 unreserved characters, "~" included
// since Python 3.7) plus the default safe "/".
var unreserved = func() (t [256]bool) {
	for c := range 256 {
		t[c] = 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
			c == '_' || c == '.' || c == '-' || c == '~' || c == '/'
	}
	return t
}()

const upperHex = "0123456789ABCDEF"

// quotedLen is len(Quote(s)) without building it.
func quotedLen(s string) int {
	n := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if unreserved[c] {
				n++
			} else {
				n += 3
			}
			i++
			continue
		}
		r, w := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && w == 1 {
			n += 9 // three-byte encoded surrogate
		} else {
			n += 3 * w
		}
		i += w
	}
	return n
}

// appendQuoted appends Quote(s) to dst.
func appendQuoted(dst []byte, s string) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if unreserved[c] {
				dst = append(dst, c)
			} else {
				dst = appendPct(dst, c)
			}
			i++
			continue
		}
		r, w := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && w == 1 {
			var buf [3]byte
			for _, b := range appendSurrogate(buf[:0], c) {
				dst = appendPct(dst, b)
			}
		} else {
			for k := i; k < i+w; k++ {
				dst = appendPct(dst, s[k])
			}
		}
		i += w
	}
	return dst
}

// appendPct appends b as %XX with upper-case hex, as quote does.
func appendPct(dst []byte, b byte) []byte {
	return append(dst, '%', upperHex[b>>4], upperHex[b&15])
}

// writeQuoted writes Quote(s) to bw without allocating: runs of unreserved
// ASCII go out as one substring, other bytes one %XX at a time. (A stack
// buffer handed to bw.Write would escape to the heap.)
func writeQuoted(bw *bufio.Writer, s string) {
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf && unreserved[c] {
			i++
			continue
		}
		bw.WriteString(s[start:i])
		w := 1
		if c >= utf8.RuneSelf {
			var r rune
			r, w = utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && w == 1 {
				cp := 0xDC00 + rune(c) // surrogatepass, as appendSurrogate
				writePct(bw, 0xE0|byte(cp>>12))
				writePct(bw, 0x80|byte(cp>>6)&0x3F)
				writePct(bw, 0x80|byte(cp)&0x3F)
				i++
				start = i
				continue
			}
		}
		for k := i; k < i+w; k++ {
			writePct(bw, s[k])
		}
		i += w
		start = i
	}
	bw.WriteString(s[start:])
}

// writePct writes b as %XX with upper-case hex.
func writePct(bw *bufio.Writer, b byte) {
	bw.WriteByte('%')
	bw.WriteByte(upperHex[b>>4])
	bw.WriteByte(upperHex[b&15])
}

// escapedLen is len(Escape(s)) without building it.
func escapedLen(s string) int {
	n := len(s)
	for i := range len(s) {
		switch s[i] {
		case '&':
			n += len("&amp;") - 1
		case '<', '>':
			n += len("&lt;") - 1
		}
	}
	return n
}

// writeEscaped writes Escape(s) to bw without allocating.
func writeEscaped(bw *bufio.Writer, s string) {
	start := 0
	for i := range len(s) {
		var rep string
		switch s[i] {
		case '&':
			rep = "&amp;"
		case '<':
			rep = "&lt;"
		case '>':
			rep = "&gt;"
		default:
			continue
		}
		bw.WriteString(s[start:i])
		bw.WriteString(rep)
		start = i + 1
	}
	bw.WriteString(s[start:])
}
