package cgihost

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/textproto"
	"strings"
)

// Errors reported by [ReadHeader]. Serve turns both into 502 Bad Gateway.
var (
	// ErrMalformedHeader reports a CGI header block that violates RFC 3875
	// section 6: a line without a colon, an invalid field name, a control
	// character in a value, an obs-fold continuation, a bad Status, or output
	// that ended before the blank line.
	ErrMalformedHeader = errors.New("malformed cgi header block")
	// ErrHeaderTooLarge reports a header block longer than the caller's cap.
	ErrHeaderTooLarge = errors.New("cgi header block too large")
)

// ResponseHeader is a parsed CGI header block.
type ResponseHeader struct {
	// Status is the code from the Status field (or from the NPH status line);
	// 0 if the script sent none.
	Status int
	// Header holds the other fields with canonical names. Status, Location,
	// framing (Content-Length, Transfer-Encoding) and hop-by-hop fields are
	// removed: the server owns the connection, and sends a Content-Length
	// only as ContentLength allows.
	Header http.Header
	// Location is the Location field, "" if absent.
	Location string
	// ContentLength is the script's Content-Length when it sent exactly one,
	// a plain decimal number, and no Transfer-Encoding; otherwise -1.
	ContentLength int64
	// BadContentLength holds the Content-Length values that were refused
	// (nil if none was sent or it was valid), for the log.
	BadContentLength []string
}

// ReadHeader parses a CGI header block (RFC 3875 section 6) from r, reading
// at most max bytes including the terminating blank line, and leaves r
// positioned at the first byte of the body. If nph is set, the block starts
// with an HTTP status line ("HTTP/1.1 200 OK") as sent by non-parsed-header
// scripts (RFC 3875 section 5).
//
// Parsing is strict where leniency would let a script smuggle data into the
// response head: header fields must be RFC 9110 tokens, values may not hold
// control characters other than HTAB, and obs-fold continuation lines are
// rejected (RFC 9112 section 5.2 allows a server to reject them).
func ReadHeader(r *bufio.Reader, max int, nph bool) (*ResponseHeader, error) {
	rh := &ResponseHeader{Header: make(http.Header), ContentLength: -1}
	var (
		total       int
		sawStatus   bool
		sawLocation bool
		fields      int
		first       = true
		line        []byte
	)
	for {
		var err error
		line, err = readLine(r, line[:0], max-total)
		total += len(line)
		if err != nil {
			return nil, err
		}
		// Strip the line terminator: LF with an optional CR (RFC 3875
		// section 6 says NL, and scripts commonly send CRLF).
		line = bytes.TrimSuffix(line[:len(line)-1], []byte{'\r'})
		if len(line) == 0 {
			break
		}
		if first && nph {
			first = false
			code, ok := parseStatusLine(line)
			if !ok {
				return nil, fmt.Errorf("%w: bad nph status line %q", ErrMalformedHeader, truncate(line))
			}
			rh.Status, sawStatus = code, true
			continue
		}
		first = false
		if line[0] == ' ' || line[0] == '\t' {
			return nil, fmt.Errorf("%w: obsolete line folding", ErrMalformedHeader)
		}
		name, value, ok := bytes.Cut(line, []byte{':'})
		if !ok {
			return nil, fmt.Errorf("%w: line without colon %q", ErrMalformedHeader, truncate(line))
		}
		if !validFieldName(name) {
			return nil, fmt.Errorf("%w: invalid field name %q", ErrMalformedHeader, truncate(name))
		}
		value = bytes.Trim(value, " \t")
		if !validFieldValue(value) {
			return nil, fmt.Errorf("%w: control character in field %q", ErrMalformedHeader, truncate(name))
		}
		fields++
		key := textproto.CanonicalMIMEHeaderKey(string(name))
		switch key {
		case "Status":
			code, ok := parseStatus(value)
			if !ok || sawStatus {
				return nil, fmt.Errorf("%w: bad or repeated status %q", ErrMalformedHeader, truncate(value))
			}
			rh.Status, sawStatus = code, true
		case "Location":
			if sawLocation {
				return nil, fmt.Errorf("%w: repeated location", ErrMalformedHeader)
			}
			if !validLocation(value) {
				return nil, fmt.Errorf("%w: location %q is empty or scheme-relative", ErrMalformedHeader, truncate(value))
			}
			rh.Location, sawLocation = string(value), true
		default:
			rh.Header[key] = append(rh.Header[key], string(value))
		}
	}
	if nph && first {
		return nil, fmt.Errorf("%w: missing nph status line", ErrMalformedHeader)
	}
	// RFC 3875 section 6.2: every response has at least one CGI field.
	if fields == 0 && !nph {
		return nil, fmt.Errorf("%w: empty header block", ErrMalformedHeader)
	}
	rh.takeContentLength()
	removeHopByHop(rh.Header)
	return rh, nil
}

// takeContentLength moves a Content-Length out of Header into ContentLength,
// as Apache and lighttpd honour a script's and CPython passes it on. Only one
// plain decimal value is taken: a list, repeated fields (even with equal
// values), a sign, spaces inside or a value beyond int64 are refused, and so
// is a Content-Length next to a Transfer-Encoding (RFC 9112 section 6.3:
// the two together are a smuggling attempt).
func (rh *ResponseHeader) takeContentLength() {
	vv, ok := rh.Header["Content-Length"]
	if !ok {
		return
	}
	delete(rh.Header, "Content-Length")
	_, te := rh.Header["Transfer-Encoding"]
	if len(vv) == 1 && !te {
		if n, ok := parseContentLength(vv[0]); ok {
			rh.ContentLength = n
			return
		}
	}
	rh.BadContentLength = vv
}

// parseContentLength accepts 1*DIGIT (RFC 9110 section 8.6) that fits an
// int64.
func parseContentLength(v string) (int64, bool) {
	if v == "" || len(v) > 18 {
		return 0, false // 18 digits always fit an int64
	}
	var n int64
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// readLine appends one LF-terminated line from r to buf, failing with
// ErrHeaderTooLarge as soon as it exceeds room bytes so that a script cannot
// make the server buffer an endless line.
func readLine(r *bufio.Reader, buf []byte, room int) ([]byte, error) {
	for {
		chunk, err := r.ReadSlice('\n')
		buf = append(buf, chunk...)
		if len(buf) > room {
			return buf, ErrHeaderTooLarge
		}
		switch {
		case err == nil:
			return buf, nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF):
			return buf, fmt.Errorf("%w: output ended before the blank line", ErrMalformedHeader)
		default:
			return buf, fmt.Errorf("reading cgi header: %w", err)
		}
	}
}

// validLocation reports whether v may be sent on as Location: a local path
// ("/" ...), an absolute URI (scheme ":" ...) or, as Apache and lighttpd
// pass it, a relative reference ("form.php", "?x=1", "../up"), which the
// client resolves against the request URL. Scheme-relative forms ("//host",
// and "/\\host" or "\\host", which browsers read the same way) are refused:
// a script could otherwise turn a local path into a redirect to another
// site. Control characters were refused by validFieldValue already, but a
// tab is a legal field byte that browsers drop from URLs, so "/\t/host" is
// checked without its tabs.
func validLocation(v []byte) bool {
	if len(v) == 0 {
		return false
	}
	if bytes.IndexByte(v, '\t') >= 0 {
		v = bytes.ReplaceAll(v, []byte{'\t'}, nil)
		if len(v) == 0 {
			return false
		}
	}
	if v[0] == '\\' {
		return false
	}
	if v[0] == '/' && len(v) > 1 && (v[1] == '/' || v[1] == '\\') {
		return false
	}
	return true
}

// parseStatus accepts "404" or "404 Reason" (RFC 3875 section 6.3.3:
// Status = "Status:" status-code SP reason-phrase). Codes outside 200-599
// are refused.
func parseStatus(v []byte) (int, bool) {
	if len(v) < 3 || (len(v) > 3 && v[3] != ' ' && v[3] != '\t') {
		return 0, false
	}
	code := 0
	for _, c := range v[:3] {
		if c < '0' || c > '9' {
			return 0, false
		}
		code = code*10 + int(c-'0')
	}
	if code < 200 || code > 599 {
		// RFC 9110 section 15: status codes are 100-599; an interim 1xx
		// cannot end a CGI response.
		return 0, false
	}
	return code, true
}

// parseStatusLine parses an NPH status line, "HTTP/1.x NNN reason".
func parseStatusLine(line []byte) (int, bool) {
	rest, ok := bytes.CutPrefix(line, []byte("HTTP/1."))
	if !ok || len(rest) < 2 || rest[0] < '0' || rest[0] > '9' || rest[1] != ' ' {
		return 0, false
	}
	if !validFieldValue(rest) {
		return 0, false
	}
	return parseStatus(rest[2:])
}

// validFieldName reports whether b is an RFC 9110 token (section 5.1).
func validFieldName(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if !isTokenChar(c) {
			return false
		}
	}
	return true
}

func isTokenChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// validFieldValue rejects control characters other than HTAB (RFC 9110
// section 5.5: field-vchar excludes CTLs; CR, LF and NUL would split or
// truncate the response head).
func validFieldValue(b []byte) bool {
	for _, c := range b {
		if (c < ' ' && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

// removeHopByHop drops the framing and connection-specific fields, plus any
// named by Connection (RFC 9110 section 7.6.1): the server owns the
// connection and the framing of the response.
func removeHopByHop(h http.Header) {
	for _, v := range h["Connection"] {
		for f := range strings.SplitSeq(v, ",") {
			if f = textproto.TrimString(f); f != "" {
				h.Del(f)
			}
		}
	}
	for _, k := range hopByHop {
		delete(h, k)
	}
}

// truncate keeps error messages bounded when they quote script output.
func truncate(b []byte) []byte {
	if len(b) > 64 {
		return b[:64]
	}
	return b
}

// hopByHop lists the fields a script may not set (RFC 9110 section 7.6.1 and
// RFC 9112 section 6), in canonical form.
var hopByHop = []string{
	"Connection",
	"Content-Length",
	"Keep-Alive",
	"Proxy-Connection",
	"Te",
	"Trailer",
	"Transfer-Encoding",
	"Upgrade",
}
