package pyhttp

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"

	"github.com/pyhttp/caddy-pyhttp/internal/pypath"
)

// The adversarial tests of issue 7: each one reproduces an attack found in
// a security review and fails on the code before its fix.

// securityTree copies testdata/security (scripts under cgi-bin, a
// basic_auth-protected private/ and a public pub/) into a directory
// nobody can reach, with the scripts' run bits set.
func securityTree(t *testing.T) string {
	t.Helper()
	root := publicTempDir(t)
	copyTree(t, filepath.Join("testdata", "security"), root)
	entries, err := os.ReadDir(filepath.Join(root, "cgi-bin"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		chmodAll(t, root, 0o755, "cgi-bin/"+e.Name())
	}
	return root
}

// get fetches url without following redirects and returns status and body.
func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := noRedirectClient.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}

// Scripts that run as another account (nobody, when Caddy is root) while
// the admin API listens on TCP are refused at load, with the fix named.
func TestSecurityAdminTCPRefusedWhenScriptsSwitchUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("scripts switch accounts only when Caddy runs as root")
	}
	root := securityTree(t)
	opts := strings.Replace(globalOptions(), "admin unix/"+adminSocket, fmt.Sprintf("admin localhost:%d", adminPort), 1)
	err := loadCaddyfile(opts + fmt.Sprintf("http://:%d {\n\troot * %s\n\tpyhttp_cgi\n}\n", cgiPort, root))
	if err == nil {
		t.Fatal("config with a TCP admin endpoint and scripts as nobody loaded")
	}
	for _, want := range []string{"admin unix//run/caddy-admin.sock", "admin off", fmt.Sprintf("localhost:%d", adminPort)} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("load error %q does not name %q", err, want)
		}
	}
	// The same site with the admin API on a unix socket loads.
	cgiSite(t, root, "", "")
	if status, body := get(t, cgiURL("/cgi-bin/hello.sh")); status != 200 || body != "hello\n" {
		t.Errorf("with a unix admin socket: got %d %q, want 200 hello", status, body)
	}
}

// A script cannot reconfigure Caddy through the admin API: it reaches
// neither a TCP endpoint (none is allowed) nor the unix socket (mode 0200,
// root's), so the config it posts never loads.
func TestSecurityScriptCannotReachAdmin(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the admin socket keeps out only another account than Caddy's")
	}
	root := securityTree(t)
	cgiSite(t, root, fmt.Sprintf("env ADMIN_TCP localhost:%d\n\t\t\tenv ADMIN_SOCK %s", adminPort, adminSocket), "")
	status, body := get(t, cgiURL("/cgi-bin/admin.py"))
	if status != 200 || !strings.Contains(body, "tcp: refused") || !strings.Contains(body, "unix: refused") {
		t.Fatalf("script's attempts on the admin API: got %d %q, want both refused", status, body)
	}
	// The site still runs its config: the script loaded nothing.
	if status, body := get(t, cgiURL("/cgi-bin/hello.sh")); status != 200 || body != "hello\n" {
		t.Errorf("after the attempt: got %d %q, want 200 hello", status, body)
	}
}

// adminOf reads the admin setting of the config being loaded, falls back
// to the running config for a hand-made Context, and fails safe.
func TestAdminOf(t *testing.T) {
	for _, tc := range []struct {
		name   string
		admin  *caddy.AdminConfig
		unix   bool
		listen string
	}{
		{name: "default is tcp", admin: nil, unix: false, listen: caddy.DefaultAdminListen},
		{name: "empty listen is the default", admin: &caddy.AdminConfig{}, unix: false, listen: caddy.DefaultAdminListen},
		{name: "tcp", admin: &caddy.AdminConfig{Listen: "127.0.0.1:2020"}, unix: false, listen: "127.0.0.1:2020"},
		{name: "unix", admin: &caddy.AdminConfig{Listen: "unix//run/caddy-admin.sock"}, unix: true},
		{name: "unix with mode", admin: &caddy.AdminConfig{Listen: "unix//run/caddy-admin.sock|0600"}, unix: true},
		{name: "off", admin: &caddy.AdminConfig{Disabled: true}, unix: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := &caddy.Config{Admin: tc.admin}
			ctx, err := caddy.ProvisionContext(cfg)
			if err != nil {
				t.Fatal(err)
			}
			a := adminOf(ctx)
			if a.unix() != tc.unix || (tc.listen != "" && a.listen != tc.listen) {
				t.Errorf("got unix=%v listen=%q, want unix=%v listen=%q", a.unix(), a.listen, tc.unix, tc.listen)
			}
		})
	}
}

// A script's local redirect goes back through the site's routes: with
// basic_auth on /private/* before pyhttp_cgi, a script printing
// `Location: $QUERY_STRING` cannot fetch /private/secret.txt for an
// unauthenticated client, and a redirect to a path the site denies with
// `respond` is denied.
func TestSecurityLocalRedirectRunsEarlierRoutes(t *testing.T) {
	root := securityTree(t)
	// The hash is bcrypt of "secret"; no client here sends it.
	cgiSite(t, root, "", `basic_auth /private/* {
		user $2a$04$u2PV5pM85BCHtK40bS986OMCCIfZeJW4.KAYHdj5hsU3fh1Bsza8O
	}
	route {
		respond /pub/denied.txt 403
	}`)
	status, body := get(t, cgiURL("/cgi-bin/loc.sh?/private/secret.txt"))
	if strings.Contains(body, "PYHTTP-SECRET") || status != http.StatusUnauthorized {
		t.Errorf("redirect into basic_auth: got %d %q, want 401 and no secret", status, body)
	}
	if status, _ := get(t, cgiURL("/cgi-bin/loc.sh?/pub/denied.txt")); status != http.StatusForbidden {
		t.Errorf("redirect to a path denied by respond: got %d, want 403", status)
	}
	// An ordinary local redirect still serves the target.
	if status, body := get(t, cgiURL("/cgi-bin/loc.sh?/pub/public.txt")); status != 200 || body != "public\n" {
		t.Errorf("redirect to a public file: got %d %q, want 200 public", status, body)
	}
}

// A directory named `\evil.example` reached as `/\evil.example` gets a
// trailing-slash redirect that no browser reads as another host, from
// pyhttp_simple and from pyhttp_cgi's static branch.
func TestSecurityBackslashRedirectNotSchemeRelative(t *testing.T) {
	root := securityTree(t)
	for _, d := range []string{`\evil.example`, "\t", `\`} {
		if err := os.Mkdir(filepath.Join(root, "pub", d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cgiSite(t, root, "", "")
	for _, line := range []string{
		`GET /pub/../\evil.example HTTP/1.1`, // collapses to /\evil.example for the CGI check only
		`GET /\evil.example HTTP/1.1`,
		`GET /pub/\evil.example HTTP/1.1`,
		`GET //\evil.example HTTP/1.1`,
		`GET /\/evil.example HTTP/1.1`,
		`GET /%5Cevil.example HTTP/1.1`,
	} {
		resp, _ := rawRequest(t, cgiPort, line)
		loc := resp.Header.Get("Location")
		if pypath.BrowserSchemeRelative(loc) {
			t.Errorf("%s: Location %q is scheme-relative in a browser", line, loc)
		}
	}
	// The directory itself is reached through its redirect.
	if err := os.Rename(filepath.Join(root, "pub", `\evil.example`), filepath.Join(root, `\evil.example`)); err != nil {
		t.Fatal(err)
	}
	resp, _ := rawRequest(t, cgiPort, `GET /\evil.example HTTP/1.1`)
	if resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != "/%5Cevil.example/" {
		t.Errorf(`GET /\evil.example: got %d Location %q, want 301 /%%5Cevil.example/`, resp.StatusCode, resp.Header.Get("Location"))
	}
}

// hide reaches every way into a file: a hidden script in a CGI directory
// is never run (404), `hide /abs/dir` hides the directory's files, and the
// Caddyfile is hidden when root is a symbolic link to its directory.
func TestSecurityHideGaps(t *testing.T) {
	root := securityTree(t)
	// git cannot commit a directory named .git, so the hidden hook is
	// made here.
	hook := filepath.Join(root, "cgi-bin", ".git", "hooks", "post-update")
	if err := os.MkdirAll(filepath.Dir(hook), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(hook, []byte("#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\nHIDDEN-SCRIPT-RAN\\n'\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	chmodAll(t, root, 0o755, "cgi-bin/.git/hooks/post-update", "cgi-bin/old.sh.bak")
	// The site's root is a link to the tree, which holds the Caddyfile.
	link := filepath.Join(publicTempDir(t), "site")
	if err := os.Symlink(root, link); err != nil {
		t.Fatal(err)
	}
	caddyfile := filepath.Join(root, "Caddyfile")
	site := fmt.Sprintf(`http://:%d {
	root * %s
	route {
		pyhttp_cgi {
			hide .git *.bak %s
		}
	}
}
`, cgiPort, link, filepath.Join(root, "secretdir"))
	if err := os.WriteFile(caddyfile, []byte(globalOptions()+site), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(globalOptions()+site), map[string]any{"filename": caddyfile})
	if err != nil {
		t.Fatal(err)
	}
	if err := caddy.Load(cfg, true); err != nil {
		t.Fatal(err)
	}
	noRedirectClient.CloseIdleConnections() // the old config's are closed
	for _, path := range []string{
		"/cgi-bin/.git/hooks/post-update",
		"/cgi-bin/old.sh.bak",
		"/secretdir/file.txt",
		"/secretdir/",
		"/Caddyfile",
	} {
		status, body := get(t, cgiURL(path))
		if status != http.StatusNotFound || strings.Contains(body, "HIDDEN-SCRIPT-RAN") || strings.Contains(body, "PYHTTP-SECRET") || strings.Contains(body, "admin unix") {
			t.Errorf("GET %s: got %d %q, want 404", path, status, body)
		}
	}
	if status, body := get(t, cgiURL("/cgi-bin/hello.sh")); status != 200 || body != "hello\n" {
		t.Errorf("a script that is not hidden: got %d %q, want 200 hello", status, body)
	}
	// The root's listing leaves out what is hidden.
	if status, body := get(t, cgiURL("/")); status != 200 || strings.Contains(body, "Caddyfile") || strings.Contains(body, "secretdir") || !strings.Contains(body, "pub/") {
		t.Errorf("root listing: got %d %q, want 200 without Caddyfile and secretdir", status, body)
	}
}

// No script source leaves through the static branch by a race or a hard
// link: while another goroutine swaps pub/race.txt between a plain file
// and a symbolic link to a script, 20,000 GETs of it never carry the
// script's source; a hard link to a script outside the CGI directory is
// refused.
func TestSecurityNoSourceThroughRaceOrHardLink(t *testing.T) {
	root := securityTree(t)
	cgiSite(t, root, "", "")
	script := filepath.Join(root, "cgi-bin", "hello.sh")
	hard := filepath.Join(root, "pub", "hard.txt")
	if err := os.Link(script, hard); err != nil {
		t.Fatal(err)
	}
	if status, body := get(t, cgiURL("/pub/hard.txt")); strings.Contains(body, "PYHTTP-SOURCE-MARKER") || (status != http.StatusForbidden && status != http.StatusNotFound) {
		t.Errorf("hard link to a script: got %d %q, want 403 or 404", status, body)
	}

	race := filepath.Join(root, "pub", "race.txt")
	stop := make(chan struct{})
	swapped := make(chan int)
	go func() {
		n := 0
		defer func() { swapped <- n }()
		tmpFile, tmpLink := race+".f", race+".l"
		for {
			select {
			case <-stop:
				return
			default:
			}
			_ = os.WriteFile(tmpFile, []byte("plain\n"), 0o644)
			_ = os.Rename(tmpFile, race)
			_ = os.Symlink(script, tmpLink)
			_ = os.Rename(tmpLink, race)
			n++
		}
	}()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 8}}
	const requests = 20000
	leaks, served := 0, 0
	for i := 0; i < requests; i++ {
		resp, err := client.Get(cgiURL("/pub/race.txt"))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.Contains(string(body), "PYHTTP-SOURCE-MARKER") || strings.Contains(string(body), "printf") {
			leaks++
		}
		if resp.StatusCode == 200 {
			served++
		}
	}
	close(stop)
	swaps := <-swapped
	t.Logf("%d requests, %d served as the plain file, %d swaps", requests, served, swaps)
	if leaks != 0 {
		t.Errorf("%d of %d responses carried the script's source", leaks, requests)
	}
	if served == 0 || swaps == 0 {
		t.Errorf("the race was not exercised: %d served, %d swaps", served, swaps)
	}
}

// strict refuses, with 403, every script suexec would refuse, and runs a
// script that passes every rule.
func TestSecurityStrict(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the ownership rules need root to set up")
	}
	root := securityTree(t)
	cgiSite(t, root, "strict", "")
	script := filepath.Join(root, "cgi-bin", "uid.sh")
	const nobody = 65534
	check := func(name string, want int) {
		t.Helper()
		status, body := get(t, cgiURL("/cgi-bin/uid.sh"))
		if status != want || strings.Contains(body, "PYHTTP-SOURCE-MARKER") {
			t.Errorf("%s: got %d %q, want %d", name, status, body, want)
		}
	}
	check("owned by root, run as nobody", http.StatusForbidden)
	if err := os.Chown(script, nobody, nobody); err != nil {
		t.Fatal(err)
	}
	check("owned by nobody, mode 0755", http.StatusOK)
	for _, tc := range []struct {
		name string
		path string
		mode os.FileMode
	}{
		{"group writable script", script, 0o775},
		{"world writable script", script, 0o757},
		{"setuid script", script, os.ModeSetuid | 0o755},
		{"setgid script", script, os.ModeSetgid | 0o755},
		{"world writable cgi-bin", filepath.Join(root, "cgi-bin"), 0o777},
		{"group writable root", root, 0o775},
	} {
		orig, err := os.Stat(tc.path)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(tc.path, tc.mode); err != nil {
			t.Fatal(err)
		}
		check(tc.name, http.StatusForbidden)
		if err := os.Chmod(tc.path, orig.Mode()); err != nil {
			t.Fatal(err)
		}
	}
	// chown cleared nothing: the script passes again once restored.
	check("restored", http.StatusOK)
	link := filepath.Join(root, "cgi-bin", "link.sh")
	if err := os.Symlink(script, link); err != nil {
		t.Fatal(err)
	}
	if status, _ := get(t, cgiURL("/cgi-bin/link.sh")); status != http.StatusForbidden {
		t.Errorf("symbolic link to a script: got %d, want 403", status)
	}
}

// user owner runs each script as its file's owner, and never as root.
func TestSecurityUserOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("user owner needs root")
	}
	root := securityTree(t)
	cgiSite(t, root, "user owner", "")
	script := filepath.Join(root, "cgi-bin", "uid.sh")
	if status, body := get(t, cgiURL("/cgi-bin/uid.sh")); status != http.StatusForbidden || strings.Contains(body, "0 0") {
		t.Errorf("root-owned script: got %d %q, want 403", status, body)
	}
	for _, tc := range []struct {
		uid, gid int
		want     string
	}{
		{65534, 0, "65534 65534\n"},   // nobody's passwd group, not the file's
		{54321, 4242, "54321 4242\n"}, // no passwd entry: the file's group
	} {
		if err := os.Chown(script, tc.uid, tc.gid); err != nil {
			t.Fatal(err)
		}
		if status, body := get(t, cgiURL("/cgi-bin/uid.sh")); status != 200 || body != tc.want {
			t.Errorf("script owned by %d:%d: got %d %q, want 200 %q", tc.uid, tc.gid, status, body, tc.want)
		}
	}
	// Refused at load where it cannot work.
	for _, opts := range []string{"user owner nogroup", "user owner\n\t\t\tprogram /bin/true"} {
		site := fmt.Sprintf("http://:%d {\n\troot * %s\n\tpyhttp_cgi {\n\t\t%s\n\t}\n}\n", cgiPort, root, opts)
		if err := loadCaddyfile(globalOptions() + site); err == nil {
			t.Errorf("%q loaded, want refused", opts)
		}
	}
}
