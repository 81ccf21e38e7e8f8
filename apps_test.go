package pyhttp

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"io"
	"io/fs"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pyhttp/caddy-pyhttp/internal/testenv"
)

// The real-applications suite: git-http-backend, cgit, gitweb, php-cgi, a
// CGI.pm application and hgweb, each mounted with the configuration that
// docs/migrating.md gives and driven by its real client. A missing program
// skips its test, or fails it under PYHTTP_REQUIRE_ALL=1 (as in CI).

// docRecipe returns block number n (0-based) of language lang under the
// heading "### <heading>" of docs/migrating.md's tested recipes, with
// example.com replaced by this test's site address and the other pairs of
// repl applied: the suite runs the recipes exactly as documented.
func docRecipe(t *testing.T, heading, lang string, n int, repl ...string) string {
	t.Helper()
	data, err := os.ReadFile("docs/migrating.md")
	if err != nil {
		t.Fatal(err)
	}
	_, recipes, ok := strings.Cut(string(data), "## Tested recipes")
	if !ok {
		t.Fatal("docs/migrating.md has no Tested recipes section")
	}
	_, section, ok := strings.Cut(recipes, "\n### "+heading+"\n")
	if !ok {
		t.Fatalf("docs/migrating.md has no recipe %q", heading)
	}
	section, _, _ = strings.Cut(section, "\n### ")
	rest := section
	for i := 0; ; i++ {
		_, after, ok := strings.Cut(rest, "```"+lang+"\n")
		if !ok {
			t.Fatalf("recipe %q has no %s block #%d", heading, lang, n)
		}
		block, tail, _ := strings.Cut(after, "```")
		if i == n {
			repl = append(repl, "example.com {", fmt.Sprintf("http://:%d {", cgiPort))
			return strings.NewReplacer(repl...).Replace(block)
		}
		rest = tail
	}
}

// runCmd runs a client program in dir with extra environment entries and
// returns its combined output, failing the test if it fails.
func runCmd(t *testing.T, dir string, env []string, name string, args ...string) string {
	t.Helper()
	out, err := tryCmd(dir, env, name, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return out
}

func tryCmd(dir string, env []string, name string, args ...string) (string, error) {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// giveToNobody makes a tree owned by the account scripts run as when the
// tests run as root, so that a push (which writes objects) works.
func giveToNobody(t *testing.T, root string) {
	t.Helper()
	if os.Geteuid() != 0 {
		return
	}
	u, err := user.Lookup("nobody")
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, gid)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// clientEnv is the environment of git and hg clients: a private HOME and
// identity, nothing from the user's configuration.
func clientEnv(home string) []string {
	return []string{
		"HOME=" + home, "XDG_CONFIG_HOME=" + home, "GIT_CONFIG_NOSYSTEM=1",
		"GIT_AUTHOR_NAME=T", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=T", "GIT_COMMITTER_EMAIL=t@example.com",
		"GIT_TERMINAL_PROMPT=0", "HGRCPATH=", "HGUSER=t <t@example.com>", "HGPLAIN=1",
	}
}

// gitFixture creates srv/demo.git (branch main, one commit with README)
// under a public temp dir and returns the temp dir.
func gitFixture(t *testing.T) string {
	t.Helper()
	git := testenv.Require(t, "git")
	base := publicTempDir(t)
	env := clientEnv(base)
	srv := filepath.Join(base, "srv")
	runCmd(t, base, env, git, "init", "-q", "--bare", "-b", "main", filepath.Join(srv, "demo.git"))
	work := filepath.Join(base, "seed")
	runCmd(t, base, env, git, "init", "-q", "-b", "main", work)
	if err := os.WriteFile(filepath.Join(work, "README"), []byte("hello from demo\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	runCmd(t, work, env, git, "add", "README")
	runCmd(t, work, env, git, "commit", "-q", "-m", "first commit")
	runCmd(t, work, env, git, "push", "-q", filepath.Join(srv, "demo.git"), "main")
	if err := os.WriteFile(filepath.Join(srv, "demo.git", "description"), []byte("demo repository\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	giveToNobody(t, srv)
	return base
}

func TestAppGitHTTPBackend(t *testing.T) {
	testenv.Require(t, "/usr/lib/git-core/git-http-backend")
	base := gitFixture(t)
	git := testenv.Require(t, "git")
	startCaddy(t, docRecipe(t, "git-http-backend (clone, fetch, protocol v2; push with basic_auth)", "caddyfile", 0,
		"/srv/git", filepath.Join(base, "srv")))
	env := clientEnv(base)
	repoURL := cgiURL("/git/demo.git")

	// Clone (protocol v2 is git's default), then check v2 explicitly.
	runCmd(t, base, env, git, "clone", "-q", repoURL, "a")
	if b, err := os.ReadFile(filepath.Join(base, "a", "README")); err != nil || string(b) != "hello from demo\n" {
		t.Fatalf("cloned README: %q, %v", b, err)
	}
	out := runCmd(t, base, append(env, "GIT_TRACE_PACKET=1"), git, "-c", "protocol.version=2", "ls-remote", repoURL)
	if !strings.Contains(out, "version 2") || !strings.Contains(out, "refs/heads/main") {
		t.Errorf("protocol v2 ls-remote did not speak version 2:\n%s", out)
	}
	out = runCmd(t, base, append(env, "GIT_TRACE_PACKET=1"), git, "-c", "protocol.version=0", "ls-remote", repoURL)
	if strings.Contains(out, "version 2") || !strings.Contains(out, "refs/heads/main") {
		t.Errorf("protocol v0 ls-remote:\n%s", out)
	}

	// Push without credentials is refused.
	a := filepath.Join(base, "a")
	if err := os.WriteFile(filepath.Join(a, "small.txt"), []byte("small\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	runCmd(t, a, env, git, "add", "small.txt")
	runCmd(t, a, env, git, "commit", "-q", "-m", "small")
	if out, err := tryCmd(a, env, git, "push", "-q", "origin", "main"); err == nil {
		t.Fatalf("push without credentials succeeded:\n%s", out)
	}

	// An 80 MiB incompressible push with a chunked body (postBuffer 1 MiB).
	big := make([]byte, 80<<20)
	if _, err := rand.Read(big); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(a, "big.bin"), big, 0o644); err != nil {
		t.Fatal(err)
	}
	want := sha256.Sum256(big)
	big = nil
	runCmd(t, a, env, git, "add", "big.bin")
	runCmd(t, a, env, git, "commit", "-q", "-m", "big")
	authURL := strings.Replace(repoURL, "http://", "http://alice:s3cret@", 1)
	out = runCmd(t, a, append(env, "GIT_TRACE_CURL=1", "GIT_TRACE_CURL_NO_DATA=1"), git,
		"-c", "http.postBuffer=1048576", "push", authURL, "main")
	if !strings.Contains(out, "Transfer-Encoding: chunked") {
		t.Errorf("the push did not send a chunked body:\n%s", lastLines(out, 40))
	}

	// Fetch in another clone, then a fresh clone with the same content.
	runCmd(t, base, env, git, "clone", "-q", "--depth", "1", repoURL, "b-old")
	runCmd(t, base, env, git, "clone", "-q", repoURL, "c")
	got, err := os.ReadFile(filepath.Join(base, "c", "big.bin"))
	if err != nil {
		t.Fatal(err)
	}
	if sha256.Sum256(got) != want {
		t.Fatal("fresh clone: big.bin differs from what was pushed")
	}
	runCmd(t, a, env, git, "commit", "-q", "--allow-empty", "-m", "third")
	runCmd(t, a, env, git, "-c", "http.postBuffer=1048576", "push", "-q", authURL, "main")
	runCmd(t, filepath.Join(base, "c"), env, git, "fetch", "-q", "origin")
	if out := runCmd(t, filepath.Join(base, "c"), env, git, "log", "-1", "--format=%s", "origin/main"); strings.TrimSpace(out) != "third" {
		t.Errorf("fetch: origin/main is %q, want third", out)
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// getOK fetches url and fails unless it is 200 and contains every want.
func getOK(t *testing.T, client *http.Client, u string, want ...string) (*http.Response, []byte) {
	t.Helper()
	resp, err := client.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: status %d\n%s", u, resp.StatusCode, body)
	}
	for _, w := range want {
		if !bytes.Contains(body, []byte(w)) {
			t.Fatalf("GET %s: body lacks %q:\n%.2000s", u, w, body)
		}
	}
	return resp, body
}

var appClient = &http.Client{Timeout: 60 * time.Second}

func TestAppCgit(t *testing.T) {
	testenv.Require(t, "/usr/lib/cgit/cgit.cgi")
	base := gitFixture(t)
	rc := filepath.Join(base, "cgitrc")
	if err := os.WriteFile(rc, []byte(docRecipe(t, "cgit", "ini", 0, "/srv/git", filepath.Join(base, "srv"))), 0o644); err != nil {
		t.Fatal(err)
	}
	startCaddy(t, docRecipe(t, "cgit", "caddyfile", 0, "/etc/cgitrc", rc))
	getOK(t, appClient, cgiURL("/cgit/"), "demo repository", `href='/cgit/demo/'`)
	getOK(t, appClient, cgiURL("/cgit/demo/"), "first commit")
	getOK(t, appClient, cgiURL("/cgit/demo/tree/README"), "hello from demo")
	getOK(t, appClient, cgiURL("/cgit/demo/log/"), "first commit")
	resp, body := getOK(t, appClient, cgiURL("/cgit/demo/snapshot/demo-main.tar.gz"))
	if ct := resp.Header.Get("Content-Type"); !strings.Contains(ct, "gzip") || len(body) < 100 || body[0] != 0x1f || body[1] != 0x8b {
		t.Errorf("snapshot: Content-Type %q, %d bytes", ct, len(body))
	}
	getOK(t, appClient, cgiURL("/cgit-static/cgit.css"), "div#cgit")
	if resp, _ := getOK(t, appClient, cgiURL("/cgit-static/cgit.png")); resp.Header.Get("Content-Type") != "image/png" {
		t.Errorf("logo Content-Type %q", resp.Header.Get("Content-Type"))
	}
	// cgit's dumb HTTP clone.
	git := testenv.Require(t, "git")
	runCmd(t, base, clientEnv(base), git, "clone", "-q", cgiURL("/cgit/demo"), "viacgit")
}

func TestAppGitweb(t *testing.T) {
	testenv.Require(t, "/usr/share/gitweb/gitweb.cgi")
	base := gitFixture(t)
	conf := filepath.Join(base, "gitweb.conf")
	if err := os.WriteFile(conf, []byte(docRecipe(t, "gitweb", "perl", 0, "/srv/git", filepath.Join(base, "srv"))), 0o644); err != nil {
		t.Fatal(err)
	}
	startCaddy(t, docRecipe(t, "gitweb", "caddyfile", 0, "/etc/gitweb-caddy.conf", conf))
	getOK(t, appClient, cgiURL("/gitweb/"), "demo.git", "demo repository", "/gitweb-static/gitweb.css")
	getOK(t, appClient, cgiURL("/gitweb/?p=demo.git;a=summary"), "first commit")
	getOK(t, appClient, cgiURL("/gitweb/?p=demo.git;a=blob_plain;f=README;hb=HEAD"), "hello from demo")
	resp, body := getOK(t, appClient, cgiURL("/gitweb/?p=demo.git;a=snapshot;h=HEAD;sf=tgz"))
	if len(body) < 100 || body[0] != 0x1f || body[1] != 0x8b {
		t.Errorf("snapshot: Content-Type %q, %d bytes, not gzip", resp.Header.Get("Content-Type"), len(body))
	}
	getOK(t, appClient, cgiURL("/gitweb-static/gitweb.css"), "body")
	getOK(t, appClient, cgiURL("/gitweb-static/gitweb.js"), "function")
}

// postMultipart sends one file field of size bytes and returns the status,
// body and the file's SHA-256.
func postMultipart(t *testing.T, u string, fields map[string]string, field, filename string, size int) (int, string, [32]byte) {
	t.Helper()
	data := make([]byte, size)
	if _, err := rand.Read(data); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range fields {
		if err := mw.WriteField(k, v); err != nil {
			t.Fatal(err)
		}
	}
	fw, err := mw.CreateFormFile(field, filename)
	if err != nil {
		t.Fatal(err)
	}
	fw.Write(data)
	mw.Close()
	resp, err := appClient.Post(u, mw.FormDataContentType(), &buf)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), sha256.Sum256(data)
}

func TestAppPHP(t *testing.T) {
	testenv.Require(t, "/usr/bin/php-cgi")
	root := publicTempDir(t)
	copyTree(t, filepath.Join("testdata", "apps", "php"), root)
	startCaddy(t, docRecipe(t, "php-cgi", "caddyfile", 0, "/srv/php", root))

	// index.php is the directory's index, and PATH_INFO is split after it.
	getOK(t, appClient, cgiURL("/"), "INDEX SCRIPT_NAME=/index.php PATH_INFO=\n")
	getOK(t, appClient, cgiURL("/index.php/a/b%20c"), "INDEX SCRIPT_NAME=/index.php PATH_INFO=/a/b c\n")
	getOK(t, appClient, cgiURL("/info.php/x/y"), "SCRIPT_NAME=/info.php\nPATH_INFO=/x/y\n")
	getOK(t, appClient, cgiURL("/UPPER.PHP"), "SCRIPT_NAME=/UPPER.PHP\n")
	getOK(t, appClient, cgiURL("/sub/readme.txt"), "static text")

	// A UTF-8 form POST.
	name := "Zoë ünïcødé 日本"
	resp, err := appClient.PostForm(cgiURL("/form.php"), url.Values{"name": {name}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "NAME="+name+"\nLEN="+strconv.Itoa(len(name))) {
		t.Errorf("form POST: %d %q", resp.StatusCode, body)
	}

	// A 5 MiB multipart upload.
	status, got, sum := postMultipart(t, cgiURL("/upload.php"), nil, "f", "big.bin", 5<<20)
	if status != 200 || !strings.Contains(got, fmt.Sprintf("SIZE=%d\nSHA256=%x", 5<<20, sum)) {
		t.Errorf("upload: %d %q", status, got)
	}

	// header('Location: form.php') is a 302 to the relative URL as written.
	resp, rb := do(t, "GET", cgiURL("/redirect.php"), nil)
	if resp.StatusCode != 302 || resp.Header.Get("Location") != "form.php" {
		t.Errorf("redirect: %d Location %q\n%s", resp.StatusCode, resp.Header.Get("Location"), rb)
	}
	getOK(t, appClient, cgiURL("/redirect.php"), "FORM") // the client follows it

	// http_response_code(404).
	if resp, b := do(t, "GET", cgiURL("/notfound.php"), nil); resp.StatusCode != 404 || string(b) != "no such thing\n" {
		t.Errorf("http_response_code(404): %d %q", resp.StatusCode, b)
	}

	// Sessions keep state across requests through their cookie.
	jar, _ := cookiejar.New(nil)
	sc := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	getOK(t, sc, cgiURL("/session.php"), "N=1")
	getOK(t, sc, cgiURL("/session.php"), "N=2")

	// Source is never served, whatever the spelling. A query without '='
	// must not become php-cgi options (CVE-2012-1823: "?-s" shows source).
	for _, p := range []string{"/form.php?-s", "/form.php?-s+-d+foo", "/form.php.", "/form.php%2e", "/form.php::$DATA", "/form%2ephp", "//form.php", "/./form.php",
		"/sub/../form.php", "/form.php%00", "/FORM.PHP", "/form.PhP", "/.user.ini", "/form.php%20", "/form.php/"} {
		resp, b := rawRequest(t, cgiPort, "GET "+p+" HTTP/1.1")
		checkNoSource(t, b)
		if bytes.Contains(b, []byte("<?php")) || bytes.Contains(b, []byte("upload_max_filesize")) {
			t.Errorf("GET %s: disclosed source:\n%s", p, b)
		}
		if resp.StatusCode == 200 && !bytes.Contains(b, []byte("FORM")) {
			t.Errorf("GET %s: 200 without running the script:\n%s", p, b)
		}
	}
}

func TestAppCGIpm(t *testing.T) {
	testenv.Require(t, "/usr/bin/perl")
	if out, err := exec.Command("/usr/bin/perl", "-MCGI", "-e", "1").CombinedOutput(); err != nil {
		if os.Getenv("PYHTTP_REQUIRE_ALL") == "1" {
			t.Fatalf("CGI.pm is required (PYHTTP_REQUIRE_ALL=1): %s", out)
		}
		t.Skipf("skipping: CGI.pm not installed (libcgi-pm-perl): %s", out)
	}
	root := publicTempDir(t)
	copyTree(t, filepath.Join("testdata", "apps", "cgipm"), root)
	chmodAll(t, root, 0o755, "app.cgi", "done.cgi")
	startCaddy(t, docRecipe(t, "CGI.pm", "caddyfile", 0, "/srv/perl", root))

	getOK(t, appClient, cgiURL("/perl/app.cgi?name=%3Cb%3EZo%C3%AB"), "<p>hello &lt;b&gt;Zoë</p>")
	getOK(t, appClient, cgiURL("/perl/app.cgi/extra/path"), "<p>script /perl/app.cgi path /extra/path</p>")
	resp, err := appClient.PostForm(cgiURL("/perl/app.cgi"), url.Values{"name": {"Poster"}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), "<p>hello Poster</p>") {
		t.Errorf("form POST: %d %q", resp.StatusCode, b)
	}

	// Upload through CGI.pm's upload().
	status, got, _ := postMultipart(t, cgiURL("/perl/app.cgi"), map[string]string{"action": "upload"}, "file", "data.bin", 3<<20)
	if status != 200 || !strings.Contains(got, "FILE=data.bin\nSIZE="+strconv.Itoa(3<<20)) {
		t.Errorf("upload: %d %q", status, got)
	}

	// $q->redirect('done.cgi'): a relative Location with CGI.pm's Status.
	resp, body := do(t, "GET", cgiURL("/perl/app.cgi?action=redirect"), nil)
	if resp.StatusCode != 302 || resp.Header.Get("Location") != "done.cgi" {
		t.Errorf("redirect: %d Location %q\n%s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	getOK(t, appClient, cgiURL("/perl/app.cgi?action=redirect"), "DONE")

	// PUT and DELETE reach the script.
	resp, body = do(t, "PUT", cgiURL("/perl/app.cgi"), strings.NewReader("put body"), "Content-Type", "text/plain")
	if resp.StatusCode != 201 || !strings.Contains(string(body), "METHOD=PUT\nLEN=8\nDATA=put body") {
		t.Errorf("PUT: %d %q", resp.StatusCode, body)
	}
	resp, body = do(t, "DELETE", cgiURL("/perl/app.cgi"), nil)
	if resp.StatusCode != 200 || !strings.Contains(string(body), "METHOD=DELETE") {
		t.Errorf("DELETE: %d %q", resp.StatusCode, body)
	}
	if resp, b := do(t, "GET", cgiURL("/perl/app.cgi."), nil); resp.StatusCode != 403 {
		t.Errorf("app.cgi.: %d, want 403", resp.StatusCode)
	} else {
		checkNoSource(t, b)
	}
}

func TestAppHgweb(t *testing.T) {
	hg := testenv.Require(t, "hg")
	const example = "/usr/share/doc/mercurial-common/examples/hgweb.cgi"
	src, err := os.ReadFile(example)
	if err != nil {
		if os.Getenv("PYHTTP_REQUIRE_ALL") == "1" {
			t.Fatalf("hgweb.cgi is required (PYHTTP_REQUIRE_ALL=1): %v", err)
		}
		t.Skipf("skipping: %v (package mercurial-common)", err)
	}
	testenv.Require(t, "/usr/bin/python3")
	base := publicTempDir(t)
	env := clientEnv(base)
	repos := filepath.Join(base, "hg")
	runCmd(t, base, env, hg, "init", filepath.Join(repos, "demo"))
	if err := os.WriteFile(filepath.Join(repos, "demo", "README"), []byte("hello hg\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	runCmd(t, filepath.Join(repos, "demo"), env, hg, "commit", "-q", "-A", "-m", "first")
	giveToNobody(t, repos)
	conf := filepath.Join(base, "hgweb.config")
	if err := os.WriteFile(conf, []byte(docRecipe(t, "hgweb (Mercurial)", "ini", 0, "/srv/hg/repos", repos)), 0o644); err != nil {
		t.Fatal(err)
	}
	// The recipe: a copy of the example with its config path set (and
	// python3 named directly, since nobody cannot use a python under /root).
	script := strings.Replace(string(src), `config = b"/path/to/repo/or/config"`, fmt.Sprintf("config = b%q", conf), 1)
	script = strings.Replace(script, "#!/usr/bin/env python3", "#!/usr/bin/python3", 1)
	cgi := filepath.Join(base, "hgweb.cgi")
	if err := os.WriteFile(cgi, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	startCaddy(t, docRecipe(t, "hgweb (Mercurial)", "caddyfile", 0, "/srv/hg/hgweb.cgi", cgi))
	getOK(t, appClient, cgiURL("/hg/"), "demo")
	getOK(t, appClient, cgiURL("/hg/demo/file/tip/README"), "hello hg")
	runCmd(t, base, env, hg, "clone", "-q", cgiURL("/hg/demo"), "clone")
	work := filepath.Join(base, "clone")
	if b, err := os.ReadFile(filepath.Join(work, "README")); err != nil || string(b) != "hello hg\n" {
		t.Fatalf("cloned README: %q, %v", b, err)
	}
	if err := os.WriteFile(filepath.Join(work, "second.txt"), []byte("pushed\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	runCmd(t, work, env, hg, "commit", "-q", "-A", "-m", "second")
	runCmd(t, work, env, hg, "push", cgiURL("/hg/demo"))
	runCmd(t, base, env, hg, "clone", "-q", cgiURL("/hg/demo"), "again")
	if b, err := os.ReadFile(filepath.Join(base, "again", "second.txt")); err != nil || string(b) != "pushed\n" {
		t.Fatalf("pushed file in a fresh clone: %q, %v", b, err)
	}
}
