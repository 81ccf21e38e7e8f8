package cgihost

import (
	"os"
	"syscall"
	"unsafe"
)

// awaitExit blocks until the group leader has exited, without reaping it.
// WNOWAIT leaves the zombie in place, and a zombie still pins its pid and
// therefore the process-group id, so the kill(-pgid, SIGKILL) that follows
// cannot hit an unrelated group that recycled the number. Process.Wait (a
// pidfd wait) reaps afterwards.
func (p *process) awaitExit() {
	var info [128]byte // siginfo_t; its content is not needed
	for {
		_, _, errno := syscall.Syscall6(syscall.SYS_WAITID, pPID, uintptr(p.pid),
			uintptr(unsafe.Pointer(&info)), syscall.WEXITED|syscall.WNOWAIT, 0, 0)
		if errno != syscall.EINTR {
			return
		}
	}
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
	pipeSize = 1 << 20
)
