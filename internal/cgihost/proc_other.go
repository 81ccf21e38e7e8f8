//go:build unix && !linux

package cgihost

import (
	"os"
	"syscall"
)

// Outside Linux there is no portable way to observe an exit without reaping
// it, so awaitExit reaps. The group is killed right after; the only risk is
// a pid recycled in between, which needs the whole group to be gone first.

// sysState keeps what awaitExit reaped until reap hands it over. awaitExit
// writes it before p.exited is closed, and reap runs after that.
type sysState struct {
	state *os.ProcessState
	err   error
}

func newSysState(*int) sysState { return sysState{} }

func (p *process) awaitExit() {
	p.sys.state, p.sys.err = p.cmd.Process.Wait()
}

func (p *process) reap() (*os.ProcessState, error) {
	return p.sys.state, p.sys.err
}

func requestPidFD(*syscall.SysProcAttr) *int { return nil }

// markInheritedCloseOnExec is Linux-only; elsewhere inherited descriptors
// are left as they are.
func markInheritedCloseOnExec() {}
