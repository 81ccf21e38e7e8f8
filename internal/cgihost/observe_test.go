//go:build unix

package cgihost

import (
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// recorder is an Observer that keeps the events it gets.
type recorder struct {
	mu     sync.Mutex
	events []string
	exits  []Exit
	pids   []int
}

func (o *recorder) add(ev string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.events = append(o.events, ev)
}
func (o *recorder) Queued(*http.Request)                  { o.add("queued") }
func (o *recorder) Dequeued(*http.Request, time.Duration) { o.add("dequeued") }
func (o *recorder) Refused(_ *http.Request, why Refusal)  { o.add("refused " + string(why)) }
func (o *recorder) Started(_ *http.Request, pid int) {
	o.add("started")
	o.mu.Lock()
	o.pids = append(o.pids, pid)
	o.mu.Unlock()
}
func (o *recorder) Finished(_ *http.Request, e *Exit) {
	o.add("finished " + string(e.Outcome))
	o.mu.Lock()
	o.exits = append(o.exits, *e)
	o.mu.Unlock()
}

// The Observer gets Started and then exactly one Finished per script, on
// Serve's goroutine (before Serve returns), with the pid, the outcome and
// the bytes the script read and wrote; a script that cannot be started
// gets a Finished with OutcomeExecFailure alone, and a body over the limit
// a refusal.
func TestObserverEvents(t *testing.T) {
	hello, echo := fixture(t, "hello.sh"), fixture(t, "echo.py")
	obs := &recorder{}
	h := &Host{Observer: obs, MaxRequestBody: 4}
	ts := newTestServer(t, h, func(r *http.Request, env []string) *Script {
		switch r.URL.Path {
		case "/hello":
			return &Script{Path: hello, Env: env}
		case "/echo":
			return &Script{Path: echo, Env: env}
		}
		return &Script{Path: filepath.Join(t.TempDir(), "missing"), Env: env}
	})
	if resp, body := do(t, ts, mustRequest(t, "GET", ts.URL+"/hello", nil)); resp.StatusCode != 200 || string(body) != "hello\n" {
		t.Fatalf("hello: %d %q", resp.StatusCode, body)
	}
	if resp, body := do(t, ts, mustRequest(t, "POST", ts.URL+"/echo", strings.NewReader("abc"))); resp.StatusCode != 200 || string(body) != "argv=[]\nabc" {
		t.Fatalf("echo: %d %q", resp.StatusCode, body)
	}
	if resp, _ := do(t, ts, mustRequest(t, "GET", ts.URL+"/missing", nil)); resp.StatusCode != http.StatusBadGateway {
		t.Fatalf("missing: %d, want 502", resp.StatusCode)
	}
	chunked := mustRequest(t, "POST", ts.URL+"/echo", strings.NewReader("0123456789"))
	chunked.ContentLength = -1
	if resp, _ := do(t, ts, chunked); resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("large chunked body: %d, want 413", resp.StatusCode)
	}

	obs.mu.Lock()
	defer obs.mu.Unlock()
	want := []string{"started", "finished ok", "started", "finished ok", "finished exec_failure", "refused body"}
	if strings.Join(obs.events, ", ") != strings.Join(want, ", ") {
		t.Fatalf("events %q, want %q", obs.events, want)
	}
	for i, e := range obs.exits[:2] {
		if e.PID != obs.pids[i] || e.PID <= 0 || e.Code != 0 || e.Detached || e.Duration <= 0 {
			t.Errorf("exit %d: %+v (started pid %d)", i, e, obs.pids[i])
		}
	}
	if e := obs.exits[0]; e.BytesIn != 0 || e.BytesOut != 6 {
		t.Errorf("hello: bytes in %d out %d, want 0 and 6", e.BytesIn, e.BytesOut)
	}
	if e := obs.exits[1]; e.BytesIn != 3 || e.BytesOut != int64(len("argv=[]\nabc")) {
		t.Errorf("echo: bytes in %d out %d, want 3 and %d", e.BytesIn, e.BytesOut, len("argv=[]\nabc"))
	}
	if e := obs.exits[2]; e.PID != 0 || e.Code != -1 {
		t.Errorf("exec failure: %+v", e)
	}
}
