// Package listing reproduces the directory listing of Python's
// http.server.SimpleHTTPRequestHandler.list_directory (CPython 3.11–3.14)
// byte for byte, and adds a JSON form of the same listing.
//
// The package needs no Caddy. It is built for large directories: ReadIndex
// takes entry types from the directory read itself (d_type), stats only
// symlinks, and keeps the entries as a compact Index (the names in one
// string plus 9 bytes per entry); Index.HTMLLength computes the exact
// Content-Length in a pass over it, and Index.WriteHTML streams the
// document. A Lister bounds the memory of all listings in flight and shares
// one index among concurrent listings of an unchanged directory.
//
// Names are raw bytes as the directory holds them; everything Python does
// on the surrogateescape-decoded str (pystr.Lower for sorting, pystr.Quote
// for hrefs, pystr.HTMLEscape for labels, DecodeTitle for the heading) is
// reproduced on those bytes, so undecodable names list exactly as Python
// lists them.
package listing

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
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

// Index is a directory's entries in Python's sorted order, held compactly
// so that a listing of a huge directory costs little more than its names:
// all names share one string, and each entry adds 9 bytes (the end of its
// name, its type bits and its sorted position) plus 16 with Options.Stat.
// An Index never changes after ReadIndex returns it, so concurrent
// requests may send the same one.
type Index struct {
	names []string // every name, concatenated in directory order, in chunks
	ends  []uint32 // ends[j]: chunk and end of name j (see name)
	// namesCap is the memory the chunks of names hold.
	namesCap int64
	flags    []uint8  // flagDir, flagSymlink, flagStat, flagHrefAsIs, flagLabelAsIs of entry j
	size     []int64  // Options.Stat only: size of entry j
	msec     []int64  // Options.Stat only: modification time of entry j, Unix seconds
	mnsec    []int32  // and its nanoseconds
	order    []uint32 // order[i]: the entry j listed i-th
	// htmlLen is the entries' share of the HTML document (every <li>
	// line), which depends on neither the title nor the Python version.
	htmlLen int64
}

const (
	flagDir       = 1 << iota // os.path.isdir
	flagSymlink               // os.path.islink
	flagStat                  // size and mtime are known
	flagHrefAsIs              // the name needs no quoting (set when measured)
	flagLabelAsIs             // the name needs no HTML escaping (set when measured)
)

// Len returns the number of entries.
func (x *Index) Len() int { return len(x.order) }

// Bytes returns the memory the index holds, for budgets.
func (x *Index) Bytes() int64 {
	return x.namesCap + 4*int64(cap(x.ends)) + int64(cap(x.flags)) +
		8*int64(cap(x.size)+cap(x.msec)) + 4*int64(cap(x.mnsec)) + 4*int64(cap(x.order))
}

// name returns the name of entry j (directory order). ends[j] holds the
// index of the chunk the name is in above chunkBits and the end of the name
// in that chunk below; the name starts where the previous one ends if that
// is in the same chunk, and at 0 otherwise.
func (x *Index) name(j uint32) string {
	e := x.ends[j]
	c := e >> chunkBits
	start := uint32(0)
	if j > 0 && x.ends[j-1]>>chunkBits == c {
		start = x.ends[j-1] & chunkMask
	}
	return x.names[c][start : e&chunkMask]
}

// At returns the i-th entry in sorted order.
func (x *Index) At(i int) Entry {
	j := x.order[i]
	f := x.flags[j]
	e := Entry{Name: x.name(j), IsDir: f&flagDir != 0, IsSymlink: f&flagSymlink != 0}
	if f&flagStat != 0 {
		e.Size = x.size[j]
		e.ModTime = time.Unix(x.msec[j], int64(x.mnsec[j]))
	}
	return e
}

// Entries returns every entry in sorted order.
func (x *Index) Entries() []Entry {
	entries := make([]Entry, x.Len())
	for i := range entries {
		entries[i] = x.At(i)
	}
	return entries
}

// IndexOf returns an Index holding entries in the order given.
func IndexOf(entries []Entry) *Index {
	var b indexBuilder
	stat := false
	for _, e := range entries {
		stat = stat || e.Size != 0 || !e.ModTime.IsZero()
	}
	for _, e := range entries {
		b.add(e, stat)
	}
	x := b.finish()
	for i := range x.order {
		x.order[i] = uint32(i)
		l, _ := x.measure(i)
		x.htmlLen += l
	}
	return x
}

// indexBuilder gathers an Index in directory order.
//
// Names are gathered in chunks of nameChunk bytes, each a strings.Builder
// that is never regrown, which become the index's strings as they are: no
// buffer pre-sized from a hint that overshoots (a directory's st_size is
// 2.3 times its names on ext4 with names of 17 bytes), no copies left by a
// doubling buffer, and no final copy into one string.
type indexBuilder struct {
	cur  strings.Builder // the chunk being filled
	x    Index
	prep *sortPrep // filled while reading (readDir), or nil
}

const (
	nameChunk = 256 << 10             // size of a chunk of names
	chunkBits = 20                    // ends[j]: chunk index above, end in the chunk below
	chunkMask = 1<<chunkBits - 1      // the end's bits
	maxChunks = 1 << (32 - chunkBits) // so at least 1 GiB of names
)

// reserve makes room for a name of n bytes in the current chunk, starting
// a new one if need be.
func (b *indexBuilder) reserve(n int) error {
	if b.cur.Cap() > 0 && b.cur.Len()+n <= b.cur.Cap() {
		return nil // (the first name, even an empty one, makes chunk 0)
	}
	if n > chunkMask || len(b.x.names)+1 >= maxChunks {
		return errTooLarge
	}
	b.seal()
	b.cur = strings.Builder{}
	b.cur.Grow(max(nameChunk, n))
	return nil
}

// seal adds the current chunk, if any, to the index's names.
func (b *indexBuilder) seal() {
	if b.cur.Cap() > 0 {
		b.x.names = append(b.x.names, b.cur.String())
		b.x.namesCap += int64(b.cur.Cap())
	}
}

// end returns the ends value of the name just written.
func (b *indexBuilder) end() uint32 {
	return uint32(len(b.x.names))<<chunkBits | uint32(b.cur.Len())
}

// errTooLarge is returned for a directory whose names exceed what an Index
// can address (4,096 chunks, at least 1 GiB), or for a name over 1 MiB.
var errTooLarge = errors.New("directory too large to list")

func (b *indexBuilder) add(e Entry, stat bool) error {
	if err := b.reserve(len(e.Name)); err != nil {
		return err
	}
	b.cur.WriteString(e.Name)
	b.x.ends = append(b.x.ends, b.end())
	var f uint8
	if e.IsDir {
		f |= flagDir
	}
	if e.IsSymlink {
		f |= flagSymlink
	}
	if stat {
		var sec int64
		var nsec int32
		if !e.ModTime.IsZero() {
			f |= flagStat
			sec, nsec = e.ModTime.Unix(), int32(e.ModTime.Nanosecond())
		}
		b.x.size = append(b.x.size, e.Size)
		b.x.msec = append(b.x.msec, sec)
		b.x.mnsec = append(b.x.mnsec, nsec)
	}
	b.x.flags = append(b.x.flags, f)
	return nil
}

// addName adds an entry that is not a symlink and carries no stat data,
// copying name.
func (b *indexBuilder) addName(name []byte, isDir bool) error {
	if err := b.reserve(len(name)); err != nil {
		return err
	}
	b.cur.Write(name)
	b.x.ends = append(b.x.ends, b.end())
	var f uint8
	if isDir {
		f = flagDir
	}
	b.x.flags = append(b.x.flags, f)
	return nil
}

// finish returns the index with an order slice of the right length. Its
// names and slices are copied to their exact length (the appends left up to
// twice that allocated), so that the memory a held index keeps is what
// Bytes charges for it.
func (b *indexBuilder) finish() *Index {
	x := b.x
	b.seal()
	b.cur = strings.Builder{}
	x.names, x.namesCap = b.x.names, b.x.namesCap
	// The per-entry slices were pre-sized from a hint or grown by append:
	// copied to their length if that frees more than a quarter.
	if cap(x.ends)-len(x.ends) > len(x.ends)/4 {
		x.ends = slices.Clone(x.ends)
		x.flags = slices.Clone(x.flags)
	}
	x.size = slices.Clone(x.size)
	x.msec = slices.Clone(x.msec)
	x.mnsec = slices.Clone(x.mnsec)
	x.order = make([]uint32, len(x.ends))
	return &x
}

// Read lists dir in directory order, applies Hide, and sorts stably by
// pystr.Lower(name), which is list_directory's os.listdir + list.sort(key=str.lower).
// It is ReadIndex's entries as a slice.
func Read(dir string, opt Options) ([]Entry, error) {
	x, err := ReadIndex(dir, opt)
	if err != nil {
		return nil, err
	}
	return x.Entries(), nil
}

// ReadIndex lists dir in directory order, applies Hide, and sorts stably by
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
func ReadIndex(dir string, opt Options) (*Index, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("opening directory: %w", err)
	}
	defer f.Close()

	var b indexBuilder
	if err := b.readDir(f, dir, opt); err != nil {
		return nil, err
	}
	x := b.finish()
	if b.prep != nil {
		sortPrepared(x, b.prep)
	} else {
		sortIndex(x)
	}
	return x, nil
}

// entry builds the Entry for name, a child of dir of type typ (from the
// directory read).
func entry(dir, name string, typ fs.FileMode, stat bool) Entry {
	e := Entry{
		Name:      name,
		IsDir:     typ&fs.ModeDir != 0,
		IsSymlink: typ&fs.ModeSymlink != 0,
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
	var b indexBuilder
	for _, de := range des {
		if opt.Hide != nil && opt.Hide(de.Name()) {
			continue
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
		if err := b.add(e, opt.Stat); err != nil {
			return nil, err
		}
	}
	x := b.finish()
	sortIndex(x)
	return x.Entries(), nil
}
