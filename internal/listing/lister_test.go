package listing

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// JSON listings are not shared: each is charged to the budget, one beyond
// it waits for a release, and one that cannot get in within the wait fails
// with ErrBusy. An index larger than the whole budget is listed alone.
func TestListerBudget(t *testing.T) {
	dir := t.TempDir()
	makeFlatDir(t, dir, 1000)
	probe, err := ReadIndex(dir, Options{Stat: true})
	if err != nil {
		t.Fatal(err)
	}
	cost := probe.Bytes()
	l := NewLister(cost*3/2, 2, time.Hour)
	ctx := context.Background()

	_, release1, err := l.List(ctx, dir, "k", Options{Stat: true})
	if err != nil {
		t.Fatal(err)
	}
	if l.Used() != cost {
		t.Fatalf("charged %d bytes, want the index's %d", l.Used(), cost)
	}
	got := make(chan error, 1)
	var release2 func()
	go func() {
		var err error
		_, release2, err = l.List(ctx, dir, "k", Options{Stat: true})
		got <- err
	}()
	// The second listing waits: it does not fit beside the first.
	for !waitingForBudget(l) {
		select {
		case err := <-got:
			t.Fatalf("second listing did not wait for the budget: %v", err)
		case <-time.After(time.Millisecond):
		}
	}
	release1()
	release1() // a second call is harmless
	if err := <-got; err != nil {
		t.Fatal(err)
	}
	if l.Used() != cost || l.InFlight() != 1 {
		t.Fatalf("after the first release: %d bytes charged, %d in flight, want %d and 1", l.Used(), l.InFlight(), cost)
	}

	short := NewLister(cost*3/2, 2, 20*time.Millisecond)
	_, releaseA, err := short.List(ctx, dir, "k", Options{Stat: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := short.List(ctx, dir, "k", Options{Stat: true}); !errors.Is(err, ErrBusy) {
		t.Fatalf("listing beyond the budget after the wait: got %v, want ErrBusy", err)
	}
	releaseA()
	release2()
	if l.Used() != 0 || l.InFlight() != 0 || short.Used() != 0 || short.InFlight() != 0 {
		t.Fatalf("after all releases: %d/%d bytes charged, %d/%d in flight", l.Used(), short.Used(), l.InFlight(), short.InFlight())
	}

	// Larger than the whole budget: listed when nothing else is held.
	tiny := NewLister(1, 1, time.Hour)
	_, r, err := tiny.List(ctx, dir, "k", Options{Stat: true})
	if err != nil {
		t.Fatal(err)
	}
	r()
}

// Concurrent HTML listings of an unchanged directory share one index and
// one charge; a change to the directory gives the next request a new index.
func TestListerSharesUnchangedDirectory(t *testing.T) {
	dir := t.TempDir()
	makeFlatDir(t, dir, 100)
	l := NewLister(1<<30, 2, time.Hour)
	ctx := context.Background()
	x1, r1, err := l.List(ctx, dir, "k", Options{})
	if err != nil {
		t.Fatal(err)
	}
	x2, r2, err := l.List(ctx, dir, "k", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if x1 != x2 || l.Used() != x1.Bytes() {
		t.Fatalf("two listings of one directory: same index %v, %d bytes charged, want true and %d", x1 == x2, l.Used(), x1.Bytes())
	}
	x3, r3, err := l.List(ctx, dir, "other hide patterns", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if x3 == x1 {
		t.Fatal("another key shared the index")
	}
	r3()
	// A new entry changes the directory's mtime (set explicitly, so that
	// a coarse file system clock cannot hide the change).
	if err := os.WriteFile(filepath.Join(dir, "new-entry"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(time.Hour)
	if err := os.Chtimes(dir, later, later); err != nil {
		t.Fatal(err)
	}
	x4, r4, err := l.List(ctx, dir, "k", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if x4 == x1 || x4.Len() != x1.Len()+1 {
		t.Fatalf("after a change: shared the old index %v, %d entries, want false and %d", x4 == x1, x4.Len(), x1.Len()+1)
	}
	r1()
	r2()
	r4()
	if l.Used() != 0 || l.InFlight() != 0 {
		t.Fatalf("after all releases: %d bytes charged, %d in flight", l.Used(), l.InFlight())
	}
}

// waitingForBudget reports whether a List call waits for the budget.
func waitingForBudget(l *Lister) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.waiting > 0
}
