//go:build linux

package cgihost

import (
	"context"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// These tests reproduce finding 5 of issue 7: with max_procs 1, 50 clients
// sending chunked 64 MiB bodies spooled 3.2 GB while one script ran, and one
// HTTP/2 connection did the same with 50 streams.

const (
	spoolClients = 50
	spoolBody    = 64 << 20
)

// blockReader yields n bytes of a fixed block, lazily: 50 bodies of 64 MiB
// cost the test one 64 KiB block.
type blockReader struct{ n int64 }

var spoolBlock = func() []byte {
	b := make([]byte, 64<<10)
	for i := range b {
		b[i] = byte(i * 7)
	}
	return b
}()

func (r *blockReader) Read(p []byte) (int, error) {
	if r.n <= 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(int64(len(p)), r.n)], spoolBlock)
	r.n -= int64(n)
	return n, nil
}

// spoolOnDisk samples, until stop is closed, the bytes held by this
// process's spool files (unlinked, so only /proc/self/fd finds them) and
// returns the largest sum seen: what the disk really held, measured apart
// from the budget's own counter.
func spoolOnDisk(stop <-chan struct{}) <-chan int64 {
	out := make(chan int64, 1)
	go func() {
		var peak int64
		for {
			var sum int64
			entries, _ := os.ReadDir("/proc/self/fd")
			for _, e := range entries {
				p := filepath.Join("/proc/self/fd", e.Name())
				if target, err := os.Readlink(p); err == nil && strings.Contains(target, "cgihost-body-") {
					if fi, err := os.Stat(p); err == nil {
						sum += fi.Size()
					}
				}
			}
			peak = max(peak, sum)
			select {
			case <-stop:
				out <- peak
				return
			case <-time.After(2 * time.Millisecond):
			}
		}
	}()
	return out
}

// spoolServer serves every request with the script of its X-Mode header
// through h, over HTTP/1.1 and unencrypted HTTP/2. Every status it answers
// an upload with is counted in answered: a client whose upload is refused
// mid-body may see a reset before the answer, and the server's count is
// the one that tells what was answered.
func spoolServer(t *testing.T, h *Host, ack string, answered *statusCount) *httptest.Server {
	t.Helper()
	exe := testExe(t)
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		env, err := BuildEnv(r, &EnvConfig{ScriptName: "/cgi", PathInfo: r.URL.Path, DocumentRoot: "/srv"})
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		env = append(env, scriptModeEnv+"="+r.Header.Get("X-Mode"), "CGIHOST_TEST_ACK="+ack, noRaceExitSleep)
		_, err = h.Serve(w, r, &Script{Path: exe, Env: env})
		status := http.StatusOK
		if he, ok := err.(*Error); ok {
			status = he.Status
			http.Error(w, he.Err.Error(), he.Status)
		}
		if r.Method == "POST" {
			answered.add(status)
		}
	}))
	ts.Config.Protocols = new(http.Protocols)
	ts.Config.Protocols.SetHTTP1(true)
	ts.Config.Protocols.SetUnencryptedHTTP2(true)
	ts.Start()
	t.Cleanup(func() {
		h.Close()
		ts.Close()
	})
	return ts
}

// spoolClient returns a client that opens a connection per request over
// HTTP/1.1, or multiplexes every request as a stream of one HTTP/2
// connection, counting the connections it dials.
func spoolClient(h2 bool, dials *atomic.Int64) *http.Client {
	tr := &http.Transport{
		MaxConnsPerHost:     0,
		MaxIdleConnsPerHost: spoolClients,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			dials.Add(1)
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		},
		Protocols: new(http.Protocols),
	}
	if h2 {
		tr.Protocols.SetUnencryptedHTTP2(true)
	} else {
		tr.Protocols.SetHTTP1(true)
	}
	return &http.Client{Transport: tr, Timeout: 2 * time.Minute}
}

// post sends a chunked body of n bytes to the count-stdin script and returns
// the status (0 with the error if the exchange failed) and the body.
func post(c *http.Client, url string, n int64) (int, string, error) {
	req, err := http.NewRequest("POST", url, &blockReader{n: n})
	if err != nil {
		return 0, "", err
	}
	req.ContentLength = -1 // chunked in HTTP/1.1, no content-length in HTTP/2
	req.Header.Set("X-Mode", "count-stdin")
	resp, err := c.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// postMany sends spoolClients bodies of spoolBody bytes at once and counts
// the statuses.
func postMany(t *testing.T, c *http.Client, url string) map[int]int {
	t.Helper()
	var mu sync.Mutex
	statuses := map[int]int{}
	var wg sync.WaitGroup
	for range spoolClients {
		wg.Go(func() {
			status, body, err := post(c, url, spoolBody)
			mu.Lock()
			defer mu.Unlock()
			statuses[status]++
			if err != nil {
				t.Logf("upload: status %d, %v", status, err)
			} else if status == http.StatusOK && !strings.Contains(body, "READ="+strconv.Itoa(spoolBody)+"\n") {
				t.Errorf("script got a truncated body:\n%s", body)
			}
		})
	}
	wg.Wait()
	return statuses
}

// With max_procs 1 and the slot taken, queued uploads must wait without
// spooling: their clients get 503 (queue timeout) and the spool stays empty.
// On the old code (spool, then acquire) the 50 bodies were all spooled.
func TestSpoolQueuedUploadsSpoolNothing(t *testing.T) {
	for _, h2 := range []bool{false, true} {
		t.Run(map[bool]string{false: "http1-50-connections", true: "h2c-50-streams"}[h2], func(t *testing.T) {
			budget := NewSpoolBudget(DefaultSpoolLimit)
			h := &Host{MaxProcs: 1, QueueTimeout: time.Second, Spool: budget}
			ack := filepath.Join(t.TempDir(), "ack")
			var answered statusCount
			ts := spoolServer(t, h, ack, &answered)
			var dials atomic.Int64
			c := spoolClient(h2, &dials)

			held := make(chan string, 1)
			go func() {
				req, _ := http.NewRequest("GET", ts.URL, nil)
				req.Header.Set("X-Mode", "wait-file")
				resp, err := c.Do(req)
				if err != nil {
					held <- err.Error()
					return
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				held <- fmt.Sprintf("%d %s", resp.StatusCode, b)
			}()
			for h.running.Load() == 0 {
				time.Sleep(5 * time.Millisecond)
			}

			stop := make(chan struct{})
			disk := spoolOnDisk(stop)
			statuses := postMany(t, c, ts.URL)
			close(stop)
			onDisk := <-disk
			if err := os.WriteFile(ack, nil, 0o644); err != nil {
				t.Fatal(err)
			}
			if got := <-held; got != "200 released" {
				t.Errorf("slot holder got %q", got)
			}
			t.Logf("client statuses %v, server statuses %v, connections %d, spool peak %d bytes (budget counter), %d bytes on disk (sampled)",
				statuses, answered.get(), dials.Load(), budget.Peak(), onDisk)
			checkStatuses(t, statuses, answered.get(), http.StatusServiceUnavailable)
			if budget.Peak() != 0 || onDisk != 0 {
				t.Errorf("queued uploads spooled %d bytes (%d on disk) while waiting for a slot", budget.Peak(), onDisk)
			}
			if h2 && dials.Load() != 1 {
				t.Errorf("HTTP/2 client dialed %d connections, want 1", dials.Load())
			}
		})
	}
}

// Without a process cap, 50 concurrent chunked 64 MiB bodies must not
// spool more than the budget: the ones that do not fit get 503, the rest
// run, and once they are done the whole budget is free again. A body larger
// than the whole budget is 413.
func TestSpoolBudgetBoundsConcurrentUploads(t *testing.T) {
	for _, h2 := range []bool{false, true} {
		t.Run(map[bool]string{false: "http1-50-connections", true: "h2c-50-streams"}[h2], func(t *testing.T) {
			const limit = 100 << 20
			budget := NewSpoolBudget(limit)
			h := &Host{MaxRequestBody: 1 << 30, Spool: budget}
			var answered statusCount
			ts := spoolServer(t, h, "", &answered)
			var dials atomic.Int64
			c := spoolClient(h2, &dials)
			warmUp(t, c, ts.URL)

			stop := make(chan struct{})
			disk := spoolOnDisk(stop)
			statuses := postMany(t, c, ts.URL)
			close(stop)
			onDisk := <-disk
			t.Logf("client statuses %v, server statuses %v, connections %d, spool peak %d bytes (budget counter), %d bytes on disk (sampled), budget %d",
				statuses, answered.get(), dials.Load(), budget.Peak(), onDisk, int64(limit))
			// The disk sample reads one file after another while others
			// are freed and grow, so it is no snapshot: it may see a freed
			// body and a grown one together. Allow it one memory spool of
			// slack; the budget's own counter is exact.
			if budget.Peak() > limit || onDisk > limit+memorySpool {
				t.Errorf("spooled %d bytes (%d on disk), budget %d", budget.Peak(), onDisk, int64(limit))
			}
			checkStatuses(t, statuses, answered.get(), http.StatusOK, http.StatusServiceUnavailable)
			if answered.get()[http.StatusServiceUnavailable] == 0 {
				t.Errorf("no upload was refused: %v", answered.get())
			}
			if h2 && dials.Load() != 1 {
				t.Errorf("HTTP/2 client dialed %d connections, want 1", dials.Load())
			}
			waitFor(t, func() bool { return budget.InUse() == 0 }, "the budget to be returned")

			// The budget is free again: one more body runs in full.
			if status, body, err := post(c, ts.URL, spoolBody); status != http.StatusOK || !strings.Contains(body, "READ="+strconv.Itoa(spoolBody)+"\n") {
				t.Errorf("upload after the burst: %d %v\n%s", status, err, body)
			}
			// A body larger than the whole budget can never fit: 413.
			if status, _, err := post(c, ts.URL, limit+1); status != http.StatusRequestEntityTooLarge {
				t.Errorf("body over the whole budget: status %d (%v), want 413", status, err)
			}
			waitFor(t, func() bool { return budget.InUse() == 0 }, "the budget to be returned")
		})
	}
}

// statusCount counts statuses from many goroutines.
type statusCount struct {
	mu sync.Mutex
	m  map[int]int
}

func (c *statusCount) add(status int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[int]int{}
	}
	c.m[status]++
}

func (c *statusCount) get() map[int]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.m)
}

// checkStatuses compares what the clients saw with what the server
// answered: every answer must be one of want, and a client may miss its
// answer (status 0, a reset while it was still sending) only when the
// server refused its upload.
func checkStatuses(t *testing.T, client, server map[int]int, want ...int) {
	t.Helper()
	total := 0
	for status, n := range server {
		total += n
		if !slices.Contains(want, status) {
			t.Errorf("server answered %d x %d, want only %v", n, status, want)
		}
	}
	if total != spoolClients {
		t.Errorf("server answered %d uploads, want %d", total, spoolClients)
	}
	for status, n := range client {
		if status != 0 && client[status] > server[status] {
			t.Errorf("clients saw %d x %d, server answered %d", n, status, server[status])
		}
	}
	if client[http.StatusOK] != server[http.StatusOK] {
		t.Errorf("clients saw %d x 200, server answered %d", client[http.StatusOK], server[http.StatusOK])
	}
}

// warmUp makes one request so that an HTTP/2 client has its connection
// before the burst (concurrent first requests would each dial).
func warmUp(t *testing.T, c *http.Client, url string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("X-Mode", "status")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
}

// waitFor polls cond until it holds or 10s passed.
func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
