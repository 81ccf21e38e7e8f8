package pyhttp

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// observeTree copies testdata/observe (the metrics and logging scripts)
// to a directory nobody can reach, with the scripts executable.
func observeTree(t *testing.T) string {
	t.Helper()
	root := publicTempDir(t)
	copyTree(t, filepath.Join("testdata", "observe"), root)
	entries, err := os.ReadDir(filepath.Join(root, "cgi-bin"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		chmodAll(t, root, 0o755, "cgi-bin/"+e.Name())
	}
	return root
}

// metricsConfig is a CGI site with every limit that a metric counts; the
// marker makes each load a new config (a reload).
func metricsConfig(root, holdDir, marker string) string {
	return globalOptions() + fmt.Sprintf(`
http://:%d {
	root * %s
	route {
		pyhttp_cgi {
			timeout 1s
			kill_grace 100ms
			max_procs 1
			queue_timeout 100ms
			max_request_body 10
			env HOLD_DIR %s
			env CONFIG_MARKER %s
		}
	}
}
`, cgiPort, root, holdDir, marker)
}

// scrape reads the admin endpoint's /metrics and returns the
// caddy_pyhttp_cgi_ samples, without histogram buckets and sums (which
// depend on timing), as "name{labels} value" lines, sorted, and the number
// of HELP lines per family.
func scrape(t *testing.T) (samples []string, help map[string]int) {
	t.Helper()
	// A fresh connection each time: after a reload, a kept-alive one would
	// still reach the old admin server, which Caddy stops in the background.
	resp, err := adminClient.Get("http://localhost/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		body, _ := io.ReadAll(resp.Body)
		t.Fatalf("/metrics: %d %s", resp.StatusCode, body)
	}
	help = map[string]int{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if name, ok := strings.CutPrefix(line, "# HELP caddy_pyhttp_cgi_"); ok {
			name, _, _ = strings.Cut(name, " ")
			help[name]++
			continue
		}
		if !strings.HasPrefix(line, "caddy_pyhttp_cgi_") {
			continue
		}
		name, _, _ := strings.Cut(line, "{")
		if strings.HasSuffix(name, "_bucket") || strings.HasSuffix(name, "_sum") {
			continue
		}
		samples = append(samples, line)
	}
	slices.Sort(samples)
	return samples, help
}

// adminClient reaches the in-process Caddy's admin endpoint, a unix
// socket, on a fresh connection each time.
var adminClient = &http.Client{
	Timeout: 10 * time.Second,
	Transport: &http.Transport{
		DisableKeepAlives: true,
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", adminSocket)
		},
	},
}

var scrapeClient = &http.Client{
	Timeout:       10 * time.Second,
	Transport:     &http.Transport{DisableKeepAlives: true},
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// waitForSample polls /metrics until the sample line appears: the event a
// test waits for (a script running, a request queued).
func waitForSample(t *testing.T, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		samples, _ := scrape(t)
		if slices.Contains(samples, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no sample %q in\n%s", want, strings.Join(samples, "\n"))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Every CGI metric counts what happened, with the server and handler
// labels, and a reload leaves exactly one registration of each family,
// counting the new config's scripts only, with no set left behind.
func TestCGIMetrics(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	root := observeTree(t)
	holdDir := publicTempDir(t)
	startCaddyRaw(t, metricsConfig(root, holdDir, "first"))

	for _, tc := range []struct {
		method, path, body string
		chunked            bool
		status             int
	}{
		{"GET", "/cgi-bin/ok.sh", "", false, 200},
		{"POST", "/cgi-bin/echo.py", "abcd", false, 200},
		{"GET", "/cgi-bin/exit3.sh", "", false, 200},
		{"GET", "/cgi-bin/killed.sh", "", false, 0}, // aborted: no complete response
		{"GET", "/cgi-bin/badinterp.sh", "", false, 502},
		{"GET", "/cgi-bin/sleep.sh", "", false, 504},
		{"GET", "/cgi-bin/stubborn.sh", "", false, 504},
		{"POST", "/cgi-bin/echo.py", strings.Repeat("x", 100), true, 413},
	} {
		var body io.Reader
		if tc.body != "" {
			body = strings.NewReader(tc.body)
			if tc.chunked {
				body = io.MultiReader(body) // no length: sent chunked
			}
		}
		req, err := http.NewRequest(tc.method, cgiURL(tc.path), body)
		if err != nil {
			t.Fatal(err)
		}
		// scrapeClient: on a fresh connection Go's transport never
		// retries, so each request runs its script exactly once.
		resp, err := scrapeClient.Do(req)
		if err == nil {
			_, err = io.ReadAll(resp.Body)
			resp.Body.Close()
		}
		switch {
		case tc.status == 0 && err == nil:
			t.Errorf("%s %s: complete response, want an aborted one", tc.method, tc.path)
		case tc.status != 0 && err != nil:
			t.Errorf("%s %s: %v", tc.method, tc.path, err)
		case tc.status != 0 && resp.StatusCode != tc.status:
			t.Errorf("%s %s: got %d, want %d", tc.method, tc.path, resp.StatusCode, tc.status)
		}
	}

	// One script holds the only slot; the next request queues, gives up
	// after queue_timeout and gets 503.
	held := make(chan error, 1)
	go func() {
		resp, err := http.Get(cgiURL("/cgi-bin/hold.sh"))
		if err == nil {
			_, err = io.ReadAll(resp.Body)
			resp.Body.Close()
		}
		held <- err
	}()
	waitForSample(t, `caddy_pyhttp_cgi_scripts_running{handler="pyhttp_cgi",server="srv0"} 1`)
	if resp, _ := do(t, "GET", cgiURL("/cgi-bin/ok.sh"), nil); resp.StatusCode != 503 {
		t.Errorf("request while the slot was held: got %d, want 503", resp.StatusCode)
	}
	if err := os.WriteFile(filepath.Join(holdDir, "go"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := <-held; err != nil {
		t.Fatalf("held request: %v", err)
	}
	waitForSample(t, `caddy_pyhttp_cgi_scripts_running{handler="pyhttp_cgi",server="srv0"} 0`)

	l := `{handler="pyhttp_cgi",server="srv0"`
	want := []string{
		`caddy_pyhttp_cgi_exits_total{handler="pyhttp_cgi",outcome="exec_failure",server="srv0"} 1`,
		`caddy_pyhttp_cgi_exits_total{handler="pyhttp_cgi",outcome="exit_code",server="srv0"} 1`,
		`caddy_pyhttp_cgi_exits_total{handler="pyhttp_cgi",outcome="ok",server="srv0"} 3`,
		`caddy_pyhttp_cgi_exits_total{handler="pyhttp_cgi",outcome="signal",server="srv0"} 3`,
		`caddy_pyhttp_cgi_kills_total` + l + `} 1`,
		`caddy_pyhttp_cgi_queue_wait_seconds_count` + l + `} 1`,
		`caddy_pyhttp_cgi_rejections_total{handler="pyhttp_cgi",reason="body",server="srv0"} 1`,
		`caddy_pyhttp_cgi_rejections_total{handler="pyhttp_cgi",reason="queue",server="srv0"} 1`,
		`caddy_pyhttp_cgi_request_bytes_total` + l + `} 4`,
		`caddy_pyhttp_cgi_requests_waiting` + l + `} 0`,
		`caddy_pyhttp_cgi_response_bytes_total` + l + `} 17`, // hello\n abcd x\n y\n ok\n
		`caddy_pyhttp_cgi_run_duration_seconds_count` + l + `} 7`,
		`caddy_pyhttp_cgi_scripts_running` + l + `} 0`,
		`caddy_pyhttp_cgi_scripts_started_total` + l + `} 7`,
		`caddy_pyhttp_cgi_timeouts_total` + l + `} 2`,
	}
	got, help := scrape(t)
	if !slices.Equal(got, want) {
		t.Errorf("scrape:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	checkOneHelpEach(t, help, "")

	// Two reloads: one registration of each family, the new config's
	// counts only, and one collector set left (the current config's).
	for _, marker := range []string{"second", "third"} {
		startCaddyRaw(t, metricsConfig(root, holdDir, marker))
		if resp, _ := do(t, "GET", cgiURL("/cgi-bin/ok.sh"), nil); resp.StatusCode != 200 {
			t.Fatalf("after reload %s: got %d", marker, resp.StatusCode)
		}
		got, help := scrape(t)
		want := []string{
			`caddy_pyhttp_cgi_exits_total{handler="pyhttp_cgi",outcome="ok",server="srv0"} 1`,
			`caddy_pyhttp_cgi_request_bytes_total` + l + `} 0`,
			`caddy_pyhttp_cgi_response_bytes_total` + l + `} 6`,
			`caddy_pyhttp_cgi_run_duration_seconds_count` + l + `} 1`,
			`caddy_pyhttp_cgi_scripts_running` + l + `} 0`,
			`caddy_pyhttp_cgi_scripts_started_total` + l + `} 1`,
			`caddy_pyhttp_cgi_timeouts_total` + l + `} 0`,
			`caddy_pyhttp_cgi_kills_total` + l + `} 0`,
			`caddy_pyhttp_cgi_queue_wait_seconds_count` + l + `} 0`,
			`caddy_pyhttp_cgi_requests_waiting` + l + `} 0`,
		}
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("scrape after reload %s:\n%s\nwant:\n%s", marker, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		checkOneHelpEach(t, help, "rejections_total") // nothing refused yet
		metricsMu.Lock()
		sets := len(metricsSets)
		metricsMu.Unlock()
		if sets != 1 {
			t.Errorf("after reload %s: %d metric sets, want 1 (the old config's must be released)", marker, sets)
		}
	}
}

// checkOneHelpEach checks that each family is exposed exactly once, but
// for empty, a vector without samples yet, which is not exposed at all.
func checkOneHelpEach(t *testing.T, help map[string]int, empty string) {
	t.Helper()
	families := []string{"exits_total", "kills_total", "queue_wait_seconds", "rejections_total",
		"request_bytes_total", "requests_waiting", "response_bytes_total", "run_duration_seconds",
		"scripts_running", "scripts_started_total", "timeouts_total"}
	for _, f := range families {
		want := 1
		if f == empty {
			want = 0
		}
		if n := help[f]; n != want {
			t.Errorf("family caddy_pyhttp_cgi_%s exposed %d times", f, n)
		}
	}
}
