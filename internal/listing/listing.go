// Package listing reproduces the directory listing of Python's
// http.server.SimpleHTTPRequestHandler.list_directory (CPython 3.11–3.14)
// byte for byte, and adds a JSON form of the same listing.
//
// The package needs no Caddy. It is built for large directories: Read takes
// entry types from the directory read itself (d_type) and stats only
// symlinks, HTMLLength computes the exact Content-Length in a pass over the
// entries, and WriteHTML streams the document, so memory is the names plus a
// fixed amount per entry.
//
// Names are raw bytes as the directory holds them; everything Python does
// on the surrogateescape-decoded str (pystr.Lower for sorting, pystr.Quote
// for hrefs, pystr.HTMLEscape for labels, DecodeTitle for the heading) is
// reproduced on those bytes, so undecodable names list exactly as Python
// lists them.
package listing

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/pyhttp/caddy-pyhttp/internal/pystr"
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
// pystr.Lower(name), which is list_directory's os.listdir + list.sort(key=str.lower).
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

	// Entries are gathered in fixed-size chunks rather than one growing
	// slice: regrowing a slice of 100,000 Entry values (64 bytes each)
	// copied it repeatedly and dominated the CPU profile.
	var chunks [][]Entry
	n := 0
	for {
		batch, err := f.ReadDir(readBatch)
		for _, de := range batch {
			if opt.Hide != nil && opt.Hide(de.Name()) {
				continue
			}
			if n%chunkSize == 0 {
				chunks = append(chunks, make([]Entry, 0, chunkSize))
			}
			chunks[n/chunkSize] = append(chunks[n/chunkSize], entry(dir, de, opt.Stat))
			n++
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("reading directory: %w", err)
		}
	}
	return sortEntries(chunks, n), nil
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

// keyPrefix packs the first eight bytes of k, zero-padded, big-endian.
func keyPrefix(k string) uint64 {
	var p uint64
	for i := range 8 {
		p <<= 8
		if i < len(k) {
			p |= uint64(k[i])
		}
	}
	return p
}

// chunkSize is the number of entries per chunk Read gathers.
const chunkSize = 1024

// sortEntries returns the n entries held in chunks sorted by pystr.SortKey(Name),
// keeping directory order for equal keys as Python's stable list.sort does.
// Keys are computed once up front (and share the name's memory when it is
// already lower-case ASCII); ordering ties by original index makes the
// faster unstable sort stable. Each key's first eight bytes are also kept as
// a big-endian integer, so most comparisons are one integer compare instead
// of a call into the string comparison (the sort's main cost on 100,000
// entries); names hold no NUL, so the zero padding of short keys sorts them
// before their extensions, as the string comparison does.
func sortEntries(chunks [][]Entry, n int) []Entry {
	type keyed struct {
		prefix uint64
		key    string
		idx    int
	}
	keys := make([]keyed, 0, n)
	for i, c := range chunks {
		for j := range c {
			k := pystr.SortKey(c[j].Name)
			keys = append(keys, keyed{keyPrefix(k), k, i*chunkSize + j})
		}
	}
	slices.SortFunc(keys, func(a, b keyed) int {
		if a.prefix != b.prefix {
			return cmp.Compare(a.prefix, b.prefix)
		}
		if c := strings.Compare(a.key, b.key); c != 0 {
			return c
		}
		return cmp.Compare(a.idx, b.idx)
	})
	entries := make([]Entry, n)
	for i, k := range keys {
		entries[i] = chunks[k.idx/chunkSize][k.idx%chunkSize]
	}
	return entries
}

// ReadFS is Read for a directory of an fs.FS (one of Caddy's virtual file
// systems: embedded files, object storage), with the same order, hiding and
// Options.Stat rule. fs.FS has no Lstat: a symbolic link shows as one only
// if the file system's ReadDir reports it; its size and time are those of
// its target, or the directory entry's own when the target is missing.
func ReadFS(fsys fs.FS, dir string, opt Options) ([]Entry, error) {
	des, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("reading directory: %w", err)
	}
	var chunks [][]Entry
	n := 0
	for _, de := range des {
		if opt.Hide != nil && opt.Hide(de.Name()) {
			continue
		}
		if n%chunkSize == 0 {
			chunks = append(chunks, make([]Entry, 0, chunkSize))
		}
		e := Entry{Name: de.Name(), IsDir: de.IsDir(), IsSymlink: de.Type()&fs.ModeSymlink != 0}
		if e.IsSymlink || opt.Stat {
			fi, err := fs.Stat(fsys, path.Join(dir, e.Name))
			if e.IsSymlink {
				e.IsDir = err == nil && fi.IsDir()
			}
			if err != nil && opt.Stat {
				fi, err = de.Info()
			}
			if err == nil && opt.Stat {
				e.Size, e.ModTime = fi.Size(), fi.ModTime()
			}
		}
		chunks[n/chunkSize] = append(chunks[n/chunkSize], e)
		n++
	}
	return sortEntries(chunks, n), nil
}
