package listing

import (
	"errors"
	"unicode/utf8"
)

// ErrUnencodableTitle reports a request target whose percent-decoding holds
// a lone surrogate outside U+DC80..U+DCFF (for example %ED%A0%80). Python
// 3.11–3.13 accepts it when decoding (errors="surrogatepass") but then fails
// to encode the page with surrogateescape: the UnicodeEncodeError escapes
// list_directory and the connection is dropped with no response. Callers
// should answer 400 or 404 instead (spec §12).
var ErrUnencodableTitle = errors.New("listing title has a surrogate that cannot be encoded")

// DecodeTitle turns the request target as received (raw bytes, after the
// caller's "//" collapse and, if wanted, query stripping) into the title
// WriteHTML expects, exactly as list_directory in CPython 3.11–3.13 does:
//
//	try: displaypath = unquote(self.path, errors="surrogatepass")
//	except UnicodeDecodeError: displaypath = unquote(self.path)
//
// The steps that matter for byte equality: http.server decodes the request
// line as ISO-8859-1, so each raw byte >= 0x80 becomes U+0080..U+00FF and is
// written back as two UTF-8 bytes; unquote only decodes runs of ASCII; a %XX
// needs two hex digits (either case) or stays literal; the decoded bytes are
// UTF-8 where surrogate encodings are accepted and U+DC80..U+DCFF comes out
// as the raw byte (the page's surrogateescape); if any run is not valid
// UTF-8 the whole target is decoded again with errors="replace", giving one
// U+FFFD per maximal invalid subsequence (Unicode §3.9, which CPython's
// decoder follows). The result is not yet HTML-escaped.
func DecodeTitle(target string) (string, error) {
	if s, bad, ok := decodeTitle(target, true); ok {
		if bad {
			return "", ErrUnencodableTitle
		}
		return s, nil
	}
	s, _, _ := decodeTitle(target, false)
	return s, nil
}

// decodeTitle is one unquote pass. With surrogatepass set, ok is false when a
// run is not valid UTF-8 (Python's UnicodeDecodeError) and bad reports a
// surrogate surrogateescape cannot encode; otherwise invalid input becomes
// U+FFFD and ok is true.
func decodeTitle(target string, surrogatepass bool) (s string, bad, ok bool) {
	out := make([]byte, 0, len(target)+8)
	var run []byte // percent-decoded bytes of the current ASCII run
	for i := 0; i < len(target); {
		c := target[i]
		if c >= utf8.RuneSelf {
			out = utf8.AppendRune(out, rune(c)) // ISO-8859-1 request line
			i++
			continue
		}
		run = run[:0]
		for i < len(target) && target[i] < utf8.RuneSelf {
			if target[i] == '%' && i+2 < len(target) && isHex(target[i+1]) && isHex(target[i+2]) {
				run = append(run, unhex(target[i+1])<<4|unhex(target[i+2]))
				i += 3
				continue
			}
			run = append(run, target[i])
			i++
		}
		var runBad, runOK bool
		out, runBad, runOK = appendDecoded(out, run, surrogatepass)
		if !runOK {
			return "", false, false
		}
		bad = bad || runBad
	}
	return string(out), bad, true
}

// appendDecoded appends the UTF-8 decoding of b to out; see decodeTitle.
func appendDecoded(out, b []byte, surrogatepass bool) (_ []byte, bad, ok bool) {
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		if r != utf8.RuneError || n > 1 {
			out = append(out, b[:n]...)
			b = b[n:]
			continue
		}
		if surrogatepass {
			if len(b) >= 3 && b[0] == 0xED && b[1]&0xE0 == 0xA0 && b[2]&0xC0 == 0x80 {
				cp := rune(b[1]&0x3F)<<6 | rune(b[2]&0x3F) | 0xD000
				if 0xDC80 <= cp && cp <= 0xDCFF {
					out = append(out, byte(cp-0xDC00))
				} else {
					bad = true
				}
				b = b[3:]
				continue
			}
			return nil, false, false
		}
		out = append(out, "\uFFFD"...)
		b = b[maximalSubpart(b):]
	}
	return out, bad, true
}

// maximalSubpart returns the length of the maximal subpart of an ill-formed
// UTF-8 sequence at the start of b (Unicode §3.9, Table 3-7): the longest
// prefix that starts a well-formed sequence, or 1.
func maximalSubpart(b []byte) int {
	lo, hi, size := byte(0x80), byte(0xBF), 0
	switch c := b[0]; {
	case 0xC2 <= c && c <= 0xDF:
		size = 2
	case c == 0xE0:
		lo, size = 0xA0, 3
	case c == 0xED:
		hi, size = 0x9F, 3
	case 0xE1 <= c && c <= 0xEF:
		size = 3
	case c == 0xF0:
		lo, size = 0x90, 4
	case c == 0xF4:
		hi, size = 0x8F, 4
	case 0xF1 <= c && c <= 0xF3:
		size = 4
	default:
		return 1
	}
	n := 1
	for ; n < size && n < len(b); n++ {
		if b[n] < lo || b[n] > hi {
			break
		}
		lo, hi = 0x80, 0xBF // only the second byte has a narrower range
	}
	return n
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c >= 'a':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}
