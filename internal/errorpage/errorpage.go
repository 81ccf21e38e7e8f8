// Package errorpage renders the HTML document Python's
// BaseHTTPRequestHandler.send_error sends, byte for byte, for the CPython
// release a pyversion.Version names (http.server.DEFAULT_ERROR_MESSAGE),
// and knows the phrase and explanation Python's http.HTTPStatus gives each
// status code.
//
// The status tables are generated (gen.py) from CPython 3.11, whose table
// 3.12 shares and Default uses, and from 3.13, which renamed the phrases of
// 413, 414, 416 and 422 (414 is "URI Too Long" there) and whose table 3.14
// keeps. 3.14's document adds a colour-scheme style block.
package errorpage

//go:generate sh -c "$(pyenv root)/versions/3.11.7/bin/python3 gen.py && $(pyenv root)/versions/3.13.0/bin/python3 gen.py"

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/pyhttp/caddy-pyhttp/internal/pyversion"
)

// ContentType is the header value Python's send_error uses (no space after ';').
const ContentType = "text/html;charset=utf-8"

// status is one BaseHTTPRequestHandler.responses entry.
type status struct {
	phrase, explain string
}

// Status returns the phrase and explanation Python v gives code; ok is false for codes Python does not
// know (send_error then uses "???" for both).
func Status(v pyversion.Version, code int) (phrase, explain string, ok bool) {
	table := statusTable
	if v.RFC9110Phrases() {
		table = statusTable313
	}
	s, ok := table[code]
	if !ok {
		return unknown, unknown, false
	}
	return s.phrase, s.explain, true
}

// HasBody reports whether send_error writes a body: code >= 200 and not 204, 205, 304.
//
// send_error follows RFC 9110 §15.3.5 (204), §15.3.6 (205) and §15.4.5 (304)
// and RFC 9112 §6.3 (1xx): those responses cannot carry content.
func HasBody(code int) bool {
	return code >= 200 && code != 204 && code != 205 && code != 304
}

// Render returns Python v's error document exactly (DEFAULT_ERROR_MESSAGE, LF line ends, message and
// explain escaped with html.escape(quote=False) semantics: only & < >), for code, message, explain.
// Empty message/explain default to Status(v, code) (or "???").
//
// Python distinguishes None (use the default) from "" (print nothing); Go
// callers cannot, and http.server never passes "", so "" means the default.
// Bytes that are not UTF-8 become '?', one per byte, as Python's
// encode('UTF-8', 'replace') does for the surrogates that stand for them.
// Render does not look at HasBody: callers decide whether to send it.
func Render(v pyversion.Version, code int, message, explain string) []byte {
	phrase, long, _ := Status(v, code)
	if message == "" {
		message = phrase
	}
	if explain == "" {
		explain = long
	}
	c := strconv.Itoa(code)
	head := templateHead
	if v.ColorScheme() {
		head = templateHead314
	}
	var b strings.Builder
	b.Grow(len(head) + len(templateMessage) + len(templateExplain) + len(templateTail) +
		2*len(c) + len(message) + len(explain) + 32)
	b.WriteString(head)
	b.WriteString(c)
	b.WriteString(templateMessage)
	writeEscaped(&b, message)
	b.WriteString(templateExplain)
	b.WriteString(c)
	b.WriteString(" - ")
	writeEscaped(&b, explain)
	b.WriteString(templateTail)
	return []byte(b.String())
}

// writeEscaped writes s with html.escape(s, quote=False) semantics (only &, <
// and > are replaced; bug #1100201 added the escaping against XSS) and every
// byte that is not part of valid UTF-8 replaced by '?'.
func writeEscaped(b *strings.Builder, s string) {
	for i := 0; i < len(s); {
		c := s[i]
		switch c {
		case '&':
			b.WriteString("&amp;")
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		default:
			if c < utf8.RuneSelf {
				b.WriteByte(c)
				break
			}
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				b.WriteByte('?')
			} else {
				b.WriteString(s[i : i+size])
			}
			i += size
			continue
		}
		i++
	}
}

// The template is DEFAULT_ERROR_MESSAGE from CPython 3.11–3.13
// Lib/http/server.py, split around %(code)d, %(message)s and %(explain)s.
// 3.14 differs only in its head: templateHead314.
const (
	templateHead = `<!DOCTYPE HTML>
<html lang="en">
    <head>
        <meta charset="utf-8">
        <title>Error response</title>
    </head>
    <body>
        <h1>Error response</h1>
        <p>Error code: `
	templateMessage = `</p>
        <p>Message: `
	templateExplain = `.</p>
        <p>Error code explanation: `
	templateTail = `.</p>
    </body>
</html>
`
	// templateHead314 is 3.14's head: a style block, indented one level
	// deeper per line than <meta> (8, 12, 16, 12 and 8 spaces), between
	// <meta charset> and <title>, so that browsers render the page in the
	// reader's light or dark scheme.
	templateHead314 = `<!DOCTYPE HTML>
<html lang="en">
    <head>
        <meta charset="utf-8">
        <style type="text/css">
            :root {
                color-scheme: light dark;
            }
        </style>
        <title>Error response</title>
    </head>
    <body>
        <h1>Error response</h1>
        <p>Error code: `
	// unknown is what send_error uses for a code missing from responses.
	unknown = "???"
)
