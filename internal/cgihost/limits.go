package cgihost

import (
	"fmt"
	"strconv"
	"strings"
)

// Limits are per-script resource limits, applied as rlimits by the script's
// own process before its first instruction (see limits_linux.go). A zero
// field sets no limit.
type Limits struct {
	// CPU is the CPU time in seconds (RLIMIT_CPU). The script gets SIGXCPU
	// when it is used up and SIGKILL one second later.
	CPU int64
	// Memory is the address space in bytes (RLIMIT_AS): allocations beyond
	// it fail.
	Memory int64
	// Processes caps the processes of the script's user (RLIMIT_NPROC): a
	// fork beyond it fails. The count is per user, not per script.
	Processes int64
	// Files caps open descriptors (RLIMIT_NOFILE): an open beyond it fails.
	Files int64
	// FileSize caps the size of any file the script writes (RLIMIT_FSIZE):
	// a write beyond it gets SIGXFSZ.
	FileSize int64
}

// encode renders l for the shim's environment variable.
func (l *Limits) encode() string {
	return fmt.Sprintf("%d,%d,%d,%d,%d", l.CPU, l.Memory, l.Processes, l.Files, l.FileSize)
}

// decodeLimits parses what encode wrote.
func decodeLimits(s string) (*Limits, error) {
	parts := strings.Split(s, ",")
	if len(parts) != 5 {
		return nil, fmt.Errorf("bad limits %q", s)
	}
	var v [5]int64
	for i, p := range parts {
		n, err := strconv.ParseInt(p, 10, 64)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("bad limits %q", s)
		}
		v[i] = n
	}
	return &Limits{CPU: v[0], Memory: v[1], Processes: v[2], Files: v[3], FileSize: v[4]}, nil
}
