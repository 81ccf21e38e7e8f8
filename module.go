// Package pyhttp puts Python's http.server on Caddy.
//
// It registers one Caddy HTTP handler per handler class of Python's
// http.server module:
//
//   - pyhttp_simple (http.handlers.pyhttp_simple) is SimpleHTTPRequestHandler,
//     the server behind `python -m http.server`: GET and HEAD of a directory
//     tree with Python's path mapping, index files, trailing-slash redirect,
//     directory listing, MIME table and If-Modified-Since rules.
//   - pyhttp_cgi (http.handlers.pyhttp_cgi) is CGIHTTPRequestHandler
//     (`python -m http.server --cgi`): scripts under /cgi-bin and /htbin run
//     as CGI/1.1 programs, everything else is served like pyhttp_simple.
//   - pyhttp_error_page (http.handlers.pyhttp_error_page) is
//     BaseHTTPRequestHandler.send_error: Python's HTML error document, meant
//     for Caddy's handle_errors routes.
//
// The handlers return caddyhttp.Error values that carry Python's messages
// ("File not found", "Unsupported method ('PUT')") instead of writing error
// pages themselves, so handle_errors, the {http.error.*} placeholders and the
// access log work as with every Caddy handler.
//
// The engines that need no Caddy live in internal packages: pypath (Python's
// URL to file-system rules), listing (the directory listing), mimetypes,
// httpdate (If-Modified-Since), errorpage and cgihost (process control).
// This package is only the Caddy face: configuration, Caddyfile parsing,
// ServeHTTP and the `caddy pyhttp-server` command.
package pyhttp

import (
	"fmt"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// Error is the error value this module's handlers return inside a
// caddyhttp.HandlerError. Message is the text Python's send_error would use
// (its reason phrase and the "Message:" line of the error page); Err, if
// set, is the underlying cause, for logs only.
type Error struct {
	Message string
	Err     error
}

// Error returns the Python message, followed by the cause if there is one.
func (e *Error) Error() string {
	if e.Err == nil {
		return e.Message
	}
	return e.Message + ": " + e.Err.Error()
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// pyError returns a caddyhttp.HandlerError for status carrying Python's
// message, so that pyhttp_error_page can render exactly what Python would.
func pyError(status int, message string, cause error) error {
	return caddyhttp.Error(status, &Error{Message: message, Err: cause})
}

// errFileNotFound is send_head's answer to every open failure (missing file,
// broken link, permission denied, ELOOP): Python never says 403 there.
func errFileNotFound(cause error) error {
	return pyError(http.StatusNotFound, "File not found", cause)
}

// errUnsupportedMethod is BaseHTTPRequestHandler's 501 for a method it has
// no do_<METHOD> for. The method is shown as Python's repr() shows it.
func errUnsupportedMethod(method string) error {
	return pyError(http.StatusNotImplemented, fmt.Sprintf("Unsupported method (%s)", pyRepr(method)), nil)
}

// errBadPath answers request paths that make Python's handler raise and drop
// the connection (a NUL byte, '..' above the root in CGI mode): a clean 400
// is better than a reset.
func errBadPath(cause error) error {
	return pyError(http.StatusBadRequest, "Bad request path", cause)
}

// pyRepr formats s the way Python's repr() formats a str: single quotes,
// unless s contains a single quote and no double quote; backslash escapes
// for the quote, backslash and non-printable characters; printable
// non-ASCII characters kept as they are. Python puts repr() of the method
// and of CGI script names into its error messages.
func pyRepr(s string) string {
	quote := byte('\'')
	if strings.Contains(s, "'") && !strings.Contains(s, `"`) {
		quote = '"'
	}
	var b strings.Builder
	b.WriteByte(quote)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			// An undecodable byte is a surrogate escape in Python
			// (surrogateescape), which repr() shows as \udcXX.
			fmt.Fprintf(&b, `\udc%02x`, s[i])
			i++
			continue
		}
		i += size
		switch {
		case r == rune(quote) || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r < 0x7f || unicode.IsPrint(r):
			b.WriteRune(r)
		case r <= 0xff:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r <= 0xffff:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			fmt.Fprintf(&b, `\U%08x`, r)
		}
	}
	b.WriteByte(quote)
	return b.String()
}

// resolveRoot expands placeholders in the configured root and makes it
// absolute; an empty root is the working directory, as with file_server.
func resolveRoot(repl *caddy.Replacer, root string) (string, error) {
	return caddy.FastAbs(repl.ReplaceAll(root, "."))
}

// fileHidden reports whether filename (absolute) matches one of the hide
// patterns, with the semantics of file_server's hide: a pattern without a
// path separator matches any path component by glob, one with a separator
// matches the path by prefix or by glob.
func fileHidden(filename string, hide []string) bool {
	var components []string
	for _, h := range hide {
		if !strings.Contains(h, string(filepath.Separator)) {
			if components == nil {
				components = strings.Split(filename, string(filepath.Separator))
			}
			for _, c := range components {
				if hidden, _ := filepath.Match(h, c); hidden {
					return true
				}
			}
		} else if after, ok := strings.CutPrefix(filename, h); ok && (after == "" || after[0] == filepath.Separator) {
			return true
		}
		if hidden, _ := filepath.Match(h, filename); hidden {
			return true
		}
	}
	return false
}

// absHide makes the hide patterns that name paths absolute, so that they
// compare with the absolute file names ServeHTTP produces.
func absHide(hide []string) ([]string, error) {
	out := make([]string, 0, len(hide))
	for _, h := range hide {
		if strings.Contains(h, string(filepath.Separator)) {
			abs, err := caddy.FastAbs(h)
			if err != nil {
				return nil, fmt.Errorf("making hide pattern %q absolute: %w", h, err)
			}
			h = abs
		}
		if _, err := filepath.Match(h, ""); err != nil {
			return nil, fmt.Errorf("bad hide pattern %q: %w", h, err)
		}
		out = append(out, h)
	}
	return out, nil
}

// itoa is strconv.Itoa, named for brevity in header code.
func itoa(n int64) string { return strconv.FormatInt(n, 10) }
