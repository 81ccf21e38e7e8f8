//go:build unix && !linux

package cgihost

import (
	"os"
	"sync"
	"syscall"
)

// Outside Linux there is no portable way to observe an exit without reaping
// it, so awaitExit reaps. The group is killed right after; the only risk is
// a pid recycled in between, which needs the whole group to be gone first.

var exitStates sync.Map // *process -> waitResult

type waitResult struct {
	state *os.ProcessState
	err   error
}

func (p *process) awaitExit() {
	st, err := p.cmd.Process.Wait()
	exitStates.Store(p, waitResult{st, err})
}

func (p *process) reap() (*os.ProcessState, error) {
	v, _ := exitStates.LoadAndDelete(p)
	r, _ := v.(waitResult)
	return r.state, r.err
}

func growPipe(*os.File) {}

func requestPidFD(*syscall.SysProcAttr) *int { return nil }

// markInheritedCloseOnExec is Linux-only; elsewhere inherited descriptors
// are left as they are.
func markInheritedCloseOnExec() {}
