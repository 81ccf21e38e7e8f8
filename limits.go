package pyhttp

import (
	"errors"
	"math"
	"runtime"
	"strconv"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/dustin/go-humanize"

	"github.com/pyhttp/caddy-pyhttp/internal/cgihost"
)

// ScriptLimits are per-script resource limits (SECURITY.md, "Resource
// limits"), applied as rlimits before the script's first instruction. A
// zero or absent field sets no limit. Linux only.
type ScriptLimits struct {
	// CPU time in seconds. The script gets SIGXCPU when it is used up and
	// SIGKILL a second later; before its header block the client gets 502
	// and the log line "cgi script failed before its header block" carries
	// `limit: cpu`.
	CPU int64 `json:"cpu,omitempty"`
	// Address space in bytes: allocations beyond it fail (Python raises
	// MemoryError).
	Memory int64 `json:"memory,omitempty"`
	// Processes of the script's user (RLIMIT_NPROC, counted per user, not
	// per script, and not enforced for root): a fork beyond it fails.
	Processes int64 `json:"processes,omitempty"`
	// Open descriptors: an open beyond the count fails with EMFILE.
	Files int64 `json:"files,omitempty"`
	// Largest file the script may write, in bytes: a write beyond it gets
	// SIGXFSZ (502 and `limit: file_size` before the header block; Python
	// ignores the signal and gets EFBIG instead).
	FileSize int64 `json:"file_size,omitempty"`
}

// validate rejects negative values and platforms without rlimit support.
func (l *ScriptLimits) validate() error {
	if l == nil {
		return nil
	}
	if l.CPU < 0 || l.Memory < 0 || l.Processes < 0 || l.Files < 0 || l.FileSize < 0 {
		return errors.New("limits: values must not be negative")
	}
	if runtime.GOOS != "linux" {
		return errors.New("limits: supported on Linux only")
	}
	return nil
}

// host converts l for cgihost; nil stays nil.
func (l *ScriptLimits) host() *cgihost.Limits {
	if l == nil {
		return nil
	}
	return &cgihost.Limits{CPU: l.CPU, Memory: l.Memory, Processes: l.Processes, Files: l.Files, FileSize: l.FileSize}
}

// parseLimits parses a limits block:
//
//	limits {
//	    cpu       <seconds>
//	    memory    <size>
//	    processes <n>
//	    files     <n>
//	    file_size <size>
//	}
func parseLimits(d *caddyfile.Dispenser) (*ScriptLimits, error) {
	if d.NextArg() {
		return nil, d.ArgErr()
	}
	l := &ScriptLimits{}
	seen := map[string]bool{}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		name := d.Val()
		if seen[name] {
			return nil, d.Errf("limits: %s already specified", name)
		}
		seen[name] = true
		if !d.NextArg() {
			return nil, d.ArgErr()
		}
		val := d.Val()
		if d.NextArg() {
			return nil, d.ArgErr()
		}
		count := func() (int64, error) {
			n, err := strconv.ParseInt(val, 10, 64)
			if err != nil || n < 0 {
				return 0, d.Errf("bad limits %s value %s: must be a whole number", name, val)
			}
			return n, nil
		}
		size := func() (int64, error) {
			n, err := humanize.ParseBytes(val)
			if err != nil || n > math.MaxInt64 {
				return 0, d.Errf("bad limits %s value %s: must be a size such as 256MiB", name, val)
			}
			return int64(n), nil
		}
		var err error
		switch name {
		case "cpu":
			l.CPU, err = count()
		case "processes":
			l.Processes, err = count()
		case "files":
			l.Files, err = count()
		case "memory":
			l.Memory, err = size()
		case "file_size":
			l.FileSize, err = size()
		default:
			return nil, d.Errf("limits: unknown limit '%s'", name)
		}
		if err != nil {
			return nil, err
		}
	}
	return l, nil
}
