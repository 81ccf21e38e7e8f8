package pyhttp

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// modesTree is a site for extension mode: env.sh copies under several
// names, static files and a directory with a script index.
func modesTree(t *testing.T) (root, envScript string) {
	t.Helper()
	root = cgiTree(t)
	envScript = filepath.Join(root, "cgi-bin", "env.sh")
	src, err := os.ReadFile(envScript)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"app/run.cgi", "app/upper.CGI", "idx/index.cgi", "noexec.cgi"} {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		mode := os.FileMode(0o755)
		if name == "noexec.cgi" {
			mode = 0o644
		}
		if err := os.WriteFile(p, src, mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
	}
	writeTree(t, root, map[string]string{"app/page.txt": "static page\n", "plain/": ""})
	if err := os.Symlink("run.cgi", filepath.Join(root, "app", "alias.txt")); err != nil {
		t.Fatal(err)
	}
	return root, envScript
}

// Program mode under handle_path: SCRIPT_NAME is the stripped prefix,
// PATH_INFO the decoded rest, every method reaches the program, and the
// program's arguments come first.
func TestCGIProgramMode(t *testing.T) {
	root, env := modesTree(t)
	startCaddy(t, fmt.Sprintf(`
http://:%d {
	root * %s
	handle_path /env/* {
		pyhttp_cgi {
			program %s first
		}
	}
	pyhttp_cgi /cgit* {
		program %s
		script_name /cgit
	}
	route /u/* {
		uri strip_prefix /u
		pyhttp_cgi {
			program %s
		}
	}
	handle_path /ext/* {
		pyhttp_cgi {
			script_ext .cgi
		}
	}
	handle_errors {
		pyhttp_error_page
	}
}
`, cgiPort, root, env, env, env))

	for _, tc := range []struct {
		method, path, scriptName, pathInfo string
	}{
		{"GET", "/env/a/b%20c?-x", "/env", "/a/b c"},
		{"PUT", "/env/x/", "/env", "/x/"},
		{"DELETE", "/env/", "/env", "/"},
		{"PATCH", "/env/a/./b/../c", "/env", "/a/c"},
		{"GET", "/cgit", "/cgit", ""},
		{"GET", "/cgit/repo/tree", "/cgit", "/repo/tree"},
		{"OPTIONS", "/cgit/", "/cgit", "/"},
		{"GET", "/CGIT/repo", "/cgit", "/repo"},
		{"GET", "/u/z%2Fy", "/u", "/z/y"},
		{"GET", "/U//x", "/U", "/x"},
	} {
		resp, body := do(t, tc.method, cgiURL(tc.path), nil)
		if resp.StatusCode != 200 {
			t.Errorf("%s %s: status %d\n%s", tc.method, tc.path, resp.StatusCode, body)
			continue
		}
		e := parseEnv(t, body)
		if e["SCRIPT_NAME"] != tc.scriptName || e["PATH_INFO"] != tc.pathInfo || e["REQUEST_METHOD"] != tc.method {
			t.Errorf("%s %s: SCRIPT_NAME=%q PATH_INFO=%q REQUEST_METHOD=%q, want %q %q", tc.method, tc.path,
				e["SCRIPT_NAME"], e["PATH_INFO"], e["REQUEST_METHOD"], tc.scriptName, tc.pathInfo)
		}
		if e["SCRIPT_FILENAME"] != env || e["REDIRECT_STATUS"] != "200" || e["SERVER_ADDR"] == "" {
			t.Errorf("%s %s: SCRIPT_FILENAME=%q REDIRECT_STATUS=%q SERVER_ADDR=%q", tc.method, tc.path,
				e["SCRIPT_FILENAME"], e["REDIRECT_STATUS"], e["SERVER_ADDR"])
		}
		if strings.HasPrefix(tc.path, "/env") && (e["ARGC"] != "1" || e["ARGV_1"] != "first") {
			t.Errorf("%s %s: ARGC=%q ARGV_1=%q ARGV_2=%q, want the program's argument", tc.method, tc.path, e["ARGC"], e["ARGV_1"], e["ARGV_2"])
		}
	}

	// Apache's environment, not Python's empty defaults: a variable the
	// request has no value for is unset (PHP's isset($_SERVER['PATH_INFO'])
	// and `$_SERVER['HTTP_REFERER'] ?? 'index.php'` depend on it).
	for _, p := range []string{"/cgit", "/app/run.cgi"} {
		u := cgiURL(p)
		if p == "/app/run.cgi" {
			u = fmt.Sprintf("http://localhost:%d/ext%s", cgiPort, p)
		}
		resp, body := do(t, "GET", u, nil)
		if resp.StatusCode != 200 {
			t.Errorf("GET %s: status %d\n%s", u, resp.StatusCode, body)
			continue
		}
		e := parseEnv(t, body)
		for _, name := range []string{"PATH_INFO", "PATH_TRANSLATED", "CONTENT_LENGTH", "REMOTE_HOST", "HTTP_COOKIE", "HTTP_REFERER", "HTTP_ACCEPT"} {
			if v, ok := e[name]; ok {
				t.Errorf("GET %s: %s=%q is set, want it unset as Apache leaves it", u, name, v)
			}
		}
	}
}

// Extension mode: scripts run anywhere, by extension in any case, with
// PATH_INFO after their segment; an index script runs for its directory;
// no spelling of a script's URL serves its source.
func TestCGIExtensionMode(t *testing.T) {
	root, _ := modesTree(t)
	startCaddy(t, fmt.Sprintf(`
http://:%d {
	root * %s
	handle_path /pre/* {
		pyhttp_cgi {
			script_ext .cgi
			index index.cgi index.html
		}
	}
	pyhttp_cgi {
		script_ext .cgi
		index index.cgi index.html
	}
	handle_errors {
		pyhttp_error_page
	}
}
`, cgiPort, root))

	for _, tc := range []struct {
		method, path, scriptName, pathInfo string
	}{
		{"GET", "/app/run.cgi", "/app/run.cgi", ""},
		{"POST", "/app/run.cgi/a/b%20c/", "/app/run.cgi", "/a/b c/"},
		{"DELETE", "/app/upper.CGI", "/app/upper.CGI", ""},
		{"PUT", "//app/./x/../run.cgi", "/app/run.cgi", ""},
		{"GET", "/idx/", "/idx/index.cgi", ""},
		{"GET", "/pre/app/run.cgi/x", "/pre/app/run.cgi", "/x"},
		{"GET", "/pre/idx/", "/pre/idx/index.cgi", ""},
		// Dot segments Caddy resolves after stripping stay out of the
		// prefix: no client text reaches SCRIPT_NAME.
		{"GET", "/pre/%3Cb%3E/%2e%2e/app/run.cgi", "/pre/app/run.cgi", ""},
	} {
		resp, body := do(t, tc.method, cgiURL(tc.path), nil)
		checkNoSource(t, body)
		if resp.StatusCode != 200 {
			t.Errorf("%s %s: status %d\n%s", tc.method, tc.path, resp.StatusCode, body)
			continue
		}
		e := parseEnv(t, body)
		if e["SCRIPT_NAME"] != tc.scriptName || e["PATH_INFO"] != tc.pathInfo {
			t.Errorf("%s %s: SCRIPT_NAME=%q PATH_INFO=%q, want %q %q", tc.method, tc.path, e["SCRIPT_NAME"], e["PATH_INFO"], tc.scriptName, tc.pathInfo)
		}
	}

	// No ISINDEX arguments in extension mode.
	if resp, body := do(t, "GET", cgiURL("/app/run.cgi?-s+x"), nil); resp.StatusCode != 200 || parseEnv(t, body)["ARGC"] != "0" {
		t.Errorf("query without '=': %d ARGC=%q, want no arguments", resp.StatusCode, parseEnv(t, body)["ARGC"])
	}

	// Static files are served; spellings of a script never show its source.
	if resp, body := do(t, "GET", cgiURL("/app/page.txt"), nil); resp.StatusCode != 200 || string(body) != "static page\n" {
		t.Errorf("static file: %d %q", resp.StatusCode, body)
	}
	for _, p := range []string{
		"/app/run.cgi.", "/app/run.cgi%2e", "/app/run.cgi::$DATA", "/app/run.cgi%00", "/app/run.cgi%20",
		"/app/alias.txt", "/noexec.cgi", "/app/RUN.CGI", "/app/run%2ecgi.", "/app/run.cgi:x",
	} {
		resp, body := rawRequest(t, cgiPort, "GET "+p+" HTTP/1.1")
		checkNoSource(t, body)
		if resp.StatusCode != 403 && resp.StatusCode != 404 && resp.StatusCode != 400 {
			t.Errorf("GET %s: status %d, want 403, 404 or 400", p, resp.StatusCode)
		}
	}
	// A script that does not exist is 404, as under Apache, not "not
	// served as a file".
	for _, p := range []string{"/app/missing.cgi", "/app/RUN.CGI", "/pre/app/missing.cgi"} {
		if resp, _ := do(t, "GET", cgiURL(p), nil); resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: status %d, want 404", p, resp.StatusCode)
		}
	}
	// A directory without the slash keeps the stripped prefix in its 301.
	if resp, _ := do(t, "GET", cgiURL("/pre/idx"), nil); resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != "/pre/idx/" {
		t.Errorf("GET /pre/idx: %d Location %q, want 301 /pre/idx/", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp, _ := do(t, "GET", cgiURL("/pre/x/%2e%2e/idx"), nil); resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != "/pre/idx/" {
		t.Errorf("GET /pre/x/%%2e%%2e/idx: %d Location %q, want 301 /pre/idx/", resp.StatusCode, resp.Header.Get("Location"))
	}
	// Methods other than GET and HEAD on static files are Python's 501.
	if resp, _ := do(t, "PUT", cgiURL("/app/page.txt"), nil); resp.StatusCode != 501 {
		t.Errorf("PUT static: %d, want 501", resp.StatusCode)
	}
}

// Directory mode: Python's method rule unless all_methods; SCRIPT_NAME and
// the trailing-slash 301 keep a stripped prefix; a relative Location is a
// 302 as written.
func TestCGIDirectoryModePrefixAndMethods(t *testing.T) {
	root := cgiTree(t)
	writeTree(t, root, map[string]string{"cgi-bin/rel.sh": "#!/bin/sh\nprintf 'Location: form.php?a=1\\n\\n'\n",
		"cgi-bin/rel303.sh": "#!/bin/sh\nprintf 'Status: 303 See Other\\nLocation: ../up\\n\\n'\n"})
	chmodAll(t, root, 0o755, "cgi-bin/rel.sh", "cgi-bin/rel303.sh")
	startCaddy(t, fmt.Sprintf(`
http://:%d {
	root * %s
	handle_path /app/* {
		pyhttp_cgi {
			all_methods
		}
	}
	handle_path /simple/* {
		pyhttp_simple
	}
	pyhttp_cgi
	handle_errors {
		pyhttp_error_page
	}
}
`, cgiPort, root))
	resp, body := do(t, "PUT", cgiURL("/app/cgi-bin/env.sh/x"), nil)
	if resp.StatusCode != 200 {
		t.Fatalf("PUT with all_methods: %d\n%s", resp.StatusCode, body)
	}
	if e := parseEnv(t, body); e["SCRIPT_NAME"] != "/app/cgi-bin/env.sh" || e["PATH_INFO"] != "/x" {
		t.Errorf("SCRIPT_NAME=%q PATH_INFO=%q, want /app/cgi-bin/env.sh /x", e["SCRIPT_NAME"], e["PATH_INFO"])
	}
	if resp, _ := do(t, "PUT", cgiURL("/cgi-bin/env.sh"), nil); resp.StatusCode != 501 {
		t.Errorf("PUT without all_methods: %d, want 501", resp.StatusCode)
	}
	for _, p := range []string{"/app/files", "/simple/files"} {
		resp, _ := do(t, "GET", cgiURL(p), nil)
		if resp.StatusCode != 301 || resp.Header.Get("Location") != p+"/" {
			t.Errorf("GET %s: %d Location %q, want 301 %s/", p, resp.StatusCode, resp.Header.Get("Location"), p)
		}
	}
	resp, _ = do(t, "GET", cgiURL("/cgi-bin/rel.sh"), nil)
	if resp.StatusCode != 302 || resp.Header.Get("Location") != "form.php?a=1" {
		t.Errorf("relative Location: %d %q, want 302 form.php?a=1", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, _ = do(t, "GET", cgiURL("/cgi-bin/rel303.sh"), nil)
	if resp.StatusCode != 303 || resp.Header.Get("Location") != "../up" {
		t.Errorf("relative Location with Status: %d %q, want 303 ../up", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// Extension mode with passthru in front of file_server: the next handler
// never gets a path that reaches a script's file, by a symbolic link or a
// look-alike spelling, so file_server cannot send its source.
func TestCGIExtensionModePassthru(t *testing.T) {
	root, _ := modesTree(t)
	startCaddy(t, fmt.Sprintf(`
http://:%d {
	root * %s
	route {
		pyhttp_cgi {
			script_ext .cgi
			passthru
		}
		file_server
	}
}
`, cgiPort, root))
	if resp, body := do(t, "GET", cgiURL("/app/run.cgi/x"), nil); resp.StatusCode != 200 || parseEnv(t, body)["PATH_INFO"] != "/x" {
		t.Errorf("script: %d\n%s", resp.StatusCode, body)
	}
	if resp, body := do(t, "GET", cgiURL("/app/page.txt"), nil); resp.StatusCode != 200 || string(body) != "static page\n" {
		t.Errorf("file_server: %d %q", resp.StatusCode, body)
	}
	for _, p := range []string{"/app/alias.txt", "/app/run.cgi.", "/app/run.cgi%20", "/noexec.cgi"} {
		resp, body := rawRequest(t, cgiPort, "GET "+p+" HTTP/1.1")
		checkNoSource(t, body)
		if resp.StatusCode != 403 && resp.StatusCode != 404 {
			t.Errorf("GET %s: status %d, want 403 or 404", p, resp.StatusCode)
		}
	}
}
