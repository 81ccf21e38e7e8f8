//go:build linux

package cgihost

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// The load-and-fault test of issue 7: many CGI requests at 64 connections
// with max_procs 8 and faults mixed in (hangs, crashes, scripts killed by a
// signal, partial headers, stdout closed early, 1 GiB of stderr, slow
// stdin, clients leaving mid-upload and mid-download, scripts leaving
// children behind). Every answer must be the one its fault calls for, and
// afterwards no zombie, descriptor, goroutine or spooled byte may be left
// and RSS must be back near where it started. The child subtest repeats it
// with the test binary as PID 1 of a new PID namespace, where orphans are
// re-parented to the server itself. See RELIABILITY.md.
//
// PYHTTP_LOAD_REQUESTS sets the number of requests (default 10,000, or
// 2,000 under -race, which makes every script start several times slower).

const (
	loadConns    = 64
	loadMaxProcs = 8
	loadChildEnv = "PYHTTP_LOAD_CHILD"
	// loadTimeout is the host's Timeout: long enough for 1 GiB of stderr
	// under -race on a loaded 2-core machine, short enough for the hangs.
	loadTimeout = 30 * time.Second
)

// pid1ReapsOrphans says whether the host reaps processes re-parented to it
// when it is PID 1 (issue 7 finding 2, the process-containment work). Until
// it does, the PID 1 run reports the orphans' zombies instead of failing on
// them; everything else it checks as the normal run does. Set it to true
// when the subreaper/reaper is merged.
const pid1ReapsOrphans = true

type loadKind struct {
	name   string
	weight int
	// statuses the server may answer with; a client-side error is allowed
	// only where clientErr says so (the response is aborted on purpose, or
	// the client itself gave up).
	statuses  []int
	clientErr bool
	run       func(ctx context.Context, c *http.Client, url string) (int, error)
}

func loadRequests() int {
	if s := os.Getenv("PYHTTP_LOAD_REQUESTS"); s != "" {
		n, err := strconv.Atoi(s)
		if err == nil && n > 0 {
			return n
		}
	}
	if raceEnabled {
		return 2000
	}
	return 10000
}

func simple(mode string) func(context.Context, *http.Client, string) (int, error) {
	return func(ctx context.Context, c *http.Client, url string) (int, error) {
		req, _ := http.NewRequestWithContext(ctx, "GET", url+"/?mode="+mode, nil)
		return roundTrip(c, req, -1)
	}
}

// roundTrip sends req and reads at most limit bytes of the answer (all of
// it when limit < 0) before closing the body.
func roundTrip(c *http.Client, req *http.Request, limit int64) (int, error) {
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var r io.Reader = resp.Body
	if limit >= 0 {
		r = io.LimitReader(r, limit)
	}
	_, err = io.Copy(io.Discard, r)
	return resp.StatusCode, err
}

// slowReader sends n bytes in 1 KiB pieces a couple of milliseconds apart.
type slowReader struct{ n int }

func (s *slowReader) Read(p []byte) (int, error) {
	if s.n <= 0 {
		return 0, io.EOF
	}
	time.Sleep(2 * time.Millisecond)
	k := min(len(p), 1024, s.n)
	s.n -= k
	return k, nil
}

// stallReader sends 8 KiB and then blocks until ctx ends: a client that
// walks away mid-upload.
type stallReader struct {
	ctx  context.Context
	sent bool
}

func (s *stallReader) Read(p []byte) (int, error) {
	if !s.sent {
		s.sent = true
		return min(len(p), 8<<10), nil
	}
	<-s.ctx.Done()
	return 0, s.ctx.Err()
}

var loadKinds = []loadKind{
	{name: "ok", weight: 42, statuses: []int{404}, run: simple("status")},
	{name: "post-length", weight: 15, statuses: []int{200}, run: func(ctx context.Context, c *http.Client, url string) (int, error) {
		req, _ := http.NewRequestWithContext(ctx, "POST", url+"/?mode=count-stdin", strings.NewReader(strings.Repeat("x", 4096)))
		return roundTrip(c, req, -1)
	}},
	{name: "post-chunked", weight: 10, statuses: []int{200}, run: func(ctx context.Context, c *http.Client, url string) (int, error) {
		req, _ := http.NewRequestWithContext(ctx, "POST", url+"/?mode=count-stdin", onlyReader{strings.NewReader(strings.Repeat("y", 20000))})
		req.ContentLength = -1
		return roundTrip(c, req, -1)
	}},
	{name: "partial-header", weight: 5, statuses: []int{502}, run: simple("malformed")},
	{name: "no-output", weight: 5, statuses: []int{502}, run: simple("silent")},
	{name: "crash", weight: 5, statuses: []int{200}, clientErr: true, run: simple("crash")},
	{name: "killed-by-signal", weight: 5, statuses: []int{200}, clientErr: true, run: simple("killed-mid-body")},
	{name: "orphan", weight: 3, statuses: []int{200}, run: simple("orphan")},
	{name: "slow-stdin", weight: 3, statuses: []int{200}, run: func(ctx context.Context, c *http.Client, url string) (int, error) {
		req, _ := http.NewRequestWithContext(ctx, "POST", url+"/?mode=count-stdin", &slowReader{n: 16 << 10})
		req.ContentLength = 16 << 10
		return roundTrip(c, req, -1)
	}},
	{name: "leave-mid-upload", weight: 3, clientErr: true, run: func(ctx context.Context, c *http.Client, url string) (int, error) {
		ctx, cancel := context.WithTimeout(ctx, 30*time.Millisecond)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "POST", url+"/?mode=count-stdin", &stallReader{ctx: ctx})
		req.ContentLength = 1 << 20
		return roundTrip(c, req, -1)
	}},
	{name: "leave-mid-download", weight: 3, statuses: []int{200}, run: func(ctx context.Context, c *http.Client, url string) (int, error) {
		req, _ := http.NewRequestWithContext(ctx, "GET", url+"/?mode=big", nil)
		return roundTrip(c, req, 64<<10) // then close: the client leaves
	}},
}

// stderrGiB is the 1 GiB-of-stderr fault: a fixed number of requests, not
// a share, as each one moves a GiB through a pipe.
var stderrGiB = loadKind{name: "stderr-1GiB", statuses: []int{200}, run: simple("stderr-gib")}

// hang is a script that never answers, stopped at loadTimeout with 504:
// one request in 1000, as each holds a slot for the whole timeout.
var hang = loadKind{name: "hang", statuses: []int{504}, run: simple("hang")}

// fdCount counts the process's descriptors, less the two each pooled
// cgroup holds on purpose (cgroupPool).
func fdCount() int {
	entries, _ := os.ReadDir("/proc/self/fd")
	hardening.pool.mu.Lock()
	pooled := 2 * len(hardening.pool.free)
	hardening.pool.mu.Unlock()
	return len(entries) - pooled
}

func rssKiB() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

func TestLoadAndFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("load test skipped in -short mode")
	}
	t.Run("server", func(t *testing.T) { loadAndFaults(t) })
	if os.Getenv(loadChildEnv) != "" {
		return
	}
	t.Run("pid1", func(t *testing.T) {
		if os.Geteuid() != 0 {
			t.Skip("a PID namespace needs root")
		}
		unshare, err := exec.LookPath("unshare")
		if err != nil {
			t.Skip("unshare not found")
		}
		exe, _ := os.Executable()
		cmd := exec.Command(unshare, "--pid", "--fork", "--mount-proc", exe,
			"-test.run", "^TestLoadAndFaults$", "-test.v", "-test.timeout", "10m")
		cmd.Env = append(os.Environ(), loadChildEnv+"=1")
		out, err := cmd.CombinedOutput()
		t.Logf("child as PID 1:\n%s", out)
		if err != nil {
			t.Errorf("load test as PID 1 failed: %v", err)
		}
	})
}

func loadAndFaults(t *testing.T) {
	if os.Getenv(loadChildEnv) != "" && os.Getpid() != 1 {
		t.Fatalf("child runs as pid %d, want 1", os.Getpid())
	}
	n := loadRequests()
	// QueueTimeout: 64 connections share 8 slots with hanging scripts among
	// them; on a loaded 2-core machine under -race a queued request may
	// wait longer than the 30 s default, and its 503 is no fault.
	h := &Host{MaxProcs: loadMaxProcs, Timeout: loadTimeout, KillGrace: 200 * time.Millisecond, QueueTimeout: 100 * time.Second, Spool: NewSpoolBudget(64 << 20)}
	ts := newTestServer(t, h, func(r *http.Request, env []string) *Script {
		return &Script{Path: testExe(t), Env: append(env, scriptModeEnv+"="+r.URL.Query().Get("mode"),
			"CGIHOST_TEST_SIZE="+strconv.Itoa(8<<20), noRaceExitSleep)}
	})
	tr := ts.Client().Transport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = loadConns
	c := &http.Client{Transport: tr, Timeout: 2 * time.Minute}

	var plan []loadKind
	for _, k := range loadKinds {
		for range k.weight {
			plan = append(plan, k)
		}
	}
	gib := 2
	if raceEnabled {
		gib = 1
	}

	// Warm up (connections, buffers, the runtime's caches), then measure.
	for range loadConns {
		if status, err := simple("status")(context.Background(), c, ts.URL); status != 404 || err != nil {
			t.Fatalf("warm-up: %d %v", status, err)
		}
	}
	debug.FreeOSMemory()
	fds0, gor0, rss0 := fdCount(), runtime.NumGoroutine(), rssKiB()

	var (
		mu         sync.Mutex
		counts     = map[string]map[string]int{}
		unexpected atomic.Int64
		next       atomic.Int64
		rssPeak    atomic.Int64
	)
	record := func(k loadKind, status int, err error) {
		ok := (status == 0 && k.clientErr) || (status != 0 && (len(k.statuses) == 0 || contains(k.statuses, status)) && (err == nil || k.clientErr))
		key := strconv.Itoa(status)
		if err != nil {
			key += " + client error"
		}
		mu.Lock()
		if counts[k.name] == nil {
			counts[k.name] = map[string]int{}
		}
		counts[k.name][key]++
		mu.Unlock()
		if !ok && unexpected.Add(1) <= 10 {
			t.Errorf("%s: status %d, error %v; want %v", k.name, status, err, k.statuses)
		}
	}
	stopRSS := make(chan struct{})
	rssDone := make(chan struct{})
	go func() {
		defer close(rssDone)
		for {
			rssPeak.Store(max(rssPeak.Load(), rssKiB()))
			select {
			case <-stopRSS:
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()
	start := time.Now()
	var wg sync.WaitGroup
	for range loadConns {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(n) {
					return
				}
				k := plan[(i*37)%int64(len(plan))] // spread the faults
				switch {
				case i < int64(gib):
					k = stderrGiB
				case i%1000 == 7:
					k = hang
				}
				status, err := k.run(context.Background(), c, ts.URL)
				record(k, status, err)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(stopRSS)
	<-rssDone

	// Afterwards: every script reaped, every goroutine and descriptor gone.
	tr.CloseIdleConnections()
	waitFor(t, func() bool { return h.active.Load() == 0 && h.running.Load() == 0 }, "every request and script to end")
	var fds1, gor1 int
	var zombies []int
	deadline := time.Now().Add(10 * time.Second)
	for {
		runtime.GC()
		fds1, gor1, zombies = fdCount(), runtime.NumGoroutine(), zombieChildren()
		if (fds1 <= fds0 && gor1 <= gor0 && len(zombies) == 0) || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	debug.FreeOSMemory()
	rss1 := rssKiB()

	faults := 0
	for name, m := range counts {
		if name != "ok" {
			for _, v := range m {
				faults += v
			}
		}
	}
	t.Logf("pid %d, race %v: %d requests (%d with faults) at %d connections, max_procs %d, in %v (%.0f req/s); unexpected answers %d",
		os.Getpid(), raceEnabled, n, faults, loadConns, loadMaxProcs, elapsed.Round(time.Millisecond), float64(n)/elapsed.Seconds(), unexpected.Load())
	for _, k := range append([]loadKind{stderrGiB, hang}, loadKinds...) {
		t.Logf("  %-19s %v", k.name, counts[k.name])
	}
	t.Logf("zombies %d; fds %d -> %d; goroutines %d -> %d; RSS %d KiB -> peak %d KiB -> %d KiB; spool in use %d, peak %d bytes; peak running scripts %d",
		len(zombies), fds0, fds1, gor0, gor1, rss0, rssPeak.Load(), rss1, h.spoolBudget().InUse(), h.spoolBudget().Peak(), h.peak.Load())

	if unexpected.Load() > 0 {
		t.Errorf("%d unexpected answers", unexpected.Load())
	}
	if len(zombies) > 0 {
		if os.Getpid() == 1 && !pid1ReapsOrphans {
			t.Logf("KNOWN (issue 7 finding 2, see pid1ReapsOrphans): %d orphans re-parented to PID 1 left as zombies; the test reaps them", len(zombies))
			for _, pid := range zombies {
				var ws syscall.WaitStatus
				_, _ = syscall.Wait4(pid, &ws, 0, nil)
			}
		} else {
			t.Errorf("zombie children left: %v", zombies)
		}
	}
	if fds1 > fds0 {
		t.Errorf("descriptors: %d before, %d after", fds0, fds1)
	}
	if gor1 > gor0 {
		t.Errorf("goroutines: %d before, %d after", gor0, gor1)
	}
	if h.spoolBudget().InUse() != 0 {
		t.Errorf("spool still holds %d bytes", h.spoolBudget().InUse())
	}
	if h.peak.Load() > loadMaxProcs {
		t.Errorf("%d scripts ran at once, max_procs %d", h.peak.Load(), loadMaxProcs)
	}
	// Flat: what a burst took is given back (64 MiB of slack for the
	// runtime's and the allocator's own caching). Under -race RSS is only
	// reported: the race runtime's shadow memory is never given back.
	if !raceEnabled && rss1 > rss0+64<<10 {
		t.Errorf("RSS grew from %d KiB to %d KiB", rss0, rss1)
	}
}

func contains(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
