//go:build unix

package cgihost

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"sync"
	"syscall"
)

// ErrUIDPoolExhausted reports that every uid of the host's [UIDPool] was
// taken by a running script (or by a process one left behind).
var ErrUIDPoolExhausted = errors.New("no free uid in the cgi user pool")

// UIDPool gives each running script a uid (and gid of the same number) of
// its own, as systemd's DynamicUser does, so that no script can read
// another request's /proc/<pid>/environ (its HTTP_COOKIE and
// HTTP_AUTHORIZATION), signal it or ptrace it: Linux allows those only
// between processes of the same uid. A uid is handed out again only when
// no process runs under it any more, so a process that outlived its request
// cannot read the next one either. Pools of every Host share one record of
// the uids in use, so overlapping pools never hand one uid out twice. The
// uids must belong to no account (the caller checks that at load).
type UIDPool struct {
	first, last uint32
	mu          sync.Mutex
	next        uint32 // where the search for a free uid starts: round robin, so a uid rests as long as possible
}

// NewUIDPool returns the pool of uids first..last; uid 0 is refused.
func NewUIDPool(first, last uint32) (*UIDPool, error) {
	if first == 0 || last < first {
		return nil, fmt.Errorf("uid pool %d-%d: want 0 < first <= last", first, last)
	}
	return &UIDPool{first: first, last: last, next: first}, nil
}

// Size is the number of uids in the pool.
func (p *UIDPool) Size() int { return int(p.last-p.first) + 1 }

// uidsTaken is every uid some Host's pool handed out and has not got back.
var (
	uidsMu    sync.Mutex
	uidsTaken = map[uint32]bool{}
)

// take hands out a uid that no other script holds and no process runs as.
func (p *UIDPool) take() (uint32, bool) {
	live := liveUIDs(p.first, p.last)
	p.mu.Lock()
	defer p.mu.Unlock()
	uidsMu.Lock()
	defer uidsMu.Unlock()
	for range p.Size() {
		uid := p.next
		if p.next == p.last {
			p.next = p.first
		} else {
			p.next++
		}
		if !uidsTaken[uid] && !live[uid] {
			uidsTaken[uid] = true
			return uid, true
		}
	}
	return 0, false
}

func (p *UIDPool) put(uid uint32) {
	uidsMu.Lock()
	defer uidsMu.Unlock()
	delete(uidsTaken, uid)
}

// liveUIDs returns the uids in first..last that own a process, read from the
// owners of the /proc/<pid> directories (its effective uid).
func liveUIDs(first, last uint32) map[uint32]bool {
	live := map[uint32]bool{}
	d, err := os.Open("/proc")
	if err != nil {
		return live
	}
	defer d.Close()
	names, _ := d.Readdirnames(-1)
	var st syscall.Stat_t
	for _, name := range names {
		if _, err := strconv.Atoi(name); err != nil {
			continue
		}
		if syscall.Stat("/proc/"+name, &st) == nil && st.Uid >= first && st.Uid <= last {
			live[st.Uid] = true
		}
	}
	return live
}

// credentialFor picks the account s runs as: its own Credential (user
// owner) when set, else a uid of its own from UIDPool
// when set, else Credential (nil: the server's own). release gives a pool
// uid back; the caller calls it once the script and its process group are
// reaped.
func (h *Host) credentialFor(s *Script) (cred *syscall.Credential, release func(), err error) {
	if s.Credential != nil { // the script's own account (user owner)
		return s.Credential, func() {}, nil
	}
	if h.UIDPool == nil {
		return h.Credential, func() {}, nil
	}
	uid, ok := h.UIDPool.take()
	if !ok {
		return nil, nil, &Error{Status: http.StatusServiceUnavailable, Err: ErrUIDPoolExhausted}
	}
	return &syscall.Credential{Uid: uid, Gid: uid}, func() { h.UIDPool.put(uid) }, nil
}
