package pyhttp

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"strconv"
	"strings"

	"github.com/pyhttp/caddy-pyhttp/internal/cgihost"
	"go.uber.org/zap"
)

// maxUIDPool bounds a user_pool: large enough for any max_procs, small
// enough that the load-time check of every uid stays quick.
const maxUIDPool = 65536

// uidPool parses and checks a user_pool range ("61000-61999"): Caddy must
// run as root, user must not be set, and no uid of the range may belong to
// an account (a script would get that account's files). max_procs defaults
// to the pool's size and may not exceed it.
func (c *CGI) uidPool() (*cgihost.UIDPool, error) {
	first, last, ok := strings.Cut(c.UserPool, "-")
	lo, err1 := strconv.ParseUint(first, 10, 32)
	hi, err2 := strconv.ParseUint(last, 10, 32)
	switch {
	case !ok || err1 != nil || err2 != nil:
		return nil, fmt.Errorf("user_pool %q: want a uid range such as 61000-61999", c.UserPool)
	case lo == 0 || hi < lo:
		return nil, fmt.Errorf("user_pool %q: want 0 < first <= last", c.UserPool)
	case hi-lo+1 > maxUIDPool:
		return nil, fmt.Errorf("user_pool %q: at most %d uids", c.UserPool, maxUIDPool)
	case c.User != "" || c.Group != "":
		return nil, errors.New("user_pool and user cannot be combined: the pool picks each script's uid")
	case os.Geteuid() != 0:
		return nil, errors.New("user_pool requires running Caddy as root")
	}
	size := int(hi - lo + 1)
	if c.MaxProcs == 0 {
		c.MaxProcs = size
	} else if c.MaxProcs > size {
		return nil, fmt.Errorf("user_pool %q has %d uids, fewer than max_procs %d", c.UserPool, size, c.MaxProcs)
	}
	for uid := lo; uid <= hi; uid++ {
		if u, err := user.LookupId(strconv.FormatUint(uid, 10)); err == nil {
			return nil, fmt.Errorf("user_pool %q: uid %d belongs to account %q; choose uids no account uses", c.UserPool, uid, u.Username)
		}
	}
	return cgihost.NewUIDPool(uint32(lo), uint32(hi))
}

// warnSharedUID says at load that scripts of this handler share one uid,
// so that any of them can read a concurrent one's environment.
func (c *CGI) warnSharedUID(uid int) {
	if c.UserPool != "" || c.MaxProcs == 1 {
		return
	}
	exposed := []string{"HTTP_COOKIE"}
	if c.PassAuth {
		exposed = append(exposed, "HTTP_AUTHORIZATION")
	}
	c.logger.Warn("cgi scripts of this handler share one uid: a script can read a concurrent request's credentials from /proc/<pid>/environ; set user_pool to run each script as a uid of its own",
		zap.Int("uid", uid), zap.Strings("exposed", exposed))
}
