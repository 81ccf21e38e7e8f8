package pypath

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/pyhttp/caddy-pyhttp/internal/pystr"
)

// ErrInvalidCGIDir is wrapped by every error of CleanCGIDir, so a caller can
// test for a bad configured directory with errors.Is.
var ErrInvalidCGIDir = errors.New("invalid cgi directory")

// CollapsePath is http.server._url_collapse_path applied to a raw path that
// has no query part (Go split it off already; a '?' here is taken
// literally). It percent-decodes with pystr.Unquote, splits on '/', drops empty
// and "." segments, lets ".." pop the previous segment, and rebuilds the
// path as "/" + head + "/" + tail exactly as Python does, so "/cgi-bin"
// gives "//cgi-bin", "/" gives "//", "/a/b/" stays "/a/b/" and
// "/a/b/c/../d" gives "/a/b/d". A '#' stays in the path (is_cgi never
// strips fragments). Decoding comes first on purpose: "/%63gi-bin/s",
// "/cgi-bin%2fs" and "/files/../cgi-bin/s" must all be seen as CGI, or the
// static handler would disclose the script's source.
//
// It returns ErrAboveRoot where Python raises IndexError ('..' with nothing
// left to pop) and ErrNUL on a decoded NUL byte.
func CollapsePath(rawPath string) (string, error) {
	p := pystr.Unquote(rawPath)
	if strings.IndexByte(p, 0) >= 0 {
		return "", fmt.Errorf("collapsing %q: %w", rawPath, ErrNUL)
	}
	parts := strings.Split(p, "/")
	head := make([]string, 0, len(parts))
	for _, part := range parts[:len(parts)-1] {
		switch part {
		case "..":
			if len(head) == 0 {
				return "", fmt.Errorf("collapsing %q: %w", rawPath, ErrAboveRoot)
			}
			head = head[:len(head)-1]
		case "", ".":
		default:
			head = append(head, part)
		}
	}
	tail := parts[len(parts)-1]
	switch tail {
	case "..":
		if len(head) == 0 {
			return "", fmt.Errorf("collapsing %q: %w", rawPath, ErrAboveRoot)
		}
		head = head[:len(head)-1]
		tail = ""
	case ".":
		tail = ""
	}
	return "/" + strings.Join(head, "/") + "/" + tail, nil
}

// MatchCGIDir is is_cgi's test on a collapsed path: it tries each prefix
// that ends just before a '/', searching from index 1, and the first prefix
// equal (exact and case-sensitive) to an entry of dirs wins. It returns that
// entry and the rest after its '/'. The directory must lead the path, so
// "/x/cgi-bin/y" does not match "/cgi-bin", and "//cgi-bin" (the collapse of
// "/cgi-bin") does not match either, which is why Python answers "/cgi-bin"
// with a directory redirect instead of running it.
func MatchCGIDir(collapsed string, dirs []string) (dir, rest string, ok bool) {
	for i := 1; i < len(collapsed); i++ {
		j := strings.IndexByte(collapsed[i:], '/')
		if j < 0 {
			break
		}
		i += j
		for _, d := range dirs {
			if collapsed[:i] == d {
				return d, collapsed[i+1:], true
			}
		}
	}
	return "", "", false
}

// Script is a CGI script located by LocateScript.
type Script struct {
	// Dir is the matched CGI directory URL path, e.g. "/cgi-bin", as passed
	// to LocateScript (not moved by the subdirectory walk).
	Dir string
	// Name is SCRIPT_NAME: the walked directory + "/" + script, decoded and
	// collapsed, e.g. "/cgi-bin/sub/x.py". Python quotes it in the 404/403
	// messages.
	Name string
	// File is the filesystem path of the script under root, without a
	// trailing slash (root+Dir itself when the script segment is empty).
	File string
	// PathInfo is PATH_INFO: the decoded remainder after the script with its
	// leading "/" kept (and a trailing "/" kept), or "" if there is none.
	PathInfo string
}

// LocateScript is run_cgi's walk for a dir and rest from MatchCGIDir. While
// the next segment of rest names an existing directory under root (os.Stat,
// which follows symlinks as os.path.isdir does), the boundary moves past it,
// so "/cgi-bin/sub/nested.sh/more" finds the script "sub/nested.sh" with
// PATH_INFO "/more". The next segment is the script, possibly "" (for
// "/cgi-bin/"), and the rest with its leading '/' is PATH_INFO.
//
// Three deliberate differences from run_cgi:
//   - Python splits rest again at '?' because its self.path still holds the
//     query. Go split the query off before decoding, so a '?' here came from
//     %3F and is part of the script name or PATH_INFO.
//   - PATH_INFO is decoded once; Python unquotes it a second time.
//   - The directory tests and File join the already decoded path onto root
//     instead of calling translate_path, which would decode it again: with
//     Python, /cgi-bin/%252e%252e%252fx decodes to /cgi-bin/%2e%2e%2fx in
//     is_cgi and then to /cgi-bin/../x, running root/x outside every CGI
//     directory. Like translate_path, the join stops at the first '#', so
//     "/cgi-bin/x.sh#f" runs x.sh with SCRIPT_NAME "/cgi-bin/x.sh#f", but a
//     "." or ".." that the cut leaves behind is dropped, not resolved.
//
// rest must come from a collapsed path (no ".", ".." or empty segments);
// then File is root+Dir or lies under root+Dir+"/".
func LocateScript(root, dir, rest string) Script {
	s := Script{Dir: dir}
	p := dir + "/" + rest
	for {
		i := strings.IndexByte(p[len(dir)+1:], '/')
		if i < 0 {
			break
		}
		i += len(dir) + 1
		fi, err := os.Stat(scriptPath(root, p[:i]))
		if err != nil || !fi.IsDir() {
			break
		}
		dir, rest = p[:i], p[i+1:]
	}
	script, info, found := strings.Cut(rest, "/")
	if found {
		s.PathInfo = "/" + info
	}
	s.Name = dir + "/" + script
	s.File = scriptPath(root, s.Name)
	return s
}

// scriptPath maps a decoded CGI URL path onto root without decoding it again,
// cutting at the first '#' as translate_path would. The cut can leave a last
// word "." or ".." ("/cgi-bin/..#x"), which translate_path's normpath would
// resolve to a directory above the CGI directory. Python then answers 403
// "not a plain file" for that directory; dropping the word instead yields
// the CGI directory (or a directory under it) and the same 403, without the
// path ever leaving the CGI directory.
func scriptPath(root, decoded string) string {
	decoded, _, _ = strings.Cut(decoded, "#")
	words := []string{root}
	for w := range strings.SplitSeq(decoded, "/") {
		if w != "" && w != "." && w != ".." {
			words = append(words, w)
		}
	}
	return filepath.Join(words...)
}

// CleanCGIDir validates and normalises a configured CGI directory (the
// "cgi_dirs" setting, Python's cgi_directories). It must start with "/"; one
// trailing "/" is stripped, since is_cgi compares against the prefix before
// the '/'; it may not be "/" itself (that would make the whole site CGI) and
// may not have empty, "." or ".." segments, which a collapsed path never
// contains, so such an entry could never match. '?', '#' and NUL are
// refused too: Go splits the query off before matching, translate_path cuts
// at '#', and a NUL can never name a file. Errors wrap ErrInvalidCGIDir.
func CleanCGIDir(s string) (string, error) {
	if !strings.HasPrefix(s, "/") {
		return "", cgiDirError(s, `must start with "/"`)
	}
	d := strings.TrimSuffix(s, "/")
	if d == "" {
		return "", cgiDirError(s, `must not be "/"`)
	}
	if i := strings.IndexAny(d, "?#\x00"); i >= 0 {
		return "", cgiDirError(s, fmt.Sprintf("must not contain %q", d[i]))
	}
	for seg := range strings.SplitSeq(d[1:], "/") {
		switch seg {
		case "":
			return "", cgiDirError(s, "must not contain an empty segment")
		case ".", "..":
			return "", cgiDirError(s, fmt.Sprintf("must not contain a %q segment", seg))
		}
	}
	return d, nil
}

func cgiDirError(dir, problem string) error {
	return &dirError{dir: dir, problem: problem}
}

// dirError reads as `cgi directory "x" must ...` and still matches
// ErrInvalidCGIDir under errors.Is.
type dirError struct{ dir, problem string }

func (e *dirError) Error() string { return fmt.Sprintf("cgi directory %q %s", e.dir, e.problem) }

func (e *dirError) Is(target error) bool { return target == ErrInvalidCGIDir }
