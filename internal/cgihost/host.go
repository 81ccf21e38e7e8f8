//go:build unix

package cgihost

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"go.uber.org/zap"
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
	// ErrSpoolBudget reports a request body refused because the bodies
	// already spooled fill the host's [SpoolBudget].
	ErrSpoolBudget = errors.New("request body spool budget exhausted")
	// ErrTimeout reports a script killed because it ran past Timeout.
	ErrTimeout = errors.New("cgi script timed out")
)

// Error is a failure before any byte of the response was written. The caller
// answers with Status (typically through caddyhttp.Error).
type Error struct {
	// Status is the HTTP status to answer with: 400, 408, 413, 500, 502, 503
	// or 504.
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
	// Spool bounds the bytes spooled at once by every Host sharing it;
	// nil means [DefaultSpoolBudget], shared by the whole process.
	Spool *SpoolBudget
	// UIDPool, if set, runs each script as a uid (and gid) of its own,
	// taken from the pool for the script's run (see [UIDPool]); Credential
	// is then unused.
	UIDPool *UIDPool
	// Credential runs scripts as this uid/gid with supplementary groups
	// cleared (CPython changes only the uid, leaving scripts in group root);
	// nil runs them as the server.
	Credential *syscall.Credential
	// Observer, if set, receives the host's events (see [Observer]).
	Observer Observer
	// Limits, if set, are applied to every script before its first
	// instruction (see [Limits]); nil sets none.
	Limits *Limits

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
	// Credential, when set, runs this script as that uid/gid instead of
	// Host.Credential (pyhttp_cgi's `user owner`), with no supplementary
	// groups either.
	Credential *syscall.Credential
	// Logger, if set, replaces Host.Logger for this execution: the caller
	// gives it the request's fields (method, URI, client IP, request id),
	// so that every line about the script names its request.
	Logger *zap.Logger
	// LogCredentials keeps HTTP_COOKIE, HTTP_AUTHORIZATION and
	// HTTP_PROXY_AUTHORIZATION in the logged environment; by default they
	// are blanked. It is per execution because it is a per-server setting
	// in Caddy (log_credentials), read per request as fastcgi does.
	LogCredentials bool
}

// logger returns the logger for lines about s.
func (s *Script) logger(h *Host) *zap.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return h.logger()
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
	var res outcome
	defer func() {
		// Deferred so that a panic from a wrapping ResponseWriter cannot
		// leave the request counted for ever.
		if res.background == nil {
			h.active.Add(-1)
		}
	}()
	res = h.run(w, r, s)
	if res.background != nil {
		// The response is complete but the script runs on (it closed
		// stdout to let the client go, then kept working): it keeps its
		// slot, stays under Timeout and Close, and is reaped here.
		go func() {
			defer h.active.Add(-1)
			res.background()
		}()
	}
	return res.localRedirect, res.err
}

// outcome is what serving one request produced.
type outcome struct {
	// localRedirect is the path to re-dispatch as GET; nothing was written.
	localRedirect string
	// err is an [*Error] before the header was sent, or wraps ErrAborted.
	err error
	// background, if set, is the rest of a detached script's life (see
	// process.detach): waiting for it, reaping it and releasing its slot.
	// Serve runs it after the response is complete.
	background func()
}

// run takes one request through body preparation, a process slot and the
// script's run. Every resource it takes is released before it returns,
// unless the outcome has a background function, which then owns them.
func (h *Host) run(w http.ResponseWriter, r *http.Request, s *Script) outcome {
	// The slot first, then the body: a request queued behind MaxProcs
	// must not spool (memory, then disk) while it waits, or MaxProcs
	// clients could fill the disk with queued uploads. A slow upload now
	// holds its slot, bounded by Timeout as the script's run is.
	release, err := h.acquire(r, w)
	if err != nil {
		h.logRefusal(r, s, "no cgi process slot", err)
		return outcome{err: err}
	}
	body, err := h.prepareBody(w, r)
	if err != nil {
		release()
		b := h.spoolBudget()
		h.logRefusal(r, s, "cgi request body refused", err,
			zap.Int64("spool_in_use", b.InUse()), zap.Int64("spool_budget", b.Limit()))
		return outcome{err: err}
	}
	cred, releaseUID, err := h.credentialFor(s)
	if err != nil {
		body.close()
		release()
		h.logRefusal(r, s, "no uid for cgi script", err)
		return outcome{err: err}
	}
	if body.src != nil && !body.spooled {
		// net/http otherwise discards the unread request body as soon as the
		// response starts (Go issue 15527), cutting off a script that echoes
		// while it reads. HTTP/2 is always full duplex.
		_ = http.NewResponseController(w).EnableFullDuplex()
	}
	p, err := h.start(w, r, s, body, cred)
	if err != nil {
		releaseUID()
		release()
		body.close()
		s.logger(h).Error("starting cgi script", zap.String("script", s.Path), zap.String("dir", s.Dir), zap.Error(err))
		if he, ok := errors.AsType[*Error](err); ok && he.Status == http.StatusBadGateway && h.Observer != nil {
			// Only exec itself answers 502 here (see spawn).
			h.Observer.Finished(r, &Exit{Outcome: OutcomeExecFailure, Code: -1})
		}
		return outcome{err: err}
	}
	done := func() {
		h.procs.Done()
		releaseUID() // after the reap: the uid's processes are gone
		release()
		body.close()
	}
	var res outcome
	defer func() {
		// Deferred so that even a panic from a wrapping ResponseWriter
		// cannot leak the slot and wedge Close.
		if res.background == nil {
			done()
		}
	}()
	res = p.serve(w, r)
	if rest := res.background; rest != nil {
		res.background = func() {
			defer done()
			rest()
		}
	}
	return res
}

// logRefusal logs a request refused before its script started. Caddy logs
// handler errors that an error route handles only at debug level, so
// without this an operator would not see 413s and 503s at all.
func (h *Host) logRefusal(r *http.Request, s *Script, msg string, err error, fields ...zap.Field) {
	if why, ok := refusalOf(err); ok && h.Observer != nil {
		h.Observer.Refused(r, why)
	}
	if errors.Is(err, context.Canceled) {
		return // the client left; nothing to act on
	}
	s.logger(h).Warn(msg, append([]zap.Field{zap.String("script", s.Path), zap.Error(err)}, fields...)...)
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

// Drain waits until no request has been in Serve for a quiet spell
// (drainQuiet polls drainPoll apart) or grace has passed (grace <= 0
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
func (h *Host) acquire(r *http.Request, w http.ResponseWriter) (release func(), err error) {
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
	if h.Observer != nil {
		h.Observer.Queued(r)
		defer func(start time.Time) { h.Observer.Dequeued(r, time.Since(start)) }(time.Now())
	}
	ctx := r.Context()
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
