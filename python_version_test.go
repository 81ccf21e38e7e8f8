package pyhttp

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"
)

// With python_version 3.14 a site answers as 3.14's http.server does, for
// which no CPython is installed here: goldens under testdata/py314 written
// from 3.14's list_directory, DEFAULT_ERROR_MESSAGE and path rules. The same
// requests to a 3.13 site must get 3.13's answers (checked against CPython
// 3.13 by TestDifferentialSimple), so neither branch can fall back to the
// other's rules unnoticed.
func TestPythonVersion314Site(t *testing.T) {
	root := publicTempDir(t)
	writeTree(t, root, map[string]string{"d/a b.txt": "a", "d/sub/": "", "a.txt": "file a"})
	golden := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join("testdata", "py314", name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	listing, notFound := golden("listing-d.html"), golden("404-file-not-found.html")

	type answer struct {
		status   int
		location string
		body     []byte // nil: not compared
		differs  []byte // non-nil: the body must not equal this
	}
	for _, site := range []struct {
		version string
		want    map[string]answer
	}{
		{"3.14", map[string]answer{
			// translate_path sees the decoded trailing slash, and send_head
			// takes %2F as a slash: the listing, titled with the decoded path.
			"GET /d%2F HTTP/1.1":           {status: 200, body: listing},
			"GET /d/?q=%3Cb%3E HTTP/1.1":   {status: 200, body: listing},
			"GET /d HTTP/1.1":              {status: 301, location: "/d/"},
			"GET /a.txt%2F HTTP/1.1":       {status: 404, body: notFound},
			"GET /a.txt HTTP/1.1":          {status: 200, body: []byte("file a")},
			"GET /d/sub%2F?x=1#y HTTP/1.1": {status: 200},
		}},
		{"3.13", map[string]answer{
			"GET /d%2F HTTP/1.1":         {status: 301, location: "/d%2F/"},
			"GET /d/?q=%3Cb%3E HTTP/1.1": {status: 200, differs: listing},
			"GET /d HTTP/1.1":            {status: 301, location: "/d/"},
			"GET /a.txt%2F HTTP/1.1":     {status: 200, body: []byte("file a")},
			"GET /missing HTTP/1.1":      {status: 404, differs: notFound},
		}},
	} {
		t.Run(site.version, func(t *testing.T) {
			startCaddy(t, fmt.Sprintf(`
http://localhost:%d {
	root * %s
	pyhttp_simple {
		python_version %s
	}
	handle_errors {
		pyhttp_error_page {
			python_version %s
		}
	}
}
`, simplePort, root, site.version, site.version))
			for line, want := range site.want {
				got := fetch(t, simplePort, line)
				if got.status != want.status {
					t.Errorf("%s: status %d, want %d", line, got.status, want.status)
				}
				if loc := got.header.Get("Location"); loc != want.location {
					t.Errorf("%s: Location %q, want %q", line, loc, want.location)
				}
				if want.body != nil && !bytes.Equal(got.body, want.body) {
					t.Errorf("%s: body\n%s\nwant\n%s", line, got.body, want.body)
				}
				if want.differs != nil && bytes.Equal(got.body, want.differs) {
					t.Errorf("%s: got the 3.14 document from a %s site", line, site.version)
				}
				if want.status == http.StatusOK && want.body != nil && got.header.Get("Content-Length") != fmt.Sprint(len(want.body)) {
					t.Errorf("%s: Content-Length %q, want %d", line, got.header.Get("Content-Length"), len(want.body))
				}
			}
		})
	}
}
