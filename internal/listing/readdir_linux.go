package listing

import (
	"encoding/binary"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// direntBuf is the getdents64 buffer size: about 1,000 entries a call.
const direntBuf = 32 << 10

// readDir adds the entries of f, the open directory dir, to b. It reads
// getdents64 records itself, into one reused buffer, so that a name costs
// no allocation (os.File.ReadDir allocates an entry and a string for each);
// a record without a type (DT_UNKNOWN, from file systems that do not
// fill d_type) is lstat'ed, as ReadDir does.
func (b *indexBuilder) readDir(f *os.File, dir string, opt Options) error {
	raw, err := f.SyscallConn()
	if err != nil {
		return fmt.Errorf("reading directory: %w", err)
	}
	// The directory's size (on ext4 and most disk file systems, about its
	// records' bytes, 30-40 bytes an entry) pre-sizes the per-entry slices,
	// so that they do not regrow and leave their earlier copies to the
	// garbage collector, and the first chunk of names.
	var st syscall.Stat_t
	if err := raw.Control(func(fd uintptr) { _ = syscall.Fstat(int(fd), &st) }); err == nil && st.Size > 0 {
		hint := min(st.Size, 256<<20)
		b.cur.Grow(int(min(hint, nameChunk)))
		b.x.ends = make([]uint32, 0, hint/32)
		b.x.flags = make([]uint8, 0, hint/32)
	}
	// Once the directory proves large, a second goroutine prepares the
	// sort (sortPrep: HTML lengths, sort keys) batch by batch while this
	// one waits in getdents64, most of whose time is the kernel's.
	var w *prepWorker
	defer func() {
		if w != nil {
			b.prep = w.wait()
		}
	}()
	buf := make([]byte, direntBuf)
	var name []byte
	for {
		if w == nil && len(b.x.ends) >= pipelineMin {
			w = startPrepWorker(max(int(st.Size/32), 2*len(b.x.ends)))
		}
		if w != nil {
			w.send(b)
		}
		var n int
		var rerr error
		if err := raw.Control(func(fd uintptr) {
			for {
				n, rerr = syscall.Getdents(int(fd), buf)
				if rerr != syscall.EINTR {
					return
				}
			}
		}); err != nil {
			return fmt.Errorf("reading directory: %w", err)
		}
		if rerr != nil {
			return fmt.Errorf("reading directory: %w", &os.SyscallError{Syscall: "getdents64", Err: rerr})
		}
		if n <= 0 {
			return nil
		}
		for rec := buf[:n]; len(rec) >= 19; {
			reclen := int(binary.NativeEndian.Uint16(rec[16:18]))
			if reclen < 19 || reclen > len(rec) {
				return fmt.Errorf("reading directory: malformed getdents64 record")
			}
			typ := rec[18]
			name = rec[19:reclen]
			for i, c := range name {
				if c == 0 {
					name = name[:i]
					break
				}
			}
			rec = rec[reclen:]
			if len(name) == 0 || string(name) == "." || string(name) == ".." {
				continue
			}
			if err := b.addRaw(dir, name, typ, opt); err != nil {
				return err
			}
		}
	}
}

// addRaw adds the entry name (a slice of the getdents buffer) of type typ.
func (b *indexBuilder) addRaw(dir string, name []byte, typ uint8, opt Options) error {
	if opt.Hide != nil && opt.Hide(string(name)) {
		return nil
	}
	var mode fs.FileMode
	switch typ {
	case syscall.DT_DIR:
		mode = fs.ModeDir
	case syscall.DT_LNK:
		mode = fs.ModeSymlink
	case syscall.DT_REG:
	case syscall.DT_UNKNOWN:
		fi, err := os.Lstat(filepath.Join(dir, string(name)))
		if err != nil {
			return nil // gone since the read, as os.ReadDir skips it
		}
		mode = fi.Mode().Type()
	default:
		mode = fs.ModeIrregular // FIFO, socket, device: neither dir nor link
	}
	if mode&(fs.ModeSymlink) == 0 && !opt.Stat {
		// The common case: no stat, and the name is copied straight
		// into the index.
		return b.addName(name, mode&fs.ModeDir != 0)
	}
	return b.add(entry(dir, string(name), mode, opt.Stat), opt.Stat)
}

// pipelineMin is the number of entries after which readDir prepares the
// sort in a second goroutine.
const pipelineMin = 4096

// prepWorker fills a sortPrep in its own goroutine from the batches of
// entries readDir sends it.
type prepWorker struct {
	batches chan prepBatch
	done    chan struct{}
	sent    int // entries sent so far
	p       sortPrep
}

// prepBatch is entries [from, len(ends)) as the builder holds them: ends
// and flags are its slices cut at their length (the builder only appends
// past that, or into a new array), names its sealed chunks plus the chunk
// being filled, as far as it is filled (the builder only writes past that).
type prepBatch struct {
	names []string
	ends  []uint32
	flags []uint8
	from  int
}

func startPrepWorker(hint int) *prepWorker {
	w := &prepWorker{batches: make(chan prepBatch, 64), done: make(chan struct{})}
	w.p.grow(hint)
	go func() {
		defer close(w.done)
		for bt := range w.batches {
			v := Index{names: bt.names, ends: bt.ends}
			for j := bt.from; j < len(bt.ends); j++ {
				w.p.add(j, v.name(uint32(j)), bt.flags[j])
			}
		}
	}()
	return w
}

// send hands the entries b added since the last send to the worker.
func (w *prepWorker) send(b *indexBuilder) {
	n := len(b.x.ends)
	if n == w.sent {
		return
	}
	names := append(b.x.names[:len(b.x.names):len(b.x.names)], b.cur.String())
	w.batches <- prepBatch{names: names, ends: b.x.ends[:n:n], flags: b.x.flags[:n:n], from: w.sent}
	w.sent = n
}

// wait ends the worker once it has added every batch sent, and returns
// its sortPrep.
func (w *prepWorker) wait() *sortPrep {
	close(w.batches)
	<-w.done
	return &w.p
}
