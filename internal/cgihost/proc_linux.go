package cgihost

import (
	"math"
	"os"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// markInheritedCloseOnExec sets FD_CLOEXEC on every descriptor above 2.
// Descriptors Go opens are close-on-exec already, but ones the server
// inherited without it (from a shell's "exec 7<secret", a supervisor, a
// socket-activation listener) would otherwise reach every script, which
// runs as another user. The server itself keeps using them.
func markInheritedCloseOnExec() {
	// close_range(CLOSE_RANGE_CLOEXEC) needs Linux 5.11; older kernels get
	// the same result one descriptor at a time.
	if unix.CloseRange(3, math.MaxUint32, unix.CLOSE_RANGE_CLOEXEC) == nil {
		return
	}
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return
	}
	for _, e := range entries {
		if fd, err := strconv.Atoi(e.Name()); err == nil && fd > 2 {
			unix.CloseOnExec(fd)
		}
	}
}

// sysState is the Linux part of a process: the pidfd of its leader, ours to
// close (awaitExit does), or -1 if there is none.
type sysState struct {
	pidfd int
}

// requestPidFD asks for a pidfd of the child (CLONE_PIDFD, Linux 5.3), so
// that awaitExit can wait for it through the netpoller instead of parking an
// OS thread in waitid for the whole run of every script. The result is -1
// when the kernel cannot provide one.
func requestPidFD(attr *syscall.SysProcAttr) *int {
	fd := -1
	attr.PidFD = &fd
	return &fd
}

// newSysState records what requestPidFD obtained once the child started.
func newSysState(pidfd *int) sysState {
	if pidfd == nil {
		return sysState{pidfd: -1}
	}
	return sysState{pidfd: *pidfd}
}

// awaitExit blocks until the group leader has exited, without reaping it.
// WNOWAIT leaves the zombie in place, and a zombie still pins its pid and
// therefore the process-group id, so the kill(-pgid, SIGKILL) that follows
// cannot hit an unrelated group that recycled the number. Process.Wait (a
// pidfd wait) reaps afterwards.
func (p *process) awaitExit() {
	if p.sys.pidfd >= 0 && p.awaitPidFD() {
		return
	}
	var info unix.Siginfo // its content is not needed
	for {
		if err := unix.Waitid(unix.P_PID, p.pid, &info, unix.WEXITED|unix.WNOWAIT, nil); err != unix.EINTR {
			return
		}
	}
}

// awaitPidFD waits for the exit through the pidfd, which becomes readable
// when the process exits, and closes it. It reports false if the pidfd
// could not be polled, and the caller then waits the blocking way.
func (p *process) awaitPidFD() bool {
	fd := p.sys.pidfd
	p.sys.pidfd = -1
	if err := unix.SetNonblock(fd, true); err != nil {
		_ = unix.Close(fd)
		return false
	}
	f := os.NewFile(uintptr(fd), "pidfd") // non-blocking: registered with the poller
	defer f.Close()
	rc, err := f.SyscallConn()
	if err != nil {
		return false
	}
	exited := false
	err = rc.Read(func(fd uintptr) bool {
		var info unix.Siginfo
		err := unix.Waitid(unix.P_PIDFD, int(fd), &info, unix.WEXITED|unix.WNOWAIT|unix.WNOHANG, nil)
		switch {
		case err == unix.EINTR || err == unix.EAGAIN:
			return false
		case err != nil:
			// ECHILD and the like: nothing left to wait for here; the
			// reap reports what happened.
			exited = true
			return true
		}
		// With WNOHANG a still-running child leaves the siginfo empty: Linux
		// writes si_signo (and si_pid) as zero.
		if info.Signo == 0 {
			return false
		}
		exited = true
		return true
	})
	return err == nil && exited
}

// reap collects the exit status of the leader observed by awaitExit.
// It then waits for the script's cgroup to empty and removes it.
func (p *process) reap() (*os.ProcessState, error) {
	state, err := p.cmd.Process.Wait()
	hardening.reaper.reaped(p.pid)
	p.cg.remove(p.log)
	return state, err
}

// setCgroup makes the clone start the script in cg (clone3
// CLONE_INTO_CGROUP, Linux 5.7), so that not even its first instruction
// runs outside.
func setCgroup(attr *syscall.SysProcAttr, cg *scriptCgroup) {
	if cg != nil {
		attr.UseCgroupFD, attr.CgroupFD = true, cg.fd
	}
}
