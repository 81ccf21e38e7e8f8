package pyhttp

import (
	"os"
	"strconv"
	"syscall"
)

// fdPath returns the path the kernel has for the open file f, read from
// /proc/self/fd: the real path, without symbolic links, of the very inode
// that was opened, whatever happened to the name since. ok is false
// without /proc.
func fdPath(f *os.File) (path string, ok bool) {
	sc, err := f.SyscallConn()
	if err != nil {
		return "", false
	}
	var link string
	var lerr error
	if err := sc.Control(func(fd uintptr) {
		link, lerr = os.Readlink("/proc/self/fd/" + strconv.FormatUint(uint64(fd), 10))
	}); err != nil || lerr != nil || len(link) == 0 || link[0] != '/' {
		return "", false
	}
	return link, true
}

// linkCount is the number of hard links of the file info describes.
func linkCount(info os.FileInfo) uint64 {
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Nlink)
	}
	return 1
}

// fdName returns /proc/self/fd/N for the open file f: a name that opens
// the same inode again for as long as f stays open.
func fdName(f *os.File) (name string, ok bool) {
	sc, err := f.SyscallConn()
	if err != nil {
		return "", false
	}
	if err := sc.Control(func(fd uintptr) {
		name = "/proc/self/fd/" + strconv.FormatUint(uint64(fd), 10)
	}); err != nil {
		return "", false
	}
	if _, err := os.Stat(name); err != nil {
		return "", false
	}
	return name, true
}
