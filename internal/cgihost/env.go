package cgihost

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"

	"go.uber.org/zap/zapcore"
)

// Errors reported by [BuildEnv]. The caller answers 400 Bad Request.
var (
	// ErrHeaderCollision reports two distinct request header names that fold
	// to the same HTTP_* variable ("X-Foo" and "X_Foo"); picking one would let
	// a client shadow a header a front proxy vouched for.
	ErrHeaderCollision = errors.New("request headers fold to the same cgi variable")
	// ErrInvalidEnv reports a value that cannot be passed through execve: a
	// NUL byte (from a decoded %00 in PATH_INFO, say) or an Env entry without
	// "=".
	ErrInvalidEnv = errors.New("invalid cgi environment entry")
)

// EnvConfig carries what [BuildEnv] cannot read from the request itself.
type EnvConfig struct {
	// ServerSoftware is SERVER_SOFTWARE; "" means "caddy-pyhttp".
	ServerSoftware string
	// DocumentRoot is DOCUMENT_ROOT (unset when ""); PATH_TRANSLATED is
	// DocumentRoot + PathInfo, set only when PathInfo != "" (RFC 3875
	// section 4.1.6: no PATH_INFO, no PATH_TRANSLATED; CPython sets it anyway).
	DocumentRoot string
	// ScriptName is SCRIPT_NAME, the URL path of the script (always set).
	ScriptName string
	// ScriptFilename is SCRIPT_FILENAME, the script's file (unset when "").
	ScriptFilename string
	// PathInfo is PATH_INFO, already percent-decoded once; unset when "".
	PathInfo string
	// RequestURI is REQUEST_URI, the original request-target; "" means
	// r.RequestURI, or r.URL.RequestURI() when that is empty too.
	RequestURI string
	// RemoteAddr is the client's "host:port"; "" means r.RemoteAddr.
	RemoteAddr string
	// RemoteUser is REMOTE_USER from verified authentication; unset when "".
	// It is never derived from the Authorization header, which the client
	// controls.
	RemoteUser string
	// AuthType is AUTH_TYPE, only set when RemoteUser != "".
	AuthType string
	// PassAuth exports HTTP_AUTHORIZATION, like Apache's CGIPassAuth. The
	// default withholds credentials from scripts (RFC 3875 section 4.1.18
	// allows it, and Apache does the same).
	PassAuth bool
	// PassEnv lists variables copied from the server's own environment when
	// set there. PATH is always copied (default "/usr/local/bin:/usr/bin:/bin").
	PassEnv []string
	// Defaults holds "K=V" entries set only where the request left the
	// variable unset, before PassEnv and Env. CPython always sets PATH_INFO,
	// REMOTE_HOST, CONTENT_LENGTH and a few HTTP_* variables, empty if need
	// be, and scripts written for it index os.environ directly.
	Defaults []string
	// Env holds "K=V" entries applied last: they override everything above,
	// including HTTP_* variables derived from request headers.
	Env []string
}

// BuildEnv builds the RFC 3875 section 4.1 environment for r, sorted by
// name. Nothing from the server's own environment leaks in except PATH and
// c.PassEnv (CPython copies all of it, including a server-side HTTP_PROXY).
//
// It fails with an error wrapping [ErrHeaderCollision] when two distinct
// request header names fold to one variable, and [ErrInvalidEnv] when a value
// holds a NUL byte; the caller answers 400 to both.
func BuildEnv(r *http.Request, c *EnvConfig) ([]string, error) {
	if c == nil {
		c = &EnvConfig{}
	}
	env := make(map[string]string, 32+len(r.Header))

	software := c.ServerSoftware
	if software == "" {
		software = defaultServerSoftware
	}
	env["SERVER_SOFTWARE"] = software
	env["SERVER_NAME"] = serverName(r)
	env["SERVER_PORT"] = serverPort(r)
	env["SERVER_PROTOCOL"] = r.Proto
	env["GATEWAY_INTERFACE"] = "CGI/1.1"
	// As lighttpd does: php-cgi with Debian's default cgi.force_redirect=1
	// refuses to run without it ("Security Alert").
	env["REDIRECT_STATUS"] = "200"
	if addr, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		if host, _, err := net.SplitHostPort(addr.String()); err == nil {
			env["SERVER_ADDR"] = host
		}
	}
	env["REQUEST_METHOD"] = r.Method
	env["SCRIPT_NAME"] = c.ScriptName
	env["QUERY_STRING"] = r.URL.RawQuery
	if c.PathInfo != "" {
		env["PATH_INFO"] = c.PathInfo
		env["PATH_TRANSLATED"] = strings.TrimRight(c.DocumentRoot, "/") + c.PathInfo
	}
	if c.ScriptFilename != "" {
		env["SCRIPT_FILENAME"] = c.ScriptFilename
	}
	if c.DocumentRoot != "" {
		env["DOCUMENT_ROOT"] = c.DocumentRoot
	}
	requestURI := c.RequestURI
	if requestURI == "" {
		requestURI = r.RequestURI
	}
	if requestURI == "" {
		requestURI = r.URL.RequestURI()
	}
	env["REQUEST_URI"] = requestURI

	remote := c.RemoteAddr
	if remote == "" {
		remote = r.RemoteAddr
	}
	if host, port, err := net.SplitHostPort(remote); err == nil {
		env["REMOTE_ADDR"] = host
		env["REMOTE_PORT"] = port
	} else {
		env["REMOTE_ADDR"] = remote
	}
	if r.TLS != nil {
		env["REQUEST_SCHEME"] = "https"
		env["HTTPS"] = "on"
	} else {
		env["REQUEST_SCHEME"] = "http"
	}
	if c.RemoteUser != "" {
		env["REMOTE_USER"] = c.RemoteUser
		if c.AuthType != "" {
			env["AUTH_TYPE"] = c.AuthType
		}
	}

	// RFC 3875 sections 4.1.2 and 4.1.3: set only when the request has them.
	if v, ok := r.Header["Content-Type"]; ok && len(v) > 0 {
		env["CONTENT_TYPE"] = v[0]
	}
	// Not r.Body != http.NoBody: Caddy wraps every request's body (idle
	// timeout and length-counting readers), which would give each bodiless
	// GET a CONTENT_LENGTH of 0. A known length > 0 without the header is a
	// request built in Go (httptest.NewRequest with a body).
	if _, hasCL := r.Header["Content-Length"]; r.ContentLength > 0 ||
		(hasCL && r.ContentLength == 0) {
		env["CONTENT_LENGTH"] = strconv.FormatInt(r.ContentLength, 10)
	}

	if err := addHeaderVars(env, r, c.PassAuth); err != nil {
		return nil, err
	}

	for _, kv := range c.Defaults {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("%w: default entry %q has no name", ErrInvalidEnv, kv)
		}
		if _, set := env[k]; !set {
			env[k] = v
		}
	}
	path := os.Getenv("PATH")
	if path == "" {
		path = defaultPath
	}
	env["PATH"] = path
	for _, name := range c.PassEnv {
		if v, ok := os.LookupEnv(name); ok && name != "" {
			env[name] = v
		}
	}
	for _, kv := range c.Env {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("%w: env entry %q has no name", ErrInvalidEnv, kv)
		}
		env[k] = v
	}

	// The K=V strings are substrings of one string: two allocations for
	// the whole environment instead of one per variable.
	keys := make([]string, 0, len(env))
	size := 0
	for k, v := range env {
		keys = append(keys, k)
		size += len(k) + 1 + len(v)
	}
	slices.Sort(keys)
	var b strings.Builder
	b.Grow(size)
	for _, k := range keys {
		v := env[k]
		if strings.IndexByte(k, 0) >= 0 || strings.IndexByte(v, 0) >= 0 {
			return nil, fmt.Errorf("%w: NUL byte in %s", ErrInvalidEnv, k)
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(v)
	}
	all := b.String()
	for i, k := range keys { // keys becomes the K=V list
		n := len(k) + 1 + len(env[k])
		keys[i], all = all[:n], all[n:]
	}
	return keys, nil
}

// addHeaderVars exports request headers as HTTP_* (RFC 3875 section 4.1.18).
func addHeaderVars(env map[string]string, r *http.Request, passAuth bool) error {
	if r.Host != "" {
		env["HTTP_HOST"] = r.Host
	}
	from := make(map[string]string, len(r.Header))
	for name, values := range r.Header {
		folded := foldHeaderName(name)
		switch folded {
		case "HOST":
			// r.Host is authoritative; Go's server moves Host out of r.Header.
			continue
		case "CONTENT_TYPE", "CONTENT_LENGTH":
			// Exported without the HTTP_ prefix above; a "Content_Type" header
			// must not pose as a second copy.
			continue
		case "PROXY":
			// httpoxy (CVE-2016-5385, Go issue 16405): HTTP_PROXY is read by
			// many HTTP clients as their proxy setting.
			continue
		case "AUTHORIZATION":
			if !passAuth {
				continue
			}
		}
		if prev, dup := from[folded]; dup {
			return fmt.Errorf("%w: %q and %q are both HTTP_%s", ErrHeaderCollision, prev, name, folded)
		}
		from[folded] = name
		sep := ", "
		switch folded {
		case "COOKIE":
			// RFC 6265 section 5.4: cookie-pairs are separated by "; ",
			// and an empty Cookie field adds no pair (CPython skips
			// empty ones too).
			sep = "; "
			values = slices.DeleteFunc(slices.Clone(values), func(v string) bool { return strings.TrimSpace(v) == "" })
		case "ACCEPT":
			// CPython joins repeated Accept fields with a bare ",".
			sep = ","
		}
		env["HTTP_"+folded] = strings.Join(values, sep)
	}
	return nil
}

// foldHeaderName maps a field name to its meta-variable suffix: upper-case,
// with "-" and every other byte outside [A-Za-z0-9] replaced by "_" (RFC 3875
// section 4.1.18), so that "=" or non-ASCII bytes cannot reach the
// environment block.
func foldHeaderName(name string) string {
	b := []byte(name)
	for i, c := range b {
		switch {
		case 'a' <= c && c <= 'z':
			b[i] = c - ('a' - 'A')
		case 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		default:
			b[i] = '_'
		}
	}
	return string(b)
}

// serverName is r.Host without port or IPv6 brackets, falling back to the
// local address for HTTP/1.0 requests without Host (RFC 3875 section 4.1.14).
func serverName(r *http.Request) string {
	host := r.Host
	if host == "" {
		if addr, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
			host = addr.String()
		}
	}
	if h, _, err := net.SplitHostPort(host); err == nil {
		return h
	}
	return strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
}

// serverPort is the port the request arrived on: the listener's (it is what
// the connection actually used), else the Host port, else the scheme default.
func serverPort(r *http.Request) string {
	if addr, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		if ta, ok := addr.(*net.TCPAddr); ok {
			return strconv.Itoa(ta.Port)
		}
		if _, port, err := net.SplitHostPort(addr.String()); err == nil && port != "" {
			return port
		}
	}
	if _, port, err := net.SplitHostPort(r.Host); err == nil && port != "" {
		return port
	}
	if r.TLS != nil {
		return "443"
	}
	return "80"
}

// Argv returns the script's argv[1:] by CPython's ISINDEX rule (run_cgi):
// q is rawQuery with "+" replaced by " " and no percent-decoding; if q holds
// no "=", the single argument q (even when empty: CPython passes one empty
// argument when there is no query), otherwise none. RFC 3875 section 4.4
// would split on "+" and decode; scripts written for http.server expect
// CPython's behaviour.
func Argv(rawQuery string) []string {
	q := strings.ReplaceAll(rawQuery, "+", " ")
	if strings.Contains(q, "=") {
		return nil
	}
	return []string{q}
}

// LoggableEnv logs an environment ("K=V" entries) as a zap object, blanking
// credentials unless LogCredentials is set (the model is Caddy's fastcgi
// loggableEnv).
type LoggableEnv struct {
	// Env is the environment to log.
	Env []string
	// LogCredentials keeps cookies and authorization values in the log.
	LogCredentials bool
}

// MarshalLogObject implements zapcore.ObjectMarshaler.
func (e LoggableEnv) MarshalLogObject(enc zapcore.ObjectEncoder) error {
	for _, kv := range e.Env {
		k, v, _ := strings.Cut(kv, "=")
		if !e.LogCredentials {
			switch strings.ToUpper(k) {
			case "HTTP_COOKIE", "HTTP_SET_COOKIE", "HTTP_AUTHORIZATION", "HTTP_PROXY_AUTHORIZATION":
				v = ""
			}
		}
		enc.AddString(k, v)
	}
	return nil
}

const (
	defaultServerSoftware = "caddy-pyhttp"
	defaultPath           = "/usr/local/bin:/usr/bin:/bin"
)
