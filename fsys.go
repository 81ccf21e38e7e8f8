package pyhttp

import (
	"io/fs"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/caddyserver/caddy/v2"

	"github.com/pyhttp/caddy-pyhttp/internal/listing"
)

// The static side of pyhttp_simple and pyhttp_cgi reads its tree through a
// fileSource: the local disk (the default, with sendfile and Python's
// symlink rules), or one of Caddy's virtual file systems named by `fs`
// (registered with the `filesystem` global option: embedded files, object
// storage), as file_server does. CGI scripts always run from the local
// disk.

// fileSource is what serving static files needs from a tree.
type fileSource interface {
	// stat follows symbolic links, as os.path.isdir does.
	stat(name string) (fs.FileInfo, error)
	// open opens a file for reading; a FIFO must not block.
	open(name string) (fs.File, error)
	// list reads a directory for the listing.
	list(dir string, opt listing.Options) ([]listing.Entry, error)
}

// diskSource is the local disk, with names as absolute OS paths.
type diskSource struct{}

func (diskSource) stat(name string) (fs.FileInfo, error) { return os.Stat(name) }

func (diskSource) open(name string) (fs.File, error) {
	// O_NONBLOCK: opening a FIFO for reading would otherwise block until a
	// writer appears, pinning the request (Python hangs there). Regular
	// files ignore the flag.
	return os.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK, 0)
}

func (diskSource) list(dir string, opt listing.Options) ([]listing.Entry, error) {
	return listing.Read(dir, opt)
}

// virtualSource is a file system from Caddy's map. Names are the
// translated paths (root joined with the request path, as file_server
// joins them), made valid for io/fs: slash-separated, no leading slash,
// "." for the top.
type virtualSource struct{ fsys fs.FS }

func (v virtualSource) stat(name string) (fs.FileInfo, error) { return fs.Stat(v.fsys, fsName(name)) }
func (v virtualSource) open(name string) (fs.File, error)     { return v.fsys.Open(fsName(name)) }
func (v virtualSource) list(dir string, opt listing.Options) ([]listing.Entry, error) {
	return listing.ReadFS(v.fsys, fsName(dir), opt)
}

// fsName turns a translated path into an io/fs name.
func fsName(name string) string {
	name = strings.TrimLeft(path.Clean(filepath.ToSlash(name)), "/")
	if name == "" {
		return "."
	}
	return name
}

// source returns the tree r is served from and its root: the local disk
// with the resolved absolute root, or the named virtual file system with
// the root as configured (file_server's rule: relative to that file
// system, "." when unset). An fs name that is not registered is a 500
// naming it, as a missing root would be.
func (s *Simple) source(r *http.Request, diskRoot string) (fileSource, string, error) {
	if s.fsmap == nil || s.FileSystem == "" {
		return diskSource{}, diskRoot, nil
	}
	repl := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer)
	name := repl.ReplaceAll(s.FileSystem, "")
	fsys, ok := s.fsmap.Get(name)
	if !ok {
		return nil, "", errInternal(&fs.PathError{Op: "fs", Path: name, Err: fs.ErrNotExist})
	}
	if isLocalDisk(fsys) {
		// The default file system is the local disk: keep sendfile and
		// the disk's symlink and FIFO rules.
		return diskSource{}, diskRoot, nil
	}
	return virtualSource{fsys: fsys}, repl.ReplaceAll(s.Root, "."), nil
}

// isLocalDisk reports whether fsys is Caddy's default file system, the
// local disk (an unexported type behind the "default" key).
func isLocalDisk(fsys fs.FS) bool {
	return fsys == defaultFS
}

// defaultFS is what Caddy's file system map holds for the default key.
var defaultFS = func() fs.FS {
	var ctx caddy.Context // no config: a fresh map holding only the default
	return ctx.FileSystems().Default()
}()
