package pyhttp

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// An access log entry must come out as Python's log_request line, with the
// request fields Caddy attaches through With.
func TestLogEncoderAccessLine(t *testing.T) {
	t.Parallel()
	var enc LogEncoder
	if err := enc.Provision(nilContext()); err != nil {
		t.Fatal(err)
	}
	request := zapcore.ObjectMarshalerFunc(func(oe zapcore.ObjectEncoder) error {
		oe.AddString("remote_ip", "10.0.0.1")
		oe.AddString("client_ip", "192.0.2.7")
		oe.AddString("proto", "HTTP/1.1")
		oe.AddString("method", "GET")
		oe.AddString("uri", "/a b/\x1b[31m?q=1")
		return nil
	})
	withReq := enc.Clone()
	zap.Object("request", request).AddTo(withReq)

	when := time.Date(2026, 11, 24, 21, 57, 5, 0, time.Local)
	buf, err := withReq.EncodeEntry(zapcore.Entry{LoggerName: "http.log.access.pyhttp", Time: when, Message: "handled request"},
		[]zapcore.Field{zap.Int("status", 404), zap.Int("size", 335)})
	if err != nil {
		t.Fatal(err)
	}
	want := `192.0.2.7 - - [24/Nov/2026 21:57:05] "GET /a b/\x1b[31m?q=1 HTTP/1.1" 404 -` + "\n"
	if got := buf.String(); got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}

	// The encoder it was cloned from must not have gained the field.
	buf, err = enc.EncodeEntry(zapcore.Entry{LoggerName: "http", Time: when, Level: zapcore.WarnLevel, Message: "line\nbreak"},
		[]zapcore.Field{zap.String("k", "v")})
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^\[24/Nov/2026 21:57:05\] WARN http: line\\x0abreak k=v\n$`).MatchString(buf.String()) {
		t.Errorf("other entry = %q", buf.String())
	}
}

// nilContext is enough for Provision methods that use no context.
func nilContext() caddy.Context { return caddy.Context{} }

// Handled errors, CGI stderr and CGI exits come out as CPython writes them:
// send_error's line, the raw stderr line, run_cgi's exit code line.
func TestLogEncoderPythonLines(t *testing.T) {
	t.Parallel()
	var enc LogEncoder
	if err := enc.Provision(nilContext()); err != nil {
		t.Fatal(err)
	}
	request := zap.Object("request", zapcore.ObjectMarshalerFunc(func(oe zapcore.ObjectEncoder) error {
		oe.AddString("remote_ip", "10.0.0.1")
		oe.AddString("client_ip", "192.0.2.7")
		return nil
	}))
	when := time.Date(2026, 11, 24, 21, 57, 5, 0, time.Local)
	for _, tc := range []struct {
		name   string
		ent    zapcore.Entry
		fields []zapcore.Field
		want   string
	}{
		{"send_error", zapcore.Entry{LoggerName: "http.log.error.pyhttp", Message: "File not found\x1b"},
			[]zapcore.Field{request, zap.Int("status", 404), zap.String("err_id", "x")},
			"192.0.2.7 - - [24/Nov/2026 21:57:05] code 404, message File not found\\x1b\n"},
		{"stderr is raw", zapcore.Entry{LoggerName: "http.handlers.pyhttp_cgi", Message: "cgi stderr"},
			[]zapcore.Field{zap.String("script", "/s"), zap.Int("pid", 7), zap.String("line", `Traceback: \ "x"`)},
			"Traceback: \\ \"x\"\n"},
		{"exit code", zapcore.Entry{LoggerName: "http.handlers.pyhttp_cgi", Message: "cgi script exited abnormally"},
			[]zapcore.Field{zap.String("client_ip", "::1"), zap.Int("exit_code", 3), zap.Int("status", 200)},
			"::1 - - [24/Nov/2026 21:57:05] CGI script exit code 3\n"},
		{"signal", zapcore.Entry{LoggerName: "http.handlers.pyhttp_cgi", Message: "cgi script exited abnormally"},
			[]zapcore.Field{request, zap.String("signal", "killed")},
			"192.0.2.7 - - [24/Nov/2026 21:57:05] CGI script exit code -9\n"},
		{"no address", zapcore.Entry{LoggerName: "http.handlers.pyhttp_cgi", Message: "cgi script exited abnormally"},
			[]zapcore.Field{zap.Int("exit_code", 1)},
			"- - - [24/Nov/2026 21:57:05] CGI script exit code 1\n"},
	} {
		tc.ent.Time = when
		buf, err := enc.EncodeEntry(tc.ent, tc.fields)
		if err != nil {
			t.Fatal(err)
		}
		if got := buf.String(); got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}

	// A failure before the header gets Python's line and the detail line.
	buf, err := enc.EncodeEntry(zapcore.Entry{LoggerName: "http.handlers.pyhttp_cgi", Time: when, Level: zapcore.ErrorLevel,
		Message: "cgi script failed before its header block"}, []zapcore.Field{zap.Int("exit_code", 2), zap.Int("status", 502)})
	if err != nil {
		t.Fatal(err)
	}
	want := "- - - [24/Nov/2026 21:57:05] CGI script exit code 2\n[24/Nov/2026 21:57:05] ERROR http.handlers.pyhttp_cgi: cgi script failed before its header block exit_code=2 status=502\n"
	if got := buf.String(); got != want {
		t.Errorf("failure before header: got %q, want %q", got, want)
	}
}

// Headers never reach a pyhttp line, nested in the request or as the
// entry's resp_headers, while the other request fields still do.
func TestLogEncoderDropsHeaders(t *testing.T) {
	t.Parallel()
	var enc LogEncoder
	if err := enc.Provision(nilContext()); err != nil {
		t.Fatal(err)
	}
	headers := zapcore.ObjectMarshalerFunc(func(oe zapcore.ObjectEncoder) error {
		oe.AddString("Cookie", "secret-cookie")
		return nil
	})
	request := zapcore.ObjectMarshalerFunc(func(oe zapcore.ObjectEncoder) error {
		oe.AddString("method", "GET")
		oe.AddString("uri", "/x")
		return oe.AddObject("headers", headers)
	})
	withReq := enc.Clone()
	zap.Object("request", request).AddTo(withReq)
	buf, err := withReq.EncodeEntry(zapcore.Entry{LoggerName: "http.handlers.pyhttp_cgi", Message: "m"},
		[]zapcore.Field{zap.Object("resp_headers", headers), zap.String("k", "v")})
	if err != nil {
		t.Fatal(err)
	}
	got := buf.String()
	if strings.Contains(got, "secret-cookie") || strings.Contains(got, "headers") {
		t.Errorf("got %q, want no headers", got)
	}
	if !strings.Contains(got, "method:GET") || !strings.Contains(got, "uri:/x") || !strings.Contains(got, "k=v") {
		t.Errorf("got %q, want the request's method and uri and k=v", got)
	}
}

// BenchmarkLogEncoderAccess is what the pyhttp format costs per request:
// Caddy's two With(request) calls (error and access loggers) and the access
// entry with its response headers.
func BenchmarkLogEncoderAccess(b *testing.B) {
	var enc LogEncoder
	if err := enc.Provision(nilContext()); err != nil {
		b.Fatal(err)
	}
	r := httptest.NewRequest("GET", "/cgi-bin/hello?x=1", nil)
	r.Header.Set("User-Agent", "curl/7.88.1")
	r.Header.Set("Accept", "*/*")
	r.Header.Set("Accept-Encoding", "gzip")
	r.RemoteAddr = "127.0.0.1:5555"
	req := zap.Object("request", caddyhttp.LoggableHTTPRequest{Request: r})
	resp := http.Header{"Content-Type": {"text/plain"}, "Server": {"Caddy"}, "Date": {"Wed, 02 Dec 2026 02:25:18 GMT"}}
	ent := zapcore.Entry{LoggerName: "http.log.access.log0", Time: time.Now(), Message: "handled request"}
	b.ReportAllocs()
	for b.Loop() {
		errLog := enc.Clone()
		req.AddTo(errLog)
		accLog := enc.Clone()
		req.AddTo(accLog)
		buf, err := accLog.EncodeEntry(ent, []zapcore.Field{zap.Int("status", 200), zap.Int("size", 5),
			zap.Object("resp_headers", caddyhttp.LoggableHTTPHeader{Header: resp})})
		if err != nil {
			b.Fatal(err)
		}
		buf.Free()
	}
}
