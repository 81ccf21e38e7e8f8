//go:build unix

package cgihost

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"syscall"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// finish waits for the leader, the group kill and the helpers, reaps the
// leader and releases every descriptor. It returns the exit state.
func (p *process) finish() *os.ProcessState {
	<-p.supDone
	state, err := p.reap()
	if err != nil {
		p.log.Error("reaping cgi script", zap.String("script", p.script.Path), zap.Int("pid", p.pid), zap.Error(err))
	}
	p.cutStdin()
	_ = p.stderr.SetReadDeadline(time.Now().Add(exitLinger))
	<-p.stderrDone
	p.errlog.finish()
	_ = p.stdout.Close()
	_ = p.stderr.Close()
	p.h.running.Add(-1)
	p.observeExit(state)
	return state
}

// observeExit reports the reaped script to the Observer.
func (p *process) observeExit(state *os.ProcessState) {
	if p.h.Observer == nil {
		return
	}
	e := &Exit{
		Outcome:  OutcomeOK,
		PID:      p.pid,
		Code:     -1,
		Duration: time.Since(p.start),
		TimedOut: p.reason() == reasonTimeout,
		Killed:   p.hardKilled.Load(),
		BytesIn:  p.bytesIn.Load(),
		BytesOut: p.bytesOut.Load(),
	}
	select {
	case <-p.detached:
		e.Detached = true
	default:
	}
	if state != nil {
		if ws, ok := state.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			e.Outcome, e.Signal = OutcomeSignal, ws.Signal().String()
		} else if e.Code = state.ExitCode(); e.Code != 0 {
			e.Outcome = OutcomeExitCode
		}
	} else {
		e.Outcome = OutcomeSignal // not reaped normally: count it as lost
	}
	p.h.Observer.Finished(p.r, e)
}

// cutStdin ends the request body copy: it unblocks a copy stuck writing to
// a script that did not read its body, then, if the copy is stuck reading a
// slow upload instead, cuts the request body short, since it must not be
// touched after Serve returns. Once the copy is done it returns at once
// and does not touch the ResponseWriter.
func (p *process) cutStdin() {
	if p.stdin == nil {
		return
	}
	_ = p.stdin.SetWriteDeadline(time.Now())
	t := time.NewTimer(stdinGrace)
	defer t.Stop()
	select {
	case <-p.stdinDone:
	case <-t.C:
		_ = http.NewResponseController(p.w).SetReadDeadline(time.Now())
		<-p.stdinDone
	}
}

// endResponse waits for the script of a response whose header was sent,
// logs its exit, and says whether the response must be aborted.
func (p *process) endResponse(status int, copyErr error, discard bool) error {
	state := p.finish()
	p.logExit(state, status)
	if copyErr != nil {
		return fmt.Errorf("%w: %w", ErrAborted, copyErr)
	}
	if killedFromOutside(state) && p.reason() == reasonNone && !discard {
		// The OOM killer or an operator's kill -9 cut the script short;
		// ending the chunked body normally would pass half a response off
		// as complete, and the signal is the only sign of it.
		return fmt.Errorf("%w: cgi script killed by %v while writing its body", ErrAborted, state.Sys())
	}
	return nil
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

// abandonBeforeHeader handles a failure before the response started: it
// stops the script, waits for it, and reports the failure.
func (p *process) abandonBeforeHeader(err error) error {
	p.abort()
	status := statusFor(p.reason())
	p.errlog.setStatus(status)
	state := p.finish()
	return p.reportBeforeHeader(state, status, err)
}

// reportBeforeHeader logs one line for a script that finished without a
// usable header block and returns the [*Error] to answer with.
func (p *process) reportBeforeHeader(state *os.ProcessState, status int, err error) error {
	switch p.reason() {
	case reasonTimeout:
		err = ErrTimeout
	case reasonClosed:
		err = ErrClosed
	case reasonClientGone:
		err = fmt.Errorf("client gone before the cgi header: %w", context.Canceled)
	}
	// A client that left is no failure of the script's or the server's:
	// debug, as reverse_proxy logs it.
	level := zapcore.ErrorLevel
	if p.reason() == reasonClientGone {
		level = zapcore.DebugLevel
	}
	if ce := p.log.Check(level, "cgi script failed before its header block"); ce != nil {
		ce.Write(append(p.exitFields(state, status), zap.Error(err))...)
	}
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
	fields = append(fields, p.limitFields(state)...)
	if state == nil {
		return fields
	}
	if ws, ok := state.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return append(fields, zap.String("signal", ws.Signal().String()))
	}
	return append(fields, zap.Int("exit_code", state.ExitCode()))
}
