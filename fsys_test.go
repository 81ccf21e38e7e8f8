package pyhttp

import (
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

func init() {
	caddy.RegisterModule(memFS{})
}

// memFS is a test-only caddy.fs module: the `filesystem mem pyhttp_test_mem`
// global option registers memFiles under the name mem, as an embedded or
// object-storage file system would be.
type memFS struct{ files fs.FS }

func (m *memFS) Open(name string) (fs.File, error) { return m.files.Open(name) }

// UnmarshalCaddyfile takes the module name alone.
func (m *memFS) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next()
	if d.NextArg() {
		return d.ArgErr()
	}
	return nil
}

// memFiles is what every memFS serves; tests set it before loading a config.
var memFiles fstest.MapFS

func (memFS) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "caddy.fs.pyhttp_test_mem", New: func() caddy.Module { return &memFS{files: memFiles} }}
}

// memTree is a small site: a listing with a directory, an index file and a
// file for Range and If-Modified-Since.
func memTree(prefix string) fstest.MapFS {
	mtime := time.Date(2026, 11, 24, 21, 57, 5, 0, time.UTC)
	files := fstest.MapFS{}
	for name, content := range map[string]string{
		"a.txt":              "0123456789abcdef",
		"B file.html":        "<p>b</p>",
		"sub/index.html":     "<p>index from the virtual fs</p>",
		"zdir/inner.txt":     "inner",
		"files/only-mem.txt": "from the virtual fs\n",
	} {
		files[prefix+name] = &fstest.MapFile{Data: []byte(content), Mode: 0o644, ModTime: mtime}
	}
	return files
}

// pyhttp_simple and the static side of pyhttp_cgi serve a virtual file
// system registered with the filesystem global option: the listing is
// byte-identical to the one of the same tree on disk (which the
// differential tests hold to CPython's), index files, the trailing-slash
// redirect, Range, If-Modified-Since and 404 work as on disk, and CGI
// scripts still run from the local disk.
func TestVirtualFileSystem(t *testing.T) {
	disk := observeTree(t)
	prefix := strings.TrimPrefix(filepath.ToSlash(disk), "/") + "/"
	memFiles = memTree("site/")
	for name, f := range memTree(prefix) {
		memFiles[name] = f
	}
	// The same static tree on the disk, for the byte-for-byte comparison.
	diskStatic := publicTempDir(t)
	for name, f := range memTree("") {
		writeTree(t, diskStatic, map[string]string{name: string(f.Data)})
	}
	diskPort := 9082 + portOffset
	startCaddyRaw(t, fmt.Sprintf(`{
	admin unix/%s
	http_port %d
	https_port %d
	grace_period 1ns
	skip_install_trust
	auto_https off
	filesystem mem pyhttp_test_mem
}
http://:%d {
	pyhttp_simple {
		fs mem
		root /site
	}
}
http://:%d {
	root * %s
	fs mem
	pyhttp_cgi
}
http://:%d {
	root * %s
	pyhttp_simple
}
`, adminSocket, simplePort, 9443+portOffset, simplePort, cgiPort, disk, diskPort, diskStatic))

	mem := func(p string) string { return simpleURL(p) }
	onDisk := func(p string) string { return fmt.Sprintf("http://localhost:%d%s", diskPort, p) }

	for _, p := range []string{"/", "/zdir/"} {
		resp, got := do(t, "GET", mem(p), nil)
		_, want := do(t, "GET", onDisk(p), nil)
		if resp.StatusCode != 200 || string(got) != string(want) {
			t.Errorf("listing %s: got %d\n%s\nwant the disk's\n%s", p, resp.StatusCode, got, want)
		}
		if p == "/" && (!strings.Contains(string(got), `<a href="B%20file.html">B file.html</a>`) || !strings.Contains(string(got), `<a href="zdir/">zdir/</a>`)) {
			t.Errorf("listing %s does not list the virtual tree:\n%s", p, got)
		}
	}
	if resp, got := do(t, "GET", mem("/sub/"), nil); resp.StatusCode != 200 || string(got) != "<p>index from the virtual fs</p>" {
		t.Errorf("index: got %d %q", resp.StatusCode, got)
	}
	if resp, _ := do(t, "GET", mem("/sub?q=1"), nil); resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != "/sub/?q=1" {
		t.Errorf("directory without slash: got %d Location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, got := do(t, "GET", mem("/a.txt"), nil, "Range", "bytes=2-5")
	if resp.StatusCode != http.StatusPartialContent || string(got) != "2345" || resp.Header.Get("Content-Range") != "bytes 2-5/16" {
		t.Errorf("range: got %d %q %q", resp.StatusCode, got, resp.Header.Get("Content-Range"))
	}
	resp, got = do(t, "GET", mem("/a.txt"), nil)
	if resp.StatusCode != 200 || string(got) != "0123456789abcdef" || resp.Header.Get("Last-Modified") != "Tue, 24 Nov 2026 21:57:05 GMT" {
		t.Errorf("file: got %d %q Last-Modified %q", resp.StatusCode, got, resp.Header.Get("Last-Modified"))
	}
	if resp, _ := do(t, "GET", mem("/a.txt"), nil, "If-Modified-Since", "Tue, 24 Nov 2026 21:57:05 GMT"); resp.StatusCode != http.StatusNotModified {
		t.Errorf("If-Modified-Since: got %d, want 304", resp.StatusCode)
	}
	if resp, _ := do(t, "GET", mem("/nope.txt"), nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("missing file: got %d, want 404", resp.StatusCode)
	}

	// pyhttp_cgi: the static file exists only in the virtual fs (under the
	// same root path), the script only on the disk.
	if _, err := os.Stat(filepath.Join(disk, "files", "only-mem.txt")); err == nil {
		t.Fatal("fixture: only-mem.txt must not be on the disk")
	}
	if resp, got := do(t, "GET", cgiURL("/files/only-mem.txt"), nil); resp.StatusCode != 200 || string(got) != "from the virtual fs\n" {
		t.Errorf("cgi static side: got %d %q, want the virtual fs's file", resp.StatusCode, got)
	}
	if resp, got := do(t, "GET", cgiURL("/cgi-bin/ok.sh"), nil); resp.StatusCode != 200 || string(got) != "hello\n" {
		t.Errorf("cgi script: got %d %q, want it run from the disk", resp.StatusCode, got)
	}
}
