package cgihost

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The shim applies what os/exec cannot before a script's first
// instruction: rlimits, no_new_privs and empty ambient and inheritable
// capability sets. SysProcAttr has no hook between fork and exec, so the
// host starts the server's own binary (/proc/self/exe) with shimEnv set;
// init below sees the variable, prepares the process and execs the script
// with the variable removed. The cost (one more exec of a Go binary) is
// paid only by hosts that need it: Limits set, or capabilities the server
// could not clear in its own process.
//
// shimEnv holds the encoded Limits; argv is [shimArg0, program, argv...].
const (
	shimEnv  = "PYHTTP_CGI_SHIM"
	shimArg0 = "pyhttp-cgi-shim"
)

func init() {
	v, ok := os.LookupEnv(shimEnv)
	if !ok || len(os.Args) < 3 || os.Args[0] != shimArg0 {
		return
	}
	os.Exit(runShim(v, os.Args[1], os.Args[2:]))
}

// runShim prepares the process and execs prog; it returns only on failure.
func runShim(spec, prog string, argv []string) int {
	// no_new_privs and capabilities are per thread: stay on the thread
	// that execs.
	runtime.LockOSThread()
	fail := func(err error) int {
		fmt.Fprintf(os.Stderr, "pyhttp cgi shim: %v\n", err)
		return 127
	}
	l, err := decodeLimits(spec)
	if err != nil {
		return fail(err)
	}
	env := make([]string, 0, len(os.Environ()))
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, shimEnv+"=") {
			env = append(env, kv)
		}
	}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fail(fmt.Errorf("setting no_new_privs: %w", err))
	}
	if err := clearChildCaps(false); err != nil {
		return fail(err)
	}
	if err := l.apply(); err != nil {
		return fail(err)
	}
	err = syscall.Exec(prog, argv, env)
	return fail(fmt.Errorf("exec %s: %w", prog, err))
}

// apply sets the rlimits of the calling process.
func (l *Limits) apply() error {
	set := func(name string, res int, soft, hard int64) error {
		if soft <= 0 {
			return nil
		}
		if err := unix.Setrlimit(res, &unix.Rlimit{Cur: uint64(soft), Max: uint64(hard)}); err != nil {
			return fmt.Errorf("setting the %s limit: %w", name, err)
		}
		return nil
	}
	// The CPU hard limit is one second above the soft one: SIGXCPU first,
	// so a script may report it, then SIGKILL.
	if err := set("cpu", unix.RLIMIT_CPU, l.CPU, l.CPU+1); err != nil {
		return err
	}
	if err := set("processes", unix.RLIMIT_NPROC, l.Processes, l.Processes); err != nil {
		return err
	}
	if err := set("files", unix.RLIMIT_NOFILE, l.Files, l.Files); err != nil {
		return err
	}
	if err := set("file_size", unix.RLIMIT_FSIZE, l.FileSize, l.FileSize); err != nil {
		return err
	}
	// Memory last: nothing below allocates much, and exec starts afresh.
	return set("memory", unix.RLIMIT_AS, l.Memory, l.Memory)
}

// clearChildCaps empties the ambient and inheritable capability sets, for
// every thread of the process when all is set (the server), else for the
// calling thread (the shim). Permitted and effective sets are kept: the
// server may need them (CAP_NET_BIND_SERVICE), and execve recomputes them
// for the script from the ambient and inheritable sets cleared here.
func clearChildCaps(all bool) error {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return fmt.Errorf("reading capabilities: %w", err)
	}
	amb, err := hasAmbientCaps()
	if err != nil {
		return err
	}
	if data[0].Inheritable == 0 && data[1].Inheritable == 0 && !amb {
		return nil
	}
	data[0].Inheritable, data[1].Inheritable = 0, 0
	if all {
		if _, _, e := syscall.AllThreadsSyscall(unix.SYS_PRCTL, unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0); e != 0 {
			return fmt.Errorf("clearing ambient capabilities: %w", e)
		}
		if _, _, e := syscall.AllThreadsSyscall(unix.SYS_CAPSET, uintptr(unsafe.Pointer(&hdr)), uintptr(unsafe.Pointer(&data[0])), 0); e != 0 {
			return fmt.Errorf("clearing inheritable capabilities: %w", e)
		}
		return nil
	}
	if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); err != nil {
		return fmt.Errorf("clearing ambient capabilities: %w", err)
	}
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return fmt.Errorf("clearing inheritable capabilities: %w", err)
	}
	return nil
}

// hasAmbientCaps reports whether the calling thread has any ambient
// capability (PR_CAP_AMBIENT_IS_SET for each; the kernel knows up to
// CAP_LAST_CAP).
func hasAmbientCaps() (bool, error) {
	for c := 0; c <= unix.CAP_LAST_CAP; c++ {
		r, err := unix.PrctlRetInt(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_IS_SET, uintptr(c), 0, 0)
		if err != nil {
			if err == unix.EINVAL {
				break // a capability this kernel does not know
			}
			return false, fmt.Errorf("reading ambient capabilities: %w", err)
		}
		if r == 1 {
			return true, nil
		}
	}
	return false, nil
}
