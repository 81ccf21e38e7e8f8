//go:build linux

package cgihost

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/pyhttp/caddy-pyhttp/internal/proctest"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

func TestMain(m *testing.M) {
	if mode := os.Getenv(scriptModeEnv); mode != "" {
		os.Exit(runTestScript(mode))
	}
	if dir := os.Getenv(helperEnv); dir != "" {
		os.Exit(runHelper(dir))
	}
	inheritedFDs = uncloseableFDs()
	code := m.Run()
	if code == 0 {
		code = checkLeaks()
	}
	if hardening.cgroup != "" {
		os.Remove(hardening.cgroup)
	}
	if sharedDir != "" {
		os.RemoveAll(sharedDir)
	}
	os.Exit(code)
}

// checkLeaks fails the run if a script was left unreaped (a zombie child of
// this process) or a Serve goroutine outlived its request.
func checkLeaks() int {
	var leaked []string
	deadline := time.Now().Add(5 * time.Second)
	for {
		leaked = leaked[:0]
		for _, pid := range zombieChildren() {
			leaked = append(leaked, fmt.Sprintf("zombie child %d", pid))
		}
		buf := make([]byte, 4<<20)
		stacks := string(buf[:runtime.Stack(buf, true)])
		for g := range strings.SplitSeq(stacks, "\n\n") {
			if strings.Contains(g, "cgihost.(*process)") || strings.Contains(g, "cgihost.(*Host)") {
				leaked = append(leaked, "goroutine:\n"+g)
			}
		}
		if len(leaked) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(leaked) > 0 {
		fmt.Fprintf(os.Stderr, "leaks after tests:\n%s\n", strings.Join(leaked, "\n"))
		return 1
	}
	return 0
}

// inheritedFDs maps descriptors this process inherited without FD_CLOEXEC
// (from whatever started go test) to their targets. os/exec cannot close
// them in the child, and they are not the host's doing.
var inheritedFDs map[string]string

func uncloseableFDs() map[string]string {
	m := map[string]string{}
	entries, _ := os.ReadDir("/proc/self/fd")
	for _, e := range entries {
		fd, _ := strconv.Atoi(e.Name())
		flags, _, errno := syscall.Syscall(syscall.SYS_FCNTL, uintptr(fd), syscall.F_GETFD, 0)
		if fd > 2 && errno == 0 && flags&syscall.FD_CLOEXEC == 0 {
			m[e.Name()], _ = os.Readlink(filepath.Join("/proc/self/fd", e.Name()))
		}
	}
	return m
}

// zombieChildren lists children of this process in state Z.
func zombieChildren() []int {
	var out []int
	me := os.Getpid()
	dirs, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, f := range dirs {
		state, ppid, ok := procStat(f)
		if ok && ppid == me && state == 'Z' {
			pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(f)))
			out = append(out, pid)
		}
	}
	return out
}

// procStat reads the state and parent pid from a /proc/<pid>/stat file.
func procStat(path string) (state byte, ppid int, ok bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, 0, false
	}
	// The command name is parenthesised and may contain anything.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0, 0, false
	}
	fields := strings.Fields(string(b[i+1:]))
	if len(fields) < 2 {
		return 0, 0, false
	}
	ppid, _ = strconv.Atoi(fields[1])
	return fields[0][0], ppid, true
}

// rawRequest opens a connection to ts, closed when the test ends, and
// writes req on it as is.
func rawRequest(t *testing.T, ts *testServer, req string) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", ts.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	if _, err := io.WriteString(conn, req); err != nil {
		t.Fatal(err)
	}
	return conn
}

var (
	sharedOnce sync.Once
	sharedDir  string // 0755 directory holding a copy of the test binary
	sharedExe  string
)

// testExe returns the test binary, re-run as a script. As root the copy in
// a world-readable directory is used so that a script can run as nobody
// (go test keeps its binary in a 0700 directory).
func testExe(t testing.TB) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() != 0 {
		return exe
	}
	sharedOnce.Do(func() {
		dir, err := os.MkdirTemp("", "cgihost-test-")
		if err != nil {
			return
		}
		if err := os.Chmod(dir, 0o755); err != nil {
			return
		}
		data, err := os.ReadFile(exe)
		if err != nil {
			return
		}
		if err := os.WriteFile(filepath.Join(dir, "script.test"), data, 0o755); err != nil {
			return
		}
		sharedDir, sharedExe = dir, filepath.Join(dir, "script.test")
	})
	if sharedExe == "" {
		t.Fatal("copying the test binary failed")
	}
	return sharedExe
}

// fixture copies testdata/name into a temporary directory with the run bit
// set and returns its path.
func fixture(t testing.TB, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// noRaceExitSleep stops a race-enabled script from sleeping a second at exit
// (the race runtime's default atexit_sleep_ms).
const noRaceExitSleep = "GORACE=atexit_sleep_ms=0"

type serveResult struct {
	loc string
	err error
}

// testServer is an httptest server whose handler runs one script per
// request through a Host, the way the Caddy handler does.
type testServer struct {
	*httptest.Server
	host    *Host
	logs    *observer.ObservedLogs
	results chan serveResult
}

// scriptFor builds the Script for a request from its environment.
type scriptFor func(r *http.Request, env []string) *Script

func newTestServer(t testing.TB, h *Host, script scriptFor) *testServer {
	t.Helper()
	core, logs := observer.New(zapcore.DebugLevel)
	if h.Logger == nil {
		h.Logger = zap.New(core)
	}
	ts := &testServer{host: h, logs: logs, results: make(chan serveResult, 256)}
	ts.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		env, err := BuildEnv(r, &EnvConfig{ScriptName: "/cgi", PathInfo: r.URL.Path, DocumentRoot: "/srv"})
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		loc, err := h.Serve(w, r, script(r, env))
		select {
		case ts.results <- serveResult{loc, err}:
		default:
		}
		if he, ok := errors.AsType[*Error](err); ok {
			http.Error(w, he.Err.Error(), he.Status)
			return
		}
		if errors.Is(err, ErrAborted) {
			panic(http.ErrAbortHandler) // as documented on ErrAborted
		}
		if loc != "" {
			fmt.Fprintf(w, "local redirect to %s", loc)
		}
	}))
	t.Cleanup(func() {
		h.Close()
		ts.Close()
	})
	return ts
}

// result returns what the last Serve call returned.
func (ts *testServer) result(t testing.TB) serveResult {
	t.Helper()
	select {
	case r := <-ts.results:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("got no Serve result within 10s")
		return serveResult{}
	}
}

// modeScript runs the test binary in the given mode.
func modeScript(t testing.TB, mode string, extraEnv ...string) scriptFor {
	exe := testExe(t)
	return func(r *http.Request, env []string) *Script {
		env = append(env, scriptModeEnv+"="+mode, noRaceExitSleep)
		env = append(env, extraEnv...)
		return &Script{Path: exe, Env: env}
	}
}

func get(t testing.TB, ts *testServer, path string) (*http.Response, string) {
	t.Helper()
	return do(t, ts, mustRequest(t, "GET", ts.URL+path, nil))
}

func mustRequest(t testing.TB, method, url string, body io.Reader) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

func do(t testing.TB, ts *testServer, req *http.Request) (*http.Response, string) {
	t.Helper()
	client := &http.Client{
		Transport:     ts.Client().Transport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       30 * time.Second,
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading body: %v", err)
	}
	return resp, string(b)
}

// bodyEnv parses K=V lines of an "env" script response.
func bodyEnv(body string) map[string]string {
	m := map[string]string{}
	for line := range strings.SplitSeq(body, "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			m[k] = v
		}
	}
	return m
}

func TestServeEnvironment(t *testing.T) {
	t.Setenv("CGIHOST_SERVER_SECRET", "must not leak")
	dir := t.TempDir()
	exe := testExe(t)
	ts := newTestServer(t, &Host{}, func(r *http.Request, env []string) *Script {
		return &Script{Path: exe, Dir: dir, Args: Argv(r.URL.RawQuery), Env: append(env, scriptModeEnv+"=env", noRaceExitSleep)}
	})
	req := mustRequest(t, "GET", ts.URL+"/extra/path?hello+world", nil)
	req.Header.Set("X-Test", "1")
	req.Header.Set("Proxy", "http://evil:3128")
	resp, body := do(t, ts, req)
	if resp.StatusCode != 200 {
		t.Fatalf("got status %d, want 200; body %q", resp.StatusCode, body)
	}
	_, port, _ := net.SplitHostPort(ts.Listener.Addr().String())
	env := bodyEnv(body)
	for k, want := range map[string]string{
		"REQUEST_METHOD":    "GET",
		"QUERY_STRING":      "hello+world",
		"PATH_INFO":         "/extra/path",
		"PATH_TRANSLATED":   "/srv/extra/path",
		"SERVER_PORT":       port,
		"SERVER_NAME":       "127.0.0.1",
		"SERVER_PROTOCOL":   "HTTP/1.1",
		"GATEWAY_INTERFACE": "CGI/1.1",
		"HTTP_X_TEST":       "1",
		"REQUEST_URI":       "/extra/path?hello+world",
		"ARGV":              fmt.Sprintf("[%q %q]", filepath.Base(exe), "hello world"),
		"CWD":               dir,
	} {
		if env[k] != want {
			t.Errorf("got %s=%q, want %q", k, env[k], want)
		}
	}
	// stdout is a socket whose send buffer net.core.wmem_max may cap; that
	// only costs throughput, so it is reported rather than asserted.
	t.Logf("stdout send buffer seen by the script: %s", env["STDOUT_SNDBUF"])
	for _, k := range []string{"HTTP_PROXY", "CGIHOST_SERVER_SECRET", "HOME", "CONTENT_LENGTH"} {
		if v, ok := env[k]; ok {
			t.Errorf("got %s=%q, want it unset", k, v)
		}
	}
}

// As root, Credential runs the script as nobody with gid nobody and no
// supplementary groups (CPython changes only the uid and keeps group root).
func TestServeCredential(t *testing.T) {
	h := &Host{}
	wantUID, wantGID := os.Getuid(), os.Getgid()
	if os.Geteuid() == 0 {
		h.Credential = &syscall.Credential{Uid: 65534, Gid: 65534, Groups: []uint32{0}}
		wantUID, wantGID = 65534, 65534
	}
	exe := testExe(t)
	ts := newTestServer(t, h, func(r *http.Request, env []string) *Script {
		return &Script{Path: exe, Dir: filepath.Dir(exe), Env: append(env, scriptModeEnv+"=env", noRaceExitSleep)}
	})
	resp, body := get(t, ts, "/")
	if resp.StatusCode != 200 {
		t.Fatalf("got status %d, want 200; body %q", resp.StatusCode, body)
	}
	env := bodyEnv(body)
	if got, want := env["UID"], strconv.Itoa(wantUID); got != want {
		t.Errorf("got uid %q, want %q", got, want)
	}
	if got, want := env["GID"], strconv.Itoa(wantGID); got != want {
		t.Errorf("got gid %q, want %q", got, want)
	}
	if os.Geteuid() == 0 && env["GROUPS"] != "[]" {
		t.Errorf("got groups %q, want %q", env["GROUPS"], "[]")
	}
}

func TestServeResponses(t *testing.T) {
	tests := []struct {
		mode       string
		status     int
		header     map[string]string // "" means absent
		notHeader  map[string]string // values the header must not have
		body       string
		wantExit   string // exit log field, "" for no exit log
		wantStderr zapcore.Level
	}{
		{mode: "status", status: 404, header: map[string]string{"X-Script": "yes", "Content-Type": "text/plain", "Status": ""}, body: "missing"},
		{mode: "redirect-abs", status: 302, header: map[string]string{"Location": "https://example.com/elsewhere"}},
		{mode: "no-content-type", status: 200, header: map[string]string{"X-A": "1", "Content-Type": ""}, body: "<html><body>sniff me</body></html>"},
		// The script's false Content-Length (99) is dropped; net/http may
		// still frame the 8 bytes with a true one, when the whole body was
		// read before its first flush (the script exits at once).
		{mode: "nph", status: 201, header: map[string]string{"X-Nph": "1"}, notHeader: map[string]string{"Content-Length": "99"}, body: "nph body"},
		{mode: "crash", status: 200, body: "partial", wantExit: "exit_code"},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			exe := testExe(t)
			ts := newTestServer(t, &Host{}, func(r *http.Request, env []string) *Script {
				return &Script{Path: exe, Env: append(env, scriptModeEnv+"="+tt.mode, noRaceExitSleep), NPH: tt.mode == "nph"}
			})
			resp, body := get(t, ts, "/")
			if resp.StatusCode != tt.status {
				t.Errorf("got status %d, want %d", resp.StatusCode, tt.status)
			}
			for k, want := range tt.header {
				if got := resp.Header.Get(k); got != want {
					t.Errorf("got %s %q, want %q", k, got, want)
				}
			}
			for k, bad := range tt.notHeader {
				if got := resp.Header.Get(k); got == bad {
					t.Errorf("got %s %q, want anything else", k, got)
				}
			}
			if body != tt.body {
				t.Errorf("got body %q, want %q", body, tt.body)
			}
			if res := ts.result(t); res.err != nil || res.loc != "" {
				t.Errorf("got Serve (%q, %v), want (\"\", nil)", res.loc, res.err)
			}
			exits := ts.logs.FilterMessage("cgi script exited abnormally").All()
			switch {
			case tt.wantExit == "" && len(exits) > 0:
				t.Errorf("got exit log %v, want none", exits[0].ContextMap())
			case tt.wantExit != "" && len(exits) != 1:
				t.Errorf("got %d exit logs, want 1", len(exits))
			case tt.wantExit != "":
				if _, ok := exits[0].ContextMap()[tt.wantExit]; !ok {
					t.Errorf("got exit log %v, want field %q", exits[0].ContextMap(), tt.wantExit)
				}
			}
		})
	}
}

// A Location path with no Status is a local redirect (RFC 3875 section
// 6.2.2): Serve writes nothing and hands the path back.
func TestServeLocalRedirect(t *testing.T) {
	ts := newTestServer(t, &Host{}, modeScript(t, "redirect-local"))
	resp, body := get(t, ts, "/")
	if want := "local redirect to /other?q=1"; resp.StatusCode != 200 || body != want {
		t.Errorf("got %d %q, want 200 %q", resp.StatusCode, body, want)
	}
	if res := ts.result(t); res.loc != "/other?q=1" || res.err != nil {
		t.Errorf("got Serve (%q, %v), want (%q, nil)", res.loc, res.err, "/other?q=1")
	}
}

// A script that fails before a complete header block yields 502 and exactly
// one log line naming the script, its pid and its exit status.
func TestServeBadGateway(t *testing.T) {
	for _, tt := range []struct {
		mode    string
		wantErr error
		exit    string
	}{
		{mode: "malformed", wantErr: ErrMalformedHeader},
		{mode: "silent", wantErr: ErrMalformedHeader, exit: "3"},
		{mode: "huge-header", wantErr: ErrHeaderTooLarge},
	} {
		t.Run(tt.mode, func(t *testing.T) {
			ts := newTestServer(t, &Host{KillGrace: time.Second}, modeScript(t, tt.mode))
			resp, _ := get(t, ts, "/")
			if resp.StatusCode != 502 {
				t.Errorf("got status %d, want 502", resp.StatusCode)
			}
			res := ts.result(t)
			he, ok := errors.AsType[*Error](res.err)
			if !ok || he.Status != 502 || !errors.Is(res.err, tt.wantErr) {
				t.Errorf("got error %v, want *Error 502 wrapping %v", res.err, tt.wantErr)
			}
			fails := ts.logs.FilterMessage("cgi script failed before its header block").All()
			if len(fails) != 1 {
				t.Fatalf("got %d failure logs, want 1", len(fails))
			}
			fields := fails[0].ContextMap()
			for _, k := range []string{"script", "pid", "status"} {
				if _, ok := fields[k]; !ok {
					t.Errorf("got log fields %v, want %q", fields, k)
				}
			}
			if tt.exit != "" && fmt.Sprint(fields["exit_code"]) != tt.exit {
				t.Errorf("got exit_code %v, want %s", fields["exit_code"], tt.exit)
			}
			if tt.mode == "silent" {
				lines := ts.logs.FilterMessage("cgi stderr").All()
				if len(lines) != 1 || lines[0].Level != zapcore.ErrorLevel {
					t.Errorf("got stderr logs %v, want one at error level", lines)
				}
			}
		})
	}
}

// HEAD runs the script but sends no body bytes (CPython sends them).
func TestServeHeadSendsNoBody(t *testing.T) {
	ts := newTestServer(t, &Host{}, modeScript(t, "status"))
	conn := rawRequest(t, ts, "HEAD / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	raw, err := io.ReadAll(conn)
	if err != nil {
		t.Fatal(err)
	}
	head, rest, ok := strings.Cut(string(raw), "\r\n\r\n")
	if !ok || !strings.HasPrefix(head, "HTTP/1.1 404") {
		t.Fatalf("got response %q, want a 404 head", raw)
	}
	if rest != "" {
		t.Errorf("got body %q after HEAD, want none", rest)
	}
	if env := ts.result(t); env.err != nil {
		t.Errorf("got Serve error %v, want nil", env.err)
	}
}

// patternReader yields n deterministic bytes without holding them in memory.
type patternReader struct{ n, off int64 }

func (p *patternReader) Read(b []byte) (int, error) {
	if p.off >= p.n {
		return 0, io.EOF
	}
	b = b[:min(int64(len(b)), p.n-p.off)]
	for i := range b {
		b[i] = byte((p.off + int64(i)) * 7)
	}
	p.off += int64(len(b))
	return len(b), nil
}

func patternSHA(n int64) string {
	h := sha256.New()
	io.Copy(h, &patternReader{n: n})
	return fmt.Sprintf("%x", h.Sum(nil))
}

// onlyReader hides WriterTo/Len so net/http sends a chunked body.
type onlyReader struct{ io.Reader }

// heapGrowth runs f and returns the largest HeapInuse growth seen while it
// ran, sampled every few milliseconds.
func heapGrowth(f func()) uint64 {
	// Collect eagerly so that garbage awaiting the next cycle does not pass
	// for retained memory.
	defer debug.SetGCPercent(debug.SetGCPercent(10))
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	var peak atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		var ms runtime.MemStats
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > base && ms.HeapInuse-base > peak.Load() {
				peak.Store(ms.HeapInuse - base)
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	})
	f()
	close(stop)
	wg.Wait()
	return peak.Load()
}

// A 10 MiB upload is streamed: the script gets exactly CONTENT_LENGTH bytes
// then EOF, and server memory does not grow with the body.
func TestServePostStreamed(t *testing.T) {
	const size = 10 << 20
	ts := newTestServer(t, &Host{}, modeScript(t, "count-stdin"))
	var resp *http.Response
	var body string
	req := mustRequest(t, "POST", ts.URL+"/", &patternReader{n: size})
	req.ContentLength = size // not chunked: this is the streaming path
	growth := heapGrowth(func() { resp, body = do(t, ts, req) })
	env := bodyEnv(body)
	if resp.StatusCode != 200 || env["READ"] != strconv.Itoa(size) || env["CONTENT_LENGTH"] != strconv.Itoa(size) {
		t.Fatalf("got %d %q, want 200 with READ=CONTENT_LENGTH=%d", resp.StatusCode, body, size)
	}
	if want := patternSHA(size); env["SHA"] != want {
		t.Errorf("got sha %q, want %q", env["SHA"], want)
	}
	if growth > size/4 {
		t.Errorf("got heap growth %d bytes, want below %d", growth, size/4)
	}
}

// A script writing while it reads must not deadlock against the host.
func TestServeEchoWhileReading(t *testing.T) {
	const size = 10 << 20
	ts := newTestServer(t, &Host{Timeout: 30 * time.Second}, modeScript(t, "echo"))
	req := mustRequest(t, "POST", ts.URL+"/", &patternReader{n: size})
	req.ContentLength = size
	client := ts.Client()
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	h := sha256.New()
	n, err := io.Copy(h, resp.Body)
	if err != nil || n != size {
		t.Fatalf("got %d bytes (%v), want %d", n, err, size)
	}
	if got, want := fmt.Sprintf("%x", h.Sum(nil)), patternSHA(size); got != want {
		t.Errorf("got sha %q, want %q", got, want)
	}
}

// 100 MiB of output is streamed with flat memory.
func TestServeStream100MiB(t *testing.T) {
	const size = 100 << 20
	ts := newTestServer(t, &Host{}, modeScript(t, "big", "CGIHOST_TEST_SIZE="+strconv.Itoa(size)))
	var n int64
	var elapsed time.Duration
	growth := heapGrowth(func() {
		start := time.Now()
		resp, err := ts.Client().Get(ts.URL + "/")
		if err != nil {
			t.Error(err)
			return
		}
		defer resp.Body.Close()
		n, err = io.Copy(io.Discard, resp.Body)
		if err != nil {
			t.Error(err)
		}
		elapsed = time.Since(start)
	})
	if n != size {
		t.Fatalf("got %d bytes, want %d", n, size)
	}
	if growth > 16<<20 {
		t.Errorf("got heap growth %d bytes, want below %d", growth, 16<<20)
	}
	t.Logf("100 MiB in %v (%.0f MB/s), heap growth %d KiB", elapsed, float64(size)/elapsed.Seconds()/1e6, growth>>10)
}

// A body without Content-Length is spooled (in memory, or in an unlinked
// file past 1 MiB) and CONTENT_LENGTH is set from it.
func TestServeChunkedSpooled(t *testing.T) {
	for _, size := range []int64{100, 3 << 20} {
		t.Run(strconv.FormatInt(size, 10), func(t *testing.T) {
			ts := newTestServer(t, &Host{}, modeScript(t, "count-stdin"))
			req := mustRequest(t, "POST", ts.URL+"/", onlyReader{&patternReader{n: size}})
			req.ContentLength = -1
			resp, body := do(t, ts, req)
			env := bodyEnv(body)
			want := strconv.FormatInt(size, 10)
			if resp.StatusCode != 200 || env["CONTENT_LENGTH"] != want || env["READ"] != want {
				t.Fatalf("got %d %q, want 200 with READ=CONTENT_LENGTH=%s", resp.StatusCode, body, want)
			}
			if env["SHA"] != patternSHA(size) {
				t.Errorf("got sha %q, want %q", env["SHA"], patternSHA(size))
			}
			if left, _ := filepath.Glob(filepath.Join(os.TempDir(), "cgihost-body-*")); len(left) > 0 {
				t.Errorf("got spool files %q left behind, want none", left)
			}
		})
	}
}

// An oversized body without Content-Length is refused with 413 before any
// script starts.
func TestServeChunkedTooLarge(t *testing.T) {
	pidfile := filepath.Join(t.TempDir(), "pid")
	ts := newTestServer(t, &Host{MaxRequestBody: 1 << 20}, modeScript(t, "count-stdin", "CGIHOST_TEST_PIDFILE="+pidfile))
	req := mustRequest(t, "POST", ts.URL+"/", onlyReader{&patternReader{n: 2 << 20}})
	req.ContentLength = -1
	resp, _ := do(t, ts, req)
	if resp.StatusCode != 413 {
		t.Errorf("got status %d, want 413", resp.StatusCode)
	}
	if err := ts.result(t).err; !errors.Is(err, ErrBodyTooLarge) {
		t.Errorf("got error %v, want ErrBodyTooLarge", err)
	}
	if _, err := os.Stat(pidfile); err == nil {
		t.Errorf("got a started script, want none")
	}
}

func readPid(t *testing.T, pidfile string) int {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if b, err := os.ReadFile(pidfile); err == nil {
			pid, _ := strconv.Atoi(string(b))
			return pid
		}
		if time.Now().After(deadline) {
			t.Fatal("script never wrote its pid file")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A script silent past Timeout is stopped and answered with 504; one that
// ignores SIGTERM gets SIGKILL after KillGrace.
func TestServeTimeoutBeforeHeader(t *testing.T) {
	for _, tt := range []struct {
		mode    string
		atLeast time.Duration
	}{
		{mode: "hang", atLeast: 300 * time.Millisecond},
		{mode: "ignore-term", atLeast: 300*time.Millisecond + 200*time.Millisecond},
	} {
		t.Run(tt.mode, func(t *testing.T) {
			pidfile := filepath.Join(t.TempDir(), "pid")
			ts := newTestServer(t, &Host{Timeout: 300 * time.Millisecond, KillGrace: 200 * time.Millisecond},
				modeScript(t, tt.mode, "CGIHOST_TEST_PIDFILE="+pidfile))
			start := time.Now()
			resp, _ := get(t, ts, "/")
			elapsed := time.Since(start)
			if resp.StatusCode != 504 {
				t.Errorf("got status %d, want 504", resp.StatusCode)
			}
			if err := ts.result(t).err; !errors.Is(err, ErrTimeout) {
				t.Errorf("got error %v, want ErrTimeout", err)
			}
			if elapsed < tt.atLeast || elapsed > tt.atLeast+3*time.Second {
				t.Errorf("got answer after %v, want about %v", elapsed, tt.atLeast)
			}
			// Serve reaps before it returns: the pid must be gone already.
			if pid := readPid(t, pidfile); !proctest.Gone(pid) {
				t.Errorf("got pid %d alive after the response, want it gone", pid)
			}
		})
	}
}

// Timeout after the header aborts the stream.
func TestServeTimeoutAfterHeader(t *testing.T) {
	ts := newTestServer(t, &Host{Timeout: 300 * time.Millisecond}, modeScript(t, "trickle"))
	resp, err := ts.Client().Get(ts.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	first, _ := br.ReadString('\n')
	var pid int
	fmt.Sscanf(first, "pid %d", &pid)
	_, err = io.Copy(io.Discard, br)
	if err == nil {
		t.Errorf("got a complete body, want it cut short")
	}
	res := ts.result(t)
	if !errors.Is(res.err, ErrAborted) || !errors.Is(res.err, ErrTimeout) {
		t.Errorf("got error %v, want ErrAborted wrapping ErrTimeout", res.err)
		for _, e := range ts.logs.All() {
			t.Logf("log: %s %v", e.Message, e.ContextMap())
		}
	}
	if pid == 0 || !proctest.Gone(pid) {
		t.Errorf("got pid %d alive, want it gone", pid)
	}
}

// A script that exits without reading its body must not leave Serve waiting
// for a client that is still (slowly) uploading it.
func TestServeUnreadBodyDoesNotBlock(t *testing.T) {
	ts := newTestServer(t, &Host{}, modeScript(t, "status"))
	// Announce a megabyte, send ten bytes, then stall.
	conn := rawRequest(t, ts, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n0123456789")
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	status, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil || !strings.HasPrefix(status, "HTTP/1.1 404") {
		t.Fatalf("got %q (%v), want a 404 status line", status, err)
	}
	select {
	case res := <-ts.results:
		if res.err != nil {
			t.Errorf("got Serve error %v, want nil", res.err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("got Serve still running 5s after the script exited, want it done")
	}
}

// Timeout also frees a request whose client stopped reading: Serve must not
// stay blocked writing the response (and holding a process slot).
func TestServeTimeoutWithStalledClient(t *testing.T) {
	// Timeout must pass after the header, while the body is stuck: 2 s,
	// since under -race on a loaded machine starting the test binary as
	// the script took over the 500 ms this once had (a 504 instead).
	ts := newTestServer(t, &Host{Timeout: 2 * time.Second, KillGrace: 200 * time.Millisecond},
		modeScript(t, "big", "CGIHOST_TEST_SIZE="+strconv.Itoa(1<<30)))
	rawRequest(t, ts, "GET / HTTP/1.1\r\nHost: x\r\n\r\n") // and never read
	select {
	case res := <-ts.results:
		if !errors.Is(res.err, ErrAborted) || !errors.Is(res.err, ErrTimeout) {
			t.Errorf("got error %v, want ErrAborted wrapping ErrTimeout", res.err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("got Serve blocked on a stalled client 10s after Timeout, want it done")
	}
}

// A response the script completed (stdout closed) is delivered whole, and
// at once, even when the script itself runs on; it is still killed at
// Timeout and logged, after the response.
func TestServeTimeoutAfterCompleteResponse(t *testing.T) {
	const timeout = 2 * time.Second
	ts := newTestServer(t, &Host{Timeout: timeout, KillGrace: 100 * time.Millisecond}, modeScript(t, "close-then-hang"))
	start := time.Now()
	resp, body := get(t, ts, "/")
	if resp.StatusCode != 200 || body != "complete" {
		t.Errorf("got %d %q, want 200 %q", resp.StatusCode, body, "complete")
	}
	if elapsed := time.Since(start); elapsed >= timeout {
		t.Errorf("response took %v: the client waited for the script instead of its output", elapsed)
	}
	if res := ts.result(t); res.err != nil {
		t.Errorf("got Serve error %v, want nil", res.err)
	}
	waitLog(t, ts, "cgi script exited abnormally", 3*timeout)
	if exits := ts.logs.FilterMessage("cgi script exited abnormally").All(); len(exits) != 1 || exits[0].ContextMap()["signal"] == nil {
		t.Errorf("got exit logs %v, want one naming the signal", exits)
	}
}

// A script that closed stdout and runs on without any Timeout still ends
// its response at once, keeps its process slot while it runs, and is
// stopped by Close.
func TestServeDetachedScriptHoldsSlotUntilClose(t *testing.T) {
	h := &Host{MaxProcs: 1, QueueTimeout: 200 * time.Millisecond, KillGrace: 100 * time.Millisecond}
	ts := newTestServer(t, h, modeScript(t, "close-then-hang"))
	start := time.Now()
	resp, body := get(t, ts, "/")
	if resp.StatusCode != 200 || body != "complete" || time.Since(start) > 5*time.Second {
		t.Fatalf("got %d %q after %v, want 200 %q at once", resp.StatusCode, body, time.Since(start), "complete")
	}
	ts.result(t)
	// The slot is still taken by the running script.
	if resp, _ := get(t, ts, "/"); resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("second request got %d, want 503 while the first script still runs", resp.StatusCode)
	}
	ts.result(t)
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	if n := h.running.Load(); n != 0 {
		t.Errorf("%d scripts still running after Close", n)
	}
}

// A script that answers early, closes stdout and only then reads its
// upload gets the whole body: the response is not detached (and stdin not
// cut) while the body is still being delivered.
func TestServeAnswerEarlyThenReadUpload(t *testing.T) {
	ts := newTestServer(t, &Host{}, modeScript(t, "ack-then-read"))
	body := bytes.Repeat([]byte("u"), 4<<20)
	resp, err := ts.Client().Post(ts.URL+"/", "application/octet-stream", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted || string(got) != "queued" {
		t.Fatalf("got %d %q, want 202 %q", resp.StatusCode, got, "queued")
	}
	ts.result(t)
	waitLog(t, ts, "cgi stderr", 10*time.Second)
	lines := ts.logs.FilterMessage("cgi stderr").All()
	if want := fmt.Sprintf("read %d", len(body)); len(lines) != 1 || lines[0].ContextMap()["line"] != want {
		t.Errorf("got stderr %v, want %q", lines, want)
	}
}

// waitLog waits until a log entry with msg appears.
func waitLog(t *testing.T, ts *testServer, msg string, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for ts.logs.FilterMessage(msg).Len() == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no %q log within %v", msg, limit)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// When the client goes away mid-response, the script's process group is
// gone within a second and Serve returns.
func TestServeClientDisconnect(t *testing.T) {
	ts := newTestServer(t, &Host{}, modeScript(t, "trickle"))
	ctx, cancel := context.WithCancel(context.Background())
	req := mustRequest(t, "GET", ts.URL+"/", nil).WithContext(ctx)
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	first, _ := bufio.NewReader(resp.Body).ReadString('\n')
	var pid int
	if _, err := fmt.Sscanf(first, "pid %d", &pid); err != nil {
		t.Fatalf("got first line %q, want a pid", first)
	}
	cancel()
	resp.Body.Close()
	proctest.WaitGone(t, pid, time.Second)
	if res := ts.result(t); !errors.Is(res.err, ErrAborted) {
		t.Errorf("got error %v, want ErrAborted", res.err)
	}
}

// A background grandchild neither delays the response past the exit linger
// nor survives the request.
func TestServeKillsGrandchildren(t *testing.T) {
	for _, tt := range []struct {
		name   string
		script func(t *testing.T) scriptFor
	}{
		{name: "go", script: func(t *testing.T) scriptFor { return modeScript(t, "grandchild") }},
		{name: "sh", script: func(t *testing.T) scriptFor {
			p := fixture(t, "background.sh")
			return func(r *http.Request, env []string) *Script { return &Script{Path: p, Env: env} }
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ts := newTestServer(t, &Host{}, tt.script(t))
			start := time.Now()
			resp, body := get(t, ts, "/")
			if elapsed := time.Since(start); elapsed > 3*time.Second {
				t.Errorf("got response after %v, want it soon after the script exits", elapsed)
			}
			pid, err := strconv.Atoi(strings.TrimSpace(body))
			if resp.StatusCode != 200 || err != nil {
				t.Fatalf("got %d %q, want 200 and a pid", resp.StatusCode, body)
			}
			proctest.WaitGone(t, pid, time.Second)
		})
	}
}

// MaxProcs is never exceeded; requests that cannot get a slot in time get
// 503 with Retry-After.
func TestServeMaxProcs(t *testing.T) {
	dir := t.TempDir()
	h := &Host{MaxProcs: 4, QueueTimeout: 10 * time.Second}
	ts := newTestServer(t, h, modeScript(t, "slot", "CGIHOST_TEST_DIR="+dir))
	var wg sync.WaitGroup
	var ok atomic.Int32
	for range 50 {
		wg.Go(func() {
			resp, err := ts.Client().Get(ts.URL + "/")
			if err != nil {
				t.Error(err)
				return
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			switch resp.StatusCode {
			case 200:
				ok.Add(1)
				if n, _ := strconv.Atoi(string(b)); n < 1 || n > 4 {
					t.Errorf("got %q scripts running at once, want 1 to 4", b)
				}
			case 503:
				if resp.Header.Get("Retry-After") == "" {
					t.Errorf("got 503 without Retry-After")
				}
			default:
				t.Errorf("got status %d, want 200 or 503", resp.StatusCode)
			}
		})
	}
	wg.Wait()
	if peak := h.peak.Load(); peak > 4 || peak < 1 {
		t.Errorf("got peak %d running scripts, want 1 to 4", peak)
	}
	if ok.Load() == 0 {
		t.Errorf("got 0 successful requests, want at least 1")
	}
}

// A request that waits past QueueTimeout gets 503 with Retry-After.
func TestServeQueueTimeout(t *testing.T) {
	h := &Host{MaxProcs: 1, QueueTimeout: 100 * time.Millisecond}
	ts := newTestServer(t, h, modeScript(t, "trickle"))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	resp1, err := ts.Client().Do(mustRequest(t, "GET", ts.URL+"/", nil).WithContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	defer resp1.Body.Close()
	resp2, _ := get(t, ts, "/")
	if resp2.StatusCode != 503 || resp2.Header.Get("Retry-After") != "1" {
		t.Errorf("got %d with Retry-After %q, want 503 with %q", resp2.StatusCode, resp2.Header.Get("Retry-After"), "1")
	}
	if err := ts.result(t).err; !errors.Is(err, ErrQueueTimeout) {
		t.Errorf("got error %v, want ErrQueueTimeout", err)
	}
}

// stderr is logged line by line with bounded volume, whatever the script
// writes, and the level follows the response status.
func TestServeStderr(t *testing.T) {
	t.Run("flood", func(t *testing.T) {
		ts := newTestServer(t, &Host{}, modeScript(t, "stderr-flood"))
		var resp *http.Response
		var body string
		growth := heapGrowth(func() { resp, body = get(t, ts, "/") })
		if resp.StatusCode != 200 || body != "flooded" {
			t.Fatalf("got %d %q, want 200 %q", resp.StatusCode, body, "flooded")
		}
		total := 0
		lines := ts.logs.FilterMessage("cgi stderr").All()
		for _, e := range lines {
			total += len(e.ContextMap()["line"].(string))
		}
		if total > maxStderrBytes || len(lines) > maxStderrLines {
			t.Errorf("got %d lines / %d bytes logged, want at most %d / %d", len(lines), total, maxStderrLines, maxStderrBytes)
		}
		drops := ts.logs.FilterMessage("cgi stderr output dropped").All()
		if len(drops) != 1 || drops[0].ContextMap()["dropped_bytes"].(int64) < 20<<20 {
			t.Errorf("got drop summaries %v, want one counting over 20 MiB", drops)
		}
		if growth > 16<<20 {
			t.Errorf("got heap growth %d bytes, want below %d", growth, 16<<20)
		}
	})
	t.Run("truncated line", func(t *testing.T) {
		l := &stderrLog{log: zap.NewNop(), status: 200}
		r, w, _ := os.Pipe()
		core, logs := observer.New(zapcore.DebugLevel)
		l.log = zap.New(core)
		p := &process{stderr: r, errlog: l, stderrDone: make(chan struct{}), script: &Script{}}
		go func() {
			w.WriteString(strings.Repeat("y", 10000) + "\nshort\n")
			w.Close()
		}()
		p.readStderr()
		r.Close()
		all := logs.FilterMessage("cgi stderr").All()
		if len(all) != 2 || len(all[0].ContextMap()["line"].(string)) != maxStderrLine || all[0].ContextMap()["truncated"] != true ||
			all[1].ContextMap()["line"] != "short" {
			t.Errorf("got %v, want a truncated 4 KiB line then %q", all, "short")
		}
	})
	t.Run("level follows status", func(t *testing.T) {
		for _, tt := range []struct {
			mode  string
			level zapcore.Level
		}{
			{mode: "stderr-then-fail", level: zapcore.ErrorLevel},
			{mode: "crash", level: zapcore.WarnLevel},
		} {
			ts := newTestServer(t, &Host{}, modeScript(t, tt.mode))
			get(t, ts, "/")
			ts.result(t)
			lines := ts.logs.FilterMessage("cgi stderr").All()
			if len(lines) == 0 {
				t.Errorf("%s: got no stderr logs", tt.mode)
			}
			for _, e := range lines {
				if e.Level != tt.level {
					t.Errorf("%s: got level %v for %q, want %v", tt.mode, e.Level, e.ContextMap()["line"], tt.level)
				}
			}
		}
	})
}

// Output is flushed as the script writes it, so an event stream reaches the
// client while the script still runs.
func TestServeStreamsEvents(t *testing.T) {
	ack := filepath.Join(t.TempDir(), "ack")
	ts := newTestServer(t, &Host{}, modeScript(t, "sse", "CGIHOST_TEST_ACK="+ack))
	start := time.Now()
	resp, err := ts.Client().Get(ts.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	first, _ := br.ReadString('\n')
	if first != "data: first\n" {
		t.Fatalf("got first event %q, want %q", first, "data: first\n")
	}
	os.WriteFile(ack, nil, 0o644)
	rest, _ := io.ReadAll(br)
	if !strings.Contains(string(rest), "data: second") {
		t.Errorf("got rest %q, want the second event", rest)
	}
	if elapsed := time.Since(start); elapsed > 5*time.Second {
		t.Errorf("got stream after %v, want the first event before the script ends", elapsed)
	}
}

// The script inherits only fds 0-2: no listening socket, client connection
// or another request's pipe.
func TestServeNoLeakedDescriptors(t *testing.T) {
	exe := testExe(t)
	ts := newTestServer(t, &Host{}, func(r *http.Request, env []string) *Script {
		return &Script{Path: exe, Env: append(env, scriptModeEnv+"="+r.URL.Query().Get("mode"), noRaceExitSleep)}
	})
	// Keep another request in flight so that its pipes exist meanwhile.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	other, err := ts.Client().Do(mustRequest(t, "GET", ts.URL+"/?mode=trickle", nil).WithContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Body.Close()
	resp, body := get(t, ts, "/?mode=fds")
	if resp.StatusCode != 200 {
		t.Fatalf("got status %d, want 200", resp.StatusCode)
	}
	for line := range strings.SplitSeq(strings.TrimSpace(body), "\n") {
		fd, target, _ := strings.Cut(line, " ")
		if n, _ := strconv.Atoi(fd); n <= 2 || inheritedFDs[fd] == target {
			continue
		}
		if strings.HasPrefix(target, "socket:") || strings.HasPrefix(target, "pipe:") {
			t.Errorf("got inherited fd %s -> %s, want only 0-2", fd, target)
		}
	}
}

// Close stops running scripts, waits for them, and refuses new requests.
func TestServeClose(t *testing.T) {
	h := &Host{KillGrace: time.Second}
	ts := newTestServer(t, h, modeScript(t, "trickle"))
	resp, err := ts.Client().Get(ts.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	first, _ := bufio.NewReader(resp.Body).ReadString('\n')
	var pid int
	fmt.Sscanf(first, "pid %d", &pid)
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	if pid == 0 || !proctest.Gone(pid) {
		t.Errorf("got pid %d alive after Close, want it gone", pid)
	}
	if res := ts.result(t); !errors.Is(res.err, ErrAborted) || !errors.Is(res.err, ErrClosed) {
		t.Errorf("got error %v, want ErrAborted wrapping ErrClosed", res.err)
	}
	resp2, _ := get(t, ts, "/")
	if resp2.StatusCode != 503 {
		t.Errorf("got status %d after Close, want 503", resp2.StatusCode)
	}
}

// Interpreter and shebang fixtures: argv and stdin reach a real Python.
func TestServeFixtures(t *testing.T) {
	if _, err := os.Stat("/usr/bin/python3"); err != nil {
		t.Skip("no /usr/bin/python3")
	}
	py := fixture(t, "echo.py")
	for _, tt := range []struct {
		name   string
		script func(env []string) *Script
	}{
		{name: "shebang", script: func(env []string) *Script { return &Script{Path: py, Args: []string{"a b"}, Env: env} }},
		{name: "interpreter", script: func(env []string) *Script {
			return &Script{Path: py, Interpreter: []string{"python3", "-u"}, Args: []string{"a b"}, Env: env}
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ts := newTestServer(t, &Host{}, func(r *http.Request, env []string) *Script { return tt.script(env) })
			resp, body := do(t, ts, mustRequest(t, "POST", ts.URL+"/", strings.NewReader("payload")))
			if want := "argv=['a b']\npayload"; resp.StatusCode != 200 || body != want {
				t.Errorf("got %d %q, want 200 %q", resp.StatusCode, body, want)
			}
		})
	}
}

// A script that cannot be started is a 502 (the script, not the server,
// is broken) whose cause survives wrapping.
func TestServeStartFailure(t *testing.T) {
	ts := newTestServer(t, &Host{}, func(r *http.Request, env []string) *Script {
		return &Script{Path: "/nonexistent/script.sh", Env: env}
	})
	resp, _ := get(t, ts, "/")
	if resp.StatusCode != 502 {
		t.Errorf("got status %d, want 502", resp.StatusCode)
	}
	if err := ts.result(t).err; !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("got error %v, want one wrapping fs.ErrNotExist", err)
	}
}

func BenchmarkServeHello(b *testing.B) {
	p := fixture(b, "hello.sh")
	ts := newTestServer(b, &Host{Logger: zap.NewNop()}, func(r *http.Request, env []string) *Script {
		return &Script{Path: p, Env: env}
	})
	client := ts.Client()
	b.ReportAllocs()
	for b.Loop() {
		resp, err := client.Get(ts.URL + "/")
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatalf("got status %d, want 200", resp.StatusCode)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}

func BenchmarkStream100MiB(b *testing.B) { benchStream(b, 100<<20) }

// Drain lets a running script finish within the grace period, stops one
// that outlives it, and closes an idle host at once.
func TestDrain(t *testing.T) {
	t.Run("idle host closes at once", func(t *testing.T) {
		h := &Host{}
		start := time.Now()
		h.Drain(time.Hour)
		if time.Since(start) > time.Second || !h.isClosed() {
			t.Errorf("Drain of an idle host took %v (closed: %v)", time.Since(start), h.isClosed())
		}
	})
	t.Run("script outliving the grace period is stopped", func(t *testing.T) {
		h := &Host{KillGrace: 100 * time.Millisecond}
		ts := newTestServer(t, h, modeScript(t, "hang"))
		go func() {
			resp, err := ts.Client().Get(ts.URL + "/")
			if err == nil {
				resp.Body.Close()
			}
		}()
		for h.running.Load() == 0 {
			time.Sleep(10 * time.Millisecond)
		}
		start := time.Now()
		h.Drain(300 * time.Millisecond)
		if d := time.Since(start); d < 300*time.Millisecond || d > 5*time.Second {
			t.Errorf("Drain returned after %v, want the 300ms grace plus the kill", d)
		}
		if n := h.running.Load(); n != 0 {
			t.Errorf("%d scripts still running after Drain", n)
		}
		ts.result(t)
	})
}

// A script killed from outside halfway through its body (the OOM killer,
// kill -9) must not look like a complete response: the stream is aborted.
func TestServeKilledMidBodyAborts(t *testing.T) {
	ts := newTestServer(t, &Host{}, modeScript(t, "killed-mid-body"))
	resp, err := ts.Client().Get(ts.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.ReadAll(resp.Body)
	resp.Body.Close()
	if err == nil {
		t.Error("client read a complete body from a script killed mid-body")
	}
	if res := ts.result(t); !errors.Is(res.err, ErrAborted) {
		t.Errorf("got Serve error %v, want ErrAborted", res.err)
	}
}

// A local redirect from a script that closed stdout and works on is
// returned at once, not when the script exits.
func TestServeLocalRedirectDoesNotWaitForScript(t *testing.T) {
	h := &Host{KillGrace: 100 * time.Millisecond}
	ts := newTestServer(t, h, modeScript(t, "redirect-then-hang"))
	start := time.Now()
	resp, body := get(t, ts, "/")
	if resp.StatusCode != 200 || body != "local redirect to /elsewhere" || time.Since(start) > 5*time.Second {
		t.Errorf("got %d %q after %v, want the local redirect at once", resp.StatusCode, body, time.Since(start))
	}
	ts.result(t)
}

// Drain also waits for a request that is still spooling its chunked body,
// not only for running scripts: the body arrives whole after Drain began.
func TestDrainWaitsForSpoolingRequest(t *testing.T) {
	h := &Host{}
	ts := newTestServer(t, h, modeScript(t, "echo"))
	pr, pw := io.Pipe()
	t.Cleanup(func() { pw.Close() }) // before the server's cleanup waits for the handler
	done := make(chan string, 1)
	go func() {
		req, _ := http.NewRequest("POST", ts.URL+"/", pr)
		req.ContentLength = -1
		resp, err := ts.Client().Do(req)
		if err != nil {
			done <- err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		done <- fmt.Sprintf("%d %s", resp.StatusCode, b)
	}()
	_, _ = io.WriteString(pw, "first half ")
	for h.active.Load() == 0 {
		time.Sleep(10 * time.Millisecond)
	}
	drained := make(chan struct{})
	go func() {
		h.Drain(10 * time.Second)
		close(drained)
	}()
	// Twice the quiet spell after which Drain closes a host it sees idle:
	// a Drain that missed the spooling request would have closed by now.
	time.Sleep(2 * drainQuiet * drainPoll)
	select {
	case <-drained:
		t.Fatal("Drain returned while a request was still spooling its body")
	default:
	}
	_, _ = io.WriteString(pw, "second half")
	pw.Close()
	if got := <-done; !strings.HasSuffix(got, "first half second half") || !strings.HasPrefix(got, "200 ") {
		t.Errorf("request across Drain got %q", got)
	}
	<-drained
}

// A descriptor the server inherited without FD_CLOEXEC (a shell's
// "exec 7<secret") must not reach scripts, which run as another user.
func TestServeDoesNotLeakInheritedDescriptors(t *testing.T) {
	secret := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secret, []byte("root only"), 0o600); err != nil {
		t.Fatal(err)
	}
	fd, err := syscall.Open(secret, syscall.O_RDONLY, 0) // no O_CLOEXEC
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fd)
	exe := testExe(t)
	ts := newTestServer(t, &Host{}, func(r *http.Request, env []string) *Script {
		return &Script{Path: exe, Env: append(env, scriptModeEnv+"=fds", noRaceExitSleep)}
	})
	_, body := get(t, ts, "/")
	if strings.Contains(body, secret) {
		t.Errorf("script inherited the server's descriptor %d -> %s:\n%s", fd, secret, body)
	}
}

// A chunked upload that stalls while it is spooled is cut at Timeout (408),
// so a trickling client cannot hold its spool for ever.
func TestServeSpoolingHonoursTimeout(t *testing.T) {
	ts := newTestServer(t, &Host{Timeout: 300 * time.Millisecond}, modeScript(t, "echo"))
	pr, pw := io.Pipe()
	defer pw.Close()
	go func() { _, _ = io.WriteString(pw, "a start, and then nothing") }()
	req := mustRequest(t, "POST", ts.URL+"/", pr)
	req.ContentLength = -1
	start := time.Now()
	resp, err := ts.Client().Do(req)
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestTimeout {
			t.Errorf("got status %d, want 408", resp.StatusCode)
		}
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("stalled upload held the request for %v", d)
	}
	if res := ts.result(t); res.err == nil {
		t.Error("Serve accepted a stalled upload")
	}
}
