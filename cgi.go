package pyhttp

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"go.uber.org/zap"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/pyhttp/caddy-pyhttp/internal/cgihost"
	"github.com/pyhttp/caddy-pyhttp/internal/pypath"
	"github.com/pyhttp/caddy-pyhttp/internal/pystr"
)

func init() {
	caddy.RegisterModule(CGI{})
}

// CGI is Python's CGIHTTPRequestHandler (`python -m http.server --cgi`) as a
// Caddy handler, with RFC 3875 done right and production process control.
//
// Which requests are CGI follows Python: the path is percent-decoded and its
// `.`, `..` and empty segments collapsed first (so `/%63gi-bin/x` and
// `/files/../cgi-bin/x` run the script and never show its source); a path
// whose leading segments are one of the CGI directories (default `/cgi-bin`
// and `/htbin`) names a script, found by walking real subdirectories, and
// the rest is PATH_INFO. A missing script is 404 `No such CGI script
// ('/cgi-bin/x')`, a directory 403 `CGI script is not a plain file (…)`, a
// file without a run bit 403 `CGI script is not executable (…)`. Nothing
// under a CGI directory is ever served as a file. Other paths are served
// exactly as pyhttp_simple serves them (GET and HEAD; POST is 501 `Can only
// POST to CGI scripts`), or handed to the next handler with `passthru`.
//
// That is the default, directory mode. Program mode (Program) runs one
// program for every request, and extension mode (ScriptExts) runs files by
// extension anywhere under the root, as Apache's ScriptAlias and AddHandler
// do; see cgimodes.go. In every mode SCRIPT_NAME and the trailing-slash
// redirect keep a prefix that handle_path stripped.
//
// Deliberate differences from Python, each a fix:
//
//   - The script's `Status:` is honoured, `Location:` redirects (a local
//     `Location: /path` is served as a new GET through the site's routes,
//     so authentication and denies before this handler apply to it), and a script that
//     fails before a complete header block is a 502 with a log line instead
//     of a hanging 200.
//   - HEAD runs the script but sends no body.
//   - The environment is RFC 3875's, built from the request (every header as
//     HTTP_*, REQUEST_URI, SCRIPT_FILENAME, DOCUMENT_ROOT, HTTPS, REMOTE_PORT;
//     SERVER_NAME from Host, SERVER_PROTOCOL the request's), not a copy of
//     the server's environment: only PATH and `pass_env` names are inherited.
//     `Proxy` never becomes HTTP_PROXY, and Authorization is withheld unless
//     `pass_auth` is set. REMOTE_USER and AUTH_TYPE come only from Caddy's
//     authentication (e.g. basic_auth), never from an unverified header.
//   - PATH_INFO is decoded once (Python decodes it twice), and
//     PATH_TRANSLATED is only set with PATH_INFO.
//   - The working directory is the script's directory (RFC 3875 section
//     7.2) unless `dir` says otherwise; Python uses its own.
//   - As root, scripts run as `nobody` with nobody's group too (Python only
//     changes the uid); `user` picks another account, `user_pool` a uid of
//     its own for each script.
//   - stdin carries exactly CONTENT_LENGTH bytes and then EOF; a chunked
//     body is spooled (memory, then a temp file) up to `max_request_body`,
//     within a process-wide `spool_budget`, after a `max_procs` slot is
//     taken.
//   - Scripts run in their own process group, with an optional `timeout`,
//     a `max_procs` cap and clean termination of the whole group when the
//     client goes away, the timeout passes or the config is unloaded.
//
// Published placeholders, set before ServeHTTP returns so that access
// logs (`log_append`) and handle_errors see them: `{http.pyhttp.cgi.script}`
// (the script file), `{http.pyhttp.cgi.pid}`, `{http.pyhttp.cgi.exit_code}`
// and `{http.pyhttp.cgi.duration_ms}` (empty while a detached script still
// runs). Read: `{http.auth.user.id}` (REMOTE_USER) and `{http.vars.root}`
// (the default root), and the request's server's log_credentials.
//
// Metrics: caddy_pyhttp_cgi_* in Caddy's registry (see metrics.go and the
// README); every log line about a script carries the request's method,
// URI, client IP and request id.
type CGI struct {
	// The site root: scripts live in the CGI directories under it, and other
	// paths are served from it as pyhttp_simple would. Default is
	// `{http.vars.root}` if set, or the current working directory otherwise.
	// Placeholders are accepted.
	Root string `json:"root,omitempty"`

	// URL paths of the CGI directories: each must start with `/` and is
	// matched against the leading segments of the collapsed request path
	// (nested paths such as `/app/cgi-bin` are allowed). Default:
	// `["/cgi-bin", "/htbin"]`, Python's cgi_directories.
	CGIDirs []string `json:"cgi_dirs,omitempty"`

	// Hand requests that are not for a CGI directory to the next handler
	// instead of serving them as static files.
	Passthru bool `json:"passthru,omitempty"`

	// Programs that run scripts by extension, for scripts without a run
	// bit or shebang line: the key is the extension with its dot (`.py`),
	// the value the program and its arguments; the script path and the
	// ISINDEX arguments are appended.
	Interpreters map[string][]string `json:"interpreters,omitempty"`

	// Extra environment variables for every script. They are applied last
	// and so override the CGI variables. Values accept placeholders.
	Env map[string]string `json:"env,omitempty"`

	// Names of variables copied from Caddy's own environment. PATH is always
	// copied (or set to `/usr/local/bin:/usr/bin:/bin`); nothing else is.
	PassEnv []string `json:"pass_env,omitempty"`

	// Export the Authorization header as HTTP_AUTHORIZATION, as Apache's
	// CGIPassAuth does. Off by default, so credentials checked by Caddy are
	// not handed to every script.
	PassAuth bool `json:"pass_auth,omitempty"`

	// Working directory of the scripts. Default: the script's own directory.
	// Placeholders are accepted.
	Dir string `json:"dir,omitempty"`

	// Account to run scripts as, by name or numeric uid. Default: `nobody`
	// when Caddy runs as root (as Python does), else Caddy's own account.
	// Setting it while not running as root is an error unless it is Caddy's
	// own account. `owner` runs each script as its file's owner, with the
	// owner's primary group, and never as root (a root-owned script is
	// refused with 403); it requires Caddy as root, takes no Group and
	// cannot be combined with Program. Security: a shared account lets
	// scripts read each other's environment (other requests' cookies).
	User string `json:"user,omitempty"`

	// Group to run scripts as, by name or numeric gid. Default: the primary
	// group of User.
	Group string `json:"group,omitempty"`

	// Refuse to run, with 403 and a log line saying why, scripts that are
	// symbolic links, setuid or setgid, writable by group or others, or not
	// owned by the account they run as, and scripts below a directory
	// writable by group or others up to the root, as Apache's suexec does.
	// The files are checked as opened (fstat), not by a stat of their
	// name. Program mode's program is the operator's and is not checked.
	// Default: off.
	Strict bool `json:"strict,omitempty"`

	// Run each script as a uid of its own, with the gid of the same
	// number, from this range of uids that no account uses (`61000-61999`),
	// as systemd's DynamicUser does: no script can then read another
	// request's /proc/<pid>/environ (its HTTP_COOKIE, HTTP_AUTHORIZATION),
	// signal or trace it. A uid is reused only once no process runs under
	// it. Requires Caddy as root; cannot be combined with User. max_procs
	// defaults to the size of the range and may not exceed it. Default:
	// unset, every script runs as User (a warning at load says so).
	UserPool string `json:"user_pool,omitempty"`

	// Maximum total run time of a script; the whole process group is then
	// terminated, and a script that has not sent its headers yet is answered
	// with 504. Default: 0, no limit.
	Timeout caddy.Duration `json:"timeout,omitempty"`

	// Time between SIGTERM and SIGKILL when a script is terminated.
	// Default: `5s`.
	KillGrace caddy.Duration `json:"kill_grace,omitempty"`

	// Maximum number of scripts this handler runs at once. Default: 0, no
	// limit.
	MaxProcs int `json:"max_procs,omitempty"`

	// How long a request waits for a free slot when max_procs scripts are
	// running before it is answered 503 with Retry-After. Default: `30s`.
	QueueTimeout caddy.Duration `json:"queue_timeout,omitempty"`

	// Largest request body without Content-Length (chunked) that is spooled
	// to give the script a CONTENT_LENGTH; larger bodies get 413. Default:
	// 64 MiB in directory mode, 1 GiB in program and extension mode (an
	// 80 MiB chunked `git push` must pass there). Bodies with
	// Content-Length are streamed and not limited here (use Caddy's
	// `request_body` for that).
	MaxRequestBody int64 `json:"max_request_body,omitempty"`

	// Per-script resource limits (cpu seconds, memory, processes, files,
	// file_size), applied before the script's first instruction; see
	// SECURITY.md, "Resource limits". Default: none. Linux only.
	Limits *ScriptLimits `json:"limits,omitempty"`
	// Most bytes of chunked request bodies spooled at once (memory and
	// temporary files together) by all pyhttp_cgi handlers of the process:
	// the budget is one, shared by every handler and every HTTP/1.1
	// connection or HTTP/2 stream. A body that does not fit in what is
	// left gets 503 with Retry-After and a log line; one larger than the
	// whole budget gets 413. Requests waiting for a max_procs slot spool
	// nothing. A handler that sets it sets it for the whole process, and
	// the value loaded last stays until another one is loaded. Default:
	// 1 GiB.
	SpoolBudget int64 `json:"spool_budget,omitempty"`

	// Program mode: the program (an absolute path) and its arguments.
	// Every request this handler gets runs it, with PATH_INFO the decoded
	// request path (minus ScriptName when nothing stripped a prefix), as
	// Apache's `ScriptAlias /git/ /usr/lib/git-core/git-http-backend/`.
	// Cannot be combined with CGIDirs, ScriptExts or Passthru.
	Program []string `json:"program,omitempty"`

	// SCRIPT_NAME in program mode, a path starting with `/`. Default: the
	// prefix that handle_path or `uri strip_prefix` removed (empty when
	// none). When set and nothing was stripped, a request path starting
	// with it loses it in PATH_INFO (`pyhttp_cgi /cgit*` with
	// `script_name /cgit`).
	ScriptName string `json:"script_name,omitempty"`

	// Extension mode: files with these extensions (with the dot, matched
	// case-insensitively) anywhere under the root are scripts, run
	// directly or through Interpreters; the rest of the path after the
	// script's segment is PATH_INFO (Apache's AcceptPathInfo). An index
	// name with one of them runs for its directory. A file with a script
	// extension is never served as a file: it runs, or the answer is 403
	// or 404. Cannot be combined with CGIDirs.
	ScriptExts []string `json:"script_exts,omitempty"`

	// Let every method reach scripts in directory mode, not only GET,
	// HEAD and POST (Python's rule). Program and extension mode always
	// pass every method.
	AllMethods bool `json:"all_methods,omitempty"`

	// Index file names for static directories, as pyhttp_simple's.
	IndexNames []string `json:"index_names,omitempty"`

	// Content-Type overrides for static files, as pyhttp_simple's.
	MIMETypes map[string]string `json:"mime_types,omitempty"`

	// Files to hide from static serving and listings, as pyhttp_simple's;
	// a hidden script is never run either (404).
	Hide []string `json:"hide,omitempty"`

	// The file system static files are served from, as pyhttp_simple's
	// `fs` (default `{http.vars.fs}`, the local disk when unset). CGI
	// scripts always run from the local disk, under Root.
	FileSystem string `json:"fs,omitempty"`

	// The Python release whose listing and path rules the static files
	// follow, as pyhttp_simple's (`3.11`, `3.12`, `3.13` or `3.14`). CGI
	// script selection and variables are the same in all four.
	PythonVersion string `json:"python_version,omitempty"`

	logger   *zap.Logger
	asOwner  bool  // User is "owner"
	adminErr error // checkAdmin's verdict, reported by Validate
	static   *Simple
	host     *cgihost.Host
	metrics  *cgiMetrics
	grace    time.Duration // the http app's grace_period; 0 = eternal
}

// CaddyModule returns the Caddy module information.
func (CGI) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.pyhttp_cgi",
		New: func() caddy.Module { return new(CGI) },
	}
}

// Provision sets up the handler and checks what the Caddyfile parser
// leaves to it: the meaning of every value. Defaults are applied where the
// value is used: the root and the static settings by Simple.Provision, the
// process limits by cgihost.Host.
func (c *CGI) Provision(ctx caddy.Context) error {
	c.logger = withWrittenLevels(ctx.Logger())
	if err := c.provisionModes(); err != nil {
		return err
	}
	if len(c.CGIDirs) == 0 && c.mode() == modeDirectory {
		c.CGIDirs = defaultCGIDirs
	}
	dirs := make([]string, 0, len(c.CGIDirs))
	for _, d := range c.CGIDirs {
		clean, err := pypath.CleanCGIDir(d)
		if err != nil {
			return fmt.Errorf("cgi_dirs: %w", err)
		}
		dirs = append(dirs, clean)
	}
	c.CGIDirs = dirs
	for ext, argv := range c.Interpreters {
		if !strings.HasPrefix(ext, ".") || strings.ContainsRune(ext, '/') {
			return fmt.Errorf("interpreter extension %q must start with a dot", ext)
		}
		if len(argv) == 0 || argv[0] == "" {
			return fmt.Errorf("interpreter for %s: no program given", ext)
		}
	}
	if c.Dir != "" && !strings.Contains(c.Dir, "{") {
		// A literal working directory that does not exist would make
		// every script fail to start with a misleading "no such file".
		if info, err := os.Stat(c.Dir); err != nil || !info.IsDir() {
			return fmt.Errorf("dir %q is not a directory", c.Dir)
		}
	}
	var cred *syscall.Credential
	if c.User == userOwner {
		switch {
		case os.Geteuid() != 0:
			return errors.New("user owner requires running Caddy as root")
		case c.Group != "":
			return errors.New("user owner takes no group: each script runs with its owner's")
		case c.mode() == modeProgram:
			return errors.New("user owner cannot be combined with program")
		}
		c.asOwner = true
	} else {
		var err error
		if cred, err = credential(c.User, c.Group); err != nil {
			return err
		}
	}
	// Reported by Validate, after every error in the handler's own
	// values, which are the likelier mistake.
	c.adminErr = c.checkAdmin(ctx, cred)
	hostCred := cred
	if c.asOwner {
		// Every script gets its owner's credential from vetScript; the
		// host's is only a fail-safe, never Caddy's root.
		var err error
		if hostCred, err = credential("nobody", ""); err != nil {
			return fmt.Errorf("user owner: %w", err)
		}
	}
	var pool *cgihost.UIDPool
	if c.UserPool != "" {
		var err error
		if pool, err = c.uidPool(); err != nil {
			return err
		}
	} else if cred != nil {
		c.warnSharedUID(int(cred.Uid))
	} else {
		c.warnSharedUID(os.Geteuid())
	}
	if c.SpoolBudget > 0 {
		cgihost.DefaultSpoolBudget.SetLimit(c.SpoolBudget)
	}

	c.static = &Simple{Root: c.Root, FileSystem: c.FileSystem, IndexNames: c.IndexNames, MIMETypes: c.MIMETypes, Hide: c.Hide, PythonVersion: c.PythonVersion, guard: c.guardStatic}
	if err := c.static.Provision(ctx); err != nil {
		return err
	}

	metrics, err := acquireMetrics(ctx)
	if err != nil {
		return fmt.Errorf("registering metrics: %w", err)
	}
	c.metrics = metrics

	if app, err := ctx.AppIfConfigured("http"); err == nil {
		if httpApp, ok := app.(*caddyhttp.App); ok {
			c.grace = time.Duration(httpApp.GracePeriod)
		}
	}
	c.host = &cgihost.Host{
		Logger:         c.logger,
		Timeout:        time.Duration(c.Timeout),
		KillGrace:      time.Duration(c.KillGrace),
		MaxProcs:       c.MaxProcs,
		QueueTimeout:   time.Duration(c.QueueTimeout),
		MaxRequestBody: c.MaxRequestBody,
		Limits:         c.Limits.host(),
		Credential:     hostCred,
		UIDPool:        pool,
		Observer:       cgiObserver{m: metrics},
	}
	liveHosts.Store(c.host, struct{}{})
	return nil
}

// checkAdmin refuses to run scripts as another account while Caddy's
// admin API is on TCP (any local account, the scripts' included, could
// reconfigure Caddy through it and so become Caddy's account, root), and
// warns when the scripts share Caddy's account, for they can then reach
// the admin API whatever it listens on.
func (c *CGI) checkAdmin(ctx caddy.Context, cred *syscall.Credential) error {
	admin := adminOf(ctx)
	if admin.unix() {
		return nil
	}
	if c.asOwner {
		return errAdminReachable(admin, "their owners (user owner)")
	}
	if cred != nil && int(cred.Uid) != os.Geteuid() {
		return errAdminReachable(admin, fmt.Sprintf("uid %d", cred.Uid))
	}
	c.logger.Warn("scripts run as Caddy's own account and the admin endpoint listens on TCP: any script can reconfigure Caddy; use `admin unix//run/caddy-admin.sock` or `admin off`",
		zap.String("admin", admin.listen), zap.Int("uid", os.Geteuid()))
	return nil
}

// Validate rejects settings that cannot work.
func (c *CGI) Validate() error {
	switch {
	case c.Timeout < 0:
		return errors.New("timeout must not be negative")
	case c.KillGrace < 0:
		return errors.New("kill_grace must not be negative")
	case c.QueueTimeout < 0:
		return errors.New("queue_timeout must not be negative")
	case c.MaxProcs < 0:
		return errors.New("max_procs must not be negative")
	case c.MaxRequestBody < 0:
		return errors.New("max_request_body must not be negative")
	case c.SpoolBudget < 0:
		return errors.New("spool_budget must not be negative")
	}
	if err := c.Limits.validate(); err != nil {
		return err
	}
	for _, name := range c.PassEnv {
		if name == "" || strings.ContainsAny(name, "=\x00") {
			return fmt.Errorf("pass_env: bad variable name %q", name)
		}
	}
	for name := range c.Env {
		if name == "" || strings.ContainsAny(name, "=\x00") {
			return fmt.Errorf("env: bad variable name %q", name)
		}
	}
	return c.adminErr
}

// Cleanup stops the scripts of an unloaded config. When Caddy exits it has
// already waited for the servers' grace period, so what still runs is
// stopped now. On a config reload Caddy cleans up at once while the old
// servers' requests go on, so running scripts (and scripts that already
// answered but work on) get the rest of the grace period before their
// process groups are stopped; with an eternal grace period they are waited
// for.
func (c *CGI) Cleanup() error {
	if c.metrics != nil {
		c.metrics.release()
		c.metrics = nil
	}
	if c.host == nil {
		return nil
	}
	host := c.host
	if caddy.Exiting() {
		defer liveHosts.Delete(host)
		return host.Close()
	}
	go func() {
		defer liveHosts.Delete(host)
		host.Drain(c.grace)
	}()
	return nil
}

// liveHosts holds the CGI hosts not yet closed, for closeAllHosts.
var liveHosts sync.Map // *cgihost.Host -> struct{}

// closeAllHosts stops every script still running, of this config or an
// unloaded one still draining. pyhttp-server calls it before it exits:
// scripts run in process groups of their own, so unlike Python's children
// they would not get the terminal's Ctrl-C.
func closeAllHosts() {
	liveHosts.Range(func(h, _ any) bool {
		_ = h.(*cgihost.Host).Close()
		liveHosts.Delete(h)
		return true
	})
}

// ServeHTTP implements caddyhttp.MiddlewareHandler.
func (c *CGI) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	// A local redirect re-enters through the server with its count in
	// the context (see redirect).
	redirects, _ := r.Context().Value(localRedirectsKey).(int)
	err := c.serve(w, r, next, redirects)
	if err != nil {
		logCause(c.logger, r, err)
	}
	return err
}

// serve handles one request; redirects counts the local redirects
// (RFC 3875 section 6.2.2) followed so far.
func (c *CGI) serve(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler, redirects int) error {
	repl := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer)
	root, err := resolveRoot(repl, c.static.Root)
	if err != nil {
		return errInternal(err)
	}
	if c.mode() != modeDirectory {
		return c.serveMode(w, r, next, repl, root, redirects)
	}
	_, prefix := strippedPrefix(r)
	target := pypath.Target(r.URL)
	rawPath, _, _ := strings.Cut(target, "?")

	// is_cgi: decode and collapse first, so that no spelling of a script's
	// URL can reach the static branch and disclose its source.
	collapsed, err := pypath.CollapsePath(rawPath)
	if err != nil {
		return errBadPath(err)
	}
	dir, rest, ok := pypath.MatchCGIDir(collapsed, c.CGIDirs)
	if !ok {
		if c.Passthru {
			return next.ServeHTTP(w, r)
		}
		return c.serveStatic(w, r, root, target)
	}

	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodPost:
	default:
		if !c.AllMethods {
			return errUnsupportedMethod(r.Method)
		}
	}

	script := pypath.LocateScript(root, dir, rest)
	if hidden(root, script.File, c.static.hide) {
		// hide reaches into the CGI directories too: a hidden script
		// (`/cgi-bin/.git/hooks/post-update` under `hide .git`) is never
		// run, and is as missing as a hidden file is.
		return pyError(http.StatusNotFound, fmt.Sprintf("No such CGI script (%s)", pystr.Repr(script.Name)), errors.New("script is hidden"))
	}
	info, err := os.Stat(script.File)
	if err != nil {
		return pyError(http.StatusNotFound, fmt.Sprintf("No such CGI script (%s)", pystr.Repr(script.Name)), err)
	}
	if !info.Mode().IsRegular() {
		return pyError(http.StatusForbidden, fmt.Sprintf("CGI script is not a plain file (%s)", pystr.Repr(script.Name)), nil)
	}
	interpreter := c.interpreterFor(script.File)
	if interpreter == nil && info.Mode().Perm()&0o111 == 0 {
		return pyError(http.StatusForbidden, fmt.Sprintf("CGI script is not executable (%s)", pystr.Repr(script.Name)), nil)
	}

	script.Name = prefix + script.Name
	return c.runScript(w, r, next, repl, root, script, interpreter, cgihost.Argv(r.URL.RawQuery), redirects)
}

// redirect serves a script's local redirect (RFC 3875 section 6.2.2) as a
// new GET, keeping the client's headers but not the body.
//
// The new request goes through the server's whole handler chain, as a
// request from the client for that path would: every matcher, basic_auth,
// `respond` deny and rewrite before this handler runs again for it, and the
// access log records it. Serving it inside this handler instead would let
// a script that prints `Location: $QUERY_STRING` read any path behind an
// earlier route's authentication (issue 7 finding 3). The count of
// redirects travels in the request context, so the bound holds across
// the re-entry. Outside a Caddy server (unit tests against plain
// net/http) the redirect is served by this handler.
func (c *CGI) redirect(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler, location string, redirects int) error {
	if redirects >= maxLocalRedirects {
		c.logger.Error("cgi local redirect loop", zap.String("location", location), zap.Int("redirects", redirects))
		return pyError(http.StatusInternalServerError, "Too many local redirects",
			fmt.Errorf("local redirect loop ending at %q", location))
	}
	u, err := url.ParseRequestURI(location)
	if err != nil {
		return pyError(http.StatusBadGateway, "Bad local redirect", err)
	}
	ctx := context.WithValue(r.Context(), localRedirectsKey, redirects+1)
	r2 := r.Clone(ctx)
	if r.Method != http.MethodHead {
		// RFC 3875 section 6.2.2: the redirected request is a GET; a HEAD
		// stays a HEAD, so no body is produced for nothing.
		r2.Method = http.MethodGet
	}
	r2.URL = u
	r2.RequestURI = location
	r2.Body = http.NoBody
	r2.ContentLength = 0
	r2.TransferEncoding = nil
	r2.Header.Del("Content-Length")
	r2.Header.Del("Content-Type")
	if srv, ok := r.Context().Value(caddyhttp.ServerCtxKey).(*caddyhttp.Server); ok && srv != nil {
		// The server answers the new request, errors included (through
		// its handle_errors routes), so nothing is left to return.
		srv.ServeHTTP(w, r2)
		return nil
	}
	return c.serve(w, r2, next, redirects+1)
}

// localRedirectsKey is the request context key under which redirect keeps
// the number of local redirects followed so far.
const localRedirectsKey caddy.CtxKey = "pyhttp_cgi_local_redirects"

// serveStatic is the static branch for a path that names no script:
// do_GET and do_HEAD, Python's 501 "Can only POST to CGI scripts" for a
// POST, and its 501 for any other method.
func (c *CGI) serveStatic(w http.ResponseWriter, r *http.Request, root, target string) error {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
	case http.MethodPost:
		return pyError(http.StatusNotImplemented, "Can only POST to CGI scripts", nil)
	default:
		return errUnsupportedMethod(r.Method)
	}
	return c.static.serve(w, r, root, target)
}

// guardStatic is the static branch's guard: no file or listing inside a
// CGI directory (directory mode), no file with a script extension
// (extension mode), and no other name (hard link) for a script in a CGI
// directory, by whatever name it was reached, is sent. It vets the file
// already opened (issue 7 finding 7: a name checked and then opened let a
// symbolic link swapped in between serve a script's source).
func (c *CGI) guardStatic(root, name string, f *os.File, info os.FileInfo) error {
	if f == nil {
		// A virtual file system (root ""): nothing in it links into the
		// disk's CGI directories, and no name reaches one, as the request
		// path was matched against them before the static branch; only a
		// file with a script extension is refused, by its name.
		if c.mode() == modeExtension && info != nil && !info.IsDir() && c.isScriptFile(name) {
			return pyError(http.StatusForbidden, "Script is not served as a file", fmt.Errorf("refused script source %q", name))
		}
		return nil
	}
	real, ok := fdPath(f)
	if !ok {
		// No /proc: resolve the name and insist it still names the
		// opened file, so that what is checked is what is sent.
		var err error
		real, err = filepath.EvalSymlinks(name)
		if fi, serr := os.Stat(real); err != nil || serr != nil || !os.SameFile(fi, info) {
			return pyError(http.StatusForbidden, "CGI directory is not served as files", fmt.Errorf("%q changed while being opened", name))
		}
	}
	switch c.mode() {
	case modeDirectory:
		if c.inCGIDir(root, real) {
			return pyError(http.StatusForbidden, "CGI directory is not served as files", fmt.Errorf("refused %q in a cgi directory", real))
		}
		if info.Mode().IsRegular() && linkCount(info) > 1 && c.isCGIScript(root, info) {
			return pyError(http.StatusForbidden, "CGI directory is not served as files", fmt.Errorf("refused %q, a hard link to a cgi script", name))
		}
	case modeExtension:
		if !info.IsDir() && (c.isScriptFile(name) || c.isScriptFile(real)) {
			return pyError(http.StatusForbidden, "Script is not served as a file", fmt.Errorf("refused script source %q", name))
		}
	}
	return nil
}

// inCGIDir reports whether real, a path without symbolic links, is or lies
// inside one of the CGI directories under root, by identity (device and
// inode, os.SameFile) along its ancestors, so that another spelling on a
// case-insensitive file system, or a root reached through a link, is
// caught too.
func (c *CGI) inCGIDir(root, real string) bool {
	dirs := c.cgiDirInfos(root)
	if len(dirs) == 0 {
		return false
	}
	for p := real; ; p = filepath.Dir(p) {
		if fi, err := os.Stat(p); err == nil {
			for _, d := range dirs {
				if os.SameFile(fi, d) {
					return true
				}
			}
		}
		if filepath.Dir(p) == p {
			return false
		}
	}
}

// cgiDirInfos stats the CGI directories under root.
func (c *CGI) cgiDirInfos(root string) []os.FileInfo {
	var dirs []os.FileInfo
	for _, d := range c.CGIDirs {
		if fi, err := os.Stat(filepath.Join(root, filepath.FromSlash(d))); err == nil && fi.IsDir() {
			dirs = append(dirs, fi)
		}
	}
	return dirs
}

// isCGIScript reports whether info (a file with more than one name) is a
// file inside one of the CGI directories under root: a hard link to a
// script is the script, and never sent as source. The CGI directories are
// walked for it; only files with several links pay that cost.
func (c *CGI) isCGIScript(root string, info os.FileInfo) bool {
	found := false
	for _, d := range c.CGIDirs {
		_ = filepath.WalkDir(filepath.Join(root, filepath.FromSlash(d)), func(_ string, e fs.DirEntry, err error) error {
			if err != nil || found {
				return filepath.SkipDir
			}
			if e.Type().IsRegular() {
				if fi, err := e.Info(); err == nil && os.SameFile(fi, info) {
					found = true
					return filepath.SkipAll
				}
			}
			return nil
		})
		if found {
			return true
		}
	}
	return false
}

// buildEnv assembles the script's environment.
func (c *CGI) buildEnv(r *http.Request, repl *caddy.Replacer, root string, script pypath.Script) ([]string, error) {
	cfg := &cgihost.EnvConfig{
		ServerSoftware: serverSoftware(),
		DocumentRoot:   root,
		ScriptName:     script.Name,
		ScriptFilename: script.File,
		PathInfo:       script.PathInfo,
		PassAuth:       c.PassAuth,
		PassEnv:        c.PassEnv,
	}
	if c.mode() == modeDirectory {
		// Python's empty defaults; program and extension mode follow
		// Apache, which leaves a variable without a value unset.
		cfg.Defaults = pythonEnvDefaults
	}
	// REQUEST_URI is what the client asked for, before rewrites.
	if orig, ok := r.Context().Value(caddyhttp.OriginalRequestCtxKey).(http.Request); ok {
		cfg.RequestURI = orig.RequestURI
	}
	// Caddy's client IP honours trusted_proxies.
	if ip, ok := caddyhttp.GetVar(r.Context(), caddyhttp.ClientIPVarKey).(string); ok && ip != "" {
		_, port, err := net.SplitHostPort(r.RemoteAddr)
		if err != nil {
			port = "0"
		}
		cfg.RemoteAddr = net.JoinHostPort(ip, port)
	}
	// REMOTE_USER only from an authentication Caddy performed. AUTH_TYPE
	// is the scheme of the Authorization header that authentication read
	// (RFC 3875 section 4.1.1: basic_auth gives "Basic"); an authentication
	// that used no such header (forward_auth on a cookie, a client
	// certificate) has no scheme to report, and AUTH_TYPE is left unset,
	// as Caddy's fastcgi leaves it empty, rather than claiming "Basic".
	if userID := repl.ReplaceAll("{http.auth.user.id}", ""); userID != "" {
		cfg.RemoteUser = userID
		if scheme, _, ok := strings.Cut(r.Header.Get("Authorization"), " "); ok && scheme != "" {
			cfg.AuthType = scheme
		}
	}
	if len(c.Env) > 0 {
		names := make([]string, 0, len(c.Env))
		for name := range c.Env {
			names = append(names, name)
		}
		slices.Sort(names)
		for _, name := range names {
			cfg.Env = append(cfg.Env, name+"="+repl.ReplaceAll(c.Env[name], ""))
		}
	}
	return cgihost.BuildEnv(r, cfg)
}

// serverSoftware is SERVER_SOFTWARE, computed once: caddy.Version parses
// the build info on every call, which cost 8% of a hello-world request.
var serverSoftware = sync.OnceValue(func() string {
	v, _ := caddy.Version()
	return "Caddy/" + strings.TrimPrefix(v, "v") + " pyhttp"
})

// pythonEnvDefaults are the variables CGIHTTPRequestHandler.run_cgi sets
// on every request, empty when the request has no value for them; legacy
// scripts read them as os.environ['PATH_INFO'] and would fail on a missing
// key. (Python's CONTENT_TYPE default of text/plain is left out: RFC 3875
// section 4.1.3 says a body without a type has none.)
var pythonEnvDefaults = []string{
	"PATH_INFO=", "REMOTE_HOST=", "CONTENT_LENGTH=",
	"HTTP_ACCEPT=", "HTTP_USER_AGENT=", "HTTP_COOKIE=", "HTTP_REFERER=",
}

// defaultCGIDirs is Python's CGIHTTPRequestHandler.cgi_directories.
var defaultCGIDirs = []string{"/cgi-bin", "/htbin"}

// userOwner is the User value that runs each script as its file's owner.
const userOwner = "owner"

// maxLocalRedirects caps local redirects so that a script redirecting to
// itself cannot loop.
const maxLocalRedirects = 5

// Interface guards
var (
	_ caddy.Provisioner           = (*CGI)(nil)
	_ caddy.Validator             = (*CGI)(nil)
	_ caddy.CleanerUpper          = (*CGI)(nil)
	_ caddyhttp.MiddlewareHandler = (*CGI)(nil)
)
