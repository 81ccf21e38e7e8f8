package cgihost

import (
	"os"
	"strconv"
	"syscall"
	"unsafe"
)

// markInheritedCloseOnExec sets FD_CLOEXEC on every descriptor above 2.
// Descriptors Go opens are close-on-exec already, but ones the server
// inherited without it (from a shell's "exec 7<secret", a supervisor, a
// socket-activation listener) would otherwise reach every script, which
// runs as another user. The server itself keeps using them.
func markInheritedCloseOnExec() {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return
	}
	for _, e := range entries {
		if fd, err := strconv.Atoi(e.Name()); err == nil && fd > 2 {
			syscall.CloseOnExec(fd)
		}
	}
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

// awaitExit blocks until the group leader has exited, without reaping it.
// WNOWAIT leaves the zombie in place, and a zombie still pins its pid and
// therefore the process-group id, so the kill(-pgid, SIGKILL) that follows
// cannot hit an unrelated group that recycled the number. Process.Wait (a
// pidfd wait) reaps afterwards.
func (p *process) awaitExit() {
	if p.pidfd >= 0 && p.awaitPidFD() {
		return
	}
	var info [128]byte // siginfo_t; its content is not needed
	for {
		_, _, errno := syscall.Syscall6(syscall.SYS_WAITID, pPID, uintptr(p.pid),
			uintptr(unsafe.Pointer(&info)), syscall.WEXITED|syscall.WNOWAIT, 0, 0)
		if errno != syscall.EINTR {
			return
		}
	}
}

// awaitPidFD waits for the exit through the pidfd, which becomes readable
// when the process exits, and closes it. It reports false if the pidfd
// could not be polled, and the caller then waits the blocking way.
func (p *process) awaitPidFD() bool {
	fd := p.pidfd
	p.pidfd = -1
	if err := syscall.SetNonblock(fd, true); err != nil {
		_ = syscall.Close(fd)
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
		var info [128]byte // siginfo_t
		_, _, errno := syscall.Syscall6(syscall.SYS_WAITID, pPIDFD, fd,
			uintptr(unsafe.Pointer(&info)), syscall.WEXITED|syscall.WNOWAIT|syscall.WNOHANG, 0, 0)
		switch {
		case errno == syscall.EINTR || errno == syscall.EAGAIN:
			return false
		case errno != 0:
			// ECHILD and the like: nothing left to wait for here; the
			// reap reports what happened.
			exited = true
			return true
		}
		// With WNOHANG a still-running child leaves si_pid (offset 16 on
		// every 64- and 32-bit Linux ABI Go supports) zero.
		if *(*int32)(unsafe.Pointer(&info[16])) == 0 {
			return false
		}
		exited = true
		return true
	})
	return err == nil && exited
}

// reap collects the exit status of the leader observed by awaitExit.
func (p *process) reap() (*os.ProcessState, error) {
	return p.cmd.Process.Wait()
}

// growPipe enlarges a pipe to 1 MiB (F_SETPIPE_SZ, Linux 2.6.35) so a fast
// script hands over more per read. Failure is harmless: the per-user budget
// (fs.pipe-user-pages-soft) may be spent, and the pipe keeps its 64 KiB.
func growPipe(f *os.File) {
	rc, err := f.SyscallConn()
	if err != nil {
		return
	}
	// SyscallConn rather than Fd: Fd would switch the file to blocking mode
	// and disable the read deadlines that bound the exit linger.
	_ = rc.Control(func(fd uintptr) {
		_, _, _ = syscall.Syscall(syscall.SYS_FCNTL, fd, syscall.F_SETPIPE_SZ, pipeSize)
	})
}

const (
	pPID     = 1 // P_PID from <sys/wait.h>
	pPIDFD   = 3 // P_PIDFD (Linux 5.4)
	pipeSize = 1 << 20
)
