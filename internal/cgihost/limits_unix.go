//go:build unix

package cgihost

import (
	"os"
	"syscall"
	"time"

	"go.uber.org/zap"
)

// limitHit names the limit whose enforcement killed the script, or "".
// Only the cpu and file_size limits kill (SIGXCPU, then SIGKILL at the
// hard limit; SIGXFSZ); the others make a call fail, and the script's own
// error handling decides what happens.
func (p *process) limitHit(state *os.ProcessState) string {
	l := p.h.Limits
	if l == nil || state == nil {
		return ""
	}
	ws, ok := state.Sys().(syscall.WaitStatus)
	if !ok || !ws.Signaled() {
		return ""
	}
	switch ws.Signal() {
	case syscall.SIGXCPU:
		return "cpu"
	case syscall.SIGXFSZ:
		return "file_size"
	case syscall.SIGKILL:
		if l.CPU > 0 && p.reason() == reasonNone && state.UserTime()+state.SystemTime() >= time.Duration(l.CPU)*time.Second {
			return "cpu"
		}
	}
	return ""
}

// limitFields is the log field naming the limit a script hit, if any.
func (p *process) limitFields(state *os.ProcessState) []zap.Field {
	if name := p.limitHit(state); name != "" {
		return []zap.Field{zap.String("limit", name)}
	}
	return nil
}
