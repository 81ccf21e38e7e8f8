//go:build unix

package cgihost

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
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
	cmd    *scriptCmd
	pid    int
	start  time.Time
	log    *zap.Logger
	sys    sysState      // per-OS wait state (proc_linux.go, proc_other.go)
	cg     *scriptCgroup // the script's own cgroup, or nil (contain_linux.go)
	// w is the request's ResponseWriter. The supervisor sets a write
	// deadline on it only while streaming (under wmu), and cutStdin a read
	// deadline only while the request body is still being copied; neither
	// can happen after Serve returns (see detach).
	w http.ResponseWriter

	out    *stdoutReader
	stdout *net.UnixConn // our end of the script's stdout (stdoutPair)
	stderr *os.File
	stdin  *os.File // write end of the stdin pipe; nil when nothing is streamed

	exited     chan struct{} // leader exited (still unreaped)
	stop       chan struct{} // closed by abort
	detached   chan struct{} // closed by detach: the response is complete but the leader still runs
	stopOnce   sync.Once
	killed     chan struct{} // the group got its final SIGKILL
	supDone    chan struct{}
	stdinDone  chan struct{}
	stderrDone chan struct{}

	why       atomic.Int32 // reason
	streaming bool         // between the header and the end of the body copy; guarded by wmu
	wmu       sync.Mutex   // orders the supervisor's use of w against the end of the response

	errlog *stderrLog

	// For the Observer: the request, the bytes delivered and sent, and
	// whether the group needed SIGKILL after KillGrace.
	r          *http.Request
	bytesIn    atomic.Int64
	bytesOut   atomic.Int64
	hardKilled atomic.Bool
}

// start spawns the script and its helper goroutines.
func (h *Host) start(w http.ResponseWriter, r *http.Request, s *Script, body *requestBody, cred *syscall.Credential) (*process, error) {
	cmd, pidfd, err := h.command(s, body, cred)
	if err != nil {
		return nil, err
	}
	fds, err := h.openStdio(body)
	if err != nil {
		return nil, err
	}
	logger := s.logger(h)
	cg := newScriptCgroup(logger)
	setCgroup(cmd.SysProcAttr, cg)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = fds.stdinR, fds.stdoutW, fds.stderrW

	if ce := logger.Check(zapcore.DebugLevel, "starting cgi script"); ce != nil {
		ce.Write(zap.String("script", s.Path), zap.Strings("argv", cmd.Args), zap.String("dir", s.Dir),
			zap.Object("env", LoggableEnv{Env: cmd.Env, LogCredentials: s.LogCredentials}))
	}
	if err := h.spawn(cmd, fds, cg); err != nil {
		return nil, err
	}
	n := h.running.Add(1)
	for old := h.peak.Load(); n > old && !h.peak.CompareAndSwap(old, n); old = h.peak.Load() {
	}

	p := newProcess(h, s, cmd, fds, logger, w)
	p.sys = newSysState(pidfd)
	p.cg = cg
	p.r = r
	if body.file != nil {
		p.bytesIn.Store(body.n) // handed over whole as fd 0
	}
	if h.Observer != nil {
		h.Observer.Started(r, p.pid)
	}
	go func() {
		defer close(p.exited)
		p.awaitExit()
	}()
	go p.supervise(r.Context())
	if p.stdin != nil {
		go p.copyStdin(body)
	} else {
		close(p.stdinDone)
	}
	go p.readStderr()
	return p, nil
}

// internalError is a 500 for a failed step of starting a script.
func internalError(step string, err error) error {
	return &Error{Status: http.StatusInternalServerError, Err: fmt.Errorf("%s: %w", step, err)}
}

// command prepares the command line, environment and process attributes of
// s, run as credential (from credentialFor; nil: the server's account), and
// asks for a pidfd (see requestPidFD).
func (h *Host) command(s *Script, body *requestBody, credential *syscall.Credential) (*scriptCmd, *int, error) {
	prog, argv := s.Path, []string{filepath.Base(s.Path)}
	if len(s.Interpreter) > 0 {
		prog = s.Interpreter[0]
		if !strings.Contains(prog, "/") {
			lp, err := exec.LookPath(prog)
			if err != nil {
				return nil, nil, internalError("finding interpreter", err)
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
	// Its own session, not just its own group: a session leader cannot
	// move into another process group (setpgid fails with EPERM), so the
	// group signalled is always the script's, and nothing it starts can
	// join a group outside its session.
	attr := &syscall.SysProcAttr{Setsid: true}
	if credential != nil {
		cred := *credential
		// An empty list with NoSetGroups false makes the child call
		// setgroups(0), dropping the server's supplementary groups.
		cred.Groups, cred.NoSetGroups = nil, false
		attr.Credential = &cred
	}
	harden(h.logger())
	if h.Limits != nil || hardening.capsErr != nil {
		// The shim applies the limits, no_new_privs and empty capability
		// sets before the script's first instruction (limits_linux.go).
		if hardening.exeErr != nil {
			return nil, nil, internalError("finding the server's binary for the limits shim", hardening.exeErr)
		}
		l := h.Limits
		if l == nil {
			l = &Limits{}
		}
		argv = append([]string{shimArg0, prog}, argv...)
		prog = hardening.exe
		env = setEnv(env, shimEnv, l.encode())
	}
	pidfd := requestPidFD(attr)
	cmd := &scriptCmd{Path: prog, Args: argv, Env: env, Dir: s.Dir, SysProcAttr: attr}
	return cmd, pidfd, nil
}

// scriptCmd is a script's command line and process attributes. It is
// started with os.StartProcess directly: os/exec's Cmd would copy and
// de-duplicate the environment (BuildEnv's names are unique already) and
// keep bookkeeping a script does not need.
type scriptCmd struct {
	Path        string
	Args        []string
	Env         []string
	Dir         string
	SysProcAttr *syscall.SysProcAttr
	// Stdin, Stdout and Stderr become the script's descriptors 0-2.
	Stdin, Stdout, Stderr *os.File
	// Process is the started script.
	Process *os.Process
}

// Start starts the script.
func (c *scriptCmd) Start() error {
	if c.Stdin == nil || c.Stdout == nil || c.Stderr == nil {
		return errors.New("starting cgi script: missing stdio")
	}
	p, err := os.StartProcess(c.Path, c.Args, &os.ProcAttr{
		Dir:   c.Dir,
		Env:   c.Env,
		Files: []*os.File{c.Stdin, c.Stdout, c.Stderr},
		Sys:   c.SysProcAttr,
	})
	if err != nil {
		return err
	}
	c.Process = p
	return nil
}

// stdio holds the descriptors of a script being started: the child's ends
// go to the script, ours stay with the process.
type stdio struct {
	stdoutR          *net.UnixConn
	stdoutW          *os.File
	stderrR, stderrW *os.File
	stdinR, stdinW   *os.File   // stdinW is nil unless the body is streamed through a pipe
	files            []*os.File // every pipe end, to close on a failed start
}

func (s *stdio) closeAll() {
	for _, f := range s.files {
		_ = f.Close()
	}
	if s.stdoutR != nil {
		_ = s.stdoutR.Close()
	}
}

// openStdio creates the pipes, and the socket pair of stdout. Every
// descriptor is close-on-exec: only fds 0-2 reach the script.
func (h *Host) openStdio(body *requestBody) (*stdio, error) {
	fds := &stdio{}
	pipe := func(what string, ourRead bool) (*os.File, *os.File, error) {
		rd, wr, err := scriptPipe(ourRead)
		if err != nil {
			fds.closeAll()
			return nil, nil, internalError("creating "+what+" pipe", err)
		}
		fds.files = append(fds.files, rd, wr)
		return rd, wr, nil
	}
	var err error
	if fds.stdoutR, fds.stdoutW, err = stdoutPair(); err != nil {
		return nil, internalError("creating stdout socket pair", err)
	}
	fds.files = append(fds.files, fds.stdoutW)
	if fds.stderrR, fds.stderrW, err = pipe("stderr", true); err != nil {
		return nil, err
	}
	fds.stdinR = body.file
	if fds.stdinR == nil && body.src == nil {
		fds.stdinR = h.emptyStdin() // no body: EOF at once
	}
	if fds.stdinR == nil {
		if fds.stdinR, fds.stdinW, err = pipe("stdin", false); err != nil {
			return nil, err
		}
		if body.n > 64<<10 {
			// Only for bodies larger than the default pipe: the larger
			// size counts against the per-user pipe budget at once.
			growPipe(fds.stdinW)
		}
	}
	return fds, nil
}

// spawn starts cmd unless the host is closed, counting it in procs first so
// that Close waits for it, then closes the child's ends of the pipes.
func (h *Host) spawn(cmd *scriptCmd, fds *stdio, cg *scriptCgroup) error {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		fds.closeAll()
		cg.release(h.logger())
		return &Error{Status: http.StatusServiceUnavailable, Err: ErrClosed}
	}
	h.procs.Add(1)
	h.mu.Unlock()

	registered := hardening.reaper.starting()
	err := cmd.Start()
	if err != nil {
		registered(0)
	} else {
		registered(cmd.Process.Pid)
	}
	if err != nil {
		h.procs.Done()
		fds.closeAll()
		cg.release(h.logger())
		// exec failed: no such interpreter, not an executable format, no
		// permission for the script's user. The script is at fault, as
		// with a broken header block: 502, not the server's 500.
		return &Error{Status: http.StatusBadGateway, Err: fmt.Errorf("starting cgi script: %w", err)}
	}
	// The child holds its own copies; ours would keep the pipes from
	// reporting EOF.
	_ = fds.stdoutW.Close()
	_ = fds.stderrW.Close()
	if fds.stdinW != nil {
		_ = fds.stdinR.Close()
	}
	return nil
}

func newProcess(h *Host, s *Script, cmd *scriptCmd, fds *stdio, logger *zap.Logger, w http.ResponseWriter) *process {
	p := &process{
		h:          h,
		script:     s,
		cmd:        cmd,
		pid:        cmd.Process.Pid,
		start:      time.Now(),
		log:        logger,
		w:          w,
		stdout:     fds.stdoutR,
		stderr:     fds.stderrR,
		stdin:      fds.stdinW,
		exited:     make(chan struct{}),
		stop:       make(chan struct{}),
		detached:   make(chan struct{}),
		killed:     make(chan struct{}),
		supDone:    make(chan struct{}),
		stdinDone:  make(chan struct{}),
		stderrDone: make(chan struct{}),
	}
	p.out = &stdoutReader{f: fds.stdoutR, killed: p.killed, stopped: p.stopping, eof: make(chan struct{})}
	p.errlog = &stderrLog{log: logger, script: s.Path, pid: p.pid}
	return p
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

// stdinBufPool holds the request body copy buffers.
var stdinBufPool = sync.Pool{New: func() any {
	b := make([]byte, copyBufSize)
	return &b
}}

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
	// A large buffer, and not os.File's ReadFrom: the body is no file or
	// socket it could splice from, and its fallback copies 32 KiB at a
	// time, each write finding the pipe full sooner.
	buf := stdinBufPool.Get().(*[]byte)
	n, err := io.CopyBuffer(struct{ io.Writer }{p.stdin}, io.LimitReader(body.src, body.n), *buf)
	stdinBufPool.Put(buf)
	p.bytesIn.Store(n)
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
func (p *process) supervise(ctx context.Context) {
	defer close(p.supDone)
	why := p.awaitStop(ctx)
	if why != reasonNone {
		p.stopEarly(why)
	} else {
		// The leader exited by itself. Children may still be writing output
		// it delegated to them; give them a moment unless stdout is done.
		t := time.NewTimer(exitLinger)
		select {
		case <-t.C:
		case <-p.out.eof:
		}
		t.Stop()
	}
	// No grandchild outlives the request (a "sleep 1000 &" would otherwise
	// hold the pipes and linger forever); the cgroup, if any, also ends
	// what left the session. An empty cgroup proves there is nothing left
	// to signal (everything the script started is in it), which is the
	// common case and saves the system calls.
	if !p.cg.empty() {
		p.signal(syscall.SIGKILL)
		p.cg.kill()
	}
	close(p.killed)
	if why == reasonNone {
		// Whatever is still buffered in the pipe gets read; only a process
		// that escaped the group (setsid) could keep it open, and the reader
		// gives up after one more linger.
		_ = p.stdout.SetReadDeadline(time.Now().Add(exitLinger))
	}
}

// awaitStop waits until the leader exits (reasonNone) or something asks for
// the script to stop, and says what.
func (p *process) awaitStop(ctx context.Context) reason {
	var timeout <-chan time.Time
	if p.h.Timeout > 0 {
		t := time.NewTimer(p.h.Timeout - time.Since(p.start))
		defer t.Stop()
		timeout = t.C
	}
	ctxDone, detached := ctx.Done(), p.detached
	for {
		select {
		case <-p.exited:
			return reasonNone
		case <-ctxDone:
			select {
			case <-p.detached:
				// Both were ready: the response completed first, and its
				// end is what cancelled ctx.
				ctxDone, detached = nil, nil
				continue
			default:
			}
			return reasonClientGone
		case <-timeout:
			return reasonTimeout
		case <-p.h.closing:
			return reasonClosed
		case <-p.stop:
			return reasonAborted
		case <-detached:
			// The response is complete: the request's end (which
			// cancels ctx) no longer concerns the script.
			ctxDone, detached = nil, nil
		}
	}
}

// stopEarly records why the script is stopped, wakes the stdout reader and
// terminates the group.
func (p *process) stopEarly(why reason) {
	p.why.CompareAndSwap(int32(reasonNone), int32(why))
	// Nobody wants the rest of the output: wake the reader now.
	_ = p.stdout.SetReadDeadline(time.Now())
	if why == reasonTimeout || why == reasonClosed {
		// A client that stopped reading would otherwise pin this request
		// (and its process slot) in a blocked Write. Under wmu: once the
		// response is over, w belongs to net/http again.
		p.wmu.Lock()
		if p.streaming {
			_ = http.NewResponseController(p.w).SetWriteDeadline(time.Now())
		}
		p.wmu.Unlock()
	}
	p.terminate()
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
		p.hardKilled.Store(true)
		p.signal(syscall.SIGKILL)
		<-p.exited
	}
}

// signal signals the leader and its whole process group. Safe until reap:
// the leader's zombie keeps its pid and the pgid from being recycled. The
// leader is signalled by pid too, for systems where it could leave its
// group (on Linux it leads its session and cannot).
func (p *process) signal(sig syscall.Signal) {
	_ = syscall.Kill(-p.pid, sig)
	_ = syscall.Kill(p.pid, sig)
}

// abort asks the supervisor to stop the script.
func (p *process) abort() { p.stopOnce.Do(func() { close(p.stop) }) }

func (p *process) reason() reason { return reason(p.why.Load()) }

// stopping reports whether the supervisor has decided to stop the script.
func (p *process) stopping() bool { return p.reason() != reasonNone }
