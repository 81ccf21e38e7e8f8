package pyhttp

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/pyhttp/caddy-pyhttp/internal/byterange"
	"github.com/pyhttp/caddy-pyhttp/internal/httpdate"
	"github.com/pyhttp/caddy-pyhttp/internal/listing"
	"github.com/pyhttp/caddy-pyhttp/internal/mimetypes"
	"github.com/pyhttp/caddy-pyhttp/internal/pypath"
	"github.com/pyhttp/caddy-pyhttp/internal/pyversion"
)

func init() {
	caddy.RegisterModule(Simple{})
}

// Simple is Python's SimpleHTTPRequestHandler (`python -m http.server`) as a
// Caddy handler. For the same directory tree it answers every request the
// way Python 3.11–3.13 does (or the release python_version names), where
// clients can see it:
//
//   - Paths map to files with Python's translate_path: the query and fragment
//     are ignored, the path is percent-decoded (`%2F` is a separator, `+` is
//     not a space), `..` can never climb above the root, and leading `//` are
//     collapsed first so no redirect is ever scheme-relative.
//   - A directory requested without a trailing slash gets a 301 to the same
//     path (encoded as sent) plus `/`, keeping the query, with
//     `Content-Length: 0` and no body.
//   - A directory is served by its first index file (`index.html`, then
//     `index.htm`), or else by Python's directory listing, byte for byte:
//     sorted by Python's `str.lower()`, `/` after directories, `@` after
//     symbolic links, hrefs quoted as `urllib.parse.quote` quotes them. The
//     title leaves out the query, as Python 3.14 does (`python_version`
//     3.11 to 3.13 keep it, as those releases do). With
//     `Accept: application/json` the listing is a JSON array of objects with
//     `name`, `url`, `is_dir`, `is_symlink`, `size` and `mod_time`.
//   - Content-Type comes from an embedded copy of Python 3.13's MIME table
//     with Debian's /etc/mime.types and http.server's overrides (the same on
//     every host, never with a charset); unknown types are
//     `application/octet-stream`, and `x.tar.gz` is `application/gzip` without
//     Content-Encoding.
//   - `If-Modified-Since` gives 304 exactly when Python gives it (whole
//     seconds, UTC dates only, ignored when `If-None-Match` is present).
//   - A missing or unreadable file, or a file requested with a trailing
//     slash, is 404 `File not found`; methods other than GET and HEAD are
//     501 `Unsupported method ('PUT')`. These are returned as Caddy errors:
//     add `handle_errors { pyhttp_error_page }` for Python's error page.
//
// Beyond Python: a `Range` request on a file gets a 206 (`If-Range`
// honoured), files are sent with sendfile(2), `hide` keeps files out of
// listings and answers (the Caddyfile is hidden automatically), and HTTPS,
// HTTP/2 and HTTP/3 come from Caddy. Go's HTTP server cannot send Python's
// custom reason phrases (`404 File not found`); the status codes are the same.
type Simple struct {
	// The root of the tree to serve. Default is `{http.vars.root}` (set by
	// the `root` directive) if set, or the current working directory
	// otherwise. Placeholders are accepted.
	//
	// ⚠️ As in Python, symbolic links inside the root are followed wherever
	// they point.
	Root string `json:"root,omitempty"`

	// Index file names tried in order for a directory. Default is
	// `["index.html", "index.htm"]`, Python's index_pages.
	IndexNames []string `json:"index_names,omitempty"`

	// Content-Type overrides by extension, checked before the built-in
	// table, e.g. `{".wasm": "application/wasm"}`. Keys start with a dot;
	// matching is exact first, then lower-cased, as Python's extensions_map.
	MIMETypes map[string]string `json:"mime_types,omitempty"`

	// Files and directories to hide: they are left out of listings and
	// answered with 404 as if absent. Each entry is a glob matched against
	// every path component when it contains no path separator, or against the
	// whole absolute path (and as a prefix) when it does, as with
	// file_server's `hide`. The Caddyfile is added automatically when the
	// handler comes from a Caddyfile, and Caddy's data directory when it is
	// relative (it holds private keys), as file_server does. A path is
	// matched as named under the root and under the root's real path, so
	// a root that is a symbolic link hides the same files.
	Hide []string `json:"hide,omitempty"`

	// The Python release whose listing and path rules to reproduce byte for
	// byte: `3.11`, `3.12`, `3.13` or `3.14`. 3.14 adds a colour-scheme
	// style block to the listing, leaves the query out of its title, and
	// takes a path ending in `%2F` as ending in a slash (`/dir%2F` is listed,
	// not redirected; `/file%2F` is 404); 3.11 to 3.13 show the query in the
	// title. Default: unset, which is the 3.11–3.13 output with the title
	// of 3.14 (the path only). Any other value fails at load.
	PythonVersion string `json:"python_version,omitempty"`

	// The file system to serve from, by the name the `filesystem` global
	// option registered it under (embedded files, object storage), as
	// file_server's `fs`. Default: `{http.vars.fs}` (set by the `fs`
	// directive), which is the local disk when unset. Placeholders are
	// accepted. On a virtual file system Root is a path inside it
	// (default "."); listings, index files, Range and If-Modified-Since
	// work as on the disk, but files are copied rather than sent with
	// sendfile, and a symbolic link shows only if the file system reports
	// it. CGI scripts always run from the local disk.
	FileSystem string `json:"fs,omitempty"`

	fsmap   caddy.FileSystems
	logger  *zap.Logger
	mime    *mimetypes.Table
	hide    []string
	version pyversion.Version
	// guard, set by pyhttp_cgi before Provision, vets every file or
	// directory under root whose content or names are about to be sent
	// (after the trailing-slash redirect, which discloses nothing), so
	// that no other name for a CGI directory, an index file included,
	// can reveal a script's source. It is given the file already opened
	// (f, with info from fstat) and vets what was opened, not a name that
	// a symbolic link swapped in between could point elsewhere. nil lets
	// everything through.
	guard func(root, name string, f *os.File, info os.FileInfo) error
}

// CaddyModule returns the Caddy module information.
func (Simple) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.pyhttp_simple",
		New: func() caddy.Module { return new(Simple) },
	}
}

// Provision sets up the handler.
func (s *Simple) Provision(ctx caddy.Context) error {
	s.logger = ctx.Logger()
	var err error
	if s.version, err = pyversion.Parse(s.PythonVersion); err != nil {
		return fmt.Errorf("python_version: %w", err)
	}
	if s.Root == "" {
		s.Root = "{http.vars.root}"
	}
	if s.FileSystem == "" {
		s.FileSystem = "{http.vars.fs}"
	}
	s.fsmap = ctx.FileSystems()
	if len(s.IndexNames) == 0 {
		s.IndexNames = defaultIndexNames
	}
	for _, name := range s.IndexNames {
		if name == "" || strings.ContainsRune(name, '/') {
			return fmt.Errorf("index file name %q must be a plain file name, without '/'", name)
		}
	}
	table, err := mimetypes.New(s.MIMETypes)
	if err != nil {
		return err
	}
	s.mime = table
	s.hide, err = absHide(s.Hide)
	if err != nil {
		return err
	}
	s.hide = append(s.hide, dataDirHide()...)
	return nil
}

// ServeHTTP implements caddyhttp.MiddlewareHandler.
func (s *Simple) ServeHTTP(w http.ResponseWriter, r *http.Request, _ caddyhttp.Handler) error {
	// BaseHTTPRequestHandler dispatches on the exact method token, so
	// "get" is as unsupported as "PUT".
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return errUnsupportedMethod(r.Method)
	}
	repl := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer)
	root, err := resolveRoot(repl, s.Root)
	if err != nil {
		err = errInternal(err)
	} else {
		err = s.serve(w, r, root, pypath.Target(r.URL))
	}
	if err != nil {
		logCause(s.logger, r, err)
	}
	return err
}

// serve is send_head plus do_GET/do_HEAD for the target (Python's
// self.path) under root. pyhttp_cgi calls it for the paths that are not
// scripts.
func (s *Simple) serve(w http.ResponseWriter, r *http.Request, root, target string) error {
	tree, root, err := s.source(r, root)
	if err != nil {
		return err
	}
	translated, err := pypath.Translate(s.version, root, target)
	if err != nil {
		return errBadPath(err)
	}
	name := translated
	trailingSlash := len(name) > 1 && strings.HasSuffix(name, "/")
	if trailingSlash {
		name = name[:len(name)-1]
	}
	if hidden(root, name, s.hide) {
		return errFileNotFound(nil)
	}

	// stat follows symbolic links, as os.path.isdir does.
	if info, err := tree.stat(name); err == nil && info.IsDir() {
		if location, ok := pypath.DirRedirect(s.version, target); ok {
			// Under handle_path the prefix belongs to the URL the client
			// sees, as file_server's redirect keeps it.
			if prefix, _ := strippedPrefix(r); prefix != "" {
				location = prefix + location
			}
			if c := s.logger.Check(zapcore.DebugLevel, "redirecting to directory with trailing slash"); c != nil {
				c.Write(zap.String("request_path", r.URL.Path), zap.String("location", location))
			}
			w.Header().Set("Location", location)
			w.Header().Set("Content-Length", "0")
			w.WriteHeader(http.StatusMovedPermanently)
			return nil
		}
		for _, index := range s.IndexNames {
			indexPath := filepath.Join(name, index)
			// os.path.isfile: a directory or broken link named index.html
			// is skipped and the next name tried.
			if fi, err := tree.stat(indexPath); err == nil && fi.Mode().IsRegular() && !hidden(root, indexPath, s.hide) {
				return s.serveFile(w, r, tree, root, indexPath)
			}
		}
		return s.serveListing(w, r, tree, root, name, target)
	}
	if trailingSlash {
		// send_head: "path ends with / but is not a directory".
		return errFileNotFound(nil)
	}
	return s.serveFile(w, r, tree, root, name)
}

// serveFile sends one regular file: Python's headers and If-Modified-Since
// rule, plus single-range support and sendfile.
func (s *Simple) serveFile(w http.ResponseWriter, r *http.Request, tree fileSource, root, name string) error {
	f, err := tree.open(name)
	if err != nil {
		return errFileNotFound(err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return errFileNotFound(err)
	}
	if !info.Mode().IsRegular() {
		// Only regular files are content; a FIFO or device would block or
		// stream forever.
		return errFileNotFound(&fs.PathError{Op: "open", Path: name, Err: errors.New("not a regular file")})
	}
	if err := s.vet(tree, root, name, f, info); err != nil {
		return err
	}

	if httpdate.NotModified(r.Header, info.ModTime()) {
		// Python's 304 carries no entity headers at all.
		w.WriteHeader(http.StatusNotModified)
		return nil
	}

	size := info.Size()
	h := w.Header()
	h.Set("Content-Type", s.mime.TypeByName(name))
	// Python sends Last-Modified always, even for an mtime at the epoch.
	h.Set("Last-Modified", info.ModTime().UTC().Format(http.TimeFormat))
	h.Set("Accept-Ranges", "bytes")

	// Beyond Python, which ignores Range: one byte range is served, and
	// whatever cannot be served as one range (another unit, bad syntax,
	// several ranges, a stale If-Range) gets the whole file, as Python
	// sends it.
	status, start, length := http.StatusOK, int64(0), size
	if header := r.Header.Get("Range"); header != "" && byterange.IfRangeAllows(r.Header.Get("If-Range"), info.ModTime()) {
		switch rng := byterange.Parse(header, size); rng.Decision {
		case byterange.Partial:
			status, start, length = http.StatusPartialContent, rng.Start, rng.Length
			h.Set("Content-Range", rng.ContentRange(size))
		case byterange.Unsatisfiable:
			h.Set("Content-Range", rng.ContentRange(size))
			h.Del("Last-Modified")
			return errStatus(http.StatusRequestedRangeNotSatisfiable, fmt.Errorf("range %q of a %d-byte file", header, size))
		}
	}

	h.Set("Content-Length", itoa(length))
	w.WriteHeader(status)
	if r.Method == http.MethodHead || length == 0 {
		return nil
	}
	if start > 0 {
		if err := skipTo(f, start); err != nil {
			return nil // the status line is gone; the client sees a short body
		}
	}
	// The body is bounded at Content-Length whatever happens to the file
	// meanwhile (a log being appended to), and still goes out with
	// sendfile(2); see sendBounded.
	var n int64
	if osf, ok := f.(*os.File); ok {
		n, err = sendBounded(w, osf, start, length)
	} else {
		// A virtual file system's file: a plain bounded copy.
		n, err = io.Copy(w, io.LimitReader(f, length))
	}
	if n > length {
		// sendBounded never sends more than length; should a writer in
		// the chain do so all the same, closing the connection keeps what
		// followed the body from being taken for a response by a client
		// that reuses the connection later.
		if c := s.logger.Check(zapcore.DebugLevel, "file grew while being sent"); c != nil {
			c.Write(zap.String("filename", name), zap.Int64("declared", length), zap.Int64("sent", n))
		}
		panic(http.ErrAbortHandler)
	}
	if err != nil {
		// The status line is gone; the client sees a short body.
		if c := s.logger.Check(zapcore.DebugLevel, "sending file"); c != nil {
			c.Write(zap.String("filename", name), zap.Error(err))
		}
	}
	return nil
}

// vet runs the guard on a file or directory about to be sent: on the disk
// with the opened file (f, info), on a virtual file system with f nil and
// root "", which tells the guard that names are no disk paths.
func (s *Simple) vet(tree fileSource, root, name string, f fs.File, info fs.FileInfo) error {
	if s.guard == nil {
		return nil
	}
	osf, disk := f.(*os.File)
	if _, virtual := tree.(virtualSource); virtual || !disk {
		return s.guard("", name, nil, info)
	}
	return s.guard(root, name, osf, info)
}

// serveListing is list_directory, plus the JSON form. On the disk the
// index comes from listings, which bounds the memory all listings hold at
// once (see listingBudget) and shares one index among concurrent HTML
// listings of an unchanged directory.
func (s *Simple) serveListing(w http.ResponseWriter, r *http.Request, tree fileSource, root, dir, target string) error {
	wantJSON := acceptsJSON(r.Header.Get("Accept"))
	if _, virtual := tree.(virtualSource); virtual {
		opts := listing.Options{Stat: wantJSON, Hide: listingHide(dir, s.hide)}
		if err := s.vet(tree, root, dir, nil, nil); err != nil {
			return err
		}
		entries, err := tree.list(dir, opts)
		if err != nil {
			return pyError(http.StatusNotFound, "No permission to list directory", err)
		}
		return s.writeListing(w, r, wantJSON, listing.IndexOf(entries), target)
	}
	// Open once and list what was opened: the directory vetted is the one
	// read, through its /proc/self/fd name, even if dir is swapped for a
	// link into a CGI directory in between; and the shared index is keyed
	// by that directory's identity, not by its name.
	d, err := os.Open(dir)
	if err != nil {
		return pyError(http.StatusNotFound, "No permission to list directory", err)
	}
	defer d.Close()
	info, err := d.Stat()
	if err != nil || !info.IsDir() {
		return pyError(http.StatusNotFound, "No permission to list directory", err)
	}
	if s.guard != nil {
		if err := s.guard(root, dir, d, info); err != nil {
			return err
		}
	}
	readDir := dir
	if p, ok := fdName(d); ok {
		readDir = p
	}
	key := dir + "\x00" + strings.Join(s.hide, "\x00")
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		key = fmt.Sprintf("%d:%d\x00%s", st.Dev, st.Ino, key)
	}
	opts := listing.Options{Stat: wantJSON, Hide: listingHideUnder(root, dir, s.hide)}
	x, release, err := listings.List(r.Context(), readDir, key, opts)
	if errors.Is(err, listing.ErrBusy) {
		w.Header().Set("Retry-After", "1")
		return errStatus(http.StatusServiceUnavailable, err)
	}
	if err != nil {
		if r.Context().Err() != nil {
			// The client left while the listing waited: as in
			// pyhttp_cgi, the access log gets 499 and no error is raised.
			w.WriteHeader(499)
			return nil
		}
		return pyError(http.StatusNotFound, "No permission to list directory", err)
	}
	defer release()
	return s.writeListing(w, r, wantJSON, x, target)
}

// writeListing sends the listing of index x for target, as JSON or as
// Python's HTML document.
func (s *Simple) writeListing(w http.ResponseWriter, r *http.Request, wantJSON bool, x *listing.Index, target string) error {
	h := w.Header()
	// The same URL answers HTML or JSON by Accept: caches must key on it.
	h.Add("Vary", "Accept")
	if wantJSON {
		h.Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		if r.Method == http.MethodHead {
			return nil
		}
		bw := bufio.NewWriterSize(w, 64<<10)
		if err := x.WriteJSON(bw); err != nil {
			return err
		}
		return bw.Flush()
	}

	title, err := listing.DecodeTitle(pypath.ListingPath(s.version, target))
	if err != nil {
		// Python raises while encoding such a title and drops the
		// connection.
		return errBadPath(err)
	}
	h.Set("Content-Type", listing.ContentType)
	h.Set("Content-Length", itoa(x.HTMLLength(s.version, title)))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return nil
	}
	// WriteHTML writes in chunks of its own: no bufio.Writer in between.
	return x.WriteHTML(w, s.version, title)
}

// skipTo moves f to offset start: by Seek when it can (every file on the
// disk, most virtual ones), else by reading past the first bytes.
func skipTo(f fs.File, start int64) error {
	if sk, ok := f.(io.Seeker); ok {
		_, err := sk.Seek(start, io.SeekStart)
		return err
	}
	_, err := io.CopyN(io.Discard, f, start)
	return err
}

// listingBudget is the memory, in bytes, that the indexes of all
// directory listings of the process may hold at once: 64 MiB, about five
// concurrent listings of a 200,000-entry directory with JSON's sizes and
// times, and any number of concurrent HTML listings of one directory, which
// share an index. A listing beyond it waits up to listingWait for others to
// finish and is then answered 503 with Retry-After: 1. At most
// listingBuilds indexes are read and sorted at once.
const (
	listingBudget = 64 << 20
	listingBuilds = 2
	listingWait   = 10 * time.Second
)

// listings is the process's listing budget, shared by every pyhttp_simple
// handler (and pyhttp_cgi's), since memory is the process's.
var listings = listing.NewLister(listingBudget, listingBuilds, listingWait)

// acceptsJSON reports whether the Accept header asks for application/json
// with a non-zero quality. Clients such as wget, pip and browsers send
// `*/*` or text/html and get Python's HTML.
func acceptsJSON(accept string) bool {
	if accept == "" {
		return false
	}
	for part := range strings.SplitSeq(accept, ",") {
		mediaType, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil || mediaType != "application/json" {
			continue
		}
		if q, ok := params["q"]; ok && strings.Trim(q, "0.") == "" {
			continue // q=0 means "not acceptable"
		}
		return true
	}
	return false
}

// sendBounded sends length bytes of f, which is positioned at start, to w
// and never more, even if the file grows meanwhile, using sendfile(2) for
// all of it, or all but the last write chunk.
//
// Go's connection uses sendfile for an *io.LimitedReader around anything
// that is a syscall.Conn (an *os.File), and then sends at most N bytes. So,
// without Caddy's write-idle wrapper in the chain, a LimitedReader bounded
// at length is all it takes. With the wrapper (Caddy's default), each
// ReadFrom chunk arrives wrapped in the wrapper's own LimitedReader of
// MaxChunk bytes, which would hide an inner LimitedReader from the
// connection and cost sendfile; then the file goes as a boundedFile, which
// offers its descriptor for sendfile only while at least a whole chunk of
// the declared body remains, and is read, bounded, for the last partial
// chunk. The wrapper's byte counting and deadlines stay in the path.
func sendBounded(w http.ResponseWriter, f *os.File, start, length int64) (int64, error) {
	rf, ok := w.(io.ReaderFrom)
	if !ok {
		return io.Copy(w, io.LimitReader(f, length))
	}
	chunk := writeChunk(w)
	if chunk == 0 {
		return rf.ReadFrom(&io.LimitedReader{R: f, N: length})
	}
	return rf.ReadFrom(&boundedFile{f: f, end: start + length, chunk: chunk})
}

// writeChunk returns the chunk size of Caddy's write-idle wrapper if w's
// chain holds one, or 0.
func writeChunk(w http.ResponseWriter) int64 {
	for w != nil {
		if iw, ok := w.(*caddyhttp.IdleTimeoutWriter); ok {
			if iw.MaxChunk > 0 {
				return int64(iw.MaxChunk)
			}
			return caddyhttp.DefaultMaxWriteChunk
		}
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			return 0
		}
		w = u.Unwrap()
	}
	return 0
}

// boundedFile reads a file from its current offset up to end. It is a
// syscall.Conn, so the connection may sendfile from it, but only while at
// least chunk bytes remain before end: the caller's LimitedReader of chunk
// bytes then bounds each sendfile below end. For the rest it refuses, and
// the connection falls back to Read, which stops at end. sendfile moves the
// file offset, so the offset says what remains.
type boundedFile struct {
	f     *os.File
	end   int64
	chunk int64
}

// remaining returns the bytes left before end.
func (b *boundedFile) remaining() (int64, error) {
	off, err := b.f.Seek(0, io.SeekCurrent)
	if err != nil {
		return 0, err
	}
	return b.end - off, nil
}

// Read reads at most up to end.
func (b *boundedFile) Read(p []byte) (int, error) {
	left, err := b.remaining()
	if err != nil {
		return 0, err
	}
	if left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > left {
		p = p[:left]
	}
	return b.f.Read(p)
}

// errShortTail makes the connection fall back from sendfile to Read.
var errShortTail = errors.New("less than a write chunk left: no sendfile")

// SyscallConn offers the file's descriptor while a whole chunk remains.
func (b *boundedFile) SyscallConn() (syscall.RawConn, error) {
	left, err := b.remaining()
	if err != nil {
		return nil, err
	}
	if left < b.chunk {
		return nil, errShortTail
	}
	return b.f.SyscallConn()
}

// defaultIndexNames is Python's SimpleHTTPRequestHandler.index_pages.
var defaultIndexNames = []string{"index.html", "index.htm"}

// Interface guards
var (
	_ caddy.Provisioner           = (*Simple)(nil)
	_ caddyhttp.MiddlewareHandler = (*Simple)(nil)
)
