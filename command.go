package pyhttp

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	caddycmd "github.com/caddyserver/caddy/v2/cmd"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/caddyserver/caddy/v2/modules/caddytls"

	"github.com/pyhttp/caddy-pyhttp/internal/cgihost"
	"github.com/pyhttp/caddy-pyhttp/internal/pyversion"
)

func init() {
	caddycmd.RegisterCommand(caddycmd.Command{
		Name:  "pyhttp-server",
		Usage: "[-h] [--cgi] [-b ADDRESS] [-d DIRECTORY] [-p VERSION] [--domain NAME] [--tls-cert FILE --tls-key FILE] [--python-version X.Y] [--access-log=false] [--grace-period DURATION] [port]",
		Short: "Serves a directory like `python -m http.server`, on Caddy",
		Long:  helpText,
		CobraFunc: func(cmd *cobra.Command) {
			addServerFlags(cmd.Flags())
			// argparse's behaviour on a bad command line: a usage line and
			// an error line on stderr, status 2. Cobra lets a command
			// replace its argument check, its flag-error handler and its
			// help, so unknown flags and extra arguments get the same
			// treatment as bad values.
			cmd.SilenceErrors = true
			cmd.Args = func(cmd *cobra.Command, args []string) error {
				if len(args) > 1 {
					return usageError(cmd, "unrecognized arguments: "+strings.Join(args[1:], " "))
				}
				return nil
			}
			cmd.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
				return usageError(cmd, flagErrorMessage(cmd.Flags(), err, cliArgs()))
			})
			cmd.SetHelpFunc(func(cmd *cobra.Command, _ []string) {
				fmt.Fprint(cmd.OutOrStdout(), helpText)
			})
			cmd.RunE = caddycmd.WrapCommandFuncForCobra(func(fl caddycmd.Flags) (int, error) {
				return cmdPyHTTPServer(cmd, fl)
			})
		},
	})
}

// addServerFlags registers the command's flags on fs.
func addServerFlags(fs *pflag.FlagSet) {
	fs.StringP("bind", "b", "", "bind to this address (default: all interfaces)")
	fs.StringP("directory", "d", "", "serve this directory (default: current directory)")
	fs.StringP("protocol", "p", "HTTP/1.0", "accepted for compatibility with Python; Caddy speaks HTTP/1.1 and HTTP/2")
	fs.Bool("cgi", false, "run as CGI server (CGIHTTPRequestHandler)")
	fs.String("domain", "", "serve HTTPS for this domain name with automatic certificates")
	fs.String("tls-cert", "", "serve HTTPS with this certificate chain file")
	fs.String("tls-key", "", "private key file for --tls-cert")
	fs.String("python-version", "", "reproduce this Python's listings, error pages and path rules: 3.11, 3.12, 3.13 or 3.14")
	fs.Bool("access-log", true, "log each request on stderr")
	fs.Duration("grace-period", defaultGracePeriod, "on Ctrl-C or SIGTERM, wait this long for running CGI scripts (0: no limit)")
}

// usageLine is argparse's usage line, wrapped as argparse wraps it.
const usageLine = `usage: caddy pyhttp-server [-h] [--cgi] [-b ADDRESS] [-d DIRECTORY]
                           [-p VERSION] [--domain NAME] [--tls-cert FILE]
                           [--tls-key FILE] [--python-version X.Y]
                           [--access-log=false] [--grace-period DURATION]
                           [port]
`

// helpText is the whole of --help, laid out as argparse lays out Python's.
const helpText = usageLine + `
Serve DIRECTORY the way 'python -m http.server' does (the same paths,
redirects, listings, MIME types, error pages and log lines), on Caddy's
HTTP server: HTTP/1.1 keep-alive, HTTP/2 and TLS.

positional arguments:
  port                  bind to this port (default: 8000; 443 with
                        --domain; 0 picks a free port)

options:
  -h, --help            show this help message and exit
  --cgi                 run as CGI server: executables under /cgi-bin and
                        /htbin run as CGI scripts
  -b ADDRESS, --bind ADDRESS
                        bind to this address (default: all interfaces, IPv6
                        and IPv4)
  -d DIRECTORY, --directory DIRECTORY
                        serve this directory (default: current directory)
  -p VERSION, --protocol VERSION
                        accepted for compatibility and checked; Caddy always
                        speaks HTTP/1.1 with keep-alive, and HTTP/2 over TLS
                        (default: HTTP/1.0)
  --domain NAME         serve HTTPS for NAME with a certificate Caddy
                        obtains and renews
  --tls-cert FILE       serve HTTPS with this certificate chain (PEM); needs
                        --tls-key
  --tls-key FILE        the private key (PEM) for --tls-cert
  --python-version X.Y  make listings, error pages and path rules
                        byte-identical to this Python release: 3.11, 3.12,
                        3.13 or 3.14 (default: 3.11-3.13's, with the listing
                        title of 3.14)
  --access-log=false    do not log each request on stderr
  --grace-period DURATION
                        on Ctrl-C or SIGTERM, let running CGI scripts finish
                        for this long before stopping them; 0 waits without
                        limit, a second Ctrl-C stops them at once (default:
                        30s)
`

// usageError prints argparse's two lines for a bad command line and returns
// the error that makes Caddy's main exit with argparse's status 2.
func usageError(cmd *cobra.Command, msg string) error {
	fmt.Fprintf(cmd.ErrOrStderr(), "%scaddy pyhttp-server: error: %s\n", usageLine, msg)
	// caddycmd keeps its exit-status error type private; a command func
	// that returns a status and no error yields it without logging.
	return caddycmd.WrapCommandFuncForCobra(func(caddycmd.Flags) (int, error) {
		return exitCodeUsage, nil
	})(cmd, nil)
}

// cliArgs returns the command line after "pyhttp-server".
func cliArgs() []string {
	for i, a := range os.Args {
		if a == "pyhttp-server" {
			return os.Args[i+1:]
		}
	}
	return nil
}

// flagErrorMessage words pflag's error as argparse would. pflag stops at the
// first unknown flag, argparse lists every argument it did not recognize, so
// for those the raw command line args is scanned again.
func flagErrorMessage(fs *pflag.FlagSet, err error, args []string) string {
	if e, ok := errors.AsType[*pflag.ValueRequiredError](err); ok {
		return fmt.Sprintf("argument %s: expected one argument", argName(e.GetFlag()))
	}
	if e, ok := errors.AsType[*pflag.InvalidValueError](err); ok {
		f := e.GetFlag()
		if f.NoOptDefVal != "" { // a boolean: --cgi=x
			return fmt.Sprintf("argument %s: ignored explicit argument '%s'", argName(f), e.GetValue())
		}
		return fmt.Sprintf("argument %s: invalid %s value: '%s'", argName(f), f.Value.Type(), e.GetValue())
	}
	_, notExist := errors.AsType[*pflag.NotExistError](err)
	_, badSyntax := errors.AsType[*pflag.InvalidSyntaxError](err)
	if notExist || badSyntax {
		if extra := unrecognized(fs, args); len(extra) > 0 {
			return "unrecognized arguments: " + strings.Join(extra, " ")
		}
	}
	return err.Error()
}

// argName is argparse's name for a flag in messages: "-p/--protocol".
func argName(f *pflag.Flag) string {
	if f.Shorthand != "" {
		return "-" + f.Shorthand + "/--" + f.Name
	}
	return "--" + f.Name
}

// unrecognized returns the arguments of args that fs does not know, and
// the positional arguments after the first (the port), in order.
func unrecognized(fs *pflag.FlagSet, args []string) []string {
	var extra, positional []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			positional = append(positional, args[i+1:]...)
			i = len(args)
		case strings.HasPrefix(a, "--"):
			name, _, hasValue := strings.Cut(a[2:], "=")
			f := fs.Lookup(name)
			if f == nil {
				extra = append(extra, a)
			} else if !hasValue && f.NoOptDefVal == "" {
				i++ // the flag's value
			}
		case len(a) > 1 && a[0] == '-':
			f := fs.ShorthandLookup(a[1:2])
			if f == nil {
				extra = append(extra, a)
			} else if len(a) == 2 && f.NoOptDefVal == "" {
				i++
			}
		default:
			positional = append(positional, a)
		}
	}
	if len(positional) > 1 {
		extra = append(extra, positional[1:]...)
	}
	return extra
}

// serverOptions is the parsed command line of caddy pyhttp-server.
type serverOptions struct {
	port        int
	bind        string
	directory   string
	cgi         bool
	domain      string
	tlsCert     string
	tlsKey      string
	accessLog   bool
	gracePeriod time.Duration
	pyVersion   string
}

func cmdPyHTTPServer(cmd *cobra.Command, fl caddycmd.Flags) (int, error) {
	opts, err := parseServerFlags(fl)
	if err != nil {
		// Printed here; a returned error would be logged once more.
		_ = usageError(cmd, err.Error())
		return exitCodeUsage, nil
	}
	if opts.port == 0 {
		// Python binds port 0 and prints the port the kernel chose; Caddy
		// would too, but its config has to name the port first.
		if opts.port, err = freePort(opts.bind); err != nil {
			return caddy.ExitCodeFailedStartup, err
		}
	}
	cfg, err := opts.config()
	if err != nil {
		return caddy.ExitCodeFailedStartup, err
	}
	// Python's CLI prints its banner on stdout, says so on Ctrl-C and
	// exits 0; Caddy's own signal trap would do neither.
	signals := make(chan os.Signal, 2)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(signals)
	if err := caddy.Run(cfg); err != nil {
		return caddy.ExitCodeFailedStartup, err
	}
	fmt.Println(opts.banner(listenAddr()))
	if <-signals == os.Interrupt {
		fmt.Println("\nKeyboard interrupt received, exiting.")
	}
	// Stop closes the listeners; the requests in flight go on, and the CGI
	// handlers' Cleanup lets their scripts run. Python lets a running
	// script finish too (its forked child writes to the client itself),
	// so the command waits for them, up to --grace-period; a second signal
	// ends the wait. closeAllHosts then stops what still runs: scripts are
	// in process groups of their own, so unlike Python's children they did
	// not get the terminal's signal.
	err = caddy.Stop()
	drained := make(chan struct{})
	go func() {
		drainAllHosts(opts.gracePeriod)
		close(drained)
	}()
	select {
	case <-drained:
	case <-signals:
	}
	closeAllHosts()
	if err != nil {
		return caddy.ExitCodeFailedQuit, err
	}
	return caddy.ExitCodeSuccess, nil
}

// drainAllHosts waits until no CGI script runs, or grace has passed (0: no
// limit), and stops what still runs then.
func drainAllHosts(grace time.Duration) {
	var wg sync.WaitGroup
	liveHosts.Range(func(h, _ any) bool {
		wg.Go(func() { h.(*cgihost.Host).Drain(grace) })
		return true
	})
	wg.Wait()
}

// listenAddr returns the address the command's server listens on, or nil.
func listenAddr() net.Addr {
	app, err := caddy.ActiveContext().App("http")
	if err != nil {
		return nil
	}
	srv := app.(*caddyhttp.App).Servers[serverName]
	if srv == nil || len(srv.Listeners()) == 0 {
		return nil
	}
	return srv.Listeners()[0].Addr()
}

// freePort asks the kernel for a free TCP port on bind.
func freePort(bind string) (int, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort(bind, "0"))
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

var protocolRE = regexp.MustCompile(`^HTTP/\d+\.\d+$`)

// parseServerFlags validates the flags the way Python's argparse would
// reject them.
func parseServerFlags(fl caddycmd.Flags) (*serverOptions, error) {
	opts := &serverOptions{
		port:      8000,
		bind:      fl.String("bind"),
		directory: fl.String("directory"),
		cgi:       fl.Bool("cgi"),
		domain:    fl.String("domain"),
		tlsCert:   fl.String("tls-cert"),
		tlsKey:    fl.String("tls-key"),
		accessLog: fl.Bool("access-log"),
		pyVersion: fl.String("python-version"),
	}
	grace, err := fl.GetDuration("grace-period")
	if err != nil {
		return nil, err
	}
	if grace < 0 {
		return nil, fmt.Errorf("argument --grace-period: must not be negative: '%s'", grace)
	}
	opts.gracePeriod = grace
	if args := fl.Args(); len(args) > 0 {
		p, err := strconv.Atoi(args[0])
		if err != nil || p < 0 || p > 65535 {
			return nil, fmt.Errorf("argument port: invalid int value: '%s'", args[0])
		}
		opts.port = p
	} else if opts.domain != "" {
		opts.port = 443
	}
	if proto := fl.String("protocol"); !protocolRE.MatchString(proto) {
		return nil, fmt.Errorf("argument -p/--protocol: invalid protocol version: '%s'", proto)
	}
	if opts.tlsKey != "" && opts.tlsCert == "" {
		return nil, errors.New("--tls-key requires --tls-cert to be set")
	}
	if opts.tlsCert != "" && opts.tlsKey == "" {
		return nil, errors.New("--tls-cert requires --tls-key to be set (a combined certificate and key file is not supported)")
	}
	if opts.domain != "" && opts.tlsCert != "" {
		return nil, errors.New("--domain and --tls-cert are mutually exclusive")
	}
	if _, err := pyversion.Parse(opts.pyVersion); err != nil {
		return nil, fmt.Errorf("argument --python-version: %w", err)
	}
	if opts.directory == "" {
		opts.directory = "."
	}
	abs, err := caddy.FastAbs(opts.directory)
	if err != nil {
		return nil, err
	}
	if info, err := os.Stat(abs); err != nil || !info.IsDir() {
		return nil, fmt.Errorf("directory %s is not a directory", opts.directory)
	}
	opts.directory = abs
	return opts, nil
}

// tls reports whether the server speaks HTTPS.
func (o *serverOptions) tls() bool { return o.domain != "" || o.tlsCert != "" }

// banner is Python's start-up line. Python prints the address its socket
// is bound to (getsockname), so addr, the listener's address, comes first:
// with no -b, Caddy listens on the IPv6 wildcard with IPv4 mapped (dual
// stack), and the banner says "::", as Python's does when it binds "::"
// and answers both. Without addr the banner guesses the same from -b.
func (o *serverOptions) banner(addr net.Addr) string {
	scheme, word := "http", "HTTP"
	if o.tls() {
		scheme, word = "https", "HTTPS"
	}
	host := o.bind
	if host == "" {
		host = "::"
	}
	if tcp, ok := addr.(*net.TCPAddr); ok {
		host = tcp.IP.String()
		if tcp.IP.IsUnspecified() && tcp.IP.To4() == nil {
			host = "::"
		}
	} else if addr != nil {
		if h, _, err := net.SplitHostPort(addr.String()); err == nil {
			host = h
		}
	}
	urlHost := host
	if o.domain != "" {
		urlHost = o.domain
	}
	return fmt.Sprintf("Serving %s on %s port %d (%s://%s/) ...",
		word, host, o.port, scheme, net.JoinHostPort(urlHost, strconv.Itoa(o.port)))
}

// config builds the Caddy configuration.
func (o *serverOptions) config() (*caddy.Config, error) {
	var handler json.RawMessage
	if o.cgi {
		// Python never changes directory: scripts run in the directory the
		// server was started from (the served one unless -d says otherwise).
		wd, err := os.Getwd()
		if err != nil {
			return nil, fmt.Errorf("finding the working directory for CGI scripts: %w", err)
		}
		handler = caddyconfig.JSONModuleObject(CGI{Root: o.directory, Dir: wd, PythonVersion: o.pyVersion}, "handler", "pyhttp_cgi", nil)
	} else {
		handler = caddyconfig.JSONModuleObject(Simple{Root: o.directory, PythonVersion: o.pyVersion}, "handler", "pyhttp_simple", nil)
	}
	route := caddyhttp.Route{HandlersRaw: []json.RawMessage{handler}}
	if o.domain != "" {
		route.MatcherSetsRaw = []caddy.ModuleMap{{"host": caddyconfig.JSON(caddyhttp.MatchHost{o.domain}, nil)}}
	}
	errorRoute := caddyhttp.Route{HandlersRaw: []json.RawMessage{
		caddyconfig.JSONModuleObject(ErrorPage{PythonVersion: o.pyVersion}, "handler", "pyhttp_error_page", nil),
	}}

	server := &caddyhttp.Server{
		Listen: []string{net.JoinHostPort(o.bind, strconv.Itoa(o.port))},
		Routes: caddyhttp.RouteList{route},
		Errors: &caddyhttp.HTTPErrorConfig{Routes: caddyhttp.RouteList{errorRoute}},
	}
	if o.accessLog {
		server.Logs = &caddyhttp.ServerLogConfig{DefaultLoggerName: accessLoggerName}
	}
	apps := caddy.ModuleMap{}
	switch {
	case o.tlsCert != "":
		server.AutoHTTPS = &caddyhttp.AutoHTTPSConfig{Disabled: true}
		server.TLSConnPolicies = caddytls.ConnectionPolicies{{
			CertSelection: &caddytls.CustomCertSelectionPolicy{AnyTag: []string{"pyhttp-server"}},
		}}
		certs := map[string]json.RawMessage{"load_files": caddyconfig.JSON([]map[string]any{{
			"certificate": o.tlsCert, "key": o.tlsKey, "tags": []string{"pyhttp-server"},
		}}, nil)}
		apps["tls"] = caddyconfig.JSON(map[string]any{"certificates": certs}, nil)
	case o.domain == "":
		server.AutoHTTPS = &caddyhttp.AutoHTTPSConfig{Disabled: true}
	}
	apps["http"] = caddyconfig.JSON(caddyhttp.App{
		Servers:     map[string]*caddyhttp.Server{serverName: server},
		GracePeriod: caddy.Duration(o.gracePeriod),
	}, nil)

	persist := false
	pythonLog := func(level string, include ...string) *caddy.CustomLog {
		return &caddy.CustomLog{
			BaseLog: caddy.BaseLog{
				WriterRaw:  caddyconfig.JSONModuleObject(map[string]any{}, "output", "stderr", nil),
				EncoderRaw: caddyconfig.JSONModuleObject(map[string]any{}, "format", "pyhttp", nil),
				Level:      level,
			},
			Include: include,
		}
	}
	accessLogger := "http.log.access." + accessLoggerName
	errorLogger := "http.log.error." + accessLoggerName
	cfg := &caddy.Config{
		// No admin endpoint at all: a TCP one would let any local
		// account, the CGI scripts' included, reconfigure the server,
		// and pyhttp_cgi refuses to load beside one when its scripts
		// run as another account (admin.go).
		Admin:   &caddy.AdminConfig{Disabled: true, Config: &caddy.ConfigSettings{Persist: &persist}},
		AppsRaw: apps,
		Logging: &caddy.Logging{Logs: map[string]*caddy.CustomLog{
			// Python prints nothing but its banner, the requests, its
			// errors and the scripts' stderr; Caddy's own start-up chatter
			// (admin disabled, no HTTP/2 without TLS) stays quiet.
			"default": {BaseLog: caddy.BaseLog{Level: "ERROR"}, Exclude: []string{accessLogger, errorLogger, cgiLoggerName}},
			// A CGI script's stderr lines come out raw and its non-zero
			// exit as Python's "CGI script exit code" line.
			"pyhttp_cgi": pythonLog("WARN", cgiLoggerName),
		}},
	}
	if o.accessLog {
		// The error logger carries send_error's "code 404, message File
		// not found" line (at DEBUG: Caddy logs a handled error there).
		cfg.Logging.Logs["pyhttp_access"] = pythonLog("DEBUG", accessLogger, errorLogger)
	}
	return cfg, nil
}

const (
	// accessLoggerName names the command's access logger.
	accessLoggerName = "pyhttp"
	// serverName names the command's HTTP server.
	serverName = "pyhttp"
	// cgiLoggerName is the logger of pyhttp_cgi and its engine.
	cgiLoggerName = "http.handlers.pyhttp_cgi"
	// defaultGracePeriod is how long Ctrl-C and SIGTERM wait for running
	// CGI scripts unless --grace-period says otherwise.
	defaultGracePeriod = 30 * time.Second
	// exitCodeUsage is the status Python's argparse exits with on a bad
	// command line.
	exitCodeUsage = 2
)
