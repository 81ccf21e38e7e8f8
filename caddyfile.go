package pyhttp

import (
	"math"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/dustin/go-humanize"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

func init() {
	httpcaddyfile.RegisterHandlerDirective("pyhttp_cgi", parseCGI)
	httpcaddyfile.RegisterHandlerDirective("pyhttp_simple", parseSimple)
	httpcaddyfile.RegisterHandlerDirective("pyhttp_error_page", parseErrorPage)

	// RegisterDirectiveOrder inserts at the index of file_server, so the
	// directive registered later ends up nearer to it: cgi, then simple,
	// then file_server. pyhttp_cgi must run first because it claims the
	// CGI directories that pyhttp_simple would otherwise serve as files.
	httpcaddyfile.RegisterDirectiveOrder("pyhttp_cgi", httpcaddyfile.Before, "file_server")
	httpcaddyfile.RegisterDirectiveOrder("pyhttp_simple", httpcaddyfile.Before, "file_server")
	// The error page answers whatever reaches it, so it goes after every
	// other responder.
	httpcaddyfile.RegisterDirectiveOrder("pyhttp_error_page", httpcaddyfile.After, "file_server")
}

// parseSimple parses the pyhttp_simple directive.
// See UnmarshalCaddyfile for the syntax.
func parseSimple(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	s := new(Simple)
	return parseHidingCaddyfiles(h, s, &s.Hide)
}

// parseHidingCaddyfiles fills m from the directive's tokens and adds the
// Caddyfiles to its hide list, for the handlers that serve files.
func parseHidingCaddyfiles(h httpcaddyfile.Helper, m interface {
	caddyhttp.MiddlewareHandler
	caddyfile.Unmarshaler
}, hide *[]string) (caddyhttp.MiddlewareHandler, error) {
	if err := m.UnmarshalCaddyfile(h.Dispenser); err != nil {
		return nil, err
	}
	*hide = hideCaddyfiles(h, *hide)
	return m, nil
}

// UnmarshalCaddyfile sets up the handler from Caddyfile tokens. Syntax:
//
//	pyhttp_simple [<matcher>] {
//	    root           <path>
//	    fs             <name>
//	    index          <files...>
//	    mime           <.ext> <type>
//	    hide           <files...>
//	    python_version <3.11|3.12|3.13|3.14>
//	}
//
// root defaults to the site's root directive, or the working directory.
// fs serves the tree from the file system registered under that name with
// the filesystem global option (embedded files, object storage), as
// file_server's fs; default {http.vars.fs}, set by the fs directive, and
// the local disk when unset. root is then a path inside that file system
// (default "."). Listings (byte-identical to Python's), index files, the
// trailing-slash redirect, Range and If-Modified-Since work as on the
// disk; files are copied instead of sent with sendfile, and a symbolic
// link shows only if the file system reports one.
// index replaces the index file list (default: index.html index.htm).
// mime sets the Content-Type of one extension and may be repeated. hide
// takes globs (see the Hide field) and may be repeated; the Caddyfile itself
// is always hidden, and so is Caddy's data directory when it is relative
// (it holds private keys), as with file_server. python_version makes the
// listing and the path rules byte-identical to that release's: 3.14 adds a
// colour-scheme style block to the listing, leaves the query out of its
// title and takes a path ending in %2F as ending in a slash; 3.11 to 3.13
// show the query in the title. Unset, the output is 3.11–3.13's with the
// title of 3.14 (the path only). Any other value fails at load.
//
// Only syntax is checked here; index names, MIME entries, hide globs and
// python_version are checked at load, in Provision.
func (s *Simple) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // consume directive name
	if d.NextArg() {
		return d.ArgErr()
	}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		ok, err := parseStaticOption(d, &s.Root, &s.FileSystem, &s.IndexNames, &s.MIMETypes, &s.Hide, &s.PythonVersion)
		if err != nil {
			return err
		}
		if !ok {
			return d.Errf("unknown subdirective '%s'", d.Val())
		}
	}
	return nil
}

// parseStaticOption parses the subdirectives that pyhttp_simple and
// pyhttp_cgi share for the static files they serve (root, index, mime,
// hide); ok is false for any other subdirective.
func parseStaticOption(d *caddyfile.Dispenser, root, fsName *string, index *[]string, mime *map[string]string, hide *[]string, pyVersion *string) (ok bool, err error) {
	switch d.Val() {
	case "fs":
		return true, parseOneArg(d, fsName)
	case "python_version":
		return true, parseOneArg(d, pyVersion)
	case "root":
		return true, parseOneArg(d, root)
	case "index":
		return true, parseIndex(d, index)
	case "mime":
		return true, parseMIME(d, mime)
	case "hide":
		return true, parseHide(d, hide)
	}
	return false, nil
}

// parseCGI parses the pyhttp_cgi directive.
// See UnmarshalCaddyfile for the syntax.
func parseCGI(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	c := new(CGI)
	return parseHidingCaddyfiles(h, c, &c.Hide)
}

// UnmarshalCaddyfile sets up the handler from Caddyfile tokens. Syntax:
//
//	pyhttp_cgi [<matcher>] {
//	    root             <path>
//	    fs               <name>
//	    cgi_dirs         <paths...>
//	    program          <path> [<args...>]
//	    script_name      <path>
//	    script_ext       <.ext...>
//	    all_methods
//	    passthru
//	    interpreter      <.ext> <program> [<args...>]
//	    env              <name> <value>
//	    pass_env         <names...>
//	    pass_auth
//	    dir              <path>
//	    user             <name|uid|owner> [<group|gid>]
//	    user_pool        <first>-<last>
//	    strict
//	    timeout          <duration>
//	    kill_grace       <duration>
//	    max_procs        <n>
//	    queue_timeout    <duration>
//	    max_request_body <size>
//	    spool_budget     <size>
//	    limits {
//	        cpu       <seconds>
//	        memory    <size>
//	        processes <n>
//	        files     <n>
//	        file_size <size>
//	    }
//	    index            <files...>
//	    mime             <.ext> <type>
//	    hide             <files...>
//	    python_version   <3.11|3.12|3.13|3.14>
//	}
//
// pyhttp_cgi has three modes. By default it is Python's directory mode:
// scripts live in the CGI directories, which cgi_dirs replaces (default:
// /cgi-bin /htbin), and only GET, HEAD and POST reach them (others 501)
// unless all_methods is set. program <path> [<args...>] mounts one program
// (absolute path) for every request the handler gets, as Apache's
// ScriptAlias to a program: SCRIPT_NAME is script_name when given, else the
// prefix that handle_path or uri strip_prefix removed, and PATH_INFO the
// decoded rest (with script_name removed from its front when nothing was
// stripped). script_ext <.ext...> is extension mode, as Apache's
// AddHandler cgi-script: files with these extensions (matched
// case-insensitively) anywhere under the root run, directly or through
// interpreter, with the path after the script's segment as PATH_INFO; an
// index name with such an extension runs for its directory; such a file is
// never served as source (it runs, or the answer is 403 or 404). Program
// and extension mode pass every method, never turn a query into
// command-line arguments, leave a variable the request has no value for
// unset as Apache does (directory mode sets Python's empty `PATH_INFO`,
// `CONTENT_LENGTH`, `HTTP_COOKIE`, ...), and default max_request_body to
// 1GiB. program cannot be combined with cgi_dirs, script_ext or passthru, nor script_ext
// with cgi_dirs; script_name requires program. In every mode SCRIPT_NAME
// includes a prefix stripped by handle_path.
// passthru hands non-CGI requests to the next handler instead of serving
// them as files. interpreter, env and mime may be repeated; pass_env and
// hide accumulate. pass_auth exports HTTP_AUTHORIZATION. user defaults to
// nobody when Caddy runs as root. user_pool <first>-<last> runs each
// script as a uid of its own (gid alike) from that range of uids no
// account uses, as systemd's DynamicUser does, so that no script reads
// another request's HTTP_COOKIE or HTTP_AUTHORIZATION from
// /proc/<pid>/environ; it requires Caddy as root, excludes user, and sets
// max_procs (default: the range's size, at most that). Without it, scripts
// share one uid and a warning at load says so. timeout (default none),
// kill_grace (default 5s) and queue_timeout (default 30s) take Go durations such as
// 30s or 2m; max_procs (default no limit) a count; max_request_body
// (default 64MiB, 1GiB in program and extension mode) a size as Caddy's
// request_body takes it, such as 10MB, 64MiB or 1.5GB. limits (Linux
// only, default none) sets per-script resource limits, each optional and
// applied before the script's first instruction: cpu seconds of CPU time
// (SIGXCPU, then SIGKILL a second later: 502 before the header block, and
// the log line carries limit cpu), memory the address space (allocations
// beyond it fail), processes the processes of the script's user (a fork
// beyond it fails; counted per user, not enforced for root), files the
// open descriptors (EMFILE beyond), file_size the largest file written
// (SIGXFSZ: 502 and limit file_size before the header block); sizes as for
// max_request_body. See SECURITY.md, "Resource limits". spool_budget
// (default 1GiB, a size alike) bounds the chunked bodies spooled at once
// by all pyhttp_cgi handlers of the process together, over every
// connection and HTTP/2 stream: a body that does not fit in what is left
// gets 503 with Retry-After, one larger than the whole budget 413, each
// with a log line; requests waiting for a max_procs slot spool nothing.
// The budget is the process's: a handler that sets it sets it for all,
// and the value loaded last stays until another one is loaded. index,
// mime and hide apply to the static files served outside the CGI directories, as
// with pyhttp_simple, and so does python_version (CGI scripts are run
// alike under all four); hide also applies to scripts, which are never run
// when hidden (404). fs serves the static files (everything outside
// the CGI directories, or without a script extension) from a virtual file
// system, as with pyhttp_simple; root is then also their path inside it. Scripts always run
// from the local disk, under root: store the static files in the file
// system under the same path.
//
// strict refuses to run, with 403 and a log line saying why (in the
// spirit of Apache's suexec), a script that is a symbolic link, setuid or
// setgid, writable by group or others, or not owned by the account it runs
// as, and a script below a directory writable by group or others, up to
// the root; the checks are made on the opened files (fstat). user owner
// runs each script as its file's owner, with the owner's primary group,
// and never as root: a root-owned script is refused with 403 and a log
// line. It requires Caddy to run as root, takes no group and cannot be
// combined with program (an account named owner is given by its uid).
//
// Only syntax is checked here; what the values mean (a CGI directory's
// shape, a negative duration, an environment variable's name) is checked
// once, at load, in Provision and Validate, for JSON configs alike.
func (c *CGI) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // consume directive name
	if d.NextArg() {
		return d.ArgErr()
	}
	seen := make(map[string]bool)
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		// Single-valued subdirectives may appear once: a second
		// max_procs that silently replaced the first could lift a limit.
		switch name := d.Val(); name {
		case "timeout", "kill_grace", "queue_timeout", "max_procs", "max_request_body", "dir", "root", "passthru", "pass_auth", "strict", "limits", "spool_budget", "user_pool":
			if seen[name] {
				return d.Errf("%s already specified", name)
			}
			seen[name] = true
		}
		ok, err := parseStaticOption(d, &c.Root, &c.FileSystem, &c.IndexNames, &c.MIMETypes, &c.Hide, &c.PythonVersion)
		if err != nil {
			return err
		}
		if ok {
			continue
		}
		if ok, err := parseModeOption(d, c); ok || err != nil {
			if err != nil {
				return err
			}
			continue
		}
		switch d.Val() {
		case "cgi_dirs":
			if c.CGIDirs != nil {
				return d.Err("cgi_dirs already specified")
			}
			c.CGIDirs = d.RemainingArgs()
			if len(c.CGIDirs) == 0 {
				return d.ArgErr()
			}
		case "passthru":
			err = parseFlag(d, &c.Passthru)
		case "interpreter":
			args := d.RemainingArgs()
			if len(args) < 2 {
				return d.ArgErr()
			}
			if c.Interpreters == nil {
				c.Interpreters = make(map[string][]string)
			}
			if _, dup := c.Interpreters[args[0]]; dup {
				return d.Errf("interpreter for %s already specified", args[0])
			}
			c.Interpreters[args[0]] = args[1:]
		case "env":
			var name, value string
			if !d.Args(&name, &value) || d.NextArg() {
				return d.ArgErr()
			}
			if c.Env == nil {
				c.Env = make(map[string]string)
			}
			if _, dup := c.Env[name]; dup {
				return d.Errf("env %s already specified", name)
			}
			c.Env[name] = value
		case "pass_env":
			names := d.RemainingArgs()
			if len(names) == 0 {
				return d.ArgErr()
			}
			c.PassEnv = append(c.PassEnv, names...)
		case "pass_auth":
			err = parseFlag(d, &c.PassAuth)
		case "strict":
			err = parseFlag(d, &c.Strict)
		case "dir":
			err = parseOneArg(d, &c.Dir)
		case "user":
			args := d.RemainingArgs()
			if len(args) < 1 || len(args) > 2 {
				return d.ArgErr()
			}
			if c.User != "" {
				return d.Err("user already specified")
			}
			c.User = args[0]
			if len(args) == 2 {
				c.Group = args[1]
			}
		case "user_pool":
			err = parseOneArg(d, &c.UserPool)
		case "timeout":
			err = parseDuration(d, &c.Timeout)
		case "kill_grace":
			err = parseDuration(d, &c.KillGrace)
		case "queue_timeout":
			err = parseDuration(d, &c.QueueTimeout)
		case "max_procs":
			var s string
			if err = parseOneArg(d, &s); err == nil {
				n, convErr := strconv.Atoi(s)
				if convErr != nil {
					return d.Errf("bad max_procs value %s: must be a whole number", s)
				}
				c.MaxProcs = n
			}
		case "max_request_body":
			var s string
			if err = parseOneArg(d, &s); err == nil {
				n, convErr := humanize.ParseBytes(s)
				if convErr != nil || n > math.MaxInt64 {
					return d.Errf("bad max_request_body value %s: must be a size such as 64MiB", s)
				}
				c.MaxRequestBody = int64(n)
			}
		case "limits":
			c.Limits, err = parseLimits(d)
		case "spool_budget":
			var s string
			if err = parseOneArg(d, &s); err == nil {
				n, convErr := humanize.ParseBytes(s)
				if convErr != nil || n > math.MaxInt64 || n == 0 {
					return d.Errf("bad spool_budget value %s: must be a size such as 1GiB", s)
				}
				c.SpoolBudget = int64(n)
			}
		default:
			return d.Errf("unknown subdirective '%s'", d.Val())
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// parseErrorPage parses the pyhttp_error_page directive.
// See UnmarshalCaddyfile for the syntax.
func parseErrorPage(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	e := new(ErrorPage)
	err := e.UnmarshalCaddyfile(h.Dispenser)
	return e, err
}

// UnmarshalCaddyfile sets up the handler from Caddyfile tokens. Syntax:
//
//	pyhttp_error_page [<matcher>] [<status>] {
//	    status         <code>
//	    message        <text>
//	    explain        <text>
//	    python_version <3.11|3.12|3.13|3.14>
//	}
//
// With no arguments it renders the error being handled, which is what
// handle_errors wants. status (or the inline argument) replaces the status
// code; message and explain replace the two lines of Python's page. All
// three accept placeholders. python_version makes the page byte-identical
// to that release's: 3.13 and 3.14 use RFC 9110's phrases for 413, 414,
// 416 and 422 (URI Too Long), and 3.14 adds a colour-scheme style block.
// Unset, the page is 3.11's and 3.12's. Any other value fails at load.
func (e *ErrorPage) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // consume directive name
	if d.NextArg() {
		e.StatusCode = caddyhttp.WeakString(d.Val())
		if d.NextArg() {
			return d.ArgErr()
		}
	}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		var err error
		switch d.Val() {
		case "status":
			if e.StatusCode != "" {
				return d.Err("status already specified")
			}
			var s string
			err = parseOneArg(d, &s)
			e.StatusCode = caddyhttp.WeakString(s)
		case "message":
			err = parseOneArg(d, &e.Message)
		case "explain":
			err = parseOneArg(d, &e.Explain)
		case "python_version":
			err = parseOneArg(d, &e.PythonVersion)
		default:
			return d.Errf("unknown subdirective '%s'", d.Val())
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// parseOneArg reads exactly one argument into *dst, refusing a repeat of
// the subdirective.
func parseOneArg(d *caddyfile.Dispenser, dst *string) error {
	name := d.Val()
	if *dst != "" {
		return d.Errf("%s already specified", name)
	}
	if !d.NextArg() {
		return d.ArgErr()
	}
	*dst = d.Val()
	if d.NextArg() {
		return d.ArgErr()
	}
	return nil
}

// parseFlag sets a flag subdirective, which takes no arguments.
func parseFlag(d *caddyfile.Dispenser, dst *bool) error {
	if d.NextArg() {
		return d.ArgErr()
	}
	*dst = true
	return nil
}

// parseIndex reads the index subdirective.
func parseIndex(d *caddyfile.Dispenser, dst *[]string) error {
	if *dst != nil {
		return d.Err("index already specified")
	}
	*dst = d.RemainingArgs()
	if len(*dst) == 0 {
		return d.ArgErr()
	}
	return nil
}

// parseMIME reads one `mime <.ext> <type>` line.
func parseMIME(d *caddyfile.Dispenser, dst *map[string]string) error {
	var ext, typ string
	if !d.Args(&ext, &typ) || d.NextArg() {
		return d.ArgErr()
	}
	if *dst == nil {
		*dst = make(map[string]string)
	}
	if _, dup := (*dst)[ext]; dup {
		return d.Errf("mime type for %s already specified", ext)
	}
	(*dst)[ext] = typ
	return nil
}

// parseHide appends a hide line's globs, so repeated lines accumulate
// (snippets can compose with a site's own hides).
func parseHide(d *caddyfile.Dispenser, dst *[]string) error {
	globs := d.RemainingArgs()
	if len(globs) == 0 {
		return d.ArgErr()
	}
	*dst = append(*dst, globs...)
	return nil
}

// parseDuration reads one duration argument.
func parseDuration(d *caddyfile.Dispenser, dst *caddy.Duration) error {
	name := d.Val()
	var s string
	if !d.Args(&s) || d.NextArg() {
		return d.ArgErr()
	}
	if *dst != 0 {
		return d.Errf("%s already specified", name)
	}
	dur, err := caddy.ParseDuration(s)
	if err != nil {
		return d.Errf("bad %s value %s: %v", name, s, err)
	}
	*dst = caddy.Duration(dur)
	return nil
}

// hideCaddyfiles adds the Caddyfile (and its imports) to hide, as
// file_server does, so a site rooted where its Caddyfile lives does not
// list or serve it.
func hideCaddyfiles(h httpcaddyfile.Helper, hide []string) []string {
	for _, file := range h.Caddyfiles() {
		file = filepath.Clean(file)
		// A pattern without a separator would hide every file of that
		// name; make it a path so only this file is hidden.
		if !strings.ContainsRune(file, filepath.Separator) {
			file = "." + string(filepath.Separator) + file
		}
		hide = append(hide, file)
	}
	return hide
}

// Interface guards
var (
	_ caddyfile.Unmarshaler = (*Simple)(nil)
	_ caddyfile.Unmarshaler = (*CGI)(nil)
	_ caddyfile.Unmarshaler = (*ErrorPage)(nil)
)
