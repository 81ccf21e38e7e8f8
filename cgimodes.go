package pyhttp

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/pyhttp/caddy-pyhttp/internal/cgihost"
	"github.com/pyhttp/caddy-pyhttp/internal/pypath"
	"github.com/pyhttp/caddy-pyhttp/internal/pystr"
)

// The three ways pyhttp_cgi decides what runs:
//
//   - directory mode (the default, Python's): scripts live in cgi_dirs;
//   - program mode (`program`): every request runs one program, as Apache's
//     `ScriptAlias /git/ /usr/lib/git-core/git-http-backend/` does;
//   - extension mode (`script_ext`): files with these extensions anywhere
//     under the root are scripts, as Apache's `AddHandler cgi-script .cgi`
//     and lighttpd's `cgi.assign` make them.
type cgiMode int

const (
	modeDirectory cgiMode = iota
	modeProgram
	modeExtension
)

// modeMaxRequestBody is the default cap on a chunked request body in program
// and extension mode: large enough for an 80 MiB `git push` or a big upload,
// small enough that one request cannot fill a disk. Python's directory mode
// keeps 64 MiB.
const modeMaxRequestBody = 1 << 30

func (c *CGI) mode() cgiMode {
	switch {
	case len(c.Program) > 0:
		return modeProgram
	case len(c.ScriptExts) > 0:
		return modeExtension
	}
	return modeDirectory
}

// provisionModes checks the mode settings and fills in their defaults; it
// runs in Provision before the directory mode's defaults.
func (c *CGI) provisionModes() error {
	if c.ScriptName != "" && len(c.Program) == 0 {
		return errors.New("script_name requires program")
	}
	if len(c.Program) > 0 {
		if len(c.CGIDirs) > 0 {
			return errors.New("program and cgi_dirs cannot be combined: program runs one program for every request")
		}
		if len(c.ScriptExts) > 0 {
			return errors.New("program and script_ext cannot be combined: program runs one program for every request")
		}
		if c.Passthru {
			return errors.New("program and passthru cannot be combined: every request runs the program")
		}
		prog := c.Program[0]
		if !filepath.IsAbs(prog) {
			return fmt.Errorf("program %q: must be an absolute path", prog)
		}
		info, err := os.Stat(prog)
		if err != nil {
			return fmt.Errorf("program: %w", err)
		}
		if !info.Mode().IsRegular() || info.Mode().Perm()&0o111 == 0 {
			return fmt.Errorf("program %q is not an executable file", prog)
		}
		if c.ScriptName != "" {
			clean, err := pypath.CleanCGIDir(c.ScriptName)
			if err != nil || clean != c.ScriptName {
				return fmt.Errorf("script_name %q: must start with '/', have no empty, '.' or '..' segments and no trailing '/'", c.ScriptName)
			}
		}
	}
	if len(c.ScriptExts) > 0 {
		if len(c.CGIDirs) > 0 {
			return errors.New("script_ext and cgi_dirs cannot be combined: choose extension mode or Python's directory mode")
		}
		exts := make([]string, 0, len(c.ScriptExts))
		for _, e := range c.ScriptExts {
			clean, err := pypath.CleanScriptExt(e)
			if err != nil {
				return fmt.Errorf("script_ext: %w", err)
			}
			exts = append(exts, clean)
		}
		c.ScriptExts = exts
	}
	if c.mode() != modeDirectory && c.MaxRequestBody == 0 {
		c.MaxRequestBody = modeMaxRequestBody
	}
	return nil
}

// interpreterFor finds the interpreter of a script file: an exact match of
// its extension first (directory mode's rule), then, in extension mode, a
// case-insensitive one, as the extension itself matched.
func (c *CGI) interpreterFor(file string) []string {
	ext := filepath.Ext(file)
	if argv, ok := c.Interpreters[ext]; ok || c.mode() != modeExtension {
		return argv
	}
	for k, argv := range c.Interpreters {
		if strings.EqualFold(k, ext) {
			return argv
		}
	}
	return nil
}

// strippedPrefix is the path prefix that handle_path or `uri strip_prefix`
// removed from r, escaped (for a Location) and decoded (for SCRIPT_NAME).
// Caddy does not record it, so it is derived from the original request: its
// path cleaned as the rewrite cleaned it before stripping, minus the current
// path as its tail.
func strippedPrefix(r *http.Request) (escaped, decoded string) {
	orig, ok := r.Context().Value(caddyhttp.OriginalRequestCtxKey).(http.Request)
	if !ok || orig.URL == nil {
		return "", ""
	}
	origPath := caddyhttp.CleanPath(orig.URL.EscapedPath(), true)
	return pypath.StrippedPrefix(origPath, r.URL.EscapedPath())
}

// serveMode handles a request in program or extension mode. Neither mode
// turns a query without '=' into command-line arguments (Python's and
// Apache's ISINDEX rule; lighttpd never does): with php-cgi as the
// interpreter that is the CVE-2012-1823 class, where "?-s" became an option.
func (c *CGI) serveMode(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler, repl *caddy.Replacer, root string, redirects int) error {
	_, prefix := strippedPrefix(r)
	if c.mode() == modeProgram {
		name := c.ScriptName
		if name == "" {
			name = prefix
		}
		pathInfo, err := pypath.ProgramPathInfo(r.URL.Path, c.ScriptName, c.ScriptName != "" && prefix == "")
		if err != nil {
			return errBadPath(err)
		}
		script := pypath.Script{Name: name, File: c.Program[0], PathInfo: pathInfo}
		return c.runScript(w, r, next, repl, root, script, nil, c.Program[1:], redirects)
	}

	target := pypath.Target(r.URL)
	rawPath, _, _ := strings.Cut(target, "?")
	collapsed, err := pypath.CollapsePath(rawPath)
	if err != nil {
		return errBadPath(err)
	}
	s, found, forbidden := pypath.LocateExtScript(root, collapsed, c.ScriptExts)
	if forbidden {
		return pyError(http.StatusForbidden, "Script is not served as a file", fmt.Errorf("refused script look-alike %q", collapsed))
	}
	if !found && strings.HasSuffix(collapsed, "/") {
		s, found = c.indexScript(root, collapsed)
	}
	if found && hidden(root, s.File, c.static.hide) {
		// A hidden script is never run, and is as missing as a hidden
		// file is.
		return errFileNotFound(errors.New("script is hidden"))
	}
	if found {
		if c.interpreterFor(s.File) == nil {
			if info, err := os.Stat(s.File); err == nil && info.Mode().Perm()&0o111 == 0 {
				return pyError(http.StatusForbidden, fmt.Sprintf("CGI script is not executable (%s)", pystr.Repr(s.Name)), nil)
			}
		}
		script := pypath.Script{Name: prefix + s.Name, File: s.File, PathInfo: s.PathInfo}
		return c.runScript(w, r, next, repl, root, script, c.interpreterFor(s.File), nil, redirects)
	}
	if c.Passthru {
		// The next handler (file_server) would send what the path names:
		// not a script's file, reached by a symbolic link.
		if c.isScriptFile(underRoot(root, collapsed)) {
			return pyError(http.StatusForbidden, "Script is not served as a file", fmt.Errorf("refused script source %q", collapsed))
		}
		return next.ServeHTTP(w, r)
	}
	return c.serveStatic(w, r, root, target)
}

// underRoot is the file a collapsed path (from pypath.CollapsePath, so
// without "." or ".." segments) names under root.
func underRoot(root, collapsed string) string {
	name := root
	for seg := range strings.SplitSeq(collapsed, "/") {
		if seg != "" {
			name = filepath.Join(name, seg)
		}
	}
	return name
}

// indexScript runs a directory's index when the first index name that
// exists is a script (`index index.php index.html`).
func (c *CGI) indexScript(root, collapsed string) (pypath.ExtScript, bool) {
	base := underRoot(root, collapsed)
	if info, err := os.Stat(base); err != nil || !info.IsDir() {
		return pypath.ExtScript{}, false
	}
	names := c.IndexNames
	if len(names) == 0 {
		names = c.static.IndexNames
	}
	for _, index := range names {
		file := filepath.Join(base, index)
		info, err := os.Stat(file)
		if err != nil || !info.Mode().IsRegular() {
			continue
		}
		ext, exact := pypath.ScriptExt(index, c.ScriptExts)
		if ext == "" || !exact {
			return pypath.ExtScript{}, false
		}
		name := strings.TrimSuffix(collapsed, "/")
		name = "/" + strings.TrimLeft(name, "/")
		if name == "/" {
			name = ""
		}
		return pypath.ExtScript{Name: name + "/" + index, File: file, Ext: ext}, true
	}
	return pypath.ExtScript{}, false
}

// isScriptFile reports whether a file the static branch is about to send
// is a script by its own name or its real name (through symbolic links).
func (c *CGI) isScriptFile(name string) bool {
	info, err := os.Stat(name)
	if err != nil || info.IsDir() {
		// Nothing to disclose: a missing file gets the static branch's
		// 404, as a missing script gets Apache's.
		return false
	}
	if ext, _ := pypath.ScriptExt(name, c.ScriptExts); ext != "" {
		return true
	}
	if real, err := filepath.EvalSymlinks(name); err == nil {
		if ext, _ := pypath.ScriptExt(real, c.ScriptExts); ext != "" {
			return true
		}
	}
	return false
}

// runScript runs a located script and turns the outcome into a response.
func (c *CGI) runScript(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler, repl *caddy.Replacer, root string, script pypath.Script, interpreter, args []string, redirects int) error {
	env, err := c.buildEnv(r, repl, root, script)
	if errors.Is(err, cgihost.ErrHeaderCollision) {
		return pyError(http.StatusBadRequest, "Bad request headers", err)
	} else if err != nil {
		// A NUL byte from an env value after placeholder replacement:
		// the configuration's fault, not the client's.
		return errInternal(err)
	}
	workDir := filepath.Dir(script.File)
	if c.Dir != "" {
		workDir = repl.ReplaceAll(c.Dir, "")
	}
	var cred *syscall.Credential
	if c.mode() != modeProgram && (c.Strict || c.asOwner) {
		if cred, err = c.vetScript(root, script); err != nil {
			return err
		}
	}
	run := &cgihost.Script{
		Credential:  cred,
		Path:        script.File,
		Dir:         workDir,
		Args:        args,
		Interpreter: interpreter,
		Env:         env,
		NPH:         strings.HasPrefix(filepath.Base(script.File), "nph-"),
		// Every line about the script names its request; the request id
		// is the access log's, so the two join. WithLazy: the fields are
		// encoded only if a line is written, which most requests never do.
		Logger:         c.logger.WithLazy(requestFields(r, repl)...),
		LogCredentials: logCredentials(r),
	}
	repl.Set(placeholderScript, script.File)

	location, err := c.host.Serve(w, r, run)
	switch {
	case err == nil && location == "":
		return nil
	case err == nil:
		return c.redirect(w, r, next, location, redirects)
	case errors.Is(err, cgihost.ErrAborted):
		// The status line is gone; ending the stream normally would pass a
		// truncated body off as complete. Aborting resets the connection
		// (HTTP/1.1) or the stream (HTTP/2), as Caddy's abort does. A
		// client that left is no fault of the server's: debug only.
		level := zapcore.WarnLevel
		if r.Context().Err() != nil {
			level = zapcore.DebugLevel
		}
		if ce := run.Logger.Check(level, "cgi response aborted"); ce != nil {
			ce.Write(zap.String("script", script.File), zap.Error(err))
		}
		panic(http.ErrAbortHandler)
	case errors.Is(err, context.Canceled):
		// The client left before the script's headers; nobody reads the
		// answer. As reverse_proxy does, the access log gets 499 (client
		// closed request) and no error reaches the error routes or the
		// error log: the client's leaving is no failure of the server's.
		if ce := run.Logger.Check(zapcore.DebugLevel, "client left before the cgi header"); ce != nil {
			ce.Write(zap.String("script", script.File), zap.Error(err))
		}
		w.WriteHeader(499)
		return nil
	default:
		// cgihost has logged the failure with the script's details; the
		// client gets Python's phrase for the status.
		if he, ok := errors.AsType[*cgihost.Error](err); ok {
			return errStatus(he.Status, err)
		}
		return errStatus(http.StatusBadGateway, err)
	}
}

// parseModeOption parses the mode subdirectives of pyhttp_cgi (program,
// script_name, script_ext, all_methods); ok is false for any other.
func parseModeOption(d *caddyfile.Dispenser, c *CGI) (ok bool, err error) {
	switch d.Val() {
	case "program":
		if c.Program != nil {
			return true, d.Err("program already specified")
		}
		c.Program = d.RemainingArgs()
		if len(c.Program) == 0 {
			return true, d.ArgErr()
		}
		if !filepath.IsAbs(c.Program[0]) {
			return true, d.Errf("program must be an absolute path: %s", c.Program[0])
		}
	case "script_name":
		if err := parseOneArg(d, &c.ScriptName); err != nil {
			return true, err
		}
		if clean, err := pypath.CleanCGIDir(c.ScriptName); err != nil || clean != c.ScriptName {
			return true, d.Errf("script_name must start with '/', have no empty, '.' or '..' segments and no trailing '/': %s", c.ScriptName)
		}
	case "script_ext":
		exts := d.RemainingArgs()
		if len(exts) == 0 {
			return true, d.ArgErr()
		}
		for _, e := range exts {
			if _, err := pypath.CleanScriptExt(e); err != nil {
				return true, d.Errf("script_ext: %v", err)
			}
		}
		c.ScriptExts = append(c.ScriptExts, exts...)
	case "all_methods":
		if c.AllMethods {
			return true, d.Err("all_methods already specified")
		}
		return true, parseFlag(d, &c.AllMethods)
	default:
		return false, nil
	}
	return true, nil
}
