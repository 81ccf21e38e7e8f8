package cgihost

import "syscall"

// socketpair returns a connected pair of unix stream sockets, both
// close-on-exec from the start (SOCK_CLOEXEC), so no other script spawned
// meanwhile inherits them.
func socketpair() ([2]int, error) {
	return syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
}
