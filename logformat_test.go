package pyhttp

import (
	"regexp"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/caddyserver/caddy/v2"
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
