//go:build linux

package cgihost

import (
	"bytes"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"go.uber.org/zap"
)

// The benchmarks of issue 10: allocations per request of the CGI host for
// a tiny response (BenchmarkServeHello, host_test.go), large outputs and an
// upload, each through Host.Serve behind an httptest server on loopback.
// go test runs none of them unless -bench is given; `-bench . -benchtime 1x`
// is the smoke run.

// BenchmarkStream10MiB is BenchmarkStream100MiB at a size where the
// script's start still counts (the script is the test binary itself).
func BenchmarkStream10MiB(b *testing.B) { benchStream(b, 10<<20) }

func benchStream(b *testing.B, size int64) {
	ts := newTestServer(b, &Host{Logger: zap.NewNop()}, modeScript(b, "big", "CGIHOST_TEST_SIZE="+strconv.FormatInt(size, 10)))
	client := ts.Client()
	buf := make([]byte, 1<<20) // io.Discard's ReadFrom would read 8 KiB at a time
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		resp, err := client.Get(ts.URL + "/")
		if err != nil {
			b.Fatal(err)
		}
		var n int64
		for {
			m, err := resp.Body.Read(buf)
			n += int64(m)
			if err != nil {
				break
			}
		}
		resp.Body.Close()
		if n != size {
			b.Fatalf("got %d bytes, want %d", n, size)
		}
	}
}

// BenchmarkUpload1MiB posts 1 MiB to a script that reads it to EOF and
// answers with its length and digest.
func BenchmarkUpload1MiB(b *testing.B) {
	const size = 1 << 20
	ts := newTestServer(b, &Host{Logger: zap.NewNop()}, modeScript(b, "count-stdin"))
	client := ts.Client()
	body := bytes.Repeat([]byte("0123456789abcdef"), size/16)
	want := "READ=" + strconv.Itoa(size) + "\n"
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		resp, err := client.Post(ts.URL+"/", "application/octet-stream", bytes.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		out, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK || !strings.Contains(string(out), want) {
			b.Fatalf("got %d %q (%v), want 200 with %q", resp.StatusCode, out, err, want)
		}
	}
}
