//go:build linux

package cgihost

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// Finding 11 of issue 7: all scripts ran as nobody, so a script read a
// concurrent request's HTTP_COOKIE from /proc/<pid>/environ. With a UIDPool
// each script has a uid of its own and the read is denied; without one
// (the documented default) it succeeds, which this test also pins down so
// that the load-time warning stays true.
func TestUIDPoolHidesConcurrentEnvironment(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to run scripts under other uids")
	}
	pool, err := NewUIDPool(61000, 61009)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name      string
		host      *Host
		wantFound bool
	}{
		{"shared-nobody", &Host{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}, true},
		{"uid-pool", &Host{UIDPool: pool}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// In a 0755 directory: the victim runs as another uid and
			// must see the file appear.
			ackDir, err := os.MkdirTemp("", "cgihost-uid-")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.RemoveAll(ackDir) })
			if err := os.Chmod(ackDir, 0o755); err != nil {
				t.Fatal(err)
			}
			ack := filepath.Join(ackDir, "ack")
			secret := fmt.Sprintf("session=%s-%d", tc.name, os.Getpid())
			exe := testExe(t)
			ts := newTestServer(t, tc.host, func(r *http.Request, env []string) *Script {
				return &Script{Path: exe, Env: append(env, scriptModeEnv+"="+r.URL.Query().Get("mode"),
					"CGIHOST_TEST_ACK="+ack, "CGIHOST_TEST_WANT="+secret, noRaceExitSleep)}
			})
			// The victim: a request with a session cookie whose script
			// runs until the snoop is done.
			victim := make(chan string, 1)
			go func() {
				req, _ := http.NewRequest("GET", ts.URL+"/?mode=wait-file", nil)
				req.Header.Set("Cookie", secret)
				resp, err := ts.Client().Do(req)
				if err != nil {
					victim <- err.Error()
					return
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				victim <- string(b)
			}()
			waitFor(t, func() bool { return tc.host.running.Load() == 1 }, "the victim script to start")
			_, body := get(t, ts, "/?mode=snoop")
			if err := os.WriteFile(ack, nil, 0o644); err != nil {
				t.Fatal(err)
			}
			if got := <-victim; got != "released" {
				t.Errorf("victim got %q", got)
			}
			t.Logf("snoop: %s", strings.TrimSpace(body))
			if found := strings.Contains(body, "FOUND"); found != tc.wantFound {
				t.Errorf("snooping script found the victim's cookie: %v, want %v\n%s", found, tc.wantFound, body)
			}
		})
	}
}

// Two scripts never share a pool uid, and a uid still owning a process is
// not handed out.
func TestUIDPoolTakeAndLive(t *testing.T) {
	pool, err := NewUIDPool(61010, 61011)
	if err != nil {
		t.Fatal(err)
	}
	a, ok1 := pool.take()
	b, ok2 := pool.take()
	if !ok1 || !ok2 || a == b {
		t.Fatalf("took %d (%v) and %d (%v)", a, ok1, b, ok2)
	}
	if _, ok := pool.take(); ok {
		t.Error("a pool of two handed out a third uid")
	}
	pool.put(a)
	if c, ok := pool.take(); !ok || c != a {
		t.Errorf("after put(%d) took %d (%v)", a, c, ok)
	}
	pool.put(a)
	pool.put(b)
	// A pool overlapping another shares its record of taken uids.
	other, _ := NewUIDPool(61011, 61011)
	x, _ := pool.take()
	y, _ := pool.take()
	if _, ok := other.take(); ok {
		t.Error("an overlapping pool handed out a uid already taken")
	}
	pool.put(x)
	pool.put(y)
	if _, err := NewUIDPool(0, 10); err == nil {
		t.Error("a pool with uid 0 was accepted")
	}
	if os.Geteuid() != 0 {
		return
	}
	// A process running as a pool uid keeps that uid out of the pool.
	live, _ := NewUIDPool(61012, 61012)
	if _, ok := live.take(); !ok {
		t.Fatal("empty pool refused")
	}
	live.put(61012)
	cmd := testCmd(t, 61012)
	if _, ok := live.take(); ok {
		t.Error("a uid with a live process was handed out")
	}
	cmd.Process.Kill()
	cmd.Wait()
	if _, ok := live.take(); !ok {
		t.Error("uid not handed out after its process was gone")
	}
	live.put(61012)
}

// testCmd starts a sleeping process as uid, killed when the test ends.
func testCmd(t *testing.T, uid uint32) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("sleep", "1000")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: uid}}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	return cmd
}
