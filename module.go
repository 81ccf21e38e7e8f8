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
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/pyhttp/caddy-pyhttp/internal/errorpage"
	"github.com/pyhttp/caddy-pyhttp/internal/pystr"
	"github.com/pyhttp/caddy-pyhttp/internal/pyversion"
)

// Error is the error value this module's handlers return inside a
// caddyhttp.HandlerError. Message is the text Python's send_error would use
// (its reason phrase and the "Message:" line of the error page), and all
// that reaches the client, {http.error.message} included. Err, if set, is
// the underlying cause (a Go error, often naming file-system paths): it is
// logged by the handler, with the request's identity, and never shown.
type Error struct {
	Message string
	Err     error

	// level is the level the cause is logged at: debug for what the
	// client caused or what cgihost has logged already, error for a
	// server-side fault nobody else reports.
	level zapcore.Level
	// phrase reports that Message is only the status's reason phrase
	// (send_error without a message), so that pyhttp_error_page can use
	// the phrase of its own python_version instead.
	phrase bool
}

// Error returns the Python message alone.
func (e *Error) Error() string { return e.Message }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// pyError returns a caddyhttp.HandlerError for status carrying Python's
// message, so that pyhttp_error_page can render exactly what Python would;
// the cause is logged at debug level.
func pyError(status int, message string, cause error) error {
	return caddyhttp.Error(status, &Error{Message: message, Err: cause, level: zapcore.DebugLevel})
}

// errStatus is send_error(status) without a message: Python's phrase for
// the status is the message, and the cause is logged at debug level.
func errStatus(status int, cause error) error {
	phrase, _, _ := errorpage.Status(pyversion.Default, status)
	return caddyhttp.Error(status, &Error{Message: phrase, Err: cause, level: zapcore.DebugLevel, phrase: true})
}

// errInternal is a server-side fault (a root that does not resolve, an env
// value that cannot be passed): the client gets Python's 500, the cause is
// logged at error level.
func errInternal(cause error) error {
	phrase, _, _ := errorpage.Status(pyversion.Default, http.StatusInternalServerError)
	return caddyhttp.Error(http.StatusInternalServerError, &Error{Message: phrase, Err: cause, level: zapcore.ErrorLevel, phrase: true})
}

// logCause logs the cause of a handler error with the request's identity
// (method, URI, client IP and Caddy's request id), since the error itself
// carries Python's message alone.
func logCause(logger *zap.Logger, r *http.Request, err error) {
	pe, ok := errors.AsType[*Error](err)
	if !ok || pe.Err == nil || logger == nil {
		return
	}
	ce := logger.Check(pe.level, "request failed")
	if ce == nil {
		return
	}
	status := 0
	if he, ok := errors.AsType[caddyhttp.HandlerError](err); ok {
		status = he.StatusCode
	}
	repl, _ := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer)
	ce.Write(append([]zap.Field{
		zap.Int("status", status),
		zap.String("message", pe.Message),
		zap.Error(pe.Err),
	}, requestFields(r, repl)...)...)
}

// requestFields names a request in a log line: method, URI, Caddy's client
// IP (which honours trusted_proxies) and Caddy's request id, the
// {http.request.uuid} that the access log also shows once it was asked for.
// withWrittenLevels returns log with its levels raised to the lowest one
// the configured logs would write for its name. Caddy's logs filter by
// logger name only in Check, so a single log that takes DEBUG entries of
// other loggers (pyhttp-server's access log does, for Caddy's handled-error
// lines) makes every debug Check pass the level test; each request's lazy
// logger then built its fields for entries that were dropped anyway. The
// logging configuration is fixed for the life of a handler (a reload
// provisions new ones), so probing once is exact.
func withWrittenLevels(log *zap.Logger) *zap.Logger {
	for lvl := zapcore.DebugLevel; lvl < zapcore.ErrorLevel; lvl++ {
		if log.Check(lvl, "probe") != nil {
			// A checked entry that is never written costs nothing.
			if lvl == zapcore.DebugLevel {
				return log
			}
			return log.WithOptions(zap.IncreaseLevel(lvl))
		}
	}
	if !log.Core().Enabled(zapcore.ErrorLevel) {
		return log // above ERROR already: raising would lower it
	}
	return log.WithOptions(zap.IncreaseLevel(zapcore.ErrorLevel))
}

func requestFields(r *http.Request, repl *caddy.Replacer) []zap.Field {
	clientIP, _ := caddyhttp.GetVar(r.Context(), caddyhttp.ClientIPVarKey).(string)
	requestID := ""
	if repl != nil {
		requestID = repl.ReplaceAll("{http.request.uuid}", "")
	}
	return []zap.Field{
		zap.String("method", r.Method),
		zap.String("uri", r.RequestURI),
		zap.String("client_ip", clientIP),
		zap.String("request_id", requestID),
	}
}

// logCredentials reports whether the request's server keeps credentials in
// its logs (log_credentials), read per request as Caddy's fastcgi does: it
// is a per-server setting, and one site's choice must not unmask another's.
func logCredentials(r *http.Request) bool {
	srv, ok := r.Context().Value(caddyhttp.ServerCtxKey).(*caddyhttp.Server)
	return ok && srv != nil && srv.Logs != nil && srv.Logs.ShouldLogCredentials
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
