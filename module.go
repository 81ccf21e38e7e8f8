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
// The engines that need no Caddy live in internal packages: pystr (Python's
// string rules: str.lower, quote, unquote, html.escape, repr), pypath
// (Python's URL to file-system rules), listing (the directory listing),
// mimetypes, httpdate (If-Modified-Since), byterange, errorpage and cgihost
// (process control).
// This package is only the Caddy face: configuration, Caddyfile parsing,
// ServeHTTP and the `caddy pyhttp-server` command.
package pyhttp

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/pyhttp/caddy-pyhttp/internal/pystr"
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
	return pyError(http.StatusNotImplemented, fmt.Sprintf("Unsupported method (%s)", pystr.Repr(method)), nil)
}

// errBadPath answers request paths that make Python's handler raise and drop
// the connection (a NUL byte, '..' above the root in CGI mode): a clean 400
// is better than a reset.
func errBadPath(cause error) error {
	return pyError(http.StatusBadRequest, "Bad request path", cause)
}

// resolveRoot expands placeholders in the configured root and makes it
// absolute; an empty root is the working directory, as with file_server.
func resolveRoot(repl *caddy.Replacer, root string) (string, error) {
	return caddy.FastAbs(repl.ReplaceAll(root, "."))
}

// itoa is strconv.Itoa, named for brevity in header code.
func itoa(n int64) string { return strconv.FormatInt(n, 10) }
