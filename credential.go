package pyhttp

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"strconv"
	"syscall"
)

// credential returns the account scripts run as: the configured one, or
// nobody when running as root, or nil (Caddy's own account).
func credential(userName, groupName string) (*syscall.Credential, error) {
	euid := os.Geteuid()
	if userName == "" {
		if euid != 0 {
			if groupName != "" {
				return nil, errors.New("group requires user (and running as root)")
			}
			return nil, nil
		}
		// Python's CGIHTTPRequestHandler drops to nobody when it can.
		userName = "nobody"
	}
	u, err := lookupUser(userName)
	if err != nil {
		return nil, fmt.Errorf("user %q: %w", userName, err)
	}
	uid, _ := strconv.ParseUint(u.Uid, 10, 32)
	gid, _ := strconv.ParseUint(u.Gid, 10, 32)
	if groupName != "" {
		g, err := lookupGroup(groupName)
		if err != nil {
			return nil, fmt.Errorf("group %q: %w", groupName, err)
		}
		gid, _ = strconv.ParseUint(g.Gid, 10, 32)
	}
	if euid != 0 {
		if int(uid) != euid || int(gid) != os.Getegid() {
			return nil, fmt.Errorf("running scripts as user %q requires running Caddy as root", userName)
		}
		return nil, nil
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// lookupUser finds an account by name or numeric uid.
func lookupUser(s string) (*user.User, error) {
	if _, err := strconv.ParseUint(s, 10, 32); err == nil {
		if u, err := user.LookupId(s); err == nil {
			return u, nil
		}
		// A numeric uid without a passwd entry runs with gid = uid's
		// nothing: use the uid as its own group, as suexec-like tools do.
		return &user.User{Uid: s, Gid: s, Username: s}, nil
	}
	return user.Lookup(s)
}

// lookupGroup finds a group by name or numeric gid.
func lookupGroup(s string) (*user.Group, error) {
	if _, err := strconv.ParseUint(s, 10, 32); err == nil {
		return &user.Group{Gid: s, Name: s}, nil
	}
	return user.LookupGroup(s)
}
