package pyhttp

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"syscall"
	"testing"
	"time"
)

// heapObjectBytes returns the bytes of live and not yet swept heap objects
// after a full collection.
func heapObjectBytes() uint64 {
	runtime.GC()
	runtime.GC()
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// makeEntries creates n empty files with long names under dir.
func makeEntries(t *testing.T, dir string, n int) {
	t.Helper()
	for i := range n {
		name := filepath.Join(dir, fmt.Sprintf("entry-%07d-with-a-name-long-enough-to-matter.txt", i))
		fd, err := syscall.Open(name, syscall.O_CREAT|syscall.O_WRONLY|syscall.O_CLOEXEC, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		syscall.Close(fd)
	}
}

// Issue 7, finding 10: clients that request a huge listing and never read
// it held one copy of the listing each until the write timeout (60 clients
// of a 200,000-entry listing took RSS from 53 MiB to 2.6 GiB). Concurrent
// HTML listings of one unchanged directory now share one compact index, so
// the heap grows by about one index, not 60. With sharing turned off (the
// lookup in Lister.list made to miss), this test failed with the heap 60
// indexes larger.
func TestSimpleConcurrentHugeListingsShareMemory(t *testing.T) {
	const entries, clients = 60_000, 60
	root := simpleSite(t)
	big := filepath.Join(root, "huge")
	if err := os.Mkdir(big, 0o755); err != nil {
		t.Fatal(err)
	}
	makeEntries(t, big, entries)
	if listings.InFlight() != 0 {
		t.Fatalf("%d listings in flight before the test", listings.InFlight())
	}

	before := heapObjectBytes()
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range clients {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", simplePort))
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		_ = c.(*net.TCPConn).SetReadBuffer(4096) // and never read
		if _, err := fmt.Fprintf(c, "GET /huge/ HTTP/1.1\r\nHost: localhost\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
	}
	// Wait for every request to hold its index and be stuck writing a body
	// (about 6 MB) that the socket buffers cannot take.
	deadline := time.Now().Add(60 * time.Second)
	for listings.InFlight() != clients || listings.Pending() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d listings in flight, %d pending, want %d and 0", listings.InFlight(), listings.Pending(), clients)
		}
		time.Sleep(10 * time.Millisecond)
	}
	during := heapObjectBytes()
	growth := int64(during) - int64(before)
	// One index of 60,000 names of 52 bytes is about 3.7 MB; each request
	// adds its buffers (96 KiB) and Caddy's own per-request state.
	const bound = 24 << 20
	t.Logf("heap objects: %d MiB before, %d MiB with %d clients stuck on a %d-entry listing (budget charged: %d bytes)",
		before>>20, during>>20, clients, entries, listings.Used())
	if growth > bound {
		t.Errorf("heap grew by %d MiB with %d never-reading clients of one listing, want <= %d MiB", growth>>20, clients, bound>>20)
	}

	for _, c := range conns {
		c.Close()
	}
	conns = nil
	deadline = time.Now().Add(30 * time.Second)
	for listings.InFlight() != 0 || listings.Used() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("after the clients left: %d listings in flight, %d bytes charged, want 0 and 0", listings.InFlight(), listings.Used())
		}
		time.Sleep(10 * time.Millisecond)
	}
}
