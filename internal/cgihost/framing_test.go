//go:build linux

package cgihost

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// framed is the Script of mode "framed": header lines joined by "|", body,
// then more, repeat times.
func framed(exe, header, body string, more ...string) scriptFor {
	return func(r *http.Request, env []string) *Script {
		env = append(env, scriptModeEnv+"=framed", noRaceExitSleep,
			"CGIHOST_TEST_HEADER="+header, "CGIHOST_TEST_BODY="+body)
		if len(more) == 2 {
			env = append(env, "CGIHOST_TEST_MORE="+more[0], "CGIHOST_TEST_REPEAT="+more[1])
		}
		return &Script{Path: exe, Env: env}
	}
}

// The script's Content-Length is sent on when it is one plain decimal
// value, and bounds the body; anything else is dropped (the body is then
// chunked) and logged.
func TestServeContentLength(t *testing.T) {
	exe := testExe(t)
	tests := []struct {
		name     string
		method   string
		header   string
		body     string
		status   int
		wantCL   int64  // resp.ContentLength; -1: the script's was dropped
		wantBody string // what the client reads
		short    bool   // the client sees the body cut short
		wantLog  string // a log message that must appear
	}{
		{name: "valid", header: "Content-Type: text/plain|Content-Length: 5", body: "hello",
			status: 200, wantCL: 5, wantBody: "hello"},
		{name: "zero", header: "Content-Type: text/plain|Content-Length: 0",
			status: 200, wantCL: 0},
		{name: "leading zeros", header: "Content-Length: 005", body: "hello",
			status: 200, wantCL: 5, wantBody: "hello"},
		{name: "not a number", header: "Content-Length: five", body: "hello",
			status: 200, wantCL: -1, wantBody: "hello", wantLog: "invalid Content-Length"},
		{name: "negative", header: "Content-Length: -5", body: "hello",
			status: 200, wantCL: -1, wantBody: "hello", wantLog: "invalid Content-Length"},
		{name: "plus sign", header: "Content-Length: +5", body: "hello",
			status: 200, wantCL: -1, wantBody: "hello", wantLog: "invalid Content-Length"},
		{name: "list", header: "Content-Length: 5, 5", body: "hello",
			status: 200, wantCL: -1, wantBody: "hello", wantLog: "invalid Content-Length"},
		{name: "too big", header: "Content-Length: 99999999999999999999", body: "hello",
			status: 200, wantCL: -1, wantBody: "hello", wantLog: "invalid Content-Length"},
		{name: "duplicate", header: "Content-Length: 3|Content-Length: 3", body: "hello",
			status: 200, wantCL: -1, wantBody: "hello", wantLog: "invalid Content-Length"},
		{name: "with transfer-encoding", header: "Transfer-Encoding: chunked|Content-Length: 3", body: "hello",
			status: 200, wantCL: -1, wantBody: "hello", wantLog: "invalid Content-Length"},
		{name: "over-long", header: "Content-Length: 5", body: "hello, and more that must not be sent",
			status: 200, wantCL: 5, wantBody: "hello", wantLog: "exceeds its Content-Length"},
		{name: "short", header: "Content-Length: 50", body: "hello",
			status: 200, wantCL: 50, wantBody: "hello", short: true, wantLog: "ended before its Content-Length"},
		{name: "head", method: "HEAD", header: "Content-Length: 5", body: "hello",
			status: 200, wantCL: 5},
		{name: "304", header: "Status: 304 Not Modified|Content-Length: 5", body: "hello",
			status: 304, wantCL: 0},
		{name: "204", header: "Status: 204 No Content|Content-Length: 5",
			status: 204, wantCL: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := newTestServer(t, &Host{}, framed(exe, tt.header, tt.body))
			method := tt.method
			if method == "" {
				method = "GET"
			}
			client := ts.Client()
			resp, err := client.Do(mustRequest(t, method, ts.URL+"/", nil))
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if tt.short != (err != nil) {
				t.Errorf("got read error %v, want one: %v", err, tt.short)
			}
			if resp.StatusCode != tt.status {
				t.Errorf("got status %d, want %d", resp.StatusCode, tt.status)
			}
			// Without the script's, net/http chunks the body, or frames it
			// with its true length when the handler ended before any flush.
			dropped := tt.wantCL < 0 && (resp.ContentLength == -1 || resp.ContentLength == int64(len(tt.body)))
			if resp.ContentLength != tt.wantCL && !dropped {
				t.Errorf("got Content-Length %d, want %d", resp.ContentLength, tt.wantCL)
			}
			if tt.status != 200 && resp.Header.Get("Content-Length") != "" {
				t.Errorf("got Content-Length %q on a %d, want none", resp.Header.Get("Content-Length"), tt.status)
			}
			if string(got) != tt.wantBody {
				t.Errorf("got body %q, want %q", got, tt.wantBody)
			}
			if tt.wantLog != "" {
				waitFor(t, func() bool { return ts.logs.FilterMessageSnippet(tt.wantLog).Len() > 0 }, "log "+tt.wantLog)
			}
			if tt.short {
				return
			}
			// The connection stays in sync: a second request on it gets
			// its own response (over-long output was not sent after the
			// first).
			resp2, err := client.Do(mustRequest(t, "GET", ts.URL+"/", nil))
			if err != nil {
				t.Fatal(err)
			}
			got2, err := io.ReadAll(resp2.Body)
			resp2.Body.Close()
			want2 := tt.wantBody
			if tt.status != 200 {
				want2 = ""
			} else if method == "HEAD" {
				want2 = tt.body
			}
			if err != nil || string(got2) != want2 || resp2.StatusCode != tt.status {
				t.Errorf("second request: got %d %q (%v), want %d %q", resp2.StatusCode, got2, err, tt.status, want2)
			}
		})
	}
}

// Over-long output is cut at exactly Content-Length bytes on the wire, and
// the next keep-alive request on the same connection reads its own response.
func TestServeContentLengthCutOnWire(t *testing.T) {
	exe := testExe(t)
	// More than the header reader buffers and the copy buffer holds.
	ts := newTestServer(t, &Host{}, framed(exe, "Content-Length: 7", "exactly", "x", fmt.Sprint(600<<10)))
	conn, err := net.Dial("tcp", ts.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	br := bufio.NewReader(conn)
	for i := range 2 {
		fmt.Fprintf(conn, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		_ = conn.SetReadDeadline(time.Now().Add(20 * time.Second))
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		body, err := io.ReadAll(resp.Body)
		if err != nil || string(body) != "exactly" {
			t.Fatalf("request %d: got %q (%v), want %q", i, body, err, "exactly")
		}
	}
	if br.Buffered() > 0 {
		t.Errorf("got %d bytes after the responses", br.Buffered())
	}
}

// An HTTP/1.0 response without Content-Length ends at close, unchunked.
func TestServeHTTP10CloseDelimited(t *testing.T) {
	exe := testExe(t)
	ts := newTestServer(t, &Host{}, framed(exe, "Content-Type: text/plain", "close-delimited body"))
	conn, err := net.Dial("tcp", ts.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET / HTTP/1.0\r\n\r\n")
	_ = conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	all, err := io.ReadAll(conn)
	if err != nil {
		t.Fatal(err)
	}
	head, body, _ := strings.Cut(string(all), "\r\n\r\n")
	if body != "close-delimited body" || strings.Contains(strings.ToLower(head), "transfer-encoding") {
		t.Errorf("got %q, want an unchunked body ending at close", all)
	}
}

// An event stream with a Content-Length (never flushed by the read loop:
// spliced for a remote client, copied for a local one) still reaches the
// client while the script runs.
func TestServeStreamsEventsWithContentLength(t *testing.T) {
	for _, proto := range []string{"HTTP/1.1", "HTTP/1.0"} {
		for _, remote := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s remote %v", proto, remote), func(t *testing.T) {
				ack := filepath.Join(t.TempDir(), "ack")
				h := &Host{}
				script := modeScript(t, "sse-cl", "CGIHOST_TEST_ACK="+ack)
				served := make(chan error, 1)
				ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if remote {
						r.RemoteAddr = "192.0.2.7:4711" // TEST-NET-1: not loopback
					}
					env, _ := BuildEnv(r, &EnvConfig{ScriptName: "/cgi", DocumentRoot: "/srv"})
					_, err := h.Serve(w, r, script(r, env))
					served <- err
				}))
				defer ts.Close()
				defer h.Close()
				conn, err := net.Dial("tcp", ts.Listener.Addr().String())
				if err != nil {
					t.Fatal(err)
				}
				defer conn.Close()
				fmt.Fprintf(conn, "GET / %s\r\nHost: x\r\n\r\n", proto)
				_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
				br := bufio.NewReader(conn)
				resp, err := http.ReadResponse(br, nil)
				if err != nil {
					t.Fatal(err)
				}
				if resp.ContentLength != 27 {
					t.Errorf("got Content-Length %d, want 27", resp.ContentLength)
				}
				first, err := bufio.NewReader(io.LimitReader(resp.Body, 13)).ReadString('\n')
				if first != "data: first\n" {
					t.Fatalf("got first event %q (%v), want it before the script ends", first, err)
				}
				os.WriteFile(ack, nil, 0o644)
				rest, _ := io.ReadAll(resp.Body)
				if !strings.Contains(string(rest), "data: second") {
					t.Errorf("got rest %q, want the second event", rest)
				}
				if err := <-served; err != nil {
					t.Errorf("Serve: %v", err)
				}
			})
		}
	}
}

// readFromSpy records what the host hands to ReadFrom, and passes it on.
type readFromSpy struct {
	http.ResponseWriter
	srcs []string
}

func (s *readFromSpy) ReadFrom(r io.Reader) (int64, error) {
	desc := fmt.Sprintf("%T", r)
	if lr, ok := r.(*io.LimitedReader); ok {
		desc += fmt.Sprintf(" of %T", lr.R)
	}
	s.srcs = append(s.srcs, desc)
	return s.ResponseWriter.(io.ReaderFrom).ReadFrom(r)
}

func (s *readFromSpy) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// idleSpy stands for Caddy's write-idle wrapper, known by its Override.
type idleSpy struct{ *readFromSpy }

func (idleSpy) Override(time.Duration, int64, int) func() { return func() {} }

// The body goes to ReadFrom as what Go's TCPConn.ReadFrom splices from (a
// *net.UnixConn, or an *io.LimitedReader of one bounded at Content-Length)
// exactly when the framing allows and the client is not on loopback; a
// chunked body and a chain with the write-idle wrapper and a
// Content-Length never reach ReadFrom.
func TestServeSpliceSource(t *testing.T) {
	exe := testExe(t)
	const reps = 50 << 10 // more than the header reader buffers
	body := strings.Repeat("0123456789", reps)
	tests := []struct {
		name   string
		header string
		proto  string
		idle   bool
		want   string // ReadFrom's source, "" for no ReadFrom
		local  bool   // the client is on loopback (the others pose as remote)
		cut    int    // bytes of the output beyond its Content-Length
	}{
		{"content-length", "Content-Length: " + fmt.Sprint(len(body)), "HTTP/1.1", false, "*io.LimitedReader of *net.UnixConn", false, 0},
		{"http/1.0", "Content-Type: text/plain", "HTTP/1.0", false, "*net.UnixConn", false, 0},
		{"http/1.0 with content-length", "Content-Length: " + fmt.Sprint(len(body)), "HTTP/1.0", false, "*io.LimitedReader of *net.UnixConn", false, 0},
		{"chunked", "Content-Type: text/plain", "HTTP/1.1", false, "", false, 0},
		{"idle wrapper, content-length", "Content-Length: " + fmt.Sprint(len(body)), "HTTP/1.1", true, "", false, 0},
		{"idle wrapper, http/1.0", "Content-Type: text/plain", "HTTP/1.0", true, "*net.UnixConn", false, 0},
		{"encoded by a middleware", "Content-Length: " + fmt.Sprint(len(body)), "HTTP/1.1", false, "", false, 0},
		{"loopback client", "Content-Length: " + fmt.Sprint(len(body)), "HTTP/1.1", false, "", true, 0},
		// The splice stops at Content-Length: the rest is never sent.
		{"over-long", "Content-Length: " + fmt.Sprint(len(body)-100<<10), "HTTP/1.1", false, "*io.LimitedReader of *net.UnixConn", false, 100 << 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &Host{}
			srcs := make(chan []string, 1)
			ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				spy := &readFromSpy{ResponseWriter: w}
				var rw http.ResponseWriter = spy
				if tt.idle {
					rw = idleSpy{spy}
				}
				if tt.name == "encoded by a middleware" {
					rw = &dropLength{readFromSpy: spy}
				}
				if !tt.local {
					r.RemoteAddr = "192.0.2.7:4711" // TEST-NET-1: not loopback
				}
				env, _ := BuildEnv(r, &EnvConfig{ScriptName: "/cgi", DocumentRoot: "/srv"})
				_, err := h.Serve(rw, r, framed(exe, tt.header, "", "0123456789", fmt.Sprint(reps))(r, env))
				if err != nil {
					t.Errorf("Serve: %v", err)
				}
				srcs <- spy.srcs
			}))
			defer ts.Close()
			defer h.Close()
			conn, err := net.Dial("tcp", ts.Listener.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			fmt.Fprintf(conn, "GET / %s\r\nHost: x\r\nConnection: close\r\n\r\n", tt.proto)
			_ = conn.SetReadDeadline(time.Now().Add(20 * time.Second))
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(resp.Body)
			want := body[:len(body)-tt.cut]
			if err != nil || string(got) != want {
				t.Errorf("got %d bytes (%v), want %d", len(got), err, len(want))
			}
			if rest, _ := io.ReadAll(conn); len(rest) > 0 {
				t.Errorf("got %d bytes after the body, want none", len(rest))
			}
			s := <-srcs
			switch {
			case tt.want == "" && len(s) > 0:
				t.Errorf("got ReadFrom(%v), want none", s)
			case tt.want != "" && (len(s) != 1 || s[0] != tt.want):
				t.Errorf("got ReadFrom(%v), want ReadFrom(%s)", s, tt.want)
			}
		})
	}
}

// dropLength stands for a middleware that transforms the body (as encode
// does): it drops Content-Length at the first write.
type dropLength struct {
	*readFromSpy
}

func (d *dropLength) Write(p []byte) (int, error) {
	d.Header().Del("Content-Length")
	return d.readFromSpy.Write(p)
}
