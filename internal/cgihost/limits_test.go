//go:build linux

package cgihost

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/pyhttp/caddy-pyhttp/internal/testenv"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

// Every limit is in force from the script's first instruction, and a limit
// hit gives the documented status and log line (SECURITY.md, "Resource
// limits"): cpu and file_size kill the script (502 before the header, with
// limit=cpu or limit=file_size in "cgi script failed before its header
// block"); memory, files and processes make the call fail and the script
// decides.
func TestLimits(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to run scripts as nobody (limits do not bind root)")
	}
	python := testenv.Require(t, "/usr/bin/python3")
	harden(zap.NewNop())
	exe := hardening.exe
	hardening.exe = testExe(t) // the shim must be executable by nobody
	t.Cleanup(func() { hardening.exe = exe })
	out := t.TempDir()
	if err := os.Chmod(out, 0o777); err != nil {
		t.Fatal(err)
	}
	py := "#!" + python + "\nimport os, sys\n"
	ok := "print('Content-Type: text/plain\\r\\n\\r\\n', end='')\n"
	dir := scriptDir(t, map[string]string{
		"limits.py": py + ok + "print(open('/proc/self/limits').read())\n",
		"cpu.py":    py + "while True: pass\n",
		// Python ignores SIGXFSZ by default (a write fails with EFBIG).
		"fsize.py": py + "import signal\nsignal.signal(signal.SIGXFSZ, signal.SIG_DFL)\nopen('" + out + "/big', 'wb').write(bytes(3000000))\n",
		"mem.py":   py + "x = bytearray(512 << 20)\n" + ok,
		"files.py": py + ok + `
fds = []
try:
    for _ in range(100): fds.append(os.open("/dev/null", os.O_RDONLY))
    print("opened all")
except OSError as e:
    print("EMFILE" if e.errno == 24 else e)
`,
		"procs.py": py + ok + `
try:
    pid = os.fork()
    if pid == 0: os._exit(0)
    os.waitpid(pid, 0)
    print("forked")
except OSError as e:
    print("EAGAIN" if e.errno == 11 else e)
`,
	})
	h := &Host{
		Credential: &syscall.Credential{Uid: 65534, Gid: 65534},
		Limits:     &Limits{CPU: 1, Memory: 256 << 20, Processes: 1, Files: 32, FileSize: 1 << 20},
	}
	ts := newTestServer(t, h, func(r *http.Request, env []string) *Script {
		return &Script{Path: filepath.Join(dir, filepath.Base(r.URL.Path)), Env: env}
	})
	t.Run("applied", func(t *testing.T) {
		resp, body := get(t, ts, "/limits.py")
		if resp.StatusCode != 200 {
			t.Fatalf("got %d %q, want 200", resp.StatusCode, body)
		}
		for _, want := range [][]string{
			{"Max cpu time", "1", "2"},
			{"Max file size", "1048576", "1048576"},
			{"Max processes", "1", "1"},
			{"Max open files", "32", "32"},
			{"Max address space", "268435456", "268435456"},
		} {
			found := false
			for line := range strings.SplitSeq(body, "\n") {
				if f := strings.Fields(strings.TrimPrefix(line, want[0])); strings.HasPrefix(line, want[0]) && len(f) >= 2 {
					found = f[0] == want[1] && f[1] == want[2]
				}
			}
			if !found {
				t.Errorf("got limits\n%s\nwant %q soft %s hard %s", body, want[0], want[1], want[2])
			}
		}
	})
	for _, tt := range []struct{ script, limit string }{{"cpu.py", "cpu"}, {"fsize.py", "file_size"}} {
		t.Run(tt.limit, func(t *testing.T) {
			resp, body := get(t, ts, "/"+tt.script)
			if resp.StatusCode != 502 {
				t.Errorf("got %d %q, want 502", resp.StatusCode, body)
			}
			entries := ts.logs.FilterMessage("cgi script failed before its header block").FilterField(zap.String("limit", tt.limit)).TakeAll()
			if len(entries) != 1 {
				t.Errorf("got %d log lines with limit=%s, want 1; all: %v", len(entries), tt.limit, ts.logs.All())
			}
		})
	}
	t.Run("memory", func(t *testing.T) {
		resp, body := get(t, ts, "/mem.py")
		if resp.StatusCode != 502 {
			t.Errorf("got %d %q, want 502", resp.StatusCode, body)
		}
		if n := ts.logs.FilterMessage("cgi stderr").FilterFieldKey("line").Filter(func(e observer.LoggedEntry) bool {
			return strings.Contains(e.ContextMap()["line"].(string), "MemoryError")
		}).Len(); n == 0 {
			t.Errorf("got no MemoryError on stderr, want one")
		}
	})
	for _, tt := range []struct{ script, want string }{{"files.py", "EMFILE"}, {"procs.py", "EAGAIN"}} {
		t.Run(tt.want, func(t *testing.T) {
			resp, body := get(t, ts, "/"+tt.script)
			if resp.StatusCode != 200 || strings.TrimSpace(body) != tt.want {
				t.Errorf("got %d %q, want 200 %s", resp.StatusCode, body, tt.want)
			}
		})
	}
}

// BenchmarkServeHelloLimits is BenchmarkServeHello through the limits
// shim: the price of limits per spawn.
func BenchmarkServeHelloLimits(b *testing.B) {
	harden(zap.NewNop())
	p := fixture(b, "hello.sh")
	ts := newTestServer(b, &Host{Logger: zap.NewNop(), Limits: &Limits{Files: 64}}, func(r *http.Request, env []string) *Script {
		return &Script{Path: p, Env: env}
	})
	client := ts.Client()
	for b.Loop() {
		resp, err := client.Get(ts.URL + "/")
		if err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatalf("got status %d, want 200", resp.StatusCode)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}
