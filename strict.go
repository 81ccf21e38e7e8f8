package pyhttp

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"

	"go.uber.org/zap"

	"github.com/pyhttp/caddy-pyhttp/internal/pypath"
	"github.com/pyhttp/caddy-pyhttp/internal/pystr"
	"github.com/pyhttp/caddy-pyhttp/internal/scriptcheck"
)

// vetScript applies `strict` and `user owner` to a located script before it
// runs: it returns the credential the script runs with under `user owner`
// (nil otherwise, for the handler's), or the 403 of a refusal, logged
// with the rule that refused it.
func (c *CGI) vetScript(root string, script pypath.Script) (*syscall.Credential, error) {
	// strict refuses a symbolic link, so the script is opened without
	// following one; `user owner` alone takes the owner of the file the
	// link leads to, which is what runs.
	info, err := scriptcheck.Stat(script.File, !c.Strict)
	if err != nil {
		return nil, pyError(http.StatusNotFound, fmt.Sprintf("No such CGI script (%s)", pystr.Repr(script.Name)), err)
	}
	uid := uint32(os.Geteuid())
	if hc := c.host.Credential; hc != nil {
		uid = hc.Uid
	}
	var cred *syscall.Credential
	if c.asOwner {
		if info.UID == 0 {
			return nil, c.refuse(script, &scriptcheck.Violation{Path: script.File, Reason: "script is owned by root, and user owner never runs scripts as root"})
		}
		uid = info.UID
		cred = &syscall.Credential{Uid: info.UID, Gid: ownerGroup(info)}
	}
	if c.Strict {
		if err := scriptcheck.CheckFile(script.File, info, uid); err != nil {
			return nil, c.refuse(script, err)
		}
		if err := scriptcheck.CheckDirs(filepath.Dir(script.File), root); err != nil {
			return nil, c.refuse(script, err)
		}
	}
	return cred, nil
}

// refuse logs why a script may not run and returns its 403.
func (c *CGI) refuse(script pypath.Script, err error) error {
	reason := err.Error()
	if v, ok := errors.AsType[*scriptcheck.Violation](err); ok {
		reason = v.Path + ": " + v.Reason
	}
	c.logger.Warn("cgi script refused", zap.String("script", script.File), zap.String("reason", reason))
	return pyError(http.StatusForbidden, fmt.Sprintf("CGI script is not allowed to run (%s)", pystr.Repr(script.Name)), err)
}

// ownerGroup is the primary group of the script owner's account, or the
// file's group when the uid has no passwd entry.
func ownerGroup(info scriptcheck.Info) uint32 {
	if u, err := user.LookupId(strconv.FormatUint(uint64(info.UID), 10)); err == nil {
		if gid, err := strconv.ParseUint(u.Gid, 10, 32); err == nil {
			return uint32(gid)
		}
	}
	return info.GID
}
