package pypath

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/pyhttp/caddy-pyhttp/internal/pystr"
)

// ErrInvalidExt is wrapped by every error of CleanScriptExt.
var ErrInvalidExt = errors.New("invalid script extension")

// CleanScriptExt validates a configured script extension (`script_ext`,
// `interpreter`): a dot followed by at least one character, none of them
// '/', NUL, ':' or a further dot at the end. It returns the extension in
// lower case, since extensions match case-insensitively as Apache's
// AddHandler does.
func CleanScriptExt(ext string) (string, error) {
	switch {
	case len(ext) < 2 || ext[0] != '.':
		return "", fmt.Errorf("%w %q: must look like .ext", ErrInvalidExt, ext)
	case strings.ContainsAny(ext, "/\x00:\\ "), strings.HasSuffix(ext, "."):
		return "", fmt.Errorf("%w %q: must not contain '/', '\\', ':', a space or NUL, nor end in '.'", ErrInvalidExt, ext)
	}
	return strings.ToLower(ext), nil
}

// ScriptExt reports which of the (lower-case) exts the file name carries,
// "" if none. exact is true when the name ends in that extension in any
// case ("upper.PHP"); it is false for a look-alike that some file system or
// tool could map onto the script: trailing dots or spaces ("a.php."),
// an NTFS stream suffix ("a.php::$DATA", "a.php:x"). A caller runs exact
// matches and refuses look-alikes, so a script is never served as source.
func ScriptExt(name string, exts []string) (ext string, exact bool) {
	base := name
	if i := strings.LastIndexByte(base, '/'); i >= 0 {
		base = base[i+1:]
	}
	lower := strings.ToLower(base)
	for _, e := range exts {
		if strings.HasSuffix(lower, e) && len(lower) > len(e) {
			return e, true
		}
	}
	alike := lower
	if i := strings.IndexByte(alike, ':'); i >= 0 {
		alike = alike[:i]
	}
	alike = strings.TrimRight(alike, ". \t")
	for _, e := range exts {
		if strings.HasSuffix(alike, e) {
			return e, false
		}
	}
	return "", false
}

// ExtScript is a script found by LocateExtScript.
type ExtScript struct {
	// Name is SCRIPT_NAME without any prefix: the decoded URL path up to and
	// including the script's segment, e.g. "/app/index.php".
	Name string
	// File is the script's file under root.
	File string
	// Ext is the matched extension (lower case).
	Ext string
	// PathInfo is the decoded rest after the script's segment, with its
	// leading '/' (and a trailing one) kept, or "".
	PathInfo string
}

// LocateExtScript walks a collapsed path (from CollapsePath) from root
// segment by segment, as Apache's AcceptPathInfo does for a handler: the
// first segment that names a regular file with one of exts is the script and
// the rest is PATH_INFO. Directories are walked into whatever their name.
// found is false when no such file leads the path; forbidden is true when a
// segment is a look-alike of a script name (see ScriptExt) or a script
// extension on something that is not a regular file, which the caller
// answers with 403 instead of serving anything.
//
// The walk only ever joins decoded segments that are neither empty, "." nor
// "..", so File stays under root.
func LocateExtScript(root, collapsed string, exts []string) (s ExtScript, found, forbidden bool) {
	segs := strings.Split(strings.TrimPrefix(collapsed, "/"), "/")
	file := root
	name := ""
	for i, seg := range segs {
		if seg == "" || seg == "." || seg == ".." {
			continue
		}
		file = filepath.Join(file, seg)
		name += "/" + seg
		ext, exact := ScriptExt(seg, exts)
		info, err := os.Stat(file)
		if err != nil {
			// A missing file: a look-alike is refused, anything else is
			// left to the static branch (404).
			return ExtScript{}, false, ext != "" && !exact
		}
		if info.IsDir() {
			continue
		}
		if ext == "" {
			return ExtScript{}, false, false
		}
		if !exact || !info.Mode().IsRegular() {
			return ExtScript{}, false, true
		}
		s = ExtScript{Name: name, File: file, Ext: ext}
		if rest := segs[i+1:]; len(rest) > 0 {
			s.PathInfo = "/" + strings.Join(rest, "/")
		}
		return s, true, false
	}
	return ExtScript{}, false, false
}

// ProgramPathInfo is PATH_INFO for a program mount: the decoded request path
// with ".", ".." and empty segments resolved (a trailing '/' kept), minus
// scriptName when the path starts with it at a segment boundary (a mount such
// as `pyhttp_cgi /cgit*` with `script_name /cgit`, where nothing stripped the
// prefix; compared ignoring case, as Caddy's matcher compares). strip says
// whether to try removing scriptName. It returns ErrNUL for a NUL byte and
// ErrAboveRoot for a ".." above the root.
func ProgramPathInfo(decoded, scriptName string, strip bool) (string, error) {
	if strings.IndexByte(decoded, 0) >= 0 {
		return "", ErrNUL
	}
	segs := strings.Split(decoded, "/")
	out := make([]string, 0, len(segs))
	for _, seg := range segs {
		switch seg {
		case "", ".":
		case "..":
			if len(out) == 0 {
				return "", ErrAboveRoot
			}
			out = out[:len(out)-1]
		default:
			out = append(out, seg)
		}
	}
	p := ""
	if len(out) > 0 {
		p = "/" + strings.Join(out, "/")
	}
	if last := segs[len(segs)-1]; (last == "" || last == "." || last == "..") && len(segs) > 1 {
		p += "/"
	}
	if strip && scriptName != "" && scriptName != "/" && len(p) >= len(scriptName) &&
		strings.EqualFold(p[:len(scriptName)], scriptName) {
		// Case-insensitive, as Caddy's path matcher and strip_prefix are:
		// `pyhttp_cgi /cgit*` takes /CGIT/repo too.
		if rest := p[len(scriptName):]; rest == "" || rest[0] == '/' {
			return rest, nil
		}
	}
	return p, nil
}

// StrippedPrefix is the path prefix that a rewrite such as Caddy's
// handle_path or `uri strip_prefix` removed: origEscaped is the original
// request's escaped path, cleaned as Caddy cleans it before stripping (dots
// resolved, slashes merged), curEscaped the current one. It returns the
// prefix still escaped (for a Location) and decoded (for SCRIPT_NAME), or
// empty strings when the current path is not a proper tail of the original.
func StrippedPrefix(origEscaped, curEscaped string) (escaped, decoded string) {
	if origEscaped == curEscaped || curEscaped == "" {
		return "", ""
	}
	var p string
	switch {
	case strings.HasSuffix(origEscaped, curEscaped) && strings.HasPrefix(curEscaped, "/"):
		p = origEscaped[:len(origEscaped)-len(curEscaped)]
	case curEscaped == "/":
		// The strip left nothing and Caddy anchored the path.
		p = strings.TrimSuffix(origEscaped, "/")
	default:
		return "", ""
	}
	p = resolveDots(strings.TrimRight(p, "/"))
	if !strings.HasPrefix(p, "/") || p == "/" {
		return "", ""
	}
	d := pystr.Unquote(p)
	if strings.IndexByte(d, 0) >= 0 {
		return "", ""
	}
	return p, d
}

// resolveDots resolves the dot segments of an escaped path prefix, "%2e"
// spellings included. Caddy cleans the escaped path before it strips (where
// "%2e%2e" is no dot segment) and the decoded rest only after, so a prefix
// taken as "original minus rest" can end in "x/%2e%2e": left in, any text a
// client puts before it would reach SCRIPT_NAME ("/app/<b>/../index.php").
func resolveDots(p string) string {
	if !strings.Contains(p, ".") && !strings.Contains(p, "%2") {
		return p
	}
	segs := strings.Split(p, "/")
	dots := false
	for i, seg := range segs {
		if d := strings.ReplaceAll(strings.ReplaceAll(seg, "%2e", "."), "%2E", "."); d == "." || d == ".." {
			segs[i], dots = d, true
		}
	}
	if !dots {
		return p
	}
	return path.Clean(strings.Join(segs, "/"))
}
