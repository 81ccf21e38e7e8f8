package pyhttp

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/pyhttp/caddy-pyhttp/internal/testenv"
)

// Browser end-to-end tests: Debian's chromium, headless, driven through
// chromedp against the in-process Caddy of the integration tests. They skip
// without chromium, and fail without it under PYHTTP_REQUIRE_ALL=1 (CI).

var (
	browserHTTPPort  = 9090 + portOffset
	browserHTTPSPort = 9091 + portOffset
)

// browserSite copies testdata/browser (plus a download file) to a directory
// nobody can read and serves it: pyhttp_cgi on plain HTTP, and the same
// tree over HTTPS (tls internal, HTTP/2) with encode gzip. It returns the
// tree's root.
func browserSite(t *testing.T) string {
	t.Helper()
	root := publicTempDir(t)
	err := filepath.WalkDir(filepath.Join("testdata", "browser"), func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(filepath.Join("testdata", "browser"), p)
		dst := filepath.Join(root, rel)
		if d.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		mode := os.FileMode(0o644)
		if strings.HasSuffix(p, ".py") {
			mode = 0o755
		}
		if err := os.WriteFile(dst, data, mode); err != nil {
			return err
		}
		return os.Chmod(dst, mode)
	})
	if err != nil {
		t.Fatal(err)
	}
	if testing.Short() {
		t.Skip("integration test")
	}
	// integration_test.go's global options, with automatic HTTPS on for
	// the certificate of the HTTPS site (but no redirects).
	startCaddyRaw(t, fmt.Sprintf(`{
	admin unix/%s
	http_port %d
	https_port %d
	grace_period 1ns
	skip_install_trust
	auto_https disable_redirects
}
`, adminSocket, simplePort, 9443+portOffset)+fmt.Sprintf(`
http://127.0.0.1:%[1]d {
	bind 127.0.0.1
	root * %[3]s
	pyhttp_cgi
}
https://localhost:%[2]d {
	bind 127.0.0.1
	tls internal
	encode gzip
	root * %[3]s
	pyhttp_cgi
}
`, browserHTTPPort, browserHTTPSPort, root))
	return root
}

// newBrowser starts a headless chromium for one test, with a fresh
// profile and everything that would reach the network off, and returns
// its context (bounded in time).
func newBrowser(t *testing.T, extra ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	path := testenv.Require(t, "chromium")
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.NoSandbox, // tests run as root
		chromedp.Headless,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-breakpad", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("no-pings", true),
		chromedp.Flag("metrics-recording-only", true),
		chromedp.Flag("password-store", "basic"),
		chromedp.Flag("disable-features", "Translate,OptimizationHints,MediaRouter,AutofillServerCommunication,CertificateTransparencyComponentUpdater"),
		chromedp.WindowSize(1024, 768),
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	ctx, cancelAlloc := chromedp.NewExecAllocator(ctx, append(opts, extra...)...)
	t.Cleanup(cancelAlloc)
	ctx, cancelBrowser := chromedp.NewContext(ctx)
	t.Cleanup(cancelBrowser)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	return ctx
}

// run runs action a in the browser of ctx and returns its value.
func run[T any](t *testing.T, ctx context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

// doSteps runs actions that return nothing.
func doSteps(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// screenshot saves a PNG of the page in the test's temp dir and checks it
// is one.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png := run(t, ctx, "screenshot "+name, chromedp.CaptureScreenshot())
	if len(png) < 100 || !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) {
		t.Fatalf("screenshot %s is not a PNG (%d bytes)", name, len(png))
	}
	path := filepath.Join(t.TempDir(), name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot %s: %s (%d bytes)", name, path, len(png))
}

// The listing is Python's, and its links lead where they say: into a
// directory, to a file, and a directory without its slash is redirected.
func TestBrowserListingNavigation(t *testing.T) {
	browserSite(t)
	ctx := newBrowser(t)
	base := fmt.Sprintf("http://127.0.0.1:%d", browserHTTPPort)

	doSteps(t, ctx, "open /", chromedp.Navigate(base+"/"))
	if title := run(t, ctx, "title", chromedp.Title()); title != "Directory listing for /" {
		t.Errorf("title %q", title)
	}
	screenshot(t, ctx, "listing-root")

	resp, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(`a[href="docs/"]`)))
	if err != nil {
		t.Fatalf("follow docs/: %v", err)
	}
	title := run(t, ctx, "title", chromedp.Title())
	location := run(t, ctx, "location", chromedp.Location())
	if resp.Status != 200 || title != "Directory listing for /docs/" || location != base+"/docs/" {
		t.Errorf("after following docs/: status %d, title %q, location %q", resp.Status, title, location)
	}
	screenshot(t, ctx, "listing-docs")

	if _, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(`a[href="readme.txt"]`))); err != nil {
		t.Fatalf("follow readme.txt: %v", err)
	}
	location = run(t, ctx, "location", chromedp.Location())
	text := run(t, ctx, "text", chromedp.Text(chromedp.CSS("body")))
	if location != base+"/docs/readme.txt" || strings.TrimSpace(text) != "Read me." {
		t.Errorf("after following readme.txt: location %q, text %q", location, text)
	}

	doSteps(t, ctx, "open /docs", chromedp.Navigate(base+"/docs"), chromedp.WaitVisible(chromedp.CSS(`a[href="two.txt"]`)))
	if location := run(t, ctx, "location", chromedp.Location()); location != base+"/docs/" {
		t.Errorf("/docs ended at %q", location)
	}
}

// Clicking a listing's link to a binary file downloads it intact.
func TestBrowserDownload(t *testing.T) {
	root := browserSite(t)
	data := make([]byte, 300<<10)
	_, _ = rand.Read(data)
	if err := os.WriteFile(filepath.Join(root, "data.bin"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx := newBrowser(t)
	downloads := t.TempDir()
	events := true
	if _, err := chromedp.CallBrowser(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior:      browser.SetDownloadBehaviorBehaviorAllowAndName,
		DownloadPath:  downloads,
		EventsEnabled: &events,
	}); err != nil {
		t.Fatal(err)
	}
	progress := chromedp.BrowserEvents(ctx, browser.DownloadProgress)
	doSteps(t, ctx, "click data.bin",
		chromedp.Navigate(fmt.Sprintf("http://127.0.0.1:%d/", browserHTTPPort)),
		chromedp.WaitVisible(chromedp.CSS(`a[href="data.bin"]`)),
		chromedp.Click(chromedp.CSS(`a[href="data.bin"]`)),
	)
	var guid string
	for ev, err := range progress {
		if err != nil {
			t.Fatalf("waiting for the download: %v", err)
		}
		if ev.State == browser.DownloadProgressStateCanceled {
			t.Fatal("the download was canceled")
		}
		if ev.State == browser.DownloadProgressStateCompleted {
			guid = ev.GUID
			break
		}
	}
	got, err := os.ReadFile(filepath.Join(downloads, guid))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data) {
		t.Errorf("downloaded %d bytes, not the file's %d", len(got), len(data))
	}
	screenshot(t, ctx, "download")
}

// An HTML form posts UTF-8 text to a CGI script, which reads it from its
// stdin and answers a page the browser shows.
func TestBrowserFormPostToCGI(t *testing.T) {
	browserSite(t)
	ctx := newBrowser(t)
	const name = "김윤미"
	doSteps(t, ctx, "fill the form",
		chromedp.Navigate(fmt.Sprintf("http://127.0.0.1:%d/form.html", browserHTTPPort)),
		chromedp.WaitVisible(chromedp.ID("name")),
		chromedp.SetValue(chromedp.ID("name"), name),
	)
	resp, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.ID("send")))
	if err != nil {
		t.Fatalf("submit: %v", err)
	}
	result := run(t, ctx, "result", chromedp.Text(chromedp.ID("result")))
	method := run(t, ctx, "method", chromedp.Text(chromedp.ID("method")))
	location := run(t, ctx, "location", chromedp.Location())
	if resp.Status != 200 || result != "Hello, "+name+"!" || method != "POST" || !strings.HasSuffix(location, "/cgi-bin/form.py") {
		t.Errorf("status %d, result %q, method %q, location %q", resp.Status, result, method, location)
	}
	screenshot(t, ctx, "form-result")
}

// A CGI script's Server-Sent Events reach an EventSource over HTTPS with
// HTTP/2 and gzip. The browser is told to ignore certificate errors: the
// server is this test's own loopback site with Caddy's internal CA.
func TestBrowserServerSentEventsOverHTTP2Gzip(t *testing.T) {
	browserSite(t)
	ctx := newBrowser(t, chromedp.Flag("ignore-certificate-errors", true))
	if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatal(err)
	}
	responses := chromedp.Events(ctx, network.ResponseReceived)
	doSteps(t, ctx, "open the event page",
		chromedp.Navigate(fmt.Sprintf("https://localhost:%d/sse.html", browserHTTPSPort)),
		chromedp.WaitVisible(chromedp.CSS(`body[data-done="1"]`)),
	)
	events := run(t, ctx, "events", chromedp.TextContent(chromedp.ID("log")))
	if events != "tick 1\ntick 2\ntick 3\n" {
		t.Errorf("events %q", events)
	}
	pageProtocol := run(t, ctx, "protocol", chromedp.Evaluate[string](`performance.getEntriesByType("navigation")[0].nextHopProtocol`))
	if pageProtocol != "h2" {
		t.Errorf("page protocol %q, want h2", pageProtocol)
	}
	for ev, err := range responses {
		if err != nil {
			t.Fatalf("no response event for the stream: %v", err)
		}
		if !strings.HasSuffix(ev.Response.URL, "/cgi-bin/sse.py") {
			continue
		}
		header := func(name string) string {
			for k, v := range ev.Response.Headers {
				if strings.EqualFold(k, name) {
					return fmt.Sprint(v)
				}
			}
			return ""
		}
		if ev.Response.Protocol != "h2" || header("content-encoding") != "gzip" || !strings.HasPrefix(header("content-type"), "text/event-stream") {
			t.Errorf("event stream response: protocol %q, content-encoding %q, content-type %q; want h2, gzip, text/event-stream",
				ev.Response.Protocol, header("content-encoding"), header("content-type"))
		}
		break
	}
	screenshot(t, ctx, "server-sent-events")
}
