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
	"syscall"

	"github.com/spf13/cobra"

	caddycmd "github.com/caddyserver/caddy/v2/cmd"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/caddyserver/caddy/v2/modules/caddytls"

	"github.com/pyhttp/caddy-pyhttp/internal/pyversion"
)

func init() {
	caddycmd.RegisterCommand(caddycmd.Command{
		Name:  "pyhttp-server",
		Usage: "[port] [-b ADDRESS] [-d DIRECTORY] [-p VERSION] [--cgi] [--domain NAME] [--tls-cert FILE --tls-key FILE] [--python-version X.Y] [--access-log=false]",
		Short: "Serves a directory like `python -m http.server`, on Caddy",
		Long: `
Serves DIRECTORY (default: the current directory) the way
'python -m http.server' does: the same paths, redirects, directory
listings, MIME types and error pages, but on Caddy's production HTTP
server (HTTP/1.1 keep-alive, HTTP/2, TLS).

The arguments are Python's: an optional port (default 8000),
-b/--bind ADDRESS (default: all interfaces), -d/--directory DIR and
--cgi, which runs executables under /cgi-bin and /htbin as CGI scripts
(CGIHTTPRequestHandler). -p/--protocol is accepted for compatibility:
Caddy always speaks HTTP/1.1 with keep-alive (and HTTP/2 over TLS), so
the value is only checked.

Beyond Python: --domain NAME serves HTTPS for NAME with an automatically
managed certificate (listening on 443 unless a port is given), and
--tls-cert FILE --tls-key FILE (Python 3.14's flags) serve HTTPS with
that certificate. --python-version 3.11|3.12|3.13|3.14 makes listings,
error pages and path rules byte-identical to that Python release (default:
3.11-3.13's, with the listing title of 3.14). Each request is logged on
stderr in Python's format.`,
		CobraFunc: func(cmd *cobra.Command) {
			cmd.Args = cobra.MaximumNArgs(1)
			cmd.Flags().StringP("bind", "b", "", "bind to this address (default: all interfaces)")
			cmd.Flags().StringP("directory", "d", "", "serve this directory (default: current directory)")
			cmd.Flags().StringP("protocol", "p", "HTTP/1.0", "accepted for compatibility with Python; Caddy speaks HTTP/1.1 and HTTP/2")
			cmd.Flags().Bool("cgi", false, "run as CGI server (CGIHTTPRequestHandler)")
			cmd.Flags().String("domain", "", "serve HTTPS for this domain name with automatic certificates")
			cmd.Flags().String("tls-cert", "", "serve HTTPS with this certificate chain file")
			cmd.Flags().String("tls-key", "", "private key file for --tls-cert")
			cmd.Flags().String("python-version", "", "reproduce this Python's listings, error pages and path rules: 3.11, 3.12, 3.13 or 3.14")
			cmd.Flags().Bool("access-log", true, "log each request on stderr")
			cmd.RunE = caddycmd.WrapCommandFuncForCobra(cmdPyHTTPServer)
		},
	})
}

// serverOptions is the parsed command line of caddy pyhttp-server.
type serverOptions struct {
	port      int
	bind      string
	directory string
	cgi       bool
	domain    string
	tlsCert   string
	tlsKey    string
	accessLog bool
	pyVersion string
}

func cmdPyHTTPServer(fl caddycmd.Flags) (int, error) {
	opts, err := parseServerFlags(fl)
	if err != nil {
		// argparse's exit status for a usage error.
		return exitCodeUsage, err
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
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	if err := caddy.Run(cfg); err != nil {
		return caddy.ExitCodeFailedStartup, err
	}
	fmt.Println(opts.banner())
	if <-signals == os.Interrupt {
		fmt.Println("\nKeyboard interrupt received, exiting.")
	}
	// Like Python's Ctrl-C, this ends the server without waiting for
	// requests in flight; closeAllHosts then stops the CGI scripts still
	// running, which are in process groups of their own and did not get
	// the terminal's signal.
	err = caddy.Stop()
	closeAllHosts()
	if err != nil {
		return caddy.ExitCodeFailedQuit, err
	}
	return caddy.ExitCodeSuccess, nil
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

// banner is Python's start-up line.
func (o *serverOptions) banner() string {
	scheme, word := "http", "HTTP"
	if o.tls() {
		scheme, word = "https", "HTTPS"
	}
	host := o.bind
	if host == "" {
		host = "0.0.0.0"
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
	apps["http"] = caddyconfig.JSON(caddyhttp.App{Servers: map[string]*caddyhttp.Server{"pyhttp": server}}, nil)

	persist := false
	cfg := &caddy.Config{
		// No admin endpoint at all: a TCP one would let any local
		// account, the CGI scripts' included, reconfigure the server,
		// and pyhttp_cgi refuses to load beside one when its scripts
		// run as another account (admin.go).
		Admin:   &caddy.AdminConfig{Disabled: true, Config: &caddy.ConfigSettings{Persist: &persist}},
		AppsRaw: apps,
		Logging: &caddy.Logging{Logs: map[string]*caddy.CustomLog{
			// Python prints nothing but its banner and the requests;
			// Caddy's own start-up chatter (admin disabled, no HTTP/2
			// without TLS) stays quiet.
			"default": {BaseLog: caddy.BaseLog{Level: "ERROR"}, Exclude: []string{"http.log.access." + accessLoggerName}},
		}},
	}
	if o.accessLog {
		cfg.Logging.Logs["pyhttp_access"] = &caddy.CustomLog{
			BaseLog: caddy.BaseLog{
				WriterRaw:  caddyconfig.JSONModuleObject(map[string]any{}, "output", "stderr", nil),
				EncoderRaw: caddyconfig.JSONModuleObject(map[string]any{}, "format", "pyhttp", nil),
			},
			Include: []string{"http.log.access." + accessLoggerName},
		}
	}
	return cfg, nil
}

const (
	// accessLoggerName names the command's access logger.
	accessLoggerName = "pyhttp"
	// exitCodeUsage is the status Python's argparse exits with on a bad
	// command line.
	exitCodeUsage = 2
)
