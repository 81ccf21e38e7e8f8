//go:build linux

package cgihost

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pyhttp/caddy-pyhttp/internal/proctest"
	"github.com/pyhttp/caddy-pyhttp/internal/testenv"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// helperEnv makes the test binary a server for tests that need one in
// another process (as PID 1, or as another user): it serves the scripts
// in the directory named by the variable on a loopback port it prints.
const helperEnv = "CGIHOST_TEST_HELPER_DIR"

// runHelper serves /<name> by running <dir>/<name>, and /zombies by
// counting its zombie children.
func runHelper(dir string) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	logger := zap.New(zapcore.NewCore(zapcore.NewConsoleEncoder(zap.NewDevelopmentEncoderConfig()), os.Stderr, zapcore.WarnLevel))
	h := &Host{Logger: logger, KillGrace: 200 * time.Millisecond}
	fmt.Println(ln.Addr().String())
	err = http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/zombies" {
			fmt.Fprint(w, ownZombies())
			return
		}
		env, _ := BuildEnv(r, &EnvConfig{ScriptName: r.URL.Path, DocumentRoot: dir})
		_, err := h.Serve(w, r, &Script{Path: filepath.Join(dir, filepath.Base(r.URL.Path)), Env: env})
		if he, ok := err.(*Error); ok {
			http.Error(w, he.Err.Error(), he.Status)
		}
	}))
	fmt.Fprintln(os.Stderr, err)
	return 1
}

// ownZombies counts zombie children of this process. As PID 1 of a pid
// namespace, os.Getpid is 1 while /proc shows the outer pids, so children
// are found through /proc/self.
func ownZombies() int {
	n := 0
	tasks, _ := os.ReadDir("/proc/self/task")
	for _, task := range tasks {
		b, _ := os.ReadFile("/proc/self/task/" + task.Name() + "/children")
		for f := range strings.FieldsSeq(string(b)) {
			if state, _, ok := procStat("/proc/" + f + "/stat"); ok && state == 'Z' {
				n++
			}
		}
	}
	return n
}

// scriptDir writes the given scripts into a 0755 directory.
func scriptDir(t *testing.T, scripts map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	// The parent too: t.TempDir's is 0700, and the scripts may run as nobody.
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for name, body := range scripts {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// startHelper runs the test binary as a helper server through cmd (whose
// Path and Args the caller set) and returns its base URL.
func startHelper(t *testing.T, cmd *exec.Cmd, dir string) string {
	t.Helper()
	cmd.Env = append(os.Environ(), helperEnv+"="+dir, noRaceExitSleep)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("helper printed no address: %v", err)
	}
	return "http://" + strings.TrimSpace(line)
}

func httpGet(t *testing.T, url string, timeout time.Duration) (int, string) {
	t.Helper()
	c := &http.Client{Timeout: timeout}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// requireCgroup skips (or fails under PYHTTP_REQUIRE_ALL) when scripts get
// no cgroup of their own here.
func requireCgroup(t *testing.T) {
	t.Helper()
	harden(zap.NewNop())
	if hardening.cgroup == "" {
		if os.Getenv("PYHTTP_REQUIRE_ALL") == "1" {
			t.Fatal("no writable cgroup2 hierarchy, needed for this test")
		}
		t.Skip("no writable cgroup2 hierarchy: containment of session escapes needs one")
	}
}

// Finding 2 of issue 7: as PID 1 (a container), orphans of scripts are
// reparented to the server; without a reaper 40 requests to a script doing
// "sleep 30 &" and 20 abandoned requests left 60 zombies.
func TestContainNoZombiesAsPID1(t *testing.T) {
	harden(zap.NewNop())
	unshare := testenv.Require(t, "unshare")
	dir := scriptDir(t, map[string]string{
		"bg.sh":   "#!/bin/sh\nsleep 30 &\nprintf 'Content-Type: text/plain\\r\\n\\r\\nok'\n",
		"hang.sh": "#!/bin/sh\nsleep 30 &\nsleep 30\n",
	})
	cmd := exec.Command(unshare, "--pid", "--fork", "--kill-child", "--mount-proc", testExe(t), "-test.run=^$")
	base := startHelper(t, cmd, dir)
	for range 40 {
		if code, body := httpGet(t, base+"/bg.sh", 10*time.Second); code != 200 || body != "ok" {
			t.Fatalf("got %d %q, want 200 ok", code, body)
		}
	}
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, "GET", base+"/hang.sh", nil)
			if resp, err := http.DefaultClient.Do(req); err == nil {
				resp.Body.Close()
			}
		})
	}
	wg.Wait()
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, body := httpGet(t, base+"/zombies", 5*time.Second)
		if body == "0" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("got %s zombie children of the PID 1 server, want 0", body)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Finding 4 of issue 7: a script running as the server's own user could
// read /proc/$PPID/environ, take the server's sockets with pidfd_getfd and
// kept the server's ambient capabilities.
func TestContainSameUserScript(t *testing.T) {
	python := testenv.Require(t, "/usr/bin/python3")
	dir := scriptDir(t, map[string]string{"probe.py": "#!" + python + `
import ctypes, os
print("Content-Type: text/plain\r\n\r\n", end="")
ppid = os.getppid()
try:
    open("/proc/%d/environ" % ppid, "rb").read()
    print("environ=readable")
except OSError as e:
    print("environ=denied")
libc = ctypes.CDLL(None, use_errno=True)
fd = libc.syscall(434, ppid, 0)  # pidfd_open
got = libc.syscall(438, fd, 3, 0) if fd >= 0 else -1  # pidfd_getfd of fd 3
print("getfd=" + ("ok" if got >= 0 else "denied"))
for line in open("/proc/self/status"):
    if line.startswith(("CapAmb", "CapInh")):
        k, v = line.split(":")
        print(k + "=" + v.strip())
`})
	cmd := exec.Command(testExe(t), "-test.run=^$")
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Credential:  &syscall.Credential{Uid: 65534, Gid: 65534},
		AmbientCaps: []uintptr{10 /* CAP_NET_BIND_SERVICE */},
	}
	cmd.Env = append(cmd.Env, "SECRET_TOKEN=hunter2")
	base := startHelper(t, cmd, dir)
	code, body := httpGet(t, base+"/probe.py", 10*time.Second)
	if code != 200 {
		t.Fatalf("got %d %q, want 200", code, body)
	}
	for _, want := range []string{"environ=denied", "getfd=denied", "CapAmb=0000000000000000", "CapInh=0000000000000000"} {
		if !strings.Contains(body, want+"\n") {
			t.Errorf("got %q, want it to contain %q", body, want)
		}
	}
}

// Finding 6 of issue 7: a leader that moves into its parent's process group
// and ignores SIGTERM, and a background child in its own group trickling
// output, outlived timeout and held their max_procs slot.
func TestContainTimeoutEscapes(t *testing.T) {
	python := testenv.Require(t, "/usr/bin/python3")
	pidDir := t.TempDir()
	dir := scriptDir(t, map[string]string{
		"leader.py": "#!" + python + `
import os, signal, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
open("` + pidDir + `/leader", "w").write(str(os.getpid()))
try:
    os.setpgid(0, os.getpgid(os.getppid()))
except OSError:
    pass
time.sleep(60)
`,
		"hello.sh": "#!/bin/sh\nprintf 'Content-Type: text/plain\\r\\n\\r\\nhello'\n",
		"trickle.sh": "#!/bin/sh\nprintf 'Content-Type: text/plain\\r\\n\\r\\n'\n" + python + ` -c '
import os, sys, time
os.setpgid(0, 0)
open("` + pidDir + `/trickle", "w").write(str(os.getpid()))
for _ in range(2000):
    sys.stdout.write("x"); sys.stdout.flush(); time.sleep(0.05)
' &
sleep 0.2
`,
	})
	const timeout, grace = time.Second, 500 * time.Millisecond
	h := &Host{Timeout: timeout, KillGrace: grace, MaxProcs: 1, QueueTimeout: 2 * time.Second}
	ts := newTestServer(t, h, func(r *http.Request, env []string) *Script {
		return &Script{Path: filepath.Join(dir, filepath.Base(r.URL.Path)), Env: env}
	})
	t.Cleanup(func() {
		for _, f := range []string{"leader", "trickle"} {
			if b, err := os.ReadFile(filepath.Join(pidDir, f)); err == nil {
				if pid, _ := strconv.Atoi(string(b)); pid > 0 {
					_ = syscall.Kill(pid, syscall.SIGKILL)
				}
			}
		}
	})
	for _, name := range []string{"leader.py", "trickle.sh"} {
		t.Run(name, func(t *testing.T) {
			start := time.Now()
			c := &http.Client{Timeout: timeout + grace + 3*time.Second}
			resp, err := c.Get(ts.URL + "/" + name)
			if err == nil {
				_, err = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			if elapsed := time.Since(start); elapsed > timeout+grace+time.Second {
				t.Errorf("got the response after %v (err %v), want it within timeout + grace", elapsed, err)
			}
			// The slot is free again: another script gets it at once.
			if resp, body := get(t, ts, "/hello.sh"); resp.StatusCode != 200 {
				t.Errorf("got %d %q after the escape, want 200 from a free slot", resp.StatusCode, body)
			}
		})
	}
}

// Containment (issue 7): whatever a script does with sessions and groups,
// nothing it started runs once its request has ended. Before per-script
// cgroups, the setsid and setpgid escapes survived.
func TestContainNothingOutlivesRequest(t *testing.T) {
	requireCgroup(t)
	python := testenv.Require(t, "/usr/bin/python3")
	setsid := testenv.Require(t, "setsid")
	pidDir := t.TempDir()
	head := "#!/bin/sh\nprintf 'Content-Type: text/plain\\r\\n\\r\\nok'\n"
	dir := scriptDir(t, map[string]string{
		"setsid.sh":     head + setsid + " sleep 60 >/dev/null 2>&1 </dev/null &\necho $! > " + pidDir + "/setsid.sh\n",
		"doublefork.sh": head + "(sleep 60 >/dev/null 2>&1 </dev/null & echo $! > " + pidDir + "/doublefork.sh)\n",
		"setpgid.sh": head + python + ` -c '
import os, time
os.setpgid(0, 0)
f = "` + pidDir + `/setpgid.sh"
if os.fork() == 0:
    os.setsid()
    open(f + ".tmp", "w").write(str(os.getpid()))
    os.rename(f + ".tmp", f)
    time.sleep(60)
while not os.path.exists(f):
    time.sleep(0.005)
' >/dev/null 2>&1 </dev/null
`,
	})
	ts := newTestServer(t, &Host{}, func(r *http.Request, env []string) *Script {
		return &Script{Path: filepath.Join(dir, filepath.Base(r.URL.Path)), Env: env}
	})
	for _, name := range []string{"setsid.sh", "doublefork.sh", "setpgid.sh"} {
		t.Run(name, func(t *testing.T) {
			resp, body := get(t, ts, "/"+name)
			if resp.StatusCode != 200 || body != "ok" {
				t.Fatalf("got %d %q, want 200 ok", resp.StatusCode, body)
			}
			b, err := os.ReadFile(filepath.Join(pidDir, name))
			if err != nil {
				t.Fatalf("the script left no pid: %v", err)
			}
			pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
			t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGKILL) })
			if !proctest.Gone(pid) {
				t.Errorf("got pid %d still running after its request ended, want it gone", pid)
			}
		})
	}
}

// BenchmarkScriptCgroup is the per-script cost of the cgroup alone when
// nothing outlives the script: taking one from the pool, seeing it empty and
// giving it back (the first iteration creates it).
func BenchmarkScriptCgroup(b *testing.B) {
	harden(zap.NewNop())
	if hardening.cgroup == "" {
		b.Skip("no writable cgroup2 hierarchy")
	}
	for b.Loop() {
		cg := newScriptCgroup(zap.NewNop())
		if cg == nil {
			b.Fatal("no cgroup")
		}
		if !cg.empty() {
			b.Fatal("a fresh cgroup is populated")
		}
		cg.release(zap.NewNop())
	}
}

// The cgroup pool hands an emptied cgroup out again, but never one that was
// killed: on Linux 6.18 every child later cloned into a killed cgroup is
// killed at once, which turned every request after a script that left a
// background process into a 502.
func TestCgroupPoolReusesOnlyUnkilled(t *testing.T) {
	requireCgroup(t)
	log := zap.NewNop()
	c1 := newScriptCgroup(log)
	if c1 == nil {
		t.Fatal("no cgroup")
	}
	c1.release(log)
	c2 := newScriptCgroup(log)
	if c2 != c1 {
		t.Errorf("got cgroup %s after releasing %s, want it reused", c2.dir, c1.dir)
	}
	c2.kill()
	c2.release(log)
	if _, err := os.Stat(c2.dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("got %v for the killed cgroup %s, want it removed", err, c2.dir)
	}
	c3 := newScriptCgroup(log)
	defer c3.release(log)
	if c3 == c2 || c3.dir == c2.dir {
		t.Errorf("got the killed cgroup %s back, want a new one", c3.dir)
	}
	if c3.populated() {
		t.Errorf("got a populated cgroup from the pool")
	}
}
