//go:build unix && !linux

package cgihost

import "syscall"

// socketpair returns a connected pair of unix stream sockets, marked
// close-on-exec under ForkLock where SOCK_CLOEXEC is not portable.
func socketpair() ([2]int, error) {
	syscall.ForkLock.RLock()
	defer syscall.ForkLock.RUnlock()
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err != nil {
		return fds, err
	}
	syscall.CloseOnExec(fds[0])
	syscall.CloseOnExec(fds[1])
	return fds, nil
}
