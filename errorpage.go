package pyhttp

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"go.uber.org/zap"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/pyhttp/caddy-pyhttp/internal/errorpage"
	"github.com/pyhttp/caddy-pyhttp/internal/pyversion"
)

func init() {
	caddy.RegisterModule(ErrorPage{})
}

// ErrorPage writes Python's error document, as
// BaseHTTPRequestHandler.send_error does, for the error being handled. It is
// meant for Caddy's error routes:
//
//	handle_errors {
//		pyhttp_error_page
//	}
//
// The status is the error's status code. The message is the one the pyhttp
// handlers attached (`File not found`, `Unsupported method ('PUT')`, `No
// such CGI script ('/cgi-bin/x')`), or Python's standard phrase for the
// status when the error came from another handler; the explanation is
// Python's description of the status (http.HTTPStatus). The document is
// Python 3.11's (or python_version's), byte for byte, sent as
// `text/html;charset=utf-8` with Content-Length. HEAD gets the headers without the body, and 1xx, 204, 205
// and 304 get neither body nor Content-Type, as with Python.
//
// Outside an error route (no error in the request) it renders a 500.
type ErrorPage struct {
	// Replaces the status code. Placeholders are accepted; the result must
	// be a number from 200 to 999. Default: the error's status code.
	StatusCode caddyhttp.WeakString `json:"status_code,omitempty"`

	// Replaces the message (the page's "Message:" line). Placeholders are
	// accepted. Default: the error's Python message or the status phrase.
	Message string `json:"message,omitempty"`

	// Replaces the explanation (the page's "Error code explanation:" line).
	// Placeholders are accepted. Default: Python's description of the status.
	Explain string `json:"explain,omitempty"`

	// The Python release whose page to reproduce byte for byte: `3.11`,
	// `3.12`, `3.13` or `3.14`. 3.13 and 3.14 use RFC 9110's phrases as
	// the default message of 413, 414, 416 and 422 (`URI Too Long`), and
	// 3.14 adds a colour-scheme style block. Default: unset, which is the
	// 3.11 and 3.12 page. Any other value fails at load.
	PythonVersion string `json:"python_version,omitempty"`

	version pyversion.Version
	logger  *zap.Logger
}

// CaddyModule returns the Caddy module information.
func (ErrorPage) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.pyhttp_error_page",
		New: func() caddy.Module { return new(ErrorPage) },
	}
}

// Provision sets up the logger and reads the Python version.
func (e *ErrorPage) Provision(ctx caddy.Context) error {
	e.logger = ctx.Logger()
	var err error
	if e.version, err = pyversion.Parse(e.PythonVersion); err != nil {
		return fmt.Errorf("python_version: %w", err)
	}
	return nil
}

// Validate rejects a literal status code that cannot be sent.
func (e *ErrorPage) Validate() error {
	if s := string(e.StatusCode); s != "" && !strings.Contains(s, "{") {
		if _, err := parseStatus(s); err != nil {
			return err
		}
	}
	return nil
}

// ServeHTTP implements caddyhttp.MiddlewareHandler. It always writes the
// page and never calls next.
func (e *ErrorPage) ServeHTTP(w http.ResponseWriter, r *http.Request, _ caddyhttp.Handler) error {
	repl := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer)

	code, message := http.StatusInternalServerError, ""
	if err, ok := r.Context().Value(caddyhttp.ErrorCtxKey).(error); ok {
		if he, ok := errors.AsType[caddyhttp.HandlerError](err); ok && he.StatusCode != 0 {
			code = he.StatusCode
		}
		if pe, ok := errors.AsType[*Error](err); ok && !pe.phrase {
			message = pe.Message
		}
	}
	if e.StatusCode != "" {
		c, err := parseStatus(repl.ReplaceAll(string(e.StatusCode), ""))
		if err != nil {
			err = errInternal(err)
			logCause(e.logger, r, err)
			return err
		}
		code = c
	}
	if e.Message != "" {
		message = repl.ReplaceAll(e.Message, "")
	}
	explain := repl.ReplaceAll(e.Explain, "")

	h := w.Header()
	if !errorpage.HasBody(code) {
		w.WriteHeader(code)
		return nil
	}
	body := errorpage.Render(e.version, code, message, explain)
	h.Set("Content-Type", errorpage.ContentType)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	// Headers set by the failed handler (an index's Content-Type, a
	// Last-Modified) describe content that is not being sent.
	h.Del("Last-Modified")
	h.Del("Accept-Ranges")
	w.WriteHeader(code)
	if r.Method == http.MethodHead {
		return nil
	}
	_, err := w.Write(body)
	return err
}

// parseStatus parses a final status code: WriteHeader panics outside
// 100–999, and a 1xx would go out as an interim response followed by a
// 200, not as the page.
func parseStatus(s string) (int, error) {
	code, err := strconv.Atoi(s)
	if err != nil || code < 200 || code > 999 {
		return 0, errors.New("status code must be a number from 200 to 999: " + strconv.Quote(s))
	}
	return code, nil
}

// Interface guards
var (
	_ caddy.Provisioner           = (*ErrorPage)(nil)
	_ caddy.Validator             = (*ErrorPage)(nil)
	_ caddyhttp.MiddlewareHandler = (*ErrorPage)(nil)
)
