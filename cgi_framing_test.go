package pyhttp

import (
	"compress/gzip"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// clScript answers with a 2000-byte Content-Length and, by QUERY_STRING,
// that many bytes (ok), more (long) or fewer (short).
const clScript = `#!/bin/sh
printf 'Content-Type: text/plain\r\nContent-Length: 2000\r\n\r\n'
case "$QUERY_STRING" in
ok) n=2000 ;;
long) n=300000 ;;
short) n=1000 ;;
esac
head -c "$n" /dev/zero | tr '\0' a
`

// A script's Content-Length reaches the client through Caddy, bounds the
// body, and survives encode gzip, which drops it to compress.
func TestCGIContentLength(t *testing.T) {
	for _, encode := range []bool{false, true} {
		name := "plain"
		extra := ""
		if encode {
			name, extra = "encode gzip", "encode gzip"
		}
		t.Run(name, func(t *testing.T) {
			root := cgiTree(t)
			if err := os.WriteFile(filepath.Join(root, "cgi-bin", "cl.sh"), []byte(clScript), 0o755); err != nil {
				t.Fatal(err)
			}
			cgiSite(t, root, "", extra)
			// One connection for all: each response must leave it in sync.
			client := &http.Client{Transport: &http.Transport{DisableCompression: true, MaxConnsPerHost: 1}}
			defer client.CloseIdleConnections()
			want := strings.Repeat("a", 2000)
			for _, q := range []string{"ok", "long", "ok", "short", "ok"} {
				req, _ := http.NewRequest("GET", cgiURL("/cgi-bin/cl.sh?"+q), nil)
				req.Header.Set("Accept-Encoding", "gzip")
				resp, err := client.Do(req)
				if err != nil {
					t.Fatalf("%s: %v", q, err)
				}
				var body io.Reader = resp.Body
				gzipped := resp.Header.Get("Content-Encoding") == "gzip"
				if gzipped != encode {
					t.Errorf("%s: got Content-Encoding %q, want gzip: %v", q, resp.Header.Get("Content-Encoding"), encode)
				}
				if !encode && resp.ContentLength != 2000 {
					t.Errorf("%s: got Content-Length %d, want 2000", q, resp.ContentLength)
				}
				if encode && resp.ContentLength == 2000 {
					t.Errorf("%s: got the script's Content-Length on a gzip'd body", q)
				}
				if gzipped {
					zr, err := gzip.NewReader(resp.Body)
					if err != nil {
						if q == "short" {
							resp.Body.Close()
							continue
						}
						t.Fatalf("%s: %v", q, err)
					}
					body = zr
				}
				got, err := io.ReadAll(body)
				resp.Body.Close()
				if q == "short" {
					// Cut short: the client must see it, also when encode
					// framed the body itself.
					if err == nil {
						t.Errorf("short: got a complete %d-byte body, want a read error", len(got))
					}
					continue
				}
				if err != nil || string(got) != want {
					t.Errorf("%s: got %d bytes (%v), want the 2000 declared", q, len(got), err)
				}
			}
		})
	}
}
