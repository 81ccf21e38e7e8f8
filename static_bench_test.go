package pyhttp

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/caddyserver/caddy/v2"
)

// The static-file benchmarks of issue 10: pyhttp_simple's serve path for a
// 1 KiB file (into a recorder, which counts the handler's allocations
// alone, and through a loopback server) and a 100 MiB file (loopback, where
// sendfile applies). Caddy's own HTTP stack (its server, wrappers and
// access log) is not in the way; bench/static.sh measures that. go test
// runs none of them unless -bench is given.
func BenchmarkStatic(b *testing.B) {
	root := b.TempDir()
	if err := os.Chmod(root, 0o755); err != nil {
		b.Fatal(err)
	}
	writeFile := func(name string, size int64) {
		f, err := os.Create(filepath.Join(root, name))
		if err != nil {
			b.Fatal(err)
		}
		chunk := make([]byte, 1<<20)
		for i := range chunk {
			chunk[i] = byte('a' + i%26)
		}
		for left := size; left > 0; left -= int64(len(chunk)) {
			if _, err := f.Write(chunk[:min(left, int64(len(chunk)))]); err != nil {
				b.Fatal(err)
			}
		}
		if err := f.Close(); err != nil {
			b.Fatal(err)
		}
	}
	writeFile("small.txt", 1<<10)
	writeFile("big.bin", 100<<20)

	s := &Simple{Root: root}
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	defer cancel()
	if err := s.Provision(ctx); err != nil {
		b.Fatal(err)
	}
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r, _ = withReplacer(r, r.Context())
		if err := s.ServeHTTP(w, r, nil); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	})
	ts := httptest.NewServer(handler)
	defer ts.Close()

	b.Run("1KiB/recorder", func(b *testing.B) {
		b.SetBytes(1 << 10)
		b.ReportAllocs()
		for b.Loop() {
			w := httptest.NewRecorder()
			handler.ServeHTTP(w, httptest.NewRequest("GET", "/small.txt", nil))
			if w.Code != http.StatusOK || w.Body.Len() != 1<<10 {
				b.Fatalf("got %d with %d bytes, want 200 with 1024", w.Code, w.Body.Len())
			}
		}
	})
	for _, tc := range []struct {
		name, path string
		size       int64
	}{
		{"1KiB/loopback", "/small.txt", 1 << 10},
		{"100MiB/loopback", "/big.bin", 100 << 20},
	} {
		b.Run(tc.name, func(b *testing.B) {
			client := ts.Client()
			buf := make([]byte, 1<<20)
			b.SetBytes(tc.size)
			b.ReportAllocs()
			for b.Loop() {
				resp, err := client.Get(ts.URL + tc.path)
				if err != nil {
					b.Fatal(err)
				}
				var n int64
				for {
					m, err := resp.Body.Read(buf)
					n += int64(m)
					if err != nil {
						if err != io.EOF {
							b.Fatal(err)
						}
						break
					}
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK || n != tc.size {
					b.Fatalf("got %d with %d bytes, want 200 with %s", resp.StatusCode, n, strconv.FormatInt(tc.size, 10))
				}
			}
		})
	}
}
