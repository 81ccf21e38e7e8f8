package pyhttp

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"syscall"

	"go.uber.org/zap/buffer"
	"go.uber.org/zap/zapcore"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	"github.com/pyhttp/caddy-pyhttp/internal/pystr"
)

func init() {
	caddy.RegisterModule(LogEncoder{})
}

// LogEncoder writes access log entries in the format of Python's
// BaseHTTPRequestHandler.log_request, one line per request:
//
//	127.0.0.1 - - [24/Nov/2026 21:57:05] "GET /index.html HTTP/1.1" 200 -
//
// The client address is Caddy's client IP (trusted proxies honoured), the
// time is local time, and control characters in the request line are
// written as \xNN as Python 3.11 does. Three other kinds of entries are
// written as Python writes them too:
//
//   - a handled error (logger http.log.error...) as send_error's line,
//     `127.0.0.1 - - [24/Nov/2026 21:57:05] code 404, message File not found`;
//   - a CGI script's stderr line ("cgi stderr") as the raw line, since
//     Python's scripts inherit its stderr;
//   - a CGI script's non-zero exit as run_cgi's line on POSIX,
//     `... CGI script exit code 1` (a signal's death is -N, as
//     os.waitstatus_to_exitcode gives it).
//
// Other entries are written as `[time] LEVEL logger: message` followed by
// their fields as key=value pairs. Request and response headers (the
// request's "headers" and an entry's "resp_headers") are left out of every
// line: no Python line shows them, and building them cost about as much as
// the rest of the log line (use `format json` to log them). `caddy
// pyhttp-server` uses it; in a Caddyfile it is `log { format pyhttp }`.
type LogEncoder struct {
	// The fields added with zap's With (Caddy adds the request that way).
	*zapcore.MapObjectEncoder `json:"-"`
}

// CaddyModule returns the Caddy module information.
func (LogEncoder) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "caddy.logging.encoders.pyhttp",
		New: func() caddy.Module { return new(LogEncoder) },
	}
}

// Provision sets up the encoder.
func (e *LogEncoder) Provision(_ caddy.Context) error {
	e.MapObjectEncoder = zapcore.NewMapObjectEncoder()
	return nil
}

// UnmarshalCaddyfile sets up the encoder from Caddyfile tokens. Syntax:
//
//	pyhttp
//
// It takes no options.
func (e *LogEncoder) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // consume encoder name
	if d.NextArg() {
		return d.ArgErr()
	}
	if d.NextBlock(d.Nesting()) {
		return d.Errf("unknown subdirective '%s'", d.Val())
	}
	return nil
}

// Clone implements zapcore.Encoder.
func (e LogEncoder) Clone() zapcore.Encoder {
	return LogEncoder{MapObjectEncoder: e.clone()}
}

// clone copies the fields collected so far.
func (e LogEncoder) clone() *zapcore.MapObjectEncoder {
	m := zapcore.NewMapObjectEncoder()
	if e.MapObjectEncoder != nil {
		maps.Copy(m.Fields, e.Fields)
	}
	return m
}

// AddObject implements zapcore.ObjectEncoder: as MapObjectEncoder's, less
// the headers (see LogEncoder). Caddy adds the request to its loggers with
// With for every request, so this runs twice per request even when
// nothing is logged but the access line.
func (e LogEncoder) AddObject(key string, m zapcore.ObjectMarshaler) error {
	return withoutHeaders(e).AddObject(key, m)
}

// withoutHeaders is a MapObjectEncoder that drops header objects at any
// depth.
type withoutHeaders struct{ *zapcore.MapObjectEncoder }

func (w withoutHeaders) AddObject(key string, m zapcore.ObjectMarshaler) error {
	if key == "headers" || key == "resp_headers" {
		return nil
	}
	sub := zapcore.NewMapObjectEncoder()
	err := m.MarshalLogObject(withoutHeaders{sub})
	w.Fields[key] = sub.Fields
	return err
}

// EncodeEntry implements zapcore.Encoder.
func (e LogEncoder) EncodeEntry(ent zapcore.Entry, fields []zapcore.Field) (*buffer.Buffer, error) {
	if strings.HasPrefix(ent.LoggerName, "http.log.access") {
		// The common case, without copying the fields: the request from
		// With and the status among the entry's fields.
		req, ok := e.Fields["request"].(map[string]any)
		if ok {
			for _, f := range fields {
				if f.Key == "status" && f.Type == zapcore.Int64Type {
					buf := bufferPool.Get()
					writeAccess(buf, ent, req, f.Integer)
					return buf, nil
				}
			}
		}
	}
	m := e.clone()
	for _, f := range fields {
		f.AddTo(withoutHeaders{m})
	}
	buf := bufferPool.Get()
	req, isAccess := m.Fields["request"].(map[string]any)
	if status, ok := m.Fields["status"].(int64); ok && isAccess && strings.HasPrefix(ent.LoggerName, "http.log.access") {
		writeAccess(buf, ent, req, status)
		return buf, nil
	}
	switch {
	case strings.HasPrefix(ent.LoggerName, "http.log.error") && m.Fields["status"] != nil:
		fmt.Fprintf(buf, "%s - - [%s] code %v, message %s\n",
			clientOf(m.Fields), ent.Time.Local().Format(pyLogTime), m.Fields["status"], pystr.LogEscape(ent.Message))
		return buf, nil
	case ent.Message == "cgi stderr":
		if line, ok := m.Fields["line"].(string); ok {
			buf.AppendString(line)
			buf.AppendByte('\n')
			return buf, nil
		}
	case ent.Message == "cgi script exited abnormally" || ent.Message == "cgi script failed before its header block":
		if code, ok := exitCode(m.Fields); ok && code != 0 {
			fmt.Fprintf(buf, "%s - - [%s] CGI script exit code %d\n",
				clientOf(m.Fields), ent.Time.Local().Format(pyLogTime), code)
			if ent.Message == "cgi script exited abnormally" {
				return buf, nil
			}
			// Why the script failed (timeout, shutdown, no header) is
			// not in Python's line: the detail line follows.
		}
	}
	fmt.Fprintf(buf, "[%s] %s %s: %s", ent.Time.Local().Format(pyLogTime), ent.Level.CapitalString(), ent.LoggerName, pystr.LogEscape(ent.Message))
	for _, k := range slices.Sorted(maps.Keys(m.Fields)) {
		fmt.Fprintf(buf, " %s=%s", k, pystr.LogEscape(fmt.Sprint(m.Fields[k])))
	}
	buf.AppendByte('\n')
	return buf, nil
}

// writeAccess writes Python's log_request line.
func writeAccess(buf *buffer.Buffer, ent zapcore.Entry, req map[string]any, status int64) {
	client := str(req["client_ip"])
	if client == "" {
		client = str(req["remote_ip"])
	}
	buf.AppendString(client)
	buf.AppendString(" - - [")
	buf.AppendTime(ent.Time.Local(), pyLogTime)
	buf.AppendString(`] "`)
	buf.AppendString(pystr.LogEscape(str(req["method"])))
	buf.AppendByte(' ')
	buf.AppendString(pystr.LogEscape(str(req["uri"])))
	buf.AppendByte(' ')
	buf.AppendString(pystr.LogEscape(str(req["proto"])))
	buf.AppendString(`" `)
	buf.AppendInt(status)
	buf.AppendString(" -\n")
}

// clientOf returns the client address of an entry: the request's client
// IP if the entry carries the request, else a client_ip or remote_ip field,
// else "-".
func clientOf(fields map[string]any) string {
	if req, ok := fields["request"].(map[string]any); ok {
		if c := str(req["client_ip"]); c != "" {
			return c
		}
		if c := str(req["remote_ip"]); c != "" {
			return c
		}
	}
	for _, k := range []string{"client_ip", "remote_ip"} {
		if c := str(fields[k]); c != "" {
			return c
		}
	}
	return "-"
}

// exitCode is os.waitstatus_to_exitcode of a CGI exit entry: its exit_code
// field, or minus the number of the signal named by its signal field.
func exitCode(fields map[string]any) (int, bool) {
	switch v := fields["exit_code"].(type) {
	case int64:
		return int(v), true
	case int:
		return v, true
	}
	if name := str(fields["signal"]); name != "" {
		for n := syscall.Signal(1); n < 65; n++ {
			if n.String() == name {
				return -int(n), true
			}
		}
	}
	return 0, false
}

// str returns v as a string if it is one.
func str(v any) string {
	s, _ := v.(string)
	return s
}

// pyLogTime is log_date_time_string's layout: "24/Nov/2026 21:57:05".
const pyLogTime = "02/Jan/2006 15:04:05"

var bufferPool = buffer.NewPool()

// Interface guards
var (
	_ zapcore.Encoder       = (*LogEncoder)(nil)
	_ caddy.Provisioner     = (*LogEncoder)(nil)
	_ caddyfile.Unmarshaler = (*LogEncoder)(nil)
)
