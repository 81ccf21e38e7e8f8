// Package listing reproduces the directory listing of Python's
// http.server.SimpleHTTPRequestHandler.list_directory (CPython 3.11–3.13)
// byte for byte, and adds a JSON form of the same listing.
//
// The package needs no Caddy. It is built for large directories: Read takes
// entry types from the directory read itself (d_type) and stats only
// symlinks, HTMLLength computes the exact Content-Length in a pass over the
// entries, and WriteHTML streams the document, so memory is the names plus a
// fixed amount per entry.
package listing

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Entry is one directory entry.
type Entry struct {
	Name      string    // name as read from the directory (raw bytes)
	IsDir     bool      // os.path.isdir: a directory, or a symlink to one
	IsSymlink bool      // os.path.islink
	Size      int64     // only filled when Options.Stat
	ModTime   time.Time // only filled when Options.Stat
}

// Options controls Read.
type Options struct {
	Stat bool                   // stat every entry (for JSON); HTML listings leave it false
	Hide func(name string) bool // if non-nil, entries for which it returns true are left out
}

// readBatch is how many entries Read asks the directory for at a time; it
// bounds the transient os.DirEntry values held besides the result.
const readBatch = 1024

// Read lists dir in directory order, applies Hide, and sorts stably by
// Lower(name), which is list_directory's os.listdir + list.sort(key=str.lower).
// Any error opening or reading the directory is returned (the lead maps it to
// 404 "No permission to list directory", as Python maps OSError).
//
// Without Options.Stat, only symlinks are stat'ed (to learn whether they
// point at a directory, as os.path.isdir follows links); every other type
// comes from the directory read. With Options.Stat every entry is stat'ed
// for Size and ModTime, following symlinks and falling back to the link
// itself when the target is missing; an entry that vanishes before it can be
// stat'ed is kept with zero Size and ModTime.
func Read(dir string, opt Options) ([]Entry, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("opening directory: %w", err)
	}
	defer f.Close()

	var entries []Entry
	for {
		batch, err := f.ReadDir(readBatch)
		for _, de := range batch {
			name := de.Name()
			if opt.Hide != nil && opt.Hide(name) {
				continue
			}
			entries = append(entries, entry(dir, de, opt.Stat))
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("reading directory: %w", err)
		}
	}
	sortEntries(entries)
	return entries, nil
}

// entry builds the Entry for de, a child of dir.
func entry(dir string, de os.DirEntry, stat bool) Entry {
	e := Entry{
		Name:      de.Name(),
		IsDir:     de.IsDir(),
		IsSymlink: de.Type()&os.ModeSymlink != 0,
	}
	if !e.IsSymlink && !stat {
		return e
	}
	full := filepath.Join(dir, e.Name)
	fi, err := os.Stat(full)
	if e.IsSymlink {
		// os.path.isdir treats any stat error (broken link, loop, EACCES)
		// as "not a directory".
		e.IsDir = err == nil && fi.IsDir()
	}
	if !stat {
		return e
	}
	if err != nil {
		fi, err = os.Lstat(full)
	}
	if err == nil {
		e.Size = fi.Size()
		e.ModTime = fi.ModTime()
	}
	return e
}

// sortEntries sorts entries by sortKey(Name), keeping directory order for
// equal keys as Python's stable list.sort does. Keys are computed once up
// front (and share the name's memory when it is already lower-case ASCII);
// ordering ties by original index makes the faster unstable sort stable.
func sortEntries(entries []Entry) {
	type keyed struct {
		key string
		idx int
	}
	keys := make([]keyed, len(entries))
	for i := range entries {
		keys[i] = keyed{sortKey(entries[i].Name), i}
	}
	slices.SortFunc(keys, func(a, b keyed) int {
		if c := strings.Compare(a.key, b.key); c != 0 {
			return c
		}
		return cmp.Compare(a.idx, b.idx)
	})
	// Apply the permutation in place, cycle by cycle, so the entries are
	// not held twice; a placed position is marked with idx -1.
	for i := range keys {
		if keys[i].idx < 0 || keys[i].idx == i {
			continue
		}
		first := entries[i]
		for j := i; ; {
			src := keys[j].idx
			keys[j].idx = -1
			if src == i {
				entries[j] = first
				break
			}
			entries[j] = entries[src]
			j = src
		}
	}
}
