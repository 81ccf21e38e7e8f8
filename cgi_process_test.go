package pyhttp

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pyhttp/caddy-pyhttp/internal/proctest"
)

// The process-control rules of pyhttp_cgi, through the real in-process
// Caddy: internal/cgihost tests each rule in depth against plain net/http;
// these prove they hold behind Caddy's own request and response wrappers.

// processTree is cgiTree plus the scripts these tests use.
func processTree(t *testing.T) string {
	t.Helper()
	root := cgiTree(t)
	chmodAll(t, root, 0o755, "cgi-bin/echo.py", "cgi-bin/pids.sh", "cgi-bin/count.sh", "cgi-bin/big.sh")
	return root
}

// A 10 MiB body is fed to a script that echoes it while reading: the
// server pumps stdin and stdout at once and buffers neither whole.
func TestCGIEchoesTenMiBWhileReading(t *testing.T) {
	root := processTree(t)
	cgiSite(t, root, "", "")
	body := make([]byte, 10<<20)
	if _, err := rand.Read(body); err != nil {
		t.Fatal(err)
	}
	resp, got := do(t, "POST", cgiURL("/cgi-bin/echo.py"), bytes.NewReader(body), "Content-Type", "application/octet-stream")
	if resp.StatusCode != 200 || !bytes.Equal(got, body) {
		t.Fatalf("got %d with %d bytes (equal: %v), want 200 and the 10 MiB body back", resp.StatusCode, len(got), bytes.Equal(got, body))
	}
}

// A chunked upload (no Content-Length) reaches the script whole, with
// CONTENT_LENGTH set from the spooled body.
func TestCGIChunkedUpload(t *testing.T) {
	root := processTree(t)
	cgiSite(t, root, "", "")
	payload := strings.Repeat("chunked upload\n", 100000) // 1.5 MB: past the in-memory spool
	pr, pw := io.Pipe()
	go func() {
		for i := 0; i < len(payload); i += 4096 {
			if _, err := io.WriteString(pw, payload[i:min(i+4096, len(payload))]); err != nil {
				return
			}
		}
		pw.Close()
	}()
	req, err := http.NewRequest("POST", cgiURL("/cgi-bin/echo.py"), pr)
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = -1 // chunked
	resp, err := noRedirectClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || string(got) != payload {
		t.Fatalf("got %d with %d bytes, want 200 and the %d-byte upload back", resp.StatusCode, len(got), len(payload))
	}
}

// A chunked upload over max_request_body is refused with 413 before any
// script runs.
func TestCGIChunkedUploadTooLarge(t *testing.T) {
	root := processTree(t)
	cgiSite(t, root, "max_request_body 1KiB", "")
	// The whole request is written before the answer is read: a client
	// still writing when the server answers 413 and closes may get EPIPE
	// instead of the response (Go's transport does, now and then).
	conn, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", cgiPort))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	body := strings.Repeat("x", 4096)
	if _, err := fmt.Fprintf(conn, "POST /cgi-bin/echo.py HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n%x\r\n%s\r\n0\r\n\r\n", len(body), body); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("status = %d, want 413", resp.StatusCode)
	}
}

// When the client goes away mid-response, the script and the child it
// started in the background are gone within a second.
func TestCGIClientDisconnectKillsProcessGroup(t *testing.T) {
	root := processTree(t)
	cgiSite(t, root, "", "")
	resp, err := http.Get(cgiURL("/cgi-bin/pids.sh"))
	if err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(resp.Body).ReadString('\n')
	if err != nil {
		t.Fatalf("reading the pids: %v", err)
	}
	var script, child int
	if _, err := fmt.Sscanf(line, "%d %d", &script, &child); err != nil {
		t.Fatalf("got %q, want two pids", line)
	}
	resp.Body.Close() // the connection goes with it: the transport cannot reuse a half-read body
	http.DefaultTransport.(*http.Transport).CloseIdleConnections()
	for _, pid := range []int{script, child} {
		proctest.WaitGone(t, pid, time.Second)
	}
}

// With max_procs 4, 50 concurrent requests never have more than 4 scripts
// running at once; the rest wait for a slot or get 503 with Retry-After.
func TestCGIMaxProcsCapsConcurrency(t *testing.T) {
	root := processTree(t)
	countDir := publicTempDir(t)
	if err := os.Chmod(countDir, 0o1777); err != nil { // scripts run as nobody under root
		t.Fatal(err)
	}
	cgiSite(t, root, "max_procs 4\n\t\t\tqueue_timeout 1s\n\t\t\tenv COUNT_DIR "+countDir, "")
	var (
		wg       sync.WaitGroup
		maxSeen  atomic.Int64
		ok, busy atomic.Int64
	)
	for range 50 {
		wg.Go(func() {
			resp, err := noRedirectClient.Get(cgiURL("/cgi-bin/count.sh"))
			if err != nil {
				t.Error(err)
				return
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			switch resp.StatusCode {
			case 200:
				ok.Add(1)
				n, err := strconv.ParseInt(strings.TrimSpace(string(body)), 10, 64)
				if err != nil {
					t.Errorf("count.sh said %q", body)
					return
				}
				for old := maxSeen.Load(); n > old && !maxSeen.CompareAndSwap(old, n); old = maxSeen.Load() {
				}
			case 503:
				busy.Add(1)
				if resp.Header.Get("Retry-After") == "" {
					t.Error("503 without Retry-After")
				}
			default:
				t.Errorf("status %d: %s", resp.StatusCode, body)
			}
		})
	}
	wg.Wait()
	if maxSeen.Load() > 4 {
		t.Errorf("up to %d scripts ran at once, want at most 4", maxSeen.Load())
	}
	if ok.Load() == 0 || ok.Load()+busy.Load() != 50 {
		t.Errorf("got %d OK and %d busy of 50", ok.Load(), busy.Load())
	}
}

// 100 MiB of script output streams through Caddy without the server's
// heap growing with it.
func TestCGIStreamsHundredMiBFlat(t *testing.T) {
	root := processTree(t)
	cgiSite(t, root, "", "")
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	var peak atomic.Uint64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		var m runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			runtime.ReadMemStats(&m)
			if m.HeapInuse > peak.Load() {
				peak.Store(m.HeapInuse)
			}
		}
	}()
	resp, err := noRedirectClient.Get(cgiURL("/cgi-bin/big.sh"))
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	close(stop)
	<-sampled
	if err != nil || n != 100<<20 {
		t.Fatalf("got %d bytes (%v), want 100 MiB", n, err)
	}
	if growth := int64(peak.Load()) - int64(before.HeapInuse); growth > 32<<20 {
		t.Errorf("heap grew by %d MiB while streaming 100 MiB", growth>>20)
	}
}

// reloadConfig is a full config for the reload tests: the CGI site with
// the given grace period and a marker that makes each load a new config.
func reloadConfig(root, grace, marker string) string {
	return fmt.Sprintf(`{
	admin unix/%s
	http_port %d
	https_port %d
	grace_period %s
	skip_install_trust
	auto_https off
}
http://:%d {
	root * %s
	route {
		pyhttp_cgi {
			kill_grace 100ms
			env CONFIG_MARKER %s
		}
		respond %q
	}
}
`, adminSocket, simplePort, 9443+portOffset, grace, cgiPort, root, marker, marker)
}

// startReloadable loads the reload test's config with the given grace
// period and returns a function that loads it again with another marker,
// which Caddy treats as a new config: a reload.
func startReloadable(t *testing.T, root, grace string) (reload func(marker string)) {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test")
	}
	if err := loadCaddyfile(reloadConfig(root, grace, "first")); err != nil {
		t.Fatalf("loading the config: %v", err)
	}
	return func(marker string) {
		if err := loadCaddyfile(reloadConfig(root, grace, marker)); err != nil {
			t.Errorf("reloading the config: %v", err)
		}
	}
}

// A config reload lets a script started under the old config finish within
// Caddy's grace period: its client gets the whole response, written by the
// old config's script, while new requests already get the new config.
func TestCGIReloadLetsScriptsFinishWithinGrace(t *testing.T) {
	root := processTree(t)
	chmodAll(t, root, 0o755, "cgi-bin/reload.sh")
	reload := startReloadable(t, root, "5s")
	resp, err := noRedirectClient.Get(cgiURL("/cgi-bin/reload.sh"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	// The script streamed its first line: it runs under the old config.
	if line, err := br.ReadString('\n'); err != nil || line != "started first\n" {
		t.Fatalf("first line: got %q (%v), want %q", line, err, "started first\n")
	}
	reload("second")
	late, err := noRedirectClient.Get(cgiURL("/cgi-bin/reload.sh"))
	if err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(late.Body).ReadString('\n')
	late.Body.Close()
	if err != nil || line != "started second\n" {
		t.Fatalf("request after the reload: got %q (%v), want the new config's %q", line, err, "started second\n")
	}
	rest, err := io.ReadAll(br)
	if err != nil || resp.StatusCode != 200 || string(rest) != "done first\n" {
		t.Errorf("in-flight request across the reload: got %d, rest %q (%v), want 200 and %q", resp.StatusCode, rest, err, "done first\n")
	}
}

// A script still running when the grace period of a reload ends is
// stopped, with its process group, by the old handler's Cleanup.
func TestCGIReloadKillsScriptsAfterGrace(t *testing.T) {
	root := processTree(t)
	reload := startReloadable(t, root, "500ms")
	resp, err := http.Get(cgiURL("/cgi-bin/pids.sh"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	line, err := bufio.NewReader(resp.Body).ReadString('\n')
	if err != nil {
		t.Fatalf("reading the pids: %v", err)
	}
	var script, child int
	if _, err := fmt.Sscanf(line, "%d %d", &script, &child); err != nil {
		t.Fatalf("got %q, want two pids", line)
	}
	reload("second")
	for _, pid := range []int{script, child} {
		proctest.WaitGone(t, pid, 5*time.Second)
	}
}
