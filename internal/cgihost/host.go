//go:build unix

package cgihost

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// Errors reported by [Host.Serve], usually wrapped in an [*Error].
var (
	// ErrAborted reports a response cut short after its header was sent:
	// the client went away, the script timed out, or the host was closed.
	// The caller should then abort the connection, as Caddy's reverse proxy
	// does with panic(http.ErrAbortHandler); returning normally would let
	// net/http end a chunked body cleanly and pass the truncated response off
	// as complete.
	ErrAborted = errors.New("cgi response aborted after the header was sent")
	// ErrClosed reports a Serve call on (or interrupted by) a closed Host.
	ErrClosed = errors.New("cgi host closed")
	// ErrQueueTimeout reports that no process slot freed up within
	// QueueTimeout while MaxProcs scripts were running.
	ErrQueueTimeout = errors.New("no free cgi process slot")
	// ErrBodyTooLarge reports a request body without Content-Length that
	// exceeds MaxRequestBody.
	ErrBodyTooLarge = errors.New("request body too large")
	// ErrTimeout reports a script killed because it ran past Timeout.
	ErrTimeout = errors.New("cgi script timed out")
)

// Error is a failure before any byte of the response was written. The caller
// answers with Status (typically through caddyhttp.Error).
type Error struct {
	// Status is the HTTP status to answer with: 400, 413, 500, 502, 503 or 504.
	Status int
	// Err is the cause.
	Err error
}

// Error implements error.
func (e *Error) Error() string { return fmt.Sprintf("cgi status %d: %v", e.Status, e.Err) }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Host runs CGI scripts for one handler instance. It is safe for concurrent
// use. Configure the exported fields, then call Serve; the zero value of each
// field is documented, and fields must not change once Serve was called.
type Host struct {
	// Logger receives stderr lines, abnormal exits and debug traces; nil
	// means zap.NewNop().
	Logger *zap.Logger
	// Timeout bounds the total run time of a script; 0 means none.
	Timeout time.Duration
	// KillGrace is the delay between SIGTERM and SIGKILL when a script is
	// stopped; 0 means 5s.
	KillGrace time.Duration
	// MaxProcs caps the number of scripts running at once; 0 means no cap.
	MaxProcs int
	// QueueTimeout is how long a request waits for a slot when MaxProcs
	// scripts are running before it gets 503; 0 means 30s.
	QueueTimeout time.Duration
	// MaxRequestBody caps request bodies without Content-Length (chunked
	// HTTP/1.1, HTTP/2 and HTTP/3 uploads), which are spooled to learn their
	// length before the script starts; 0 means 64 MiB.
	MaxRequestBody int64
	// Credential runs scripts as this uid/gid with supplementary groups
	// cleared (CPython changes only the uid, leaving scripts in group root);
	// nil runs them as the server.
	Credential *syscall.Credential
	// LogCredentials keeps HTTP_COOKIE, HTTP_AUTHORIZATION and
	// HTTP_PROXY_AUTHORIZATION in logged environments; by default they are
	// blanked.
	LogCredentials bool

	initOnce sync.Once
	sem      chan struct{} // one token per running script when MaxProcs > 0
	closing  chan struct{} // closed by Close; every supervisor watches it
	mu       sync.Mutex    // guards closed, and orders procs.Add against Close
	closed   bool
	procs    sync.WaitGroup // started scripts not yet reaped
	running  atomic.Int64   // scripts started and not yet reaped
	active   atomic.Int64   // Serve calls not yet done, detached scripts included
	peak     atomic.Int64   // highest value running reached, for tests

	// devNull is stdin for requests without a body, opened once: a pipe,
	// its poller registration and a copy goroutine per request cost about
	// a tenth of a hello-world script's server time.
	devNullOnce sync.Once
	devNull     *os.File
}

// Script is one execution.
type Script struct {
	// Path is the absolute path of the script file (SCRIPT_FILENAME).
	Path string
	// Dir is the working directory; "" means the server's.
	Dir string
	// Args is argv[1:] (see [Argv]).
	Args []string
	// Interpreter, if set, runs Interpreter[0] with Interpreter[1:]..., Path,
	// Args... instead of Path. Interpreter[0] without a slash is looked up in
	// the server's PATH.
	Interpreter []string
	// Env is the complete environment ("K=V"), normally from [BuildEnv];
	// nothing is inherited from the server.
	Env []string
	// NPH marks a non-parsed-header script (an "nph-" name, RFC 3875
	// section 5): its output starts with an HTTP status line.
	NPH bool
}

// Serve runs s for r and writes the response to w.
//
// Before any response byte is written, failures are returned as [*Error]
// (the caller turns them into error pages); after the header block was sent,
// failures stop the stream and return an error wrapping [ErrAborted], on
// which the caller must abort the connection (see ErrAborted). If the
// script asked for a local redirect (RFC 3875 section 6.2.2: a Location
// starting with "/" and no Status), nothing is written and the location is
// returned for the caller to re-dispatch as GET.
//
// Serve returns once the response is complete. Normally that is after the
// script and every process in its group are gone and reaped; a script that
// closed its stdout but runs on after its whole request body was delivered
// is reaped in the background instead, keeping its MaxProcs slot and staying
// under Timeout and Close.
func (h *Host) Serve(w http.ResponseWriter, r *http.Request, s *Script) (localRedirect string, err error) {
	h.init()
	if s == nil {
		return "", &Error{Status: http.StatusInternalServerError, Err: errors.New("nil script")}
	}
	if h.isClosed() {
		return "", &Error{Status: http.StatusServiceUnavailable, Err: ErrClosed}
	}
	// Counted from here, so that Drain also waits for requests still
	// spooling a body or queueing for a slot, not only running scripts.
	h.active.Add(1)
	counted := true
	defer func() {
		if counted {
			h.active.Add(-1)
		}
	}()
	// Spool before taking a slot: a slow upload must not hold one of the
	// MaxProcs slots while no script runs.
	body, err := h.prepareBody(w, r)
	if err != nil {
		h.logRefusal(s, "cgi request body refused", err)
		return "", err
	}
	release, err := h.acquire(r.Context(), w)
	if err != nil {
		body.close()
		h.logRefusal(s, "no cgi process slot", err)
		return "", err
	}
	if body.src != nil && !body.spooled {
		// net/http otherwise discards the unread request body as soon as the
		// response starts (Go issue 15527), cutting off a script that echoes
		// while it reads. HTTP/2 is always full duplex.
		_ = http.NewResponseController(w).EnableFullDuplex()
	}
	p, err := h.start(w, r, s, body)
	if err != nil {
		release()
		body.close()
		h.logger().Error("starting cgi script", zap.String("script", s.Path), zap.String("dir", s.Dir), zap.Error(err))
		return "", err
	}
	done := func() {
		h.procs.Done()
		release()
		body.close()
	}
	detached := false
	defer func() {
		// Deferred so that even a panic from a wrapping ResponseWriter
		// cannot leak the slot and wedge Close.
		if !detached {
			done()
		}
	}()
	loc, rest, err := p.serve(w, r)
	if rest != nil {
		// The response is complete but the script runs on (it closed
		// stdout to let the client go, then kept working): it keeps its
		// slot, stays under Timeout and Close, and is reaped in the
		// background.
		detached, counted = true, false
		go func() {
			defer h.active.Add(-1)
			defer done()
			rest()
		}()
	}
	return loc, err
}

// logRefusal logs a request refused before its script started. Caddy logs
// handler errors that an error route handles only at debug level, so
// without this an operator would not see 413s and 503s at all.
func (h *Host) logRefusal(s *Script, msg string, err error) {
	if errors.Is(err, context.Canceled) {
		return // the client left; nothing to act on
	}
	h.logger().Warn(msg, zap.String("script", s.Path), zap.Error(err))
}

// Close stops every running script (SIGTERM to its process group, SIGKILL
// after KillGrace), waits until they are reaped, and makes later Serve calls
// fail with 503. It is meant for Caddy's Cleanup, after Caddy's own grace
// period, and may be called more than once.
func (h *Host) Close() error {
	h.init()
	h.mu.Lock()
	if !h.closed {
		h.closed = true
		close(h.closing)
	}
	h.mu.Unlock()
	h.procs.Wait()
	// Close already waited for every started script, and start checks
	// closed before it spawns, so no script can still be handed devNull.
	h.devNullOnce.Do(func() {}) // orders the read after a concurrent first emptyStdin
	if h.devNull != nil {
		_ = h.devNull.Close()
	}
	return nil
}

// Drain waits until no script runs any more, or grace has passed (grace <= 0
// waits without limit), then closes the host: what still runs is stopped as
// Close stops it. It serves a config reload, where the old handler's
// requests and scripts may finish within the server's grace period.
func (h *Host) Drain(grace time.Duration) {
	h.init()
	var deadline <-chan time.Time
	if grace > 0 {
		t := time.NewTimer(grace)
		defer t.Stop()
		deadline = t.C
	}
	tick := time.NewTicker(drainPoll)
	defer tick.Stop()
	// Idle for drainQuiet in a row, not just once: a request the old server
	// accepted may still be in an earlier handler (basic_auth's bcrypt, a
	// body being read) and reach Serve a moment later.
	quiet := 0
	for quiet < drainQuiet {
		select {
		case <-deadline:
			_ = h.Close()
			return
		case <-h.closing:
			return
		case <-tick.C:
		}
		if h.active.Load() > 0 {
			quiet = 0
		} else {
			quiet++
		}
	}
	_ = h.Close()
}

// emptyStdin returns the shared /dev/null, or nil if it cannot be opened
// (the caller then falls back to a pipe).
func (h *Host) emptyStdin() *os.File {
	h.devNullOnce.Do(func() {
		if f, err := os.Open(os.DevNull); err == nil { // O_CLOEXEC
			h.devNull = f
		}
	})
	return h.devNull
}

func (h *Host) init() {
	h.initOnce.Do(func() {
		markInheritedCloseOnExec()
		h.closing = make(chan struct{})
		if h.MaxProcs > 0 {
			h.sem = make(chan struct{}, h.MaxProcs)
		}
	})
}

func (h *Host) isClosed() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.closed
}

func (h *Host) logger() *zap.Logger {
	if h.Logger == nil {
		return zap.NewNop()
	}
	return h.Logger
}

func (h *Host) killGrace() time.Duration {
	if h.KillGrace <= 0 {
		return defaultKillGrace
	}
	return h.KillGrace
}

// acquire takes a process slot, waiting at most QueueTimeout.
func (h *Host) acquire(ctx context.Context, w http.ResponseWriter) (release func(), err error) {
	if h.sem == nil {
		return func() {}, nil
	}
	release = func() { <-h.sem }
	// Fast path without a timer: under normal load a slot is free.
	select {
	case h.sem <- struct{}{}:
		return release, nil
	default:
	}
	wait := h.QueueTimeout
	if wait <= 0 {
		wait = defaultQueueTimeout
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case h.sem <- struct{}{}:
		return release, nil
	case <-t.C:
		// RFC 9110 section 10.2.3: suggest retrying after one queue period.
		w.Header().Set("Retry-After", strconv.Itoa(max(1, int(math.Ceil(wait.Seconds())))))
		return nil, &Error{Status: http.StatusServiceUnavailable, Err: ErrQueueTimeout}
	case <-ctx.Done():
		return nil, &Error{Status: http.StatusServiceUnavailable, Err: fmt.Errorf("waiting for a process slot: %w", context.Cause(ctx))}
	case <-h.closing:
		return nil, &Error{Status: http.StatusServiceUnavailable, Err: ErrClosed}
	}
}

// requestBody is what the script reads on stdin.
type requestBody struct {
	src  io.Reader // streamed through a pipe; nil when file is set
	n    int64     // exact number of bytes to deliver
	file *os.File  // spooled body, handed to the script as fd 0
	// spooled reports that n was measured here and CONTENT_LENGTH must be
	// set from it.
	spooled bool
}

func (b *requestBody) close() {
	if b.file != nil {
		_ = b.file.Close()
	}
}

// prepareBody decides how the body reaches stdin. A body of known length is
// streamed; one without (chunked, or HTTP/2 without content-length) is
// spooled first because RFC 3875 section 4.1.2 requires CONTENT_LENGTH
// whenever there is a body, and CPython-era scripts read exactly that many
// bytes.
func (h *Host) prepareBody(w http.ResponseWriter, r *http.Request) (*requestBody, error) {
	switch {
	case r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0:
		return &requestBody{}, nil
	case r.ContentLength > 0:
		return &requestBody{src: r.Body, n: r.ContentLength}, nil
	}
	if h.Timeout > 0 {
		// A client trickling a chunked body would otherwise hold its spool
		// (memory, then disk) for ever: spooling counts against Timeout
		// like the script's run does.
		rc := http.NewResponseController(w)
		if rc.SetReadDeadline(time.Now().Add(h.Timeout)) == nil {
			defer func() { _ = rc.SetReadDeadline(time.Time{}) }()
		}
	}
	limit := h.MaxRequestBody
	if limit <= 0 {
		limit = defaultMaxRequestBody
	}
	var mem bytes.Buffer
	n, err := io.CopyN(&mem, r.Body, min(limit, memorySpool)+1)
	if errors.Is(err, io.EOF) {
		return &requestBody{src: bytes.NewReader(mem.Bytes()), n: n, spooled: true}, nil
	}
	if err != nil {
		return nil, bodyError(err)
	}
	if n > limit {
		return nil, &Error{Status: http.StatusRequestEntityTooLarge, Err: ErrBodyTooLarge}
	}
	f, err := os.CreateTemp("", "cgihost-body-*")
	if err != nil {
		return nil, &Error{Status: http.StatusInternalServerError, Err: fmt.Errorf("spooling request body: %w", err)}
	}
	// Unlinked at once: the data lives only as long as the descriptors, so
	// nothing is left behind whatever happens next.
	_ = os.Remove(f.Name())
	body := &requestBody{file: f, spooled: true}
	if _, err := f.Write(mem.Bytes()); err != nil {
		body.close()
		return nil, &Error{Status: http.StatusInternalServerError, Err: fmt.Errorf("spooling request body: %w", err)}
	}
	m, err := io.CopyN(f, r.Body, limit-n+1)
	body.n = n + m
	switch {
	case err == nil:
		body.close()
		return nil, &Error{Status: http.StatusRequestEntityTooLarge, Err: ErrBodyTooLarge}
	case !errors.Is(err, io.EOF):
		body.close()
		return nil, bodyError(err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		body.close()
		return nil, &Error{Status: http.StatusInternalServerError, Err: fmt.Errorf("spooling request body: %w", err)}
	}
	return body, nil
}

func bodyError(err error) error {
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
		return &Error{Status: http.StatusRequestEntityTooLarge, Err: fmt.Errorf("reading request body: %w", err)}
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return &Error{Status: http.StatusRequestTimeout, Err: fmt.Errorf("reading request body: %w", err)}
	}
	return &Error{Status: http.StatusBadRequest, Err: fmt.Errorf("reading request body: %w", err)}
}

// reason records why a script is being stopped early.
type reason int32

const (
	reasonNone reason = iota
	reasonClientGone
	reasonTimeout
	reasonClosed
	reasonAborted // Serve gave up on the script (bad header, failed write)
)

// process is one running script and the goroutines that serve it.
type process struct {
	h      *Host
	script *Script
	cmd    *exec.Cmd
	pid    int
	start  time.Time
	log    *zap.Logger
	sys    sysState // per-OS wait state (proc_linux.go, proc_other.go)

	stdout *os.File
	stderr *os.File
	stdin  *os.File // write end of the stdin pipe; nil when nothing is streamed

	exited     chan struct{} // leader exited (still unreaped)
	stop       chan struct{} // closed by abort
	detach     chan struct{} // closed when the response is complete but the leader still runs
	stopOnce   sync.Once
	stdoutEOF  chan struct{} // Serve saw EOF on stdout
	eofOnce    sync.Once
	killed     chan struct{} // the group got its final SIGKILL
	supDone    chan struct{}
	stdinDone  chan struct{}
	stderrDone chan struct{}

	why         atomic.Int32 // reason
	streaming   bool         // between the header and the end of the body copy; guarded by wmu
	wmu         sync.Mutex   // orders the supervisor's use of w against the end of the response
	ownDeadline bool         // the current stdout read deadline was set by the reader
	postKill    int64        // stdout bytes read after the final SIGKILL

	errlog *stderrLog
}

// start spawns the script and its helper goroutines.
func (h *Host) start(w http.ResponseWriter, r *http.Request, s *Script, body *requestBody) (*process, error) {
	internal := func(step string, err error) error {
		return &Error{Status: http.StatusInternalServerError, Err: fmt.Errorf("%s: %w", step, err)}
	}
	prog, argv := s.Path, []string{filepath.Base(s.Path)}
	if len(s.Interpreter) > 0 {
		prog = s.Interpreter[0]
		if !strings.Contains(prog, "/") {
			lp, err := exec.LookPath(prog)
			if err != nil {
				return nil, internal("finding interpreter", err)
			}
			prog = lp
		}
		argv = append(append(slices.Clone(s.Interpreter), s.Path), s.Args...)
	} else {
		argv = append(argv, s.Args...)
	}
	// A nil Env would make os/exec inherit the server's environment.
	env := append(make([]string, 0, len(s.Env)+1), s.Env...)
	if body.spooled {
		env = setEnv(env, "CONTENT_LENGTH", strconv.FormatInt(body.n, 10))
	}

	var files []*os.File // every descriptor to close on a failed start
	closeAll := func() {
		for _, f := range files {
			_ = f.Close()
		}
	}
	pipe := func() (*os.File, *os.File, error) {
		rd, wr, err := os.Pipe() // O_CLOEXEC: only fds 0-2 reach the script
		if err == nil {
			files = append(files, rd, wr)
		}
		return rd, wr, err
	}
	stdoutR, stdoutW, err := pipe()
	if err != nil {
		return nil, internal("creating stdout pipe", err)
	}
	stderrR, stderrW, err := pipe()
	if err != nil {
		closeAll()
		return nil, internal("creating stderr pipe", err)
	}
	stdinR, stdinW := body.file, (*os.File)(nil)
	if stdinR == nil && body.src == nil {
		stdinR = h.emptyStdin() // no body: EOF at once
	}
	if stdinR == nil {
		if stdinR, stdinW, err = pipe(); err != nil {
			closeAll()
			return nil, internal("creating stdin pipe", err)
		}
	}
	growPipe(stdoutR)

	attr := &syscall.SysProcAttr{Setpgid: true}
	if h.Credential != nil {
		cred := *h.Credential
		// An empty list with NoSetGroups false makes the child call
		// setgroups(0), dropping the server's supplementary groups.
		cred.Groups, cred.NoSetGroups = nil, false
		attr.Credential = &cred
	}
	pidfd := requestPidFD(attr)
	cmd := &exec.Cmd{
		Path:        prog,
		Args:        argv,
		Env:         env,
		Dir:         s.Dir,
		Stdin:       stdinR,
		Stdout:      stdoutW,
		Stderr:      stderrW,
		SysProcAttr: attr,
	}

	logger := h.logger()
	if ce := logger.Check(zapcore.DebugLevel, "starting cgi script"); ce != nil {
		ce.Write(zap.String("script", s.Path), zap.Strings("argv", argv), zap.String("dir", s.Dir),
			zap.Object("env", LoggableEnv{Env: env, LogCredentials: h.LogCredentials}))
	}

	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		closeAll()
		return nil, &Error{Status: http.StatusServiceUnavailable, Err: ErrClosed}
	}
	h.procs.Add(1)
	h.mu.Unlock()

	if err := cmd.Start(); err != nil {
		h.procs.Done()
		closeAll()
		// exec failed: no such interpreter, not an executable format, no
		// permission for the script's user. The script is at fault, as
		// with a broken header block: 502, not the server's 500.
		return nil, &Error{Status: http.StatusBadGateway, Err: fmt.Errorf("starting cgi script: %w", err)}
	}
	// The child holds its own copies; ours would keep the pipes from
	// reporting EOF.
	_ = stdoutW.Close()
	_ = stderrW.Close()
	if stdinW != nil {
		_ = stdinR.Close()
	}
	n := h.running.Add(1)
	for old := h.peak.Load(); n > old && !h.peak.CompareAndSwap(old, n); old = h.peak.Load() {
	}

	p := &process{
		h:          h,
		script:     s,
		cmd:        cmd,
		pid:        cmd.Process.Pid,
		sys:        newSysState(pidfd),
		start:      time.Now(),
		log:        logger,
		stdout:     stdoutR,
		stderr:     stderrR,
		stdin:      stdinW,
		exited:     make(chan struct{}),
		stop:       make(chan struct{}),
		detach:     make(chan struct{}),
		stdoutEOF:  make(chan struct{}),
		killed:     make(chan struct{}),
		supDone:    make(chan struct{}),
		stdinDone:  make(chan struct{}),
		stderrDone: make(chan struct{}),
	}
	p.errlog = &stderrLog{log: logger, script: s.Path, pid: p.pid}

	go func() {
		defer close(p.exited)
		p.awaitExit()
	}()
	go p.supervise(r.Context(), w)
	if stdinW != nil {
		go p.copyStdin(body)
	} else {
		close(p.stdinDone)
	}
	go p.readStderr()
	return p, nil
}

// setEnv replaces or appends name in env.
func setEnv(env []string, name, value string) []string {
	prefix := name + "="
	out := env[:0]
	for _, kv := range env {
		if !strings.HasPrefix(kv, prefix) {
			out = append(out, kv)
		}
	}
	return append(out, prefix+value)
}

// copyStdin streams exactly body.n bytes to the script, then closes its
// stdin so it sees EOF (CPython hands over the raw socket instead, and a
// script reading to EOF hangs).
func (p *process) copyStdin(body *requestBody) {
	defer close(p.stdinDone)
	if p.stdin == nil {
		return
	}
	defer p.stdin.Close()
	if body.n == 0 {
		return
	}
	_, err := io.CopyN(p.stdin, body.src, body.n)
	// EPIPE just means the script did not want the body; a deadline means
	// the script is gone and finish cut the copy short.
	if err != nil && !errors.Is(err, syscall.EPIPE) && !errors.Is(err, os.ErrDeadlineExceeded) {
		if ce := p.log.Check(zapcore.DebugLevel, "copying request body to cgi script"); ce != nil {
			ce.Write(zap.String("script", p.script.Path), zap.Int("pid", p.pid), zap.Error(err))
		}
	}
}

// supervise stops the script when the client leaves, Timeout passes, the
// host closes or Serve gives up, and kills the whole group once the leader
// is gone. It never reaps: the unreaped leader pins the pgid for kill(-pgid).
func (p *process) supervise(ctx context.Context, w http.ResponseWriter) {
	defer close(p.supDone)
	var timeout <-chan time.Time
	if p.h.Timeout > 0 {
		t := time.NewTimer(p.h.Timeout - time.Since(p.start))
		defer t.Stop()
		timeout = t.C
	}
	why := reasonNone
	ctxDone, detach := ctx.Done(), p.detach
wait:
	for {
		select {
		case <-p.exited:
			break wait
		case <-ctxDone:
			select {
			case <-p.detach:
				// Both were ready: the response completed first, and its
				// end is what cancelled ctx.
				ctxDone, detach = nil, nil
				continue
			default:
			}
			why = reasonClientGone
		case <-timeout:
			why = reasonTimeout
		case <-p.h.closing:
			why = reasonClosed
		case <-p.stop:
			why = reasonAborted
		case <-detach:
			// The response is complete: the request's end (which
			// cancels ctx) no longer concerns the script.
			ctxDone, detach = nil, nil
			continue
		}
		break
	}
	if why != reasonNone {
		p.why.CompareAndSwap(int32(reasonNone), int32(why))
		// Nobody wants the rest of the output: wake the reader now.
		_ = p.stdout.SetReadDeadline(time.Now())
		if why == reasonTimeout || why == reasonClosed {
			// A client that stopped reading would otherwise pin this request
			// (and its process slot) in a blocked Write. Under wmu: once the
			// response is over, w belongs to net/http again.
			p.wmu.Lock()
			if p.streaming {
				_ = http.NewResponseController(w).SetWriteDeadline(time.Now())
			}
			p.wmu.Unlock()
		}
		p.terminate()
	} else {
		// The leader exited by itself. Children may still be writing output
		// it delegated to them; give them a moment unless stdout is done.
		t := time.NewTimer(exitLinger)
		select {
		case <-t.C:
		case <-p.stdoutEOF:
		}
		t.Stop()
	}
	// No grandchild outlives the request (a "sleep 1000 &" would otherwise
	// hold the pipes and linger forever).
	p.signal(syscall.SIGKILL)
	close(p.killed)
	if why == reasonNone {
		// Whatever is still buffered in the pipe gets read; only a process
		// that escaped the group (setsid) could keep it open, and the reader
		// gives up after one more linger.
		_ = p.stdout.SetReadDeadline(time.Now().Add(exitLinger))
	}
}

// terminate sends SIGTERM to the group and SIGKILL after KillGrace, and
// returns once the leader has exited.
func (p *process) terminate() {
	p.signal(syscall.SIGTERM)
	t := time.NewTimer(p.h.killGrace())
	defer t.Stop()
	select {
	case <-p.exited:
	case <-t.C:
		p.signal(syscall.SIGKILL)
		<-p.exited
	}
}

// signal signals the whole process group. Safe until reap: the leader's
// zombie keeps the pgid from being recycled.
func (p *process) signal(sig syscall.Signal) {
	_ = syscall.Kill(-p.pid, sig)
}

// abort asks the supervisor to stop the script.
func (p *process) abort() { p.stopOnce.Do(func() { close(p.stop) }) }

func (p *process) reason() reason { return reason(p.why.Load()) }

// Read reads stdout, applying the exit linger: once the group is dead,
// buffered output is still delivered in full, however slow the client, but a
// pipe held open by an escaped process ends the stream after exitLinger of
// silence or after more than a pipe's worth of new data.
func (p *process) Read(b []byte) (int, error) {
	for {
		if p.reason() != reasonNone {
			return 0, errTerminated
		}
		select {
		case <-p.killed:
			if p.postKill > 2*pipeCapacity {
				return 0, io.EOF
			}
			_ = p.stdout.SetReadDeadline(time.Now().Add(exitLinger))
			p.ownDeadline = true
		default:
		}
		n, err := p.stdout.Read(b)
		if p.reason() != reasonNone {
			// Checked after the read too: a read woken by the supervisor's
			// deadline can still report EOF if the pipe closes before the
			// reader runs, which would pass a killed script's output off as
			// complete.
			return 0, errTerminated
		}
		if p.ownDeadline {
			p.postKill += int64(n)
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			if p.ownDeadline {
				return n, io.EOF
			}
			if n > 0 {
				return n, nil
			}
			continue // the supervisor's linger deadline hit a read it did not expect
		}
		if errors.Is(err, io.EOF) {
			p.eofOnce.Do(func() { close(p.stdoutEOF) })
		}
		return n, err
	}
}

// finish waits for the leader, the group kill and the helpers, reaps the
// leader and releases every descriptor. It returns the exit state.
func (p *process) finish(w http.ResponseWriter) *os.ProcessState {
	<-p.supDone
	state, err := p.reap()
	if err != nil {
		p.log.Error("reaping cgi script", zap.String("script", p.script.Path), zap.Int("pid", p.pid), zap.Error(err))
	}
	p.cutStdin(w)
	_ = p.stderr.SetReadDeadline(time.Now().Add(exitLinger))
	<-p.stderrDone
	p.errlog.finish()
	_ = p.stdout.Close()
	_ = p.stderr.Close()
	p.h.running.Add(-1)
	return state
}

// cutStdin ends the request body copy: it unblocks a copy stuck writing to
// a script that did not read its body, then, if the copy is stuck reading a
// slow upload instead, cuts the request body short, since it must not be
// touched after Serve returns. Once the copy is done it returns at once.
func (p *process) cutStdin(w http.ResponseWriter) {
	if p.stdin == nil {
		return
	}
	_ = p.stdin.SetWriteDeadline(time.Now())
	t := time.NewTimer(stdinGrace)
	defer t.Stop()
	select {
	case <-p.stdinDone:
	case <-t.C:
		_ = http.NewResponseController(w).SetReadDeadline(time.Now())
		<-p.stdinDone
	}
}

// serve handles the script's output: header block, then body. If the
// script closed its stdout but keeps running after the body is complete,
// serve returns rest, which waits for the script and reaps it; the caller
// runs it after the response is finished.
func (p *process) serve(w http.ResponseWriter, r *http.Request) (string, func(), error) {
	bufs := bufferPool.Get().(*buffers)
	defer bufferPool.Put(bufs)
	bufs.br.Reset(p)
	defer bufs.br.Reset(nil)

	hdr, err := ReadHeader(bufs.br, maxHeaderBytes, p.script.NPH)
	if err != nil {
		return "", nil, p.fail(w, err)
	}

	status, loc := hdr.Status, hdr.Location
	if loc != "" && status == 0 {
		if strings.HasPrefix(loc, "/") {
			// RFC 3875 section 6.2.2: the server serves loc itself. The rest of
			// the output is meaningless but the script must finish.
			_, err := io.Copy(io.Discard, bufs.br)
			p.errlog.setStatus(http.StatusOK)
			if err == nil && p.stdinDelivered() && !p.exitsSoon() {
				// As for a complete body: the redirect need not wait for
				// a script that closed stdout and works on.
				close(p.detach)
				return loc, func() { p.logExit(p.finish(nil), 0) }, nil
			}
			state := p.finish(w)
			if err != nil {
				return "", nil, p.failed(state, err)
			}
			p.logExit(state, 0)
			return loc, nil, nil
		}
		// RFC 3875 section 6.2.3: a client redirect.
		status = http.StatusFound
	}
	if status == 0 {
		status = http.StatusOK
	}

	out := w.Header()
	for k, vv := range hdr.Header {
		out[k] = vv
	}
	out.Del("Content-Length")
	if loc != "" {
		out.Set("Location", loc)
	}
	if _, ok := hdr.Header["Content-Type"]; !ok {
		// Without a Content-Type, net/http would sniff one from the body.
		out["Content-Type"] = nil
	}
	p.wmu.Lock()
	p.streaming = true
	p.wmu.Unlock()
	p.errlog.setStatus(status)
	w.WriteHeader(status)

	rc := http.NewResponseController(w)
	// HEAD and 204/304 send no body (CPython sends it anyway), but the output
	// is still drained so the script is not blocked on a full pipe.
	discard := r.Method == http.MethodHead || !bodyAllowed(status)
	var copyErr error
	if !discard && bufs.br.Buffered() == 0 {
		// Show the header now: an event stream may be silent for a while.
		if err := rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
			p.abort()
			copyErr = p.abortCause(fmt.Errorf("flushing response header: %w", err))
		}
	}
	if copyErr == nil {
		copyErr = p.copyBody(w, rc, bufs, discard)
	}
	// A script that closed stdout and runs on past Timeout must not get its
	// complete response cut by a write deadline.
	p.wmu.Lock()
	p.streaming = false
	p.wmu.Unlock()
	if copyErr == nil && p.stdinDelivered() && !p.exitsSoon() {
		// The body is complete (stdout reached EOF) but the script runs
		// on: let the response end now instead of holding the client until
		// the script exits, as CPython does. Apache likewise ends the
		// response and deals with the process afterwards.
		p.cutStdin(w)
		close(p.detach)
		return "", func() {
			p.logExit(p.finish(nil), status)
		}, nil
	}
	state := p.finish(w)
	p.logExit(state, status)
	if copyErr != nil {
		return "", nil, fmt.Errorf("%w: %w", ErrAborted, copyErr)
	}
	if killedFromOutside(state) && p.reason() == reasonNone && !discard {
		// The OOM killer or an operator's kill -9 cut the script short;
		// ending the chunked body normally would pass half a response off
		// as complete, and the signal is the only sign of it.
		return "", nil, fmt.Errorf("%w: cgi script killed by %v while writing its body", ErrAborted, state.Sys())
	}
	return "", nil, nil
}

// killedFromOutside reports whether the script died of a signal it did not
// get from this host (which kills only after the leader has exited, or
// with a reason recorded).
func killedFromOutside(state *os.ProcessState) bool {
	if state == nil {
		return false
	}
	ws, ok := state.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled()
}

// stdinDelivered reports whether the whole request body has reached the
// script (or there was none to stream). A script that answered early and
// still reads its upload must not be detached: that would cut the body
// short and pass the truncation off as EOF.
func (p *process) stdinDelivered() bool {
	select {
	case <-p.stdinDone:
		return true
	default:
		return false
	}
}

// exitsSoon reports whether the leader exits within exitLinger of the end
// of its output, which is what almost every script does.
func (p *process) exitsSoon() bool {
	select {
	case <-p.exited:
		return true
	default:
	}
	t := time.NewTimer(exitLinger)
	defer t.Stop()
	select {
	case <-p.exited:
		return true
	case <-t.C:
		return false
	}
}

// copyBody streams the body as the script writes it: whenever a read comes
// back short the pipe is empty for now, so what was read is flushed, which
// is what server-sent events and long polling need.
func (p *process) copyBody(w http.ResponseWriter, rc *http.ResponseController, bufs *buffers, discard bool) error {
	buf := bufs.buf
	for {
		n, rerr := bufs.br.Read(buf)
		if n > 0 && !discard {
			if _, err := w.Write(buf[:n]); err != nil {
				p.abort()
				return p.abortCause(fmt.Errorf("writing response: %w", err))
			}
			if n < len(buf) && !p.leaderExited() {
				// Once the script has exited, the rest of its output is
				// already in the pipe: the next reads end the body, and
				// flushing now would only cost a system call and a TCP
				// segment ahead of the final chunk.
				if err := rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
					p.abort()
					return p.abortCause(fmt.Errorf("flushing response: %w", err))
				}
			}
		}
		switch {
		case rerr == nil:
		case errors.Is(rerr, io.EOF):
			return nil
		default:
			p.abort()
			return p.abortCause(rerr)
		}
	}
}

// leaderExited reports whether the script's leader process has exited.
func (p *process) leaderExited() bool {
	select {
	case <-p.exited:
		return true
	default:
		return false
	}
}

// abortCause names why a started response stopped.
func (p *process) abortCause(err error) error {
	switch p.reason() {
	case reasonClientGone:
		return fmt.Errorf("client gone: %w", err)
	case reasonTimeout:
		return ErrTimeout
	case reasonClosed:
		return ErrClosed
	}
	if errors.Is(err, errTerminated) {
		return errors.New("reading script output: stopped")
	}
	return fmt.Errorf("reading script output: %w", err)
}

// fail handles a failure before the response started: stop the script, wait
// for it, log one line and pick the status.
func (p *process) fail(w http.ResponseWriter, err error) error {
	p.abort()
	status := statusFor(p.reason())
	p.errlog.setStatus(status)
	state := p.finish(w)
	return p.failedWith(state, status, err)
}

// failed is fail for a script already finished.
func (p *process) failed(state *os.ProcessState, err error) error {
	return p.failedWith(state, statusFor(p.reason()), err)
}

func (p *process) failedWith(state *os.ProcessState, status int, err error) error {
	switch p.reason() {
	case reasonTimeout:
		err = ErrTimeout
	case reasonClosed:
		err = ErrClosed
	case reasonClientGone:
		err = fmt.Errorf("client gone before the cgi header: %w", context.Canceled)
	}
	fields := append(p.exitFields(state, status), zap.Error(err))
	p.log.Error("cgi script failed before its header block", fields...)
	return &Error{Status: status, Err: err}
}

// statusFor maps why a script stopped before its header to a status.
func statusFor(why reason) int {
	switch why {
	case reasonTimeout:
		return http.StatusGatewayTimeout
	case reasonClosed:
		return http.StatusServiceUnavailable
	}
	return http.StatusBadGateway
}

// logExit logs a non-zero exit or death by signal.
func (p *process) logExit(state *os.ProcessState, status int) {
	if state == nil || state.Success() {
		return
	}
	level := zapcore.WarnLevel
	if status >= 500 {
		level = zapcore.ErrorLevel
	}
	if ce := p.log.Check(level, "cgi script exited abnormally"); ce != nil {
		ce.Write(p.exitFields(state, status)...)
	}
}

func (p *process) exitFields(state *os.ProcessState, status int) []zap.Field {
	fields := []zap.Field{
		zap.String("script", p.script.Path),
		zap.Int("pid", p.pid),
		zap.Duration("duration", time.Since(p.start)),
		zap.Int("status", status),
	}
	if state == nil {
		return fields
	}
	if ws, ok := state.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return append(fields, zap.String("signal", ws.Signal().String()))
	}
	return append(fields, zap.Int("exit_code", state.ExitCode()))
}

// bodyAllowed reports whether status may carry content (RFC 9110 sections
// 15.3.5 and 15.4.5); net/http refuses writes otherwise.
func bodyAllowed(status int) bool {
	return status != http.StatusNoContent && status != http.StatusNotModified
}

// errTerminated is what the stdout reader reports once the supervisor has
// decided to stop the script.
var errTerminated = errors.New("cgi script stopped")

type buffers struct {
	br  *bufio.Reader
	buf []byte
}

// bufferPool keeps the per-request stdout buffers: a large copy buffer keeps
// the syscall count low on big outputs (the ~2 GB/s target), pooling keeps
// memory flat under load.
var bufferPool = sync.Pool{New: func() any {
	return &buffers{br: bufio.NewReaderSize(nil, headerBufSize), buf: make([]byte, copyBufSize)}
}}

const (
	defaultKillGrace      = 5 * time.Second
	defaultQueueTimeout   = 30 * time.Second
	defaultMaxRequestBody = 64 << 20
	// memorySpool is how much of a length-less body is kept in memory before
	// spilling to an unlinked temporary file.
	memorySpool = 1 << 20
	// maxHeaderBytes caps the CGI header block.
	maxHeaderBytes = 64 << 10
	headerBufSize  = 16 << 10
	copyBufSize    = 256 << 10
	// exitLinger is how long output is still awaited from a group whose
	// leader has exited.
	exitLinger = 100 * time.Millisecond
	// drainPoll is how often Drain looks for running scripts, and
	// drainQuiet how many idle looks in a row let it close the host.
	drainPoll  = 50 * time.Millisecond
	drainQuiet = 5
	// stdinGrace lets an in-flight body copy notice the script is gone
	// before the request body is cut off.
	stdinGrace = 20 * time.Millisecond
	// pipeCapacity is the most a pipe can hold, to bound reading after the
	// group is dead.
	pipeCapacity = 1 << 20
)
