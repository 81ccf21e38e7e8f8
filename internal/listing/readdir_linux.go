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
	buf := make([]byte, direntBuf)
	var name []byte
	for {
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
