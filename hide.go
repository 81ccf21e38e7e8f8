package pyhttp

import (
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/caddyserver/caddy/v2"
)

// fileHidden reports whether filename (absolute) matches one of the hide
// patterns, with the semantics of file_server's hide: a pattern without a
// path separator matches any path component by glob, one with a separator
// matches the path by prefix or by glob.
func fileHidden(filename string, hide []string) bool {
	var components []string
	for _, h := range hide {
		if !strings.Contains(h, string(filepath.Separator)) {
			if components == nil {
				components = strings.Split(filename, string(filepath.Separator))
			}
			for _, c := range components {
				if hidden, _ := filepath.Match(h, c); hidden {
					return true
				}
			}
		} else if after, ok := strings.CutPrefix(filename, h); ok && (after == "" || after[0] == filepath.Separator) {
			return true
		}
		if hidden, _ := filepath.Match(h, filename); hidden {
			return true
		}
	}
	return false
}

// absHide makes the hide patterns that name paths absolute, so that they
// compare with the absolute file names ServeHTTP produces.
func absHide(hide []string) ([]string, error) {
	out := make([]string, 0, len(hide))
	for _, h := range hide {
		if strings.Contains(h, string(filepath.Separator)) {
			abs, err := caddy.FastAbs(h)
			if err != nil {
				return nil, fmt.Errorf("making hide pattern %q absolute: %w", h, err)
			}
			h = abs
		}
		if _, err := filepath.Match(h, ""); err != nil {
			return nil, fmt.Errorf("bad hide pattern %q: %w", h, err)
		}
		out = append(out, h)
	}
	return out, nil
}

// listingHide returns the hide test for the entries of dir, or nil if no
// pattern can match any of them. It decides what fileHidden would for
// dir/name, given that dir itself is not hidden, without joining and
// matching a full path per entry: with the Caddyfile always in the list,
// that cost a sixth of a 100,000-entry listing. A pattern with a separator
// can only match a child of dir if its directory part matches dir, since no
// glob metacharacter crosses a separator; a prefix match would be on dir or
// an ancestor, which would have hidden dir itself.
func listingHide(dir string, hide []string) func(name string) bool {
	var globs []string
	for _, h := range hide {
		if !strings.Contains(h, string(filepath.Separator)) {
			globs = append(globs, h)
		} else if ok, _ := filepath.Match(filepath.Dir(h), dir); ok {
			globs = append(globs, filepath.Base(h))
		}
	}
	if len(globs) == 0 {
		return nil
	}
	return func(name string) bool {
		for _, g := range globs {
			if hidden, _ := filepath.Match(g, name); hidden {
				return true
			}
		}
		return false
	}
}

// listingHideUnder is listingHide for dir under root, by dir's name and
// by its name under root's real path, as hidden decides for one file.
func listingHideUnder(root, dir string, hide []string) func(name string) bool {
	byName := listingHide(dir, hide)
	real := realRoot(root)
	rel, ok := strings.CutPrefix(dir, root)
	if real == root || !ok || (rel != "" && rel[0] != filepath.Separator) {
		return byName
	}
	byReal := listingHide(real+rel, hide)
	switch {
	case byReal == nil:
		return byName
	case byName == nil:
		return byReal
	}
	return func(name string) bool { return byName(name) || byReal(name) }
}

// dataDirHide returns the hide pattern for Caddy's data directory when it
// is relative (XDG_DATA_HOME=data, say): it then lies under the working
// directory, which is the default root, and holds the private keys of the
// certificates. file_server hides it the same way.
func dataDirHide() []string {
	dataDir := caddy.AppDataDir()
	if filepath.IsAbs(dataDir) {
		return nil
	}
	abs, err := caddy.FastAbs(dataDir)
	if err != nil {
		return nil
	}
	return []string{abs}
}

// hidden reports whether the file name under root is hidden, by its name
// under root as requested and by the same name under root's real path: a
// root that is a symbolic link (`root * /srv/current` pointing at a release
// directory that holds the Caddyfile) would otherwise defeat every hide
// pattern written as a real path, the automatic Caddyfile hiding included.
func hidden(root, name string, hide []string) bool {
	if fileHidden(name, hide) {
		return true
	}
	real := realRoot(root)
	if real == root {
		return false
	}
	rel, ok := strings.CutPrefix(name, root)
	if !ok || (rel != "" && rel[0] != filepath.Separator) {
		return false
	}
	return fileHidden(real+rel, hide)
}

// realRoot is root with its symbolic links resolved, or root itself when
// it cannot be resolved (a missing root gets its 404s elsewhere). Results
// are kept for realRootTTL, so that a deploy that swaps the link is seen
// within that time without a resolution on every request.
func realRoot(root string) string {
	now := time.Now()
	if v, ok := realRoots.Load(root); ok {
		if e := v.(realRootEntry); now.Before(e.until) {
			return e.real
		}
	}
	real, err := filepath.EvalSymlinks(root)
	if err != nil {
		real = root
	}
	real = filepath.Clean(real)
	realRoots.Store(root, realRootEntry{real: real, until: now.Add(realRootTTL)})
	return real
}

// realRoots caches realRoot by root.
var realRoots sync.Map // string -> realRootEntry

type realRootEntry struct {
	real  string
	until time.Time
}

// realRootTTL is how long a resolved root is trusted.
const realRootTTL = time.Second
