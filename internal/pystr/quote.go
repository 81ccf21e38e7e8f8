package pystr

import (
	"strings"
	"unicode/utf8"
)

// Quote is urllib.parse.quote(s, errors="surrogatepass") with the default
// safe="/": every byte outside A-Z a-z 0-9 _ . - ~ / becomes %XX with
// upper-case hex. url.PathEscape keeps @ + = : , ; ! $ ( ) * & and so must
// not be used. s is taken as Python's surrogateescape-decoded filename, so an
// undecodable byte b is encoded as the surrogatepass UTF-8 of U+DC00+b
// (0xFF becomes %ED%B3%BF), which Python's own unquote maps back.
func Quote(s string) string {
	n := QuotedLen(s)
	if n == len(s) {
		return s
	}
	b := make([]byte, 0, n)
	return string(AppendQuoted(b, s))
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

// QuotedLen is len(Quote(s)) without building it.
func QuotedLen(s string) int {
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

// AppendQuoted appends Quote(s) to dst. Runs of bytes left as they are
// are copied whole; in valid UTF-8 every other byte is one %XX, so only an
// invalid name takes the rune-by-rune path.
func AppendQuoted(dst []byte, s string) []byte {
	if !utf8.ValidString(s) {
		return appendQuotedRunes(dst, s)
	}
	start := 0
	for i := range len(s) {
		c := s[i]
		if unreserved[c] {
			continue
		}
		dst = append(dst, s[start:i]...)
		dst = appendPct(dst, c)
		start = i + 1
	}
	return append(dst, s[start:]...)
}

// appendQuotedRunes is AppendQuoted for s that is not valid UTF-8.
func appendQuotedRunes(dst []byte, s string) []byte {
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if unreserved[c] {
			i++
			continue
		}
		dst = append(dst, s[start:i]...)
		if c < utf8.RuneSelf {
			dst = appendPct(dst, c)
			i++
			start = i
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
		start = i
	}
	return append(dst, s[start:]...)
}

// appendPct appends b as %XX with upper-case hex, as quote does.
func appendPct(dst []byte, b byte) []byte {
	return append(dst, '%', upperHex[b>>4], upperHex[b&15])
}

// Unquote is urllib.parse.unquote(s, errors='surrogateescape') on bytes: every
// %XX with two hex digits (either case) becomes that byte, a malformed escape
// stays literally, '+' is NOT a space (unquote, not unquote_plus), and all
// other bytes pass through unchanged. It never fails, unlike url.PathUnescape,
// because Python accepts "%zz" and "100%" as literal text.
func Unquote(s string) string {
	i := strings.IndexByte(s, '%')
	if i < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	b.WriteString(s[:i])
	for ; i < len(s); i++ {
		c := s[i]
		if c == '%' && i+2 < len(s) {
			if h, ok := unhex(s[i+1]); ok {
				if l, ok := unhex(s[i+2]); ok {
					b.WriteByte(h<<4 | l)
					i += 2
					continue
				}
			}
		}
		b.WriteByte(c)
	}
	return b.String()
}

// unhex is the value of the hex digit c, either case.
func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
