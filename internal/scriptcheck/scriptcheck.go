// Package scriptcheck vets a CGI script before it runs, in the spirit of
// Apache's suexec: a script, or a directory above it, that another account
// can write is one that other account can replace with its own program, to
// be run with the script's account and the server's trust; a setuid or
// setgid script runs with an account nobody chose; a script owned by
// another account than the one it runs as can be changed by that account.
//
// Every check is made on opened files (fstat), never a stat by name that a
// rename could make describe another file than the one checked: the script
// is opened with O_PATH|O_NOFOLLOW (a symbolic link is refused, as suexec
// refuses one), and each directory from the script's up to the top the
// caller names is opened the same way relative to its child, so the chain
// checked is the chain the script was found through at that moment.
//
// The package needs no Caddy; the pyhttp_cgi handler calls it under its
// `strict` option and for `user owner`.
package scriptcheck

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// Violation is a reason a script is refused; Reason is the log line.
type Violation struct {
	Path   string
	Reason string
}

func (v *Violation) Error() string { return fmt.Sprintf("refused %s: %s", v.Path, v.Reason) }

// ErrViolation matches every *Violation with errors.Is.
var ErrViolation = errors.New("script refused")

// Is makes errors.Is(v, ErrViolation) true.
func (v *Violation) Is(target error) bool { return target == ErrViolation }

// Info is what the checks found about the opened script.
type Info struct {
	UID, GID uint32
	Mode     uint32
}

// Stat opens script, following a final symbolic link only if follow is
// set, and returns its owner and mode from fstat.
func Stat(script string, follow bool) (Info, error) {
	flags := unix.O_PATH | unix.O_CLOEXEC
	if !follow {
		flags |= unix.O_NOFOLLOW
	}
	fd, err := unix.Open(script, flags, 0)
	if err != nil {
		return Info{}, fmt.Errorf("opening %s: %w", script, err)
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return Info{}, fmt.Errorf("fstat %s: %w", script, err)
	}
	return Info{UID: st.Uid, GID: st.Gid, Mode: st.Mode}, nil
}

// Check vets script, to be run as uid, and every directory from the
// script's own up to top (an ancestor of script, the document root say),
// both included. It returns a *Violation for a refusal and another error
// when a file cannot be opened.
func Check(script, top string, uid uint32) error {
	info, err := Stat(script, false)
	if err != nil {
		return err
	}
	if err := CheckFile(script, info, uid); err != nil {
		return err
	}
	return CheckDirs(filepath.Dir(script), top)
}

// CheckFile is the check of the script itself, on what fstat found.
func CheckFile(script string, info Info, uid uint32) error {
	switch {
	case info.Mode&unix.S_IFMT == unix.S_IFLNK:
		return &Violation{script, "script is a symbolic link"}
	case info.Mode&unix.S_IFMT != unix.S_IFREG:
		return &Violation{script, "script is not a regular file"}
	case info.Mode&(unix.S_ISUID|unix.S_ISGID) != 0:
		return &Violation{script, "script is setuid or setgid"}
	case info.Mode&(unix.S_IWGRP|unix.S_IWOTH) != 0:
		return &Violation{script, fmt.Sprintf("script is writable by group or others (mode %04o)", info.Mode&0o7777)}
	case info.UID != uid:
		return &Violation{script, fmt.Sprintf("script is owned by uid %d, not by uid %d it runs as", info.UID, uid)}
	}
	return nil
}

// CheckDirs vets dir and each of its ancestors up to top: none may be
// writable by group or others (a sticky, world-writable directory such as
// /tmp included: anyone may add a script there), each is opened relative
// to its child's parent handle so that no rename swaps the chain.
func CheckDirs(dir, top string) error {
	dir, top = filepath.Clean(dir), filepath.Clean(top)
	if dir != top && !strings.HasPrefix(dir, top+string(filepath.Separator)) && top != "/" {
		return &Violation{dir, fmt.Sprintf("directory is not under %s", top)}
	}
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("opening %s: %w", dir, err)
	}
	for p := dir; ; p = filepath.Dir(p) {
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil {
			unix.Close(fd)
			return fmt.Errorf("fstat %s: %w", p, err)
		}
		if st.Mode&(unix.S_IWGRP|unix.S_IWOTH) != 0 {
			unix.Close(fd)
			return &Violation{p, fmt.Sprintf("directory is writable by group or others (mode %04o)", st.Mode&0o7777)}
		}
		if p == top || filepath.Dir(p) == p {
			unix.Close(fd)
			return nil
		}
		parent, err := unix.Openat(fd, "..", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		unix.Close(fd)
		if err != nil {
			return fmt.Errorf("opening the parent of %s: %w", p, err)
		}
		fd = parent
	}
}
