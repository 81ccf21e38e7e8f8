package pyhttp

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pyhttp/caddy-pyhttp/internal/pythontest"
)

// The differential tests run the real `python3 -m http.server` and this
// module on the same tree, send both the same raw requests and compare what
// a client sees. Python answers HTTP/1.0 and closes the connection; its
// Server header and reason phrases are not compared (README, "Protocol" and
// "Server header" rows). They skip only when python3 is absent.

// lookPython returns the python3 on PATH, or skips the test.
func lookPython(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("differential test")
	}
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not found")
	}
	return py
}

// startPython runs `python3 -m http.server` with extra arguments in dir
// (as its working directory and --directory) on a free port, waits until it
// accepts connections, and stops it when the test ends. It returns the port.
func startPython(t *testing.T, dir string, extra ...string) int {
	t.Helper()
	return startPythonBin(t, lookPython(t), dir, extra...)
}

// startPythonBin is startPython with the interpreter py.
func startPythonBin(t *testing.T, py, dir string, extra ...string) int {
	t.Helper()
	port, err := freePort("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	args := append([]string{"-m", "http.server", "--bind", "127.0.0.1", "--directory", dir}, extra...)
	args = append(args, strconv.Itoa(port))
	cmd := exec.Command(py, args...)
	cmd.Dir = dir
	logFile, err := os.Create(filepath.Join(t.TempDir(), "python.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting python3: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
		logFile.Close()
	})

	deadline := time.Now().Add(15 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
		if err == nil {
			conn.Close()
			return port
		}
		select {
		case err := <-exited:
			exited <- err // for the cleanup
			out, _ := os.ReadFile(logFile.Name())
			t.Fatalf("python3 %s exited: %v\n%s", strings.Join(args, " "), err, out)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("python3 http.server did not accept connections on port %d", port)
		}
	}
}

// diffTree builds the tree both servers serve in TestDifferentialSimple and
// returns the modification time given to plain.txt.
func diffTree(t *testing.T, root string) time.Time {
	t.Helper()
	files := map[string]string{
		"plain.txt":                      "plain text\n",
		"page.html":                      "<p>page</p>\n",
		"style.css":                      "p { color: red }\n",
		"app.js":                         "console.log(1)\n",
		"data.json":                      `{"a": 1}`,
		"feed.xml":                       "<feed/>\n",
		"logo.svg":                       "<svg/>\n",
		"img.png":                        "\x89PNG\r\n\x1a\n",
		"blob.gz":                        "\x1f\x8b gzip",
		"arch.tar.gz":                    "tar.gz",
		"arch.tgz":                       "tgz",
		"file.bz2":                       "BZh",
		"file.xz":                        "\xfd7zXZ",
		"bundle.zip":                     "PK\x03\x04",
		"pkg-1.0-py3-none-any.whl":       "PK wheel",
		"README.md":                      "# readme\n",
		"script.py":                      "print('hi')\n",
		"run.sh":                         "#!/bin/sh\necho hi\n",
		"main.c":                         "int main(void) { return 0; }\n",
		"table.csv":                      "a,b\n1,2\n",
		"font.woff2":                     "wOF2",
		"mod.wasm":                       "\x00asm",
		"doc.pdf":                        "%PDF-1.4\n",
		"noext":                          "no extension",
		"old.Z":                          "compress",
		"ball.tar":                       "tar",
		"mod.mjs":                        "export {}",
		"favicon.ico":                    "ico",
		"pic.webp":                       "RIFF",
		"sound.wav":                      "RIFF",
		"letter.rtf":                     "{\\rtf1}",
		"thing.unknownext":               "?",
		"Makefile":                       "all:\n",
		"UPPER.TXT":                      "upper-case extension",
		"Photo.PNG":                      "upper-case png",
		"SHOUT.HTML":                     "<p>SHOUT</p>",
		"ARCHIVE.GZ":                     "upper-case gz",
		"with space.txt":                 "space",
		`amp&lt<gt>q"ap'.txt`:            "specials",
		"김윤미.txt":                        "hangul",
		"hash#name.txt":                  "hash",
		"100%.txt":                       "percent",
		"what?.txt":                      "question",
		"plus+sign.txt":                  "plus",
		".hidden":                        "dotfile",
		".config/settings.ini":           "[x]\n",
		"nested/a/b/c.txt":               "deep",
		"nested/Zeta.txt":                "Z",
		"nested/alpha.txt":               "a",
		"nested/_under.txt":              "_",
		"nested/Beta/":                   "",
		"empty/":                         "",
		"withindex/index.html":           "<p>index.html</p>\n",
		"withindex/other.txt":            "other",
		"withhtm/index.htm":              "<p>index.htm</p>\n",
		"both/index.html":                "<p>both: html wins</p>\n",
		"both/index.htm":                 "<p>both: htm</p>\n",
		"fakeindex/index.html/inner.txt": "a directory named index.html is not an index",
		"fakeindex/index.htm":            "<p>the real index</p>\n",
		"dirindex/index.html/":           "",
		"dirindex/file.txt":              "listed",
		"a&b <c>/x.txt":                  "escaped directory",
		"디렉터리/파일.txt":                    "unicode dir",
		"pct%dir/f.txt":                  "percent dir",
	}
	writeTree(t, root, files)
	for _, link := range []struct{ name, target string }{
		{"link-to-file", "plain.txt"},
		{"link-to-dir", "nested"},
		{"broken-link", "does-not-exist"},
		{"nested/up-link", "../plain.txt"},
	} {
		if err := os.Symlink(link.target, filepath.Join(root, link.name)); err != nil {
			t.Fatal(err)
		}
	}
	// A fractional mtime: both servers must truncate it to whole seconds.
	mtime := time.Date(2021, 3, 4, 5, 6, 7, 500_000_000, time.UTC)
	for _, name := range []string{"plain.txt", "withindex/index.html"} {
		if err := os.Chtimes(filepath.Join(root, name), mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
	return mtime
}

// frozenMimeTypesSHA256 is the SHA-256 of the Debian /etc/mime.types that
// internal/mimetypes froze into its table.
const frozenMimeTypesSHA256 = "c78c959dda2bea01af7f1ceab76e50a540dc168459b4d3d9df547f7a24cc386f"

// portableTypeExts are the extensions whose Content-Type Python gets from
// http.server's own extensions_map or from entries every mime.types
// agrees on.
var portableTypeExts = []string{"", ".gz", ".bz2", ".xz", ".z", ".txt", ".html", ".htm", ".css", ".png", ".json", ".pdf", ".zip"}

// compareContentType reports whether the Content-Type of a file with
// extension ext (lower-cased) is compared with Python's. Python's answer
// depends on the host: mimetypes reads the host's mime.types files, while
// this module has a frozen table (Python 3.13 built-ins plus Debian's
// mime.types). On the reference host, Python 3.11 with Debian's
// /etc/mime.types agrees with the frozen table on every extension this
// test requests (checked over the whole table: they differ only on keys
// guess_type can never reach, such as ".tm.json" and ".ELN", and on .tgz,
// which the suffix map turns into .tar.gz first), so all are compared. On
// a host with another mime.types only portableTypeExts are.
func compareContentType(ext string, hostMatches bool) bool {
	return hostMatches || slices.Contains(portableTypeExts, ext)
}

// hostMimeTypesMatch reports whether this host's /etc/mime.types is the one
// the frozen table was built from.
func hostMimeTypesMatch() bool {
	data, err := os.ReadFile("/etc/mime.types")
	if err != nil {
		return false
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:]) == frozenMimeTypesSHA256
}

// response is what the differential tests compare.
type response struct {
	status int
	header http.Header
	body   []byte
}

// fetch sends one raw request line to port and returns the answer.
func fetch(t *testing.T, port int, line string, header ...string) response {
	t.Helper()
	resp, body := rawRequest(t, port, line, header...)
	return response{resp.StatusCode, resp.Header, body}
}

// compareResponses reports every difference between our answer and
// Python's in the fields a client relies on.
func compareResponses(t *testing.T, got, want response, headers ...string) {
	t.Helper()
	if got.status != want.status {
		t.Errorf("status: got %d, want %d (Python)", got.status, want.status)
	}
	for _, h := range headers {
		if g, w := got.header.Get(h), want.header.Get(h); g != w {
			t.Errorf("%s: got %q, want %q (Python)", h, g, w)
		}
	}
	if !bytes.Equal(got.body, want.body) {
		t.Errorf("body:\ngot  %q\nwant %q (Python)", got.body, want.body)
	}
}

// requestExt is the lower-cased extension of the file a request line names.
func requestExt(line string) string {
	_, target, _ := strings.Cut(line, " ")
	target, _, _ = strings.Cut(target, " ")
	target, _, _ = strings.Cut(target, "?")
	p, err := url.PathUnescape(target)
	if err != nil {
		p = target
	}
	return strings.ToLower(path.Ext(p))
}

// pyhttp_simple answers every request in the table as python3 -m
// http.server does, where a client can see it: unconfigured, as the
// python3 on PATH, and with python_version 3.11, 3.12 and 3.13, as that
// exact CPython where it is installed (pyenv).
func TestDifferentialSimple(t *testing.T) {
	py := lookPython(t)
	t.Run("python_version unset", func(t *testing.T) { differentialSimple(t, py, "") })
	for minor := 11; minor <= 13; minor++ {
		version := fmt.Sprintf("3.%d", minor)
		t.Run("python_version "+version, func(t *testing.T) {
			py := pythontest.Find(minor, minor)
			if py == "" {
				t.Skipf("no CPython %s found", version)
			}
			differentialSimple(t, py, version)
		})
	}
}

// differentialSimple compares a pyhttp_simple site with python_version
// version ("" for unset) against `py -m http.server` on the same tree.
func differentialSimple(t *testing.T, py, version string) {
	root := publicTempDir(t)
	mtime := diffTree(t, root)
	pyPort := startPythonBin(t, py, root)
	block := ""
	if version != "" {
		block = "{\n\t\tpython_version " + version + "\n\t}"
	}
	startCaddy(t, fmt.Sprintf(`
http://localhost:%d {
	root * %s
	pyhttp_simple %s
	handle_errors {
		pyhttp_error_page %s
	}
}
`, simplePort, root, block, block))

	equal := mtime.UTC().Format(http.TimeFormat)
	before := mtime.Add(-time.Second).UTC().Format(http.TimeFormat)
	after := mtime.Add(24 * time.Hour).UTC().Format(http.TimeFormat)

	hostMatches := hostMimeTypesMatch()
	for _, tc := range []struct {
		name, line string
		header     []string
		// For a deliberate difference: our status, and why.
		ourStatus int
		why       string
		// named: compared only when python_version names the release.
		named bool
	}{
		// Files and MIME types.
		{name: "txt", line: "GET /plain.txt HTTP/1.1"},
		{name: "html", line: "GET /page.html HTTP/1.1"},
		{name: "css", line: "GET /style.css HTTP/1.1"},
		{name: "js", line: "GET /app.js HTTP/1.1"},
		{name: "json", line: "GET /data.json HTTP/1.1"},
		{name: "xml", line: "GET /feed.xml HTTP/1.1"},
		{name: "svg", line: "GET /logo.svg HTTP/1.1"},
		{name: "png", line: "GET /img.png HTTP/1.1"},
		{name: "gz", line: "GET /blob.gz HTTP/1.1"},
		{name: "tar.gz", line: "GET /arch.tar.gz HTTP/1.1"},
		{name: "tgz", line: "GET /arch.tgz HTTP/1.1"},
		{name: "bz2", line: "GET /file.bz2 HTTP/1.1"},
		{name: "xz", line: "GET /file.xz HTTP/1.1"},
		{name: "zip", line: "GET /bundle.zip HTTP/1.1"},
		{name: "whl", line: "GET /pkg-1.0-py3-none-any.whl HTTP/1.1"},
		{name: "md", line: "GET /README.md HTTP/1.1"},
		{name: "py", line: "GET /script.py HTTP/1.1"},
		{name: "sh", line: "GET /run.sh HTTP/1.1"},
		{name: "c", line: "GET /main.c HTTP/1.1"},
		{name: "csv", line: "GET /table.csv HTTP/1.1"},
		{name: "woff2", line: "GET /font.woff2 HTTP/1.1"},
		{name: "wasm", line: "GET /mod.wasm HTTP/1.1"},
		{name: "pdf", line: "GET /doc.pdf HTTP/1.1"},
		{name: "Z", line: "GET /old.Z HTTP/1.1"},
		{name: "tar", line: "GET /ball.tar HTTP/1.1"},
		{name: "mjs", line: "GET /mod.mjs HTTP/1.1"},
		{name: "ico", line: "GET /favicon.ico HTTP/1.1"},
		{name: "webp", line: "GET /pic.webp HTTP/1.1"},
		{name: "wav", line: "GET /sound.wav HTTP/1.1"},
		{name: "rtf", line: "GET /letter.rtf HTTP/1.1"},
		{name: "unknown extension", line: "GET /thing.unknownext HTTP/1.1"},
		{name: "no extension", line: "GET /noext HTTP/1.1"},
		{name: "Makefile", line: "GET /Makefile HTTP/1.1"},
		{name: "upper-case TXT", line: "GET /UPPER.TXT HTTP/1.1"},
		{name: "upper-case PNG", line: "GET /Photo.PNG HTTP/1.1"},
		{name: "upper-case HTML", line: "GET /SHOUT.HTML HTTP/1.1"},
		{name: "upper-case GZ", line: "GET /ARCHIVE.GZ HTTP/1.1"},
		{name: "dotfile", line: "GET /.hidden HTTP/1.1"},
		{name: "ini in dot directory", line: "GET /.config/settings.ini HTTP/1.1"},

		// Names that need encoding.
		{name: "space", line: "GET /with%20space.txt HTTP/1.1"},
		{name: "html specials", line: "GET /amp%26lt%3Cgt%3Eq%22ap%27.txt HTTP/1.1"},
		{name: "hangul", line: "GET /%EA%B9%80%EC%9C%A4%EB%AF%B8.txt HTTP/1.1"},
		{name: "hash", line: "GET /hash%23name.txt HTTP/1.1"},
		{name: "percent", line: "GET /100%25.txt HTTP/1.1"},
		{name: "question mark", line: "GET /what%3F.txt HTTP/1.1"},
		{name: "plus is not a space", line: "GET /plus+sign.txt HTTP/1.1"},
		{name: "encoded plus", line: "GET /plus%2Bsign.txt HTTP/1.1"},
		{name: "lower-case escapes", line: "GET /with%20space%2etxt HTTP/1.1"},
		{name: "bad escape", line: "GET /100%.txt HTTP/1.1", ourStatus: 400,
			why: "Python's unquote keeps a malformed escape and serves /100%.txt; Go's HTTP server rejects the request line before Caddy sees it (not yet a README row)"},
		{name: "raw fragment ignored", line: "GET /plain.txt#frag HTTP/1.1"},
		{name: "query ignored on a file", line: "GET /plain.txt?x=1&y=%20 HTTP/1.1"},

		// Path mapping.
		{name: "encoded slash", line: "GET /nested%2Fa%2Fb%2Fc.txt HTTP/1.1"},
		{name: "encoded dot-dot clamped", line: "GET /%2e%2e/%2e%2e/etc/passwd HTTP/1.1"},
		{name: "dot-dot clamped", line: "GET /../../plain.txt HTTP/1.1"},
		{name: "dot-dot inside", line: "GET /nested/../plain.txt HTTP/1.1"},
		{name: "dot segments", line: "GET /nested/./a/../a/b/c.txt HTTP/1.1"},
		{name: "double slash file", line: "GET //plain.txt HTTP/1.1"},
		{name: "double slash dir", line: "GET //nested HTTP/1.1"},
		{name: "scheme-relative lookalike", line: "GET //example.com/ HTTP/1.1"},
		{name: "inner double slash", line: "GET /nested//a/b/c.txt HTTP/1.1"},
		{name: "backslash is a name byte", line: "GET /nested\\alpha.txt HTTP/1.1"},

		// Directories, redirects and listings (queries on listings only
		// with python_version set: unset, the title differs, README row
		// "Listing title").
		{name: "listing with query", line: "GET /nested/?q=%3Cb%3E&x HTTP/1.1", named: true},
		{name: "listing with empty query", line: "GET /nested/? HTTP/1.1", named: true},
		{name: "listing with fragment-like path", line: "GET /a%26b%20%3Cc%3E/?%23x HTTP/1.1", named: true},
		{name: "root listing", line: "GET / HTTP/1.1"},
		{name: "nested listing", line: "GET /nested/ HTTP/1.1"},
		{name: "empty listing", line: "GET /empty/ HTTP/1.1"},
		{name: "dot directory listing", line: "GET /.config/ HTTP/1.1"},
		{name: "escaped directory listing", line: "GET /a%26b%20%3Cc%3E/ HTTP/1.1"},
		{name: "unicode directory listing", line: "GET /%EB%94%94%EB%A0%89%ED%84%B0%EB%A6%AC/ HTTP/1.1"},
		{name: "percent directory listing", line: "GET /pct%25dir/ HTTP/1.1"},
		{name: "listing through a symlink", line: "GET /link-to-dir/ HTTP/1.1"},
		{name: "dir without slash", line: "GET /nested HTTP/1.1"},
		{name: "dir without slash keeps query", line: "GET /nested?x=1&y HTTP/1.1"},
		{name: "dir without slash keeps encoding", line: "GET /nest%65d HTTP/1.1"},
		{name: "deep dir without slash", line: "GET /nested/a HTTP/1.1"},
		{name: "symlinked dir without slash", line: "GET /link-to-dir HTTP/1.1"},
		{name: "index.html", line: "GET /withindex/ HTTP/1.1"},
		{name: "index dir without slash", line: "GET /withindex HTTP/1.1"},
		{name: "index.htm", line: "GET /withhtm/ HTTP/1.1"},
		{name: "index.html before index.htm", line: "GET /both/ HTTP/1.1"},
		{name: "directory named index.html is skipped", line: "GET /fakeindex/ HTTP/1.1"},
		{name: "only a directory named index.html", line: "GET /dirindex/ HTTP/1.1"},
		{name: "directory named index.html redirects", line: "GET /fakeindex/index.html HTTP/1.1"},

		// Missing things and symlinks.
		{name: "missing", line: "GET /missing HTTP/1.1"},
		{name: "missing with slash", line: "GET /missing/ HTTP/1.1"},
		{name: "missing nested", line: "GET /nested/missing.txt HTTP/1.1"},
		{name: "file with trailing slash", line: "GET /plain.txt/ HTTP/1.1"},
		{name: "file as a directory", line: "GET /plain.txt/x HTTP/1.1"},
		{name: "symlink to file", line: "GET /link-to-file HTTP/1.1"},
		{name: "symlink up and out", line: "GET /nested/up-link HTTP/1.1"},
		{name: "broken symlink", line: "GET /broken-link HTTP/1.1"},

		// HEAD.
		{name: "HEAD file", line: "HEAD /plain.txt HTTP/1.1"},
		{name: "HEAD listing", line: "HEAD /nested/ HTTP/1.1"},
		{name: "HEAD redirect", line: "HEAD /nested HTTP/1.1"},
		{name: "HEAD missing", line: "HEAD /missing HTTP/1.1"},

		// If-Modified-Since (http.server's send_head).
		{name: "IMS equal", line: "GET /plain.txt HTTP/1.1", header: []string{"If-Modified-Since", equal}},
		{name: "IMS older", line: "GET /plain.txt HTTP/1.1", header: []string{"If-Modified-Since", before}},
		{name: "IMS newer", line: "GET /plain.txt HTTP/1.1", header: []string{"If-Modified-Since", after}},
		{name: "IMS +0000", line: "GET /plain.txt HTTP/1.1", header: []string{"If-Modified-Since", "Thu, 04 Mar 2021 05:06:07 +0000"}},
		{name: "IMS -0000", line: "GET /plain.txt HTTP/1.1", header: []string{"If-Modified-Since", "Thu, 04 Mar 2021 05:06:07 -0000"}},
		{name: "IMS non-GMT zone", line: "GET /plain.txt HTTP/1.1", header: []string{"If-Modified-Since", "Thu, 04 Mar 2021 07:06:07 +0200"}},
		{name: "IMS EST", line: "GET /plain.txt HTTP/1.1", header: []string{"If-Modified-Since", "Fri, 05 Mar 2021 05:06:07 EST"}},
		{name: "IMS RFC 850", line: "GET /plain.txt HTTP/1.1", header: []string{"If-Modified-Since", "Thursday, 04-Mar-21 05:06:07 GMT"}},
		{name: "IMS asctime", line: "GET /plain.txt HTTP/1.1", header: []string{"If-Modified-Since", "Thu Mar  4 05:06:07 2021"}},
		{name: "IMS no weekday", line: "GET /plain.txt HTTP/1.1", header: []string{"If-Modified-Since", "04 Mar 2021 05:06:07 GMT"}},
		{name: "IMS garbage", line: "GET /plain.txt HTTP/1.1", header: []string{"If-Modified-Since", "yesterday"}},
		{name: "IMS empty", line: "GET /plain.txt HTTP/1.1", header: []string{"If-Modified-Since", ""}},
		{name: "IMS with If-None-Match", line: "GET /plain.txt HTTP/1.1", header: []string{"If-Modified-Since", equal, "If-None-Match", `"abc"`}},
		{name: "IMS on an index", line: "GET /withindex/ HTTP/1.1", header: []string{"If-Modified-Since", equal}},
		{name: "IMS on a listing", line: "GET /nested/ HTTP/1.1", header: []string{"If-Modified-Since", after}},
		{name: "If-None-Match star alone", line: "GET /plain.txt HTTP/1.1", header: []string{"If-None-Match", "*"}},
		{name: "If-Unmodified-Since ignored", line: "GET /plain.txt HTTP/1.1", header: []string{"If-Unmodified-Since", before}},

		// Methods.
		{name: "PUT", line: "PUT /plain.txt HTTP/1.1", header: []string{"Content-Length", "0"}},
		{name: "POST", line: "POST /plain.txt HTTP/1.1", header: []string{"Content-Length", "0"}},
		{name: "DELETE", line: "DELETE /plain.txt HTTP/1.1"},
		{name: "OPTIONS", line: "OPTIONS /plain.txt HTTP/1.1"},
		{name: "PATCH", line: "PATCH /plain.txt HTTP/1.1", header: []string{"Content-Length", "0"}},
		{name: "lower-case get", line: "get /plain.txt HTTP/1.1"},
		{name: "PUT on a missing file", line: "PUT /missing HTTP/1.1", header: []string{"Content-Length", "0"}},

		// HTTP/1.0 request.
		{name: "HTTP/1.0", line: "GET /plain.txt HTTP/1.0"},
	} {
		if tc.named && version == "" {
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			want := fetch(t, pyPort, tc.line, tc.header...)
			got := fetch(t, simplePort, tc.line, tc.header...)
			if tc.ourStatus != 0 {
				// A deliberate difference: check our side only.
				t.Logf("not compared (Python: %d): %s", want.status, tc.why)
				if got.status != tc.ourStatus {
					t.Errorf("status: got %d, want %d", got.status, tc.ourStatus)
				}
				return
			}
			headers := []string{"Content-Length", "Location", "Last-Modified"}
			if compareContentType(requestExt(tc.line), hostMatches) {
				headers = append(headers, "Content-Type")
			} else {
				t.Logf("Content-Type not compared: this host's /etc/mime.types is not the frozen table's")
			}
			compareResponses(t, got, want, headers...)
		})
	}
}

// copyTree copies the regular files and directories under src into dst,
// directories 0755 and files 0644: CI runs as root and scripts run as
// nobody, who must reach everything. Callers set run bits themselves.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			if err := os.MkdirAll(target, 0o755); err != nil {
				return err
			}
			return os.Chmod(target, 0o755)
		}
		in, err := os.Open(p)
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, in); err != nil {
			out.Close()
			return err
		}
		return out.Close()
	})
	if err != nil {
		t.Fatal(err)
	}
}

// chmodAll sets mode on the named files under root.
func chmodAll(t *testing.T, root string, mode os.FileMode, names ...string) {
	t.Helper()
	for _, name := range names {
		if err := os.Chmod(filepath.Join(root, filepath.FromSlash(name)), mode); err != nil {
			t.Fatal(err)
		}
	}
}

// rawRequestBody is rawRequest with a request body (see sendRaw), failing
// the test if the body cannot be read whole.
func rawRequestBody(t *testing.T, port int, line, body string, header ...string) response {
	t.Helper()
	resp, data, err := sendRaw(t, port, line, body, header...)
	if err != nil {
		t.Fatalf("%s: reading body: %v", line, err)
	}
	return response{resp.StatusCode, resp.Header, data}
}

// TestDifferentialCGI compares pyhttp_cgi with `python3 -m http.server
// --cgi` on one tree: script selection and the variables both set alike
// (diffenv.sh prints SCRIPT_NAME, PATH_INFO, QUERY_STRING, REQUEST_METHOD,
// GATEWAY_INTERFACE, CONTENT_LENGTH, HTTP_USER_AGENT, HTTP_ACCEPT,
// HTTP_COOKIE and the ISINDEX argv), and the error answers.
//
// Not compared, each a README difference row:
//   - SERVER_NAME, SERVER_PROTOCOL ("SERVER_NAME / SERVER_PROTOCOL"),
//     SERVER_SOFTWARE ("Server header"), CONTENT_TYPE ("CONTENT_TYPE"),
//     PATH_TRANSLATED ("PATH_TRANSLATED"), REMOTE_USER and AUTH_TYPE
//     ("REMOTE_USER / AUTH_TYPE"), other HTTP_* and the server's own
//     variables ("CGI request headers", "CGI environment"), REQUEST_URI and
//     friends ("More variables"), REMOTE_ADDR/REMOTE_HOST (Python's
//     REMOTE_HOST is the address too; the same on loopback, but not a
//     property worth pinning).
//   - PATH_INFO containing %25 or %3F ("PATH_INFO": Python decodes twice).
//   - Unset and empty print alike: Python sets QUERY_STRING,
//     CONTENT_LENGTH, HTTP_USER_AGENT, HTTP_COOKIE and HTTP_ACCEPT to ""
//     when absent, and PATH_INFO to "" without path info (run_cgi's
//     setdefault); RFC 3875 leaves them unset.
//   - $0 (Python passes the script's file name as argv[0], the kernel
//     replaces it with the path for a #! script either way), the body of
//     HEAD answers ("CGI HEAD"), the script's stdin ("CGI stdin"), the
//     working directory ("CGI working directory") and Content-Length of
//     script output ("Protocol": Python streams until close).
//
// It runs unconfigured against the python3 on PATH, and with python_version
// 3.11, 3.12 and 3.13 against that exact CPython where installed.
func TestDifferentialCGI(t *testing.T) {
	py := lookPython(t)
	t.Run("python_version unset", func(t *testing.T) { differentialCGI(t, py, "") })
	for minor := 11; minor <= 13; minor++ {
		version := fmt.Sprintf("3.%d", minor)
		t.Run("python_version "+version, func(t *testing.T) {
			py := pythontest.Find(minor, minor)
			if py == "" {
				t.Skipf("no CPython %s found", version)
			}
			differentialCGI(t, py, version)
		})
	}
}

// differentialCGI compares a pyhttp_cgi site with python_version version
// ("" for unset) against `py -m http.server --cgi` on the same tree.
func differentialCGI(t *testing.T, py, version string) {
	root := cgiTree(t)
	pyPort := startPythonBin(t, py, root, "--cgi")
	options := ""
	if version != "" {
		options = "python_version " + version
	}
	cgiSite(t, root, options, "")

	browser := []string{
		"User-Agent", "Mozilla/5.0 (difftest)",
		"Accept", "text/html, */*;q=0.1",
		"Cookie", "session=abc; theme=dark",
	}
	form := []string{"Content-Type", "application/x-www-form-urlencoded"}
	for _, tc := range []struct {
		name, line, body string
		header           []string
	}{
		// Scripts and their environment.
		{name: "plain", line: "GET /cgi-bin/diffenv.sh HTTP/1.1"},
		{name: "query", line: "GET /cgi-bin/diffenv.sh?a=1&b=%20x+y HTTP/1.1"},
		{name: "ISINDEX words", line: "GET /cgi-bin/diffenv.sh?word+two HTTP/1.1"},
		{name: "ISINDEX keeps escapes", line: "GET /cgi-bin/diffenv.sh?%41+b%3D HTTP/1.1"},
		{name: "empty query", line: "GET /cgi-bin/diffenv.sh? HTTP/1.1"},
		{name: "path info", line: "GET /cgi-bin/diffenv.sh/extra/path HTTP/1.1"},
		{name: "path info with an escape", line: "GET /cgi-bin/diffenv.sh/with%20space HTTP/1.1"},
		{name: "path info and query", line: "GET /cgi-bin/diffenv.sh/p?q=1 HTTP/1.1"},
		{name: "path info slash", line: "GET /cgi-bin/diffenv.sh/ HTTP/1.1"},
		{name: "nested script", line: "GET /cgi-bin/sub/nested.sh/more/x?q=1 HTTP/1.1"},
		{name: "encoded c", line: "GET /%63gi-bin/diffenv.sh HTTP/1.1"},
		{name: "encoded slash", line: "GET /cgi-bin%2fdiffenv.sh HTTP/1.1"},
		{name: "dot-dot", line: "GET /files/../cgi-bin/diffenv.sh HTTP/1.1"},
		{name: "double slash", line: "GET //cgi-bin/diffenv.sh HTTP/1.1"},
		{name: "dot segment", line: "GET /cgi-bin/./diffenv.sh HTTP/1.1"},
		{name: "browser headers", line: "GET /cgi-bin/diffenv.sh HTTP/1.1", header: browser},
		{name: "POST form", line: "POST /cgi-bin/diffenv.sh HTTP/1.1", body: "a=1&b=2", header: form},
		{name: "POST with ISINDEX query", line: "POST /cgi-bin/diffenv.sh?x+y HTTP/1.1", body: "z"},
		{name: "HTTP/1.0", line: "GET /cgi-bin/diffenv.sh?v HTTP/1.0"},

		// Errors and static paths.
		{name: "missing script", line: "GET /cgi-bin/nope.sh HTTP/1.1"},
		{name: "missing script with path info", line: "GET /cgi-bin/nope.sh/x HTTP/1.1"},
		{name: "cgi-bin itself", line: "GET /cgi-bin/ HTTP/1.1"},
		{name: "subdirectory", line: "GET /cgi-bin/sub HTTP/1.1"},
		{name: "not executable", line: "GET /cgi-bin/noexec.sh HTTP/1.1"},
		{name: "POST to a static path", line: "POST /other.txt HTTP/1.1", body: "x"},
		{name: "POST to a missing static path", line: "POST /nope HTTP/1.1", body: "x"},
		{name: "PUT to a script", line: "PUT /cgi-bin/diffenv.sh HTTP/1.1", body: "x"},
		{name: "DELETE a static path", line: "DELETE /other.txt HTTP/1.1"},
		{name: "cgi-bin without slash", line: "GET /cgi-bin HTTP/1.1"},
		{name: "static file", line: "GET /files/readme.txt HTTP/1.1"},
		{name: "static listing", line: "GET /files/ HTTP/1.1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := rawRequestBody(t, pyPort, tc.line, tc.body, tc.header...)
			got := rawRequestBody(t, cgiPort, tc.line, tc.body, tc.header...)
			checkNoSource(t, got.body)
			headers := []string{"Content-Type", "Location"}
			if !bytes.Contains(want.body, []byte("SCRIPT_NAME=")) {
				// Python's own answers carry a length; script output has
				// none under Python and, depending on whether the script
				// finished before the first flush, may or may not here
				// (README, "Protocol"). diffenv.sh always prints
				// SCRIPT_NAME, so its output is told apart by content, not
				// by how the request line spells the path.
				headers = append(headers, "Content-Length")
			}
			compareResponses(t, got, want, headers...)
		})
	}
}
