package cgihost

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
)

func TestReadHeader(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		in       string
		nph      bool
		status   int
		location string
		header   http.Header
		body     string
		wantErr  error
	}{
		{name: "minimal", in: "Content-Type: text/plain\n\nhi", header: http.Header{"Content-Type": {"text/plain"}}, body: "hi"},
		{name: "crlf", in: "Content-Type: text/plain\r\n\r\nhi", header: http.Header{"Content-Type": {"text/plain"}}, body: "hi"},
		{name: "status with reason", in: "Status: 404 Not Found\nContent-Type: text/html\n\n", status: 404, header: http.Header{"Content-Type": {"text/html"}}},
		{name: "status bare", in: "status: 404\n\n", status: 404, header: http.Header{}},
		{name: "status 599", in: "Status: 599 odd\n\n", status: 599, header: http.Header{}},
		{name: "absolute location", in: "Location: https://example.com/x\n\n", location: "https://example.com/x", header: http.Header{}},
		{name: "names are case-insensitive", in: "content-TYPE: a/b\nx-foo: 1\nX-FOO: 2\n\n", header: http.Header{"Content-Type": {"a/b"}, "X-Foo": {"1", "2"}}},
		{name: "values trimmed", in: "X-A: \t v \t\n\n", header: http.Header{"X-A": {"v"}}},
		{name: "empty value", in: "X-A:\n\n", header: http.Header{"X-A": {""}}},
		{name: "obs-text allowed", in: "X-A: caf\xe9\n\n", header: http.Header{"X-A": {"caf\xe9"}}},
		{name: "location", in: "Location: /x?y\n\n", location: "/x?y", header: http.Header{}},
		{name: "relative location", in: "Location: form.php\n\n", location: "form.php", header: http.Header{}},
		{name: "query-only location", in: "Location: ?x=1\n\n", location: "?x=1", header: http.Header{}},
		{name: "dot-dot location", in: "Location: ../up\n\n", location: "../up", header: http.Header{}},
		{name: "relative location with status", in: "Status: 303\nLocation: done.php\n\n", status: 303, location: "done.php", header: http.Header{}},
		{name: "framing dropped", in: "Content-Length: 5\nTransfer-Encoding: chunked\nConnection: close, X-Hop\nX-Hop: 1\nKeep-Alive: 1\nProxy-Connection: x\nUpgrade: h2c\nTE: trailers\nTrailer: X\nX-Keep: 1\n\n",
			header: http.Header{"X-Keep": {"1"}}},
		{name: "body untouched", in: "A: b\n\nline1\n\nline2", header: http.Header{"A": {"b"}}, body: "line1\n\nline2"},
		{name: "nph", in: "HTTP/1.1 201 Created\r\nServer: x\r\nContent-Length: 2\r\n\r\nok", nph: true, status: 201, header: http.Header{"Server": {"x"}}, body: "ok"},
		{name: "nph no fields", in: "HTTP/1.0 204 No Content\n\n", nph: true, status: 204, header: http.Header{}},

		{name: "eof before blank line", in: "Content-Type: text/plain\n", wantErr: ErrMalformedHeader},
		{name: "no output", in: "", wantErr: ErrMalformedHeader},
		{name: "no newline", in: "Content-Type: text/plain", wantErr: ErrMalformedHeader},
		{name: "empty block", in: "\nbody", wantErr: ErrMalformedHeader},
		{name: "no colon", in: "hello world\n\n", wantErr: ErrMalformedHeader},
		{name: "space before colon", in: "Status : 200\n\n", wantErr: ErrMalformedHeader},
		{name: "empty name", in: ": v\n\n", wantErr: ErrMalformedHeader},
		{name: "obs-fold", in: "X-A: 1\n  continued\n\n", wantErr: ErrMalformedHeader},
		{name: "bare CR in value", in: "X-A: a\rb\n\n", wantErr: ErrMalformedHeader},
		{name: "NUL in value", in: "X-A: a\x00b\n\n", wantErr: ErrMalformedHeader},
		{name: "DEL in value", in: "X-A: a\x7fb\n\n", wantErr: ErrMalformedHeader},
		{name: "status too low", in: "Status: 101 Switching\n\n", wantErr: ErrMalformedHeader},
		{name: "status past 599", in: "Status: 600 odd\n\n", wantErr: ErrMalformedHeader},
		{name: "scheme-relative location", in: "Location: //evil.example/\n\n", wantErr: ErrMalformedHeader},
		{name: "backslash scheme-relative location", in: "Location: /\\evil.example/\n\n", wantErr: ErrMalformedHeader},
		// Browsers drop tabs from a URL (WHATWG URL parsing), so these are
		// "//evil.example/" to them.
		{name: "tab-split scheme-relative location", in: "Location: /\t/evil.example/\n\n", wantErr: ErrMalformedHeader},
		{name: "tab-split backslash location", in: "Location: \\\t\\evil.example/\n\n", wantErr: ErrMalformedHeader},
		{name: "backslash location", in: "Location: \\\\evil.example/\n\n", wantErr: ErrMalformedHeader},
		{name: "location with CR", in: "Location: /a\rSet-Cookie: x\n\n", wantErr: ErrMalformedHeader},
		{name: "empty location", in: "Location:\n\n", wantErr: ErrMalformedHeader},
		{name: "status not numeric", in: "Status: abc\n\n", wantErr: ErrMalformedHeader},
		{name: "status four digits", in: "Status: 2000\n\n", wantErr: ErrMalformedHeader},
		{name: "status repeated", in: "Status: 200\nStatus: 404\n\n", wantErr: ErrMalformedHeader},
		{name: "location repeated", in: "Location: /a\nLocation: /b\n\n", wantErr: ErrMalformedHeader},
		{name: "nph bad status line", in: "HTTP/2 200 OK\n\n", nph: true, wantErr: ErrMalformedHeader},
		{name: "nph missing status line", in: "\n", nph: true, wantErr: ErrMalformedHeader},
		{name: "nph field first", in: "Content-Type: a/b\n\n", nph: true, wantErr: ErrMalformedHeader},
		{name: "oversized line", in: "X-A: " + strings.Repeat("a", 300) + "\n\n", wantErr: ErrHeaderTooLarge},
		{name: "oversized block", in: strings.Repeat("X-A: aaaaaaaaaa\n", 20) + "\n", wantErr: ErrHeaderTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			br := bufio.NewReaderSize(strings.NewReader(tt.in), 16)
			got, err := ReadHeader(br, 256, tt.nph)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("got error %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("got error %v, want nil", err)
			}
			if got.Status != tt.status {
				t.Errorf("got status %d, want %d", got.Status, tt.status)
			}
			if got.Location != tt.location {
				t.Errorf("got location %q, want %q", got.Location, tt.location)
			}
			if !reflect.DeepEqual(got.Header, tt.header) {
				t.Errorf("got header %q, want %q", got.Header, tt.header)
			}
			rest, _ := io.ReadAll(br)
			if string(rest) != tt.body {
				t.Errorf("got body %q, want %q", rest, tt.body)
			}
		})
	}
}

// The cap counts the whole block including the blank line: a block of
// exactly max bytes parses, one byte more does not.
func TestReadHeaderCapIsExact(t *testing.T) {
	t.Parallel()
	block := "X-A: 123\n\n" // 10 bytes
	for _, tt := range []struct {
		name    string
		max     int
		wantErr error
	}{
		{name: "exact", max: len(block)},
		{name: "one short", max: len(block) - 1, wantErr: ErrHeaderTooLarge},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := ReadHeader(bufio.NewReader(strings.NewReader(block+"body")), tt.max, false)
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("got error %v, want %v", err, tt.wantErr)
			}
		})
	}
}

// FuzzReadHeader checks the properties Serve relies on: ReadHeader never
// panics, never returns a field that could split the response head (CR, LF
// or NUL, or a name that is not a token), never succeeds on a block larger
// than max, and never consumes beyond the block.
func FuzzReadHeader(f *testing.F) {
	f.Add([]byte("Content-Type: text/plain\r\n\r\nbody"), false)
	f.Add([]byte("Status: 404 Not Found\nLocation: /x\n\n"), false)
	f.Add([]byte("HTTP/1.1 200 OK\r\nConnection: X\r\nX: 1\r\n\r\n"), true)
	f.Add([]byte("X-A: 1\n b\n\n"), false)
	f.Add([]byte("A:\x00\n\n"), false)
	f.Add([]byte("Status: 600 Beyond\n\n"), false)
	f.Add([]byte("HTTP/1.1 999 Beyond\r\n\r\n"), true)
	const max = 256
	f.Fuzz(func(t *testing.T, in []byte, nph bool) {
		br := bufio.NewReaderSize(bytes.NewReader(in), 16)
		rh, err := ReadHeader(br, max, nph)
		if err != nil {
			if rh != nil {
				t.Fatalf("got header %v with error %v", rh, err)
			}
			return
		}
		rest, _ := io.ReadAll(br)
		consumed := len(in) - len(rest)
		if consumed > max {
			t.Fatalf("got success after consuming %d bytes, want at most %d", consumed, max)
		}
		if !bytes.HasSuffix(in[:consumed], []byte("\n\n")) && !bytes.HasSuffix(in[:consumed], []byte("\n\r\n")) {
			t.Fatalf("got block %q, want it to end at a blank line", in[:consumed])
		}
		// parseStatus refuses 1xx (interim) and anything past 599, the
		// last status RFC 9110 defines; Serve hands Status to WriteHeader.
		if rh.Status != 0 && (rh.Status < 200 || rh.Status > 599) {
			t.Fatalf("got status %d, want 0 or 200-599", rh.Status)
		}
		if strings.ContainsAny(rh.Location, "\r\n\x00") {
			t.Fatalf("got location %q with CR, LF or NUL", rh.Location)
		}
		for k, vv := range rh.Header {
			if !validFieldName([]byte(k)) {
				t.Fatalf("got field name %q, want a token", k)
			}
			for _, v := range vv {
				if strings.ContainsAny(v, "\r\n\x00") {
					t.Fatalf("got value %q for %q with CR, LF or NUL", v, k)
				}
			}
		}
		for _, k := range append(hopByHop, "Status", "Location") {
			if _, ok := rh.Header[k]; ok {
				t.Fatalf("got dropped field %q in header", k)
			}
		}
	})
}
