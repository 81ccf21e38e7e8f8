//go:build unix && !linux

package cgihost

import (
	"errors"
	"syscall"

	"go.uber.org/zap"
)

// Outside Linux there are no cgroups, no reaper, no shim and no process
// hardening: scripts lead their own sessions and are signalled by group
// and by pid.

var hardening struct {
	capsErr error
	exe     string
	exeErr  error
	reaper  *reaper
}

func init() {
	hardening.exeErr = errors.New("resource limits need Linux")
}

func harden(*zap.Logger) {}

type scriptCgroup struct{}

func newScriptCgroup(*zap.Logger) *scriptCgroup     { return nil }
func (*scriptCgroup) empty() bool                   { return false }
func (*scriptCgroup) kill()                         {}
func (*scriptCgroup) release(*zap.Logger)           {}
func setCgroup(*syscall.SysProcAttr, *scriptCgroup) {}

type reaper struct{}

func (*reaper) starting() func(int) { return func(int) {} }
func (*reaper) reaped(int)          {}

const (
	shimEnv  = "PYHTTP_CGI_SHIM"
	shimArg0 = "pyhttp-cgi-shim"
)
