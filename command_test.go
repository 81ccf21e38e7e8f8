package pyhttp

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/spf13/pflag"

	caddycmd "github.com/caddyserver/caddy/v2/cmd"

	"github.com/caddyserver/caddy/v2"
)

// serverFlags parses args with the flags pyhttp-server registers.
func serverFlags(t *testing.T, args ...string) caddycmd.Flags {
	t.Helper()
	fs := pflag.NewFlagSet("pyhttp-server", pflag.ContinueOnError)
	addServerFlags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return caddycmd.Flags{FlagSet: fs}
}

func TestPyHTTPServerFlags(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name    string
		args    []string
		banner  string
		wantErr string
	}{
		{name: "defaults", args: []string{"-d", dir}, banner: "Serving HTTP on :: port 8000 (http://[::]:8000/) ..."},
		{name: "port and bind", args: []string{"-d", dir, "-b", "127.0.0.1", "9000"}, banner: "Serving HTTP on 127.0.0.1 port 9000 (http://127.0.0.1:9000/) ..."},
		{name: "IPv6 bind is bracketed in the URL", args: []string{"--directory", dir, "--bind", "::1", "8080"}, banner: "Serving HTTP on ::1 port 8080 (http://[::1]:8080/) ..."},
		{name: "protocol accepted", args: []string{"-d", dir, "-p", "HTTP/1.1"}, banner: "Serving HTTP on :: port 8000 (http://[::]:8000/) ..."},
		{name: "domain means HTTPS on 443", args: []string{"-d", dir, "--domain", "example.com"}, banner: "Serving HTTPS on :: port 443 (https://example.com:443/) ..."},
		{name: "tls files", args: []string{"-d", dir, "--tls-cert", "c.pem", "--tls-key", "k.pem", "4443"}, banner: "Serving HTTPS on :: port 4443 (https://[::]:4443/) ..."},
		{name: "port not a number", args: []string{"-d", dir, "http"}, wantErr: "argument port: invalid int value: 'http'"},
		{name: "port out of range", args: []string{"-d", dir, "70000"}, wantErr: "invalid int value"},
		{name: "bad protocol", args: []string{"-d", dir, "-p", "HTTP/2"}, wantErr: "invalid protocol version"},
		{name: "key without cert", args: []string{"-d", dir, "--tls-key", "k.pem"}, wantErr: "--tls-key requires --tls-cert to be set"},
		{name: "cert without key", args: []string{"-d", dir, "--tls-cert", "c.pem"}, wantErr: "--tls-cert requires --tls-key"},
		{name: "missing directory", args: []string{"-d", dir + "/nope"}, wantErr: "is not a directory"},
		{name: "negative grace period", args: []string{"-d", dir, "--grace-period", "-1s"}, wantErr: "must not be negative"},
		{name: "python version", args: []string{"-d", dir, "--python-version", "3.14"}, banner: "Serving HTTP on :: port 8000 (http://[::]:8000/) ..."},
		{name: "unsupported python version", args: []string{"-d", dir, "--python-version", "3.10"}, wantErr: `argument --python-version: unsupported Python version "3.10" (allowed: 3.11, 3.12, 3.13, 3.14)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts, err := parseServerFlags(serverFlags(t, tc.args...))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := opts.banner(nil); got != tc.banner {
				t.Errorf("banner = %q, want %q", got, tc.banner)
			}
		})
	}
}

// The command's generated config must be one Caddy accepts, with Python's
// error page in the error routes, CGI only with --cgi, and no admin
// endpoint (with one on TCP, pyhttp_cgi as root would refuse to load).
func TestPyHTTPServerConfig(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name    string
		args    []string
		handler string
		// versions is how many handlers must carry python_version.
		versions int
	}{
		{name: "simple", args: []string{"-d", dir, "-b", "127.0.0.1", "18000"}, handler: `"handler":"pyhttp_simple"`},
		{name: "cgi", args: []string{"-d", dir, "--cgi", "-b", "127.0.0.1", "18001"}, handler: `"handler":"pyhttp_cgi"`},
		{name: "python version reaches both handlers", args: []string{"-d", dir, "--python-version", "3.14", "-b", "127.0.0.1", "18002"}, handler: `"handler":"pyhttp_simple"`, versions: 2},
		{name: "python version reaches cgi", args: []string{"-d", dir, "--cgi", "--python-version", "3.13", "-b", "127.0.0.1", "18003"}, handler: `"handler":"pyhttp_cgi"`, versions: 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts, err := parseServerFlags(serverFlags(t, tc.args...))
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := opts.config()
			if err != nil {
				t.Fatal(err)
			}
			data, err := json.Marshal(cfg)
			if err != nil {
				t.Fatal(err)
			}
			js := string(data)
			for _, want := range []string{tc.handler, `"handler":"pyhttp_error_page"`, `"listen":["127.0.0.1:` + tc.args[len(tc.args)-1] + `"]`, `"format":"pyhttp"`,
				// Safe by construction: no admin endpoint a script could reach.
				`"admin":{"disabled":true`} {
				if !strings.Contains(js, want) {
					t.Errorf("config lacks %s:\n%s", want, js)
				}
			}
			if n := strings.Count(js, `"python_version":`); n != tc.versions {
				t.Errorf("python_version set on %d handlers, want %d:\n%s", n, tc.versions, js)
			}
			if err := caddy.Validate(cfg); err != nil {
				t.Errorf("caddy rejects the config: %v", err)
			}
		})
	}
}

// TestMain lets the tests run the real command: a test binary started with
// PYHTTP_TEST_RUN_CADDY=1 is Caddy's main, so its arguments are Caddy's.
func TestMain(m *testing.M) {
	if os.Getenv("PYHTTP_TEST_RUN_CADDY") == "1" {
		caddycmd.Main()
		return
	}
	os.Exit(m.Run())
}

// caddyCommand returns the test binary run as `caddy args...`.
func caddyCommand(t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, args...)
	cmd.Env = append(os.Environ(), "PYHTTP_TEST_RUN_CADDY=1")
	return cmd
}

// The banner names the address the listener really has, as Python's names
// getsockname(): the IPv6 wildcard of a dual-stack listener is "::".
func TestPyHTTPServerBannerFromListener(t *testing.T) {
	o := &serverOptions{port: 8000}
	for _, tc := range []struct {
		addr net.Addr
		want string
	}{
		{&net.TCPAddr{IP: net.IPv6unspecified, Port: 8000}, "Serving HTTP on :: port 8000 (http://[::]:8000/) ..."},
		{&net.TCPAddr{IP: net.IPv4zero, Port: 8000}, "Serving HTTP on 0.0.0.0 port 8000 (http://0.0.0.0:8000/) ..."},
		{&net.TCPAddr{IP: net.ParseIP("127.0.0.1"), Port: 8000}, "Serving HTTP on 127.0.0.1 port 8000 (http://127.0.0.1:8000/) ..."},
	} {
		if got := o.banner(tc.addr); got != tc.want {
			t.Errorf("banner(%v) = %q, want %q", tc.addr, got, tc.want)
		}
	}
}

// A bad command line gets argparse's usage and error lines on stderr and
// status 2, for bad values, unknown flags and extra arguments alike. The
// error lines are Python's (checked against python3 when it is installed).
func TestPyHTTPServerUsageErrors(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the command")
	}
	python, _ := exec.LookPath("python3")
	for _, tc := range []struct {
		args   []string
		want   string
		python bool // python3 -m http.server prints the same error line
	}{
		{[]string{"--bogus"}, "unrecognized arguments: --bogus", true},
		{[]string{"abc"}, "argument port: invalid int value: 'abc'", true},
		{[]string{"1", "2"}, "unrecognized arguments: 2", true},
		{[]string{"--bogus=1", "-x", "1", "2"}, "unrecognized arguments: --bogus=1 -x 2", true},
		{[]string{"-p"}, "argument -p/--protocol: expected one argument", true},
		{[]string{"--cgi=yes"}, "argument --cgi: ignored explicit argument 'yes'", true},
		{[]string{"--grace-period", "soon"}, "argument --grace-period: invalid duration value: 'soon'", false},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			cmd := caddyCommand(t, append([]string{"pyhttp-server", "-d", t.TempDir()}, tc.args...)...)
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			if ee, ok := errors.AsType[*exec.ExitError](err); !ok || ee.ExitCode() != 2 {
				t.Errorf("exit: %v, want status 2", err)
			}
			want := usageLine + "caddy pyhttp-server: error: " + tc.want + "\n"
			if stderr.String() != want {
				t.Errorf("stderr:\n%s\nwant:\n%s", stderr.String(), want)
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout: %q", stdout.String())
			}
			if !tc.python || python == "" {
				return
			}
			out, _ := exec.Command(python, append([]string{"-m", "http.server"}, tc.args...)...).CombinedOutput()
			lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
			_, pyErr, _ := strings.Cut(lines[len(lines)-1], ": error: ")
			if pyErr != tc.want {
				t.Errorf("python3 says %q, we say %q", pyErr, tc.want)
			}
		})
	}
}

// --help is argparse-style, stands alone and describes every flag.
func TestPyHTTPServerHelp(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the command")
	}
	var stdout bytes.Buffer
	cmd := caddyCommand(t, "pyhttp-server", "--help")
	cmd.Stdout = &stdout
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	help := stdout.String()
	if help != helpText {
		t.Errorf("--help:\n%s", help)
	}
	if !strings.HasPrefix(help, "usage: caddy pyhttp-server ") || strings.Contains(help, "caddyserver.com") {
		t.Errorf("help does not stand alone:\n%s", help)
	}
	fs := pflag.NewFlagSet("pyhttp-server", pflag.ContinueOnError)
	addServerFlags(fs)
	fs.VisitAll(func(f *pflag.Flag) {
		if !strings.Contains(help, "\n  --"+f.Name) && !strings.Contains(help, ", --"+f.Name) {
			t.Errorf("help does not describe --%s", f.Name)
		}
		if !strings.Contains(usageLine, "--"+f.Name) && !strings.Contains(usageLine, "-"+f.Shorthand+" ") {
			t.Errorf("usage line lacks --%s", f.Name)
		}
	})
}

// server is a running `caddy pyhttp-server --cgi` subprocess.
type server struct {
	cmd    *exec.Cmd
	url    string
	stdout *bytes.Buffer
	stderr chan string // stderr lines, closed at EOF
	// outDone is closed when stdout after the banner is in stdout.
	outDone chan struct{}
	lines   []string // stderr lines seen so far
}

// startServer runs pyhttp-server --cgi on a free loopback port, serving a
// copy of testdata/cli under /cgi-bin, and waits for its banner.
func startServer(t *testing.T, args ...string) (*server, string) {
	t.Helper()
	dir := publicTempDir(t)
	for _, name := range []string{"wait.py", "fail.py"} {
		data, err := os.ReadFile(filepath.Join("testdata", "cli", name))
		if err != nil {
			t.Fatal(err)
		}
		writeTree(t, dir, map[string]string{"cgi-bin/" + name: string(data)})
		if err := os.Chmod(filepath.Join(dir, "cgi-bin", name), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cmd := caddyCommand(t, append([]string{"pyhttp-server", "--cgi", "-d", dir, "-b", "127.0.0.1"}, append(args, "0")...)...)
	cmd.Dir = dir
	// Pipes of our own rather than StdoutPipe: the readers run until EOF,
	// independent of Wait.
	stdout, stdoutW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr, stderrW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = stdoutW, stderrW
	err = cmd.Start()
	stdoutW.Close()
	stderrW.Close()
	if err != nil {
		t.Fatal(err)
	}
	s := &server{cmd: cmd, stdout: new(bytes.Buffer), stderr: make(chan string, 100), outDone: make(chan struct{})}
	go func() {
		defer close(s.stderr)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			s.stderr <- sc.Text()
		}
	}()
	br := bufio.NewReader(stdout)
	banner, err := br.ReadString('\n')
	if err != nil {
		_ = cmd.Process.Kill()
		t.Fatalf("no banner: %v", err)
	}
	m := regexp.MustCompile(`^Serving HTTP on 127\.0\.0\.1 port (\d+) \(http://127\.0\.0\.1:(\d+)/\) \.\.\.\n$`).FindStringSubmatch(banner)
	if m == nil || m[1] != m[2] {
		t.Fatalf("banner %q", banner)
	}
	go func() { _, _ = io.Copy(s.stdout, br); close(s.outDone) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-s.outDone
		stdout.Close()
		stderr.Close()
	})
	s.url = "http://127.0.0.1:" + m[1]
	return s, dir
}

// waitLine waits for a stderr line matching re and returns it.
func (s *server) waitLine(t *testing.T, re string) string {
	t.Helper()
	r := regexp.MustCompile(re)
	timeout := time.After(20 * time.Second)
	for {
		select {
		case line, ok := <-s.stderr:
			if !ok {
				t.Fatalf("stderr ended without %s; got:\n%s", re, strings.Join(s.lines, "\n"))
			}
			s.lines = append(s.lines, line)
			if r.MatchString(line) {
				return line
			}
		case <-timeout:
			t.Fatalf("no stderr line %s; got:\n%s", re, strings.Join(s.lines, "\n"))
		}
	}
}

// Under --cgi the command writes Python's lines: send_error's, the raw
// stderr of a script, and run_cgi's exit code line, with no JSON among them.
func TestPyHTTPServerPythonLogLines(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the command")
	}
	s, _ := startServer(t)
	get := func(path string, want int) {
		t.Helper()
		resp, err := http.Get(s.url + path)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Fatalf("GET %s: %d, want %d", path, resp.StatusCode, want)
		}
	}
	get("/nope", 404)
	s.waitLine(t, `^127\.0\.0\.1 - - \[\d\d/\w{3}/\d{4} \d\d:\d\d:\d\d\] code 404, message File not found$`)
	s.waitLine(t, `^127\.0\.0\.1 - - \[[^]]+\] "GET /nope HTTP/1\.1" 404 -$`)
	get("/cgi-bin/fail.py", 200)
	s.waitLine(t, `^fail\.py: something went wrong$`)
	// The exit entry carries the request's client_ip, as Python's line does.
	s.waitLine(t, `^127\.0\.0\.1 - - \[[^]]+\] CGI script exit code 3$`)
	s.waitLine(t, `^127\.0\.0\.1 - - \[[^]]+\] "GET /cgi-bin/fail\.py HTTP/1\.1" 200 -$`)
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	for line := range s.stderr {
		s.lines = append(s.lines, line)
	}
	for _, line := range s.lines {
		if strings.HasPrefix(line, "{") {
			t.Errorf("JSON among Python's lines: %s", line)
		}
	}
}

// Ctrl-C and SIGTERM stop accepting connections but let a running script
// finish and answer, as Python does; the command then exits 0 (after
// Python's message for Ctrl-C).
func TestPyHTTPServerSignalLetsScriptsFinish(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the command")
	}
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			s, dir := startServer(t)
			flag := filepath.Join(dir, "go")
			started, answer := getWait(t, s.url+"/cgi-bin/wait.py?"+flag)
			<-started
			if err := s.cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			// The server has stopped accepting once a new connection is
			// refused; only then may the script finish.
			for deadline := time.Now().Add(20 * time.Second); ; {
				c, err := net.Dial("tcp", strings.TrimPrefix(s.url, "http://"))
				if err != nil {
					break
				}
				c.Close()
				if time.Now().After(deadline) {
					t.Fatal("the server still accepts connections")
				}
				time.Sleep(10 * time.Millisecond)
			}
			if err := os.WriteFile(flag, nil, 0o644); err != nil {
				t.Fatal(err)
			}
			if r := <-answer; r.err != nil || r.body != "started\nfinished\n" {
				t.Errorf("running script's answer: %q %v, want \"started\\nfinished\\n\"", r.body, r.err)
			}
			if err := s.cmd.Wait(); err != nil {
				t.Errorf("exit: %v, want status 0", err)
			}
			wantOut := ""
			if sig == syscall.SIGINT {
				wantOut = "\nKeyboard interrupt received, exiting.\n"
			}
			<-s.outDone
			if got := s.stdout.String(); got != wantOut {
				t.Errorf("stdout after the banner = %q, want %q", got, wantOut)
			}
		})
	}
}

// waitResult is the outcome of a request to wait.py.
type waitResult struct {
	body string
	err  error
}

// getWait requests wait.py at url; started is closed when its first line
// ("started") has arrived, answer gets the whole body.
func getWait(t *testing.T, url string) (started chan struct{}, answer chan waitResult) {
	t.Helper()
	started, answer = make(chan struct{}), make(chan waitResult, 1)
	go func() {
		resp, err := http.Get(url)
		if err != nil {
			close(started)
			answer <- waitResult{err: err}
			return
		}
		defer resp.Body.Close()
		br := bufio.NewReader(resp.Body)
		first, err := br.ReadString('\n')
		close(started)
		if err != nil {
			answer <- waitResult{body: first, err: err}
			return
		}
		rest, err := io.ReadAll(br)
		answer <- waitResult{first + string(rest), err}
	}()
	return started, answer
}

// A script that does not finish within --grace-period is stopped, and the
// command exits.
func TestPyHTTPServerGracePeriodEnds(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the command")
	}
	s, dir := startServer(t, "--grace-period", "300ms")
	started, answer := getWait(t, s.url+"/cgi-bin/wait.py?"+filepath.Join(dir, "never"))
	<-started
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Wait(); err != nil {
		t.Errorf("exit: %v, want status 0", err)
	}
	if r := <-answer; r.err == nil || strings.Contains(r.body, "finished") {
		t.Errorf("a script stopped at the end of the grace period answered in full: %q", r.body)
	}
}
