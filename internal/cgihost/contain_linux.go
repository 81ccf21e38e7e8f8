package cgihost

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sys/unix"
)

// Containment (SECURITY.md, "Process containment"):
//
//   - every script leads its own session (Setsid), so it cannot move into
//     another process group, and is signalled by pid as well as by group;
//   - when a writable cgroup2 hierarchy is found, every script starts
//     directly in a cgroup of its own (clone3 CLONE_INTO_CGROUP), and at its
//     end, unless cgroup.events already says "populated 0", cgroup.kill is
//     written and the cgroup waited for until it is empty: nothing a script
//     started survives it, whatever it did with sessions and groups. Empty
//     cgroups are reused (cgroupPool);
//   - as PID 1 (a container), orphans are reparented to the server, and a
//     reaper collects those no one else waits for;
//   - the server is made undumpable and its ambient and inheritable
//     capabilities are cleared, so a script running as the server's own
//     user cannot read its /proc files, pidfd_getfd its sockets or inherit
//     its capabilities.

// hardening is the process-wide state set up once, by the first Host that
// starts a script.
var hardening struct {
	once     sync.Once
	capsErr  error // capabilities could not be cleared in the server: use the shim
	cgroup   string
	cgNext   atomic.Uint64
	pool     cgroupPool
	exe      string // the server's binary, for the shim
	exeErr   error
	reaper   *reaper
	disabled bool // tests: no cgroup
}

// harden makes the server undumpable, clears the capabilities children
// would inherit, finds a cgroup for scripts and starts the reaper if this
// process is PID 1.
func harden(log *zap.Logger) {
	hardening.once.Do(func() {
		// Undumpable: /proc/<pid> of the server becomes root's, so a script
		// of the same uid cannot read environ, mem or fd, ptrace the server
		// or take its descriptors with pidfd_getfd. It also disables core
		// dumps, which would hold TLS keys.
		if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
			log.Warn("cannot make the server undumpable: scripts running as its user can read its memory", zap.Error(err))
		}
		if err := clearChildCaps(true); err != nil {
			hardening.capsErr = err
			log.Info("cannot clear the server's inheritable capabilities; scripts start through the shim", zap.Error(err))
		}
		hardening.exe, hardening.exeErr = os.Executable()
		if os.Getenv(noCgroupEnv) == "" {
			cg, err := scriptCgroupBase()
			if err != nil {
				log.Info("no writable cgroup2 hierarchy: processes a script detaches from its session can outlive it", zap.Error(err))
			} else {
				hardening.cgroup = cg
			}
		}
		if os.Getpid() == 1 {
			hardening.reaper = newReaper(log)
		}
	})
}

// noCgroupEnv, set in the server's environment, disables per-script
// cgroups (for tests of the fallback and for measurements).
const noCgroupEnv = "PYHTTP_CGI_NO_CGROUP"

// scriptCgroupBase creates the cgroup under which every script gets its
// own: a child of the server's cgroup in the cgroup2 hierarchy.
func scriptCgroupBase() (string, error) {
	mount, err := cgroup2Mount()
	if err != nil {
		return "", err
	}
	self, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return "", err
	}
	var rel string
	found := false
	for line := range strings.SplitSeq(string(self), "\n") {
		if p, ok := strings.CutPrefix(line, "0::"); ok {
			rel, found = p, true
		}
	}
	if !found {
		return "", errors.New("the server is in no cgroup2 cgroup")
	}
	parent := filepath.Join(mount, rel)
	removeStaleBases(parent)
	base := filepath.Join(parent, fmt.Sprintf("pyhttp-cgi-%d-%d", os.Getpid(), time.Now().UnixNano()))
	if err := os.Mkdir(base, 0o755); err != nil {
		return "", err
	}
	// Held until the process ends (the descriptor is never closed):
	// removeStaleBases of other servers leaves a locked base alone.
	lock, err := unix.Open(base, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err == nil {
		err = unix.Flock(lock, unix.LOCK_EX|unix.LOCK_NB)
	}
	if err != nil {
		_ = os.Remove(base)
		return "", fmt.Errorf("locking %s: %w", base, err)
	}
	// cgroup.kill needs Linux 5.14; without it the cgroup cannot end a
	// script's processes.
	if _, err := os.Stat(filepath.Join(base, "cgroup.kill")); err != nil {
		_ = os.Remove(base)
		return "", fmt.Errorf("no cgroup.kill: %w", err)
	}
	return base, nil
}

// removeStaleBases removes the script cgroups a server that is gone left
// behind (SIGKILL or a crash skips the cleanup), killing whatever still
// runs in them. A live server holds an exclusive flock on its base for its
// whole life, so a base whose lock can be taken is stale. Pids cannot tell:
// a server in another pid namespace sees the same hierarchy but not the
// owner's pid.
func removeStaleBases(parent string) {
	dirs, _ := filepath.Glob(filepath.Join(parent, "pyhttp-cgi-*"))
	for _, d := range dirs {
		fd, err := unix.Open(d, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			continue
		}
		if unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB) != nil {
			_ = unix.Close(fd) // its server is alive
			continue
		}
		kids, _ := filepath.Glob(filepath.Join(d, "s*"))
		for _, k := range kids {
			c := &scriptCgroup{dir: k, fd: -1, events: -1}
			c.kill()
			_ = waitUnpopulated(k, time.Second)
			_ = unix.Rmdir(k)
		}
		_ = unix.Rmdir(d)
		_ = unix.Close(fd)
	}
}

// cgroup2Mount finds where the cgroup2 hierarchy is mounted.
func cgroup2Mount() (string, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// id parent maj:min root mountpoint options... - fstype source superopts
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		if !ok {
			continue
		}
		fields, after := strings.Fields(pre), strings.Fields(post)
		if len(fields) >= 5 && len(after) >= 1 && after[0] == "cgroup2" && fields[3] == "/" {
			return fields[4], nil
		}
	}
	return "", errors.New("no cgroup2 hierarchy mounted")
}

// scriptCgroup is the cgroup of one script. Cgroups are pooled: creating
// and removing one per script (mkdir and rmdir in cgroupfs, a css_set and
// a kernfs node per control file) cost more than the rest of starting a
// hello script and serialised concurrent starts on cgroup_mutex. A cgroup
// is handed out to one script at a time and goes back to the pool only
// once it is empty again, so reuse is invisible to scripts.
type scriptCgroup struct {
	dir    string
	fd     int // the directory, for clone3 CLONE_INTO_CGROUP; -1 in removeStaleBases
	events int // cgroup.events, read to see whether anything still runs; -1 if not open
	// killed records a write to cgroup.kill. Such a cgroup is never reused:
	// Linux (6.18 here) then kills every later child cloned into it with
	// CLONE_INTO_CGROUP at once (its kill sequence no longer matches).
	killed bool
}

// cgroupPool holds the empty cgroups of scripts that ended.
type cgroupPool struct {
	mu   sync.Mutex
	free []*scriptCgroup
}

// maxFreeCgroups bounds the pool (two descriptors each); beyond it an
// emptied cgroup is removed. Peaks of concurrent scripts above it pay
// mkdir and rmdir again.
const maxFreeCgroups = 128

// newScriptCgroup hands out a cgroup for one script, from the pool or new,
// or returns nil when there is no hierarchy for scripts (or creating one
// failed: the script then runs without, which is logged).
func newScriptCgroup(log *zap.Logger) *scriptCgroup {
	if hardening.cgroup == "" {
		return nil
	}
	pool := &hardening.pool
	pool.mu.Lock()
	if n := len(pool.free); n > 0 {
		c := pool.free[n-1]
		pool.free = pool.free[:n-1]
		pool.mu.Unlock()
		return c
	}
	pool.mu.Unlock()
	dir := filepath.Join(hardening.cgroup, "s"+strconv.FormatUint(hardening.cgNext.Add(1), 10))
	if err := unix.Mkdir(dir, 0o755); err != nil {
		log.Warn("creating a cgroup for a cgi script", zap.String("cgroup", dir), zap.Error(err))
		return nil
	}
	c := &scriptCgroup{dir: dir, fd: -1, events: -1}
	var err error
	if c.fd, err = unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0); err == nil {
		c.events, err = unix.Open(filepath.Join(dir, "cgroup.events"), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	}
	if err != nil {
		c.destroy(log)
		log.Warn("opening a cgroup for a cgi script", zap.String("cgroup", dir), zap.Error(err))
		return nil
	}
	return c
}

// populated reports whether any process is still in the cgroup: the
// "populated" key of cgroup.events, which the kernel clears when the last
// process exits (a zombie no longer counts). An unreadable file counts as
// populated.
func (c *scriptCgroup) populated() bool {
	if c.events < 0 {
		return true
	}
	var buf [64]byte
	n, err := unix.Pread(c.events, buf[:], 0)
	if err != nil {
		return true
	}
	return !bytes.Contains(buf[:n], []byte("populated 0"))
}

// empty reports whether c is known to hold no process; false for no cgroup.
func (c *scriptCgroup) empty() bool {
	return c != nil && !c.populated()
}

// kill SIGKILLs every process in the cgroup (Linux 5.14 cgroup.kill); the
// kernel also kills processes forked into it meanwhile.
func (c *scriptCgroup) kill() {
	if c == nil {
		return
	}
	c.killed = true
	_ = os.WriteFile(filepath.Join(c.dir, "cgroup.kill"), []byte("1"), 0)
}

// release waits until the cgroup is empty (at most cgroupWait: a process
// stuck in the kernel cannot be waited for forever) and returns it to the
// pool, unless it was killed (then it is removed). One that does not empty
// is never handed out again.
func (c *scriptCgroup) release(log *zap.Logger) {
	if c == nil {
		return
	}
	if c.populated() {
		if err := waitUnpopulated(c.dir, cgroupWait); err != nil {
			log.Error("cgi script processes outlived their cgroup kill", zap.String("cgroup", c.dir), zap.Error(err))
			c.closeFDs()
			return
		}
	}
	if c.killed {
		c.destroy(log)
		return
	}
	pool := &hardening.pool
	pool.mu.Lock()
	if len(pool.free) < maxFreeCgroups {
		pool.free = append(pool.free, c)
		pool.mu.Unlock()
		return
	}
	pool.mu.Unlock()
	c.destroy(log)
}

// destroy closes c's descriptors and removes the (empty) cgroup.
func (c *scriptCgroup) destroy(log *zap.Logger) {
	c.closeFDs()
	if err := unix.Rmdir(c.dir); err != nil {
		log.Error("removing a cgi script's cgroup", zap.String("cgroup", c.dir), zap.Error(err))
	}
}

func (c *scriptCgroup) closeFDs() {
	for _, fd := range []*int{&c.fd, &c.events} {
		if *fd >= 0 {
			_ = unix.Close(*fd)
			*fd = -1
		}
	}
}

const cgroupWait = 5 * time.Second

// waitUnpopulated waits for "populated 0" in dir/cgroup.events, which
// signals each change with POLLPRI.
func waitUnpopulated(dir string, limit time.Duration) error {
	fd, err := unix.Open(filepath.Join(dir, "cgroup.events"), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	deadline := time.Now().Add(limit)
	buf := make([]byte, 256)
	for {
		n, err := unix.Pread(fd, buf, 0)
		if err != nil {
			return err
		}
		if bytes.Contains(buf[:n], []byte("populated 0")) {
			return nil
		}
		left := time.Until(deadline)
		if left <= 0 {
			return errors.New("cgroup still populated")
		}
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLPRI}}
		if _, err := unix.Poll(fds, int(min(left, 100*time.Millisecond)/time.Millisecond)+1); err != nil && err != unix.EINTR {
			return err
		}
	}
}

// reaper collects zombies reparented to the server when it is PID 1.
// Children someone waits for must keep their status: the leaders this
// package started (registered from before their start until their reap)
// and, for lack of a way to know them, every child in the server's own
// session, which is where other modules' os/exec children live unless they
// start new sessions themselves. Every script leads a session of its own,
// and so does or inherits everything it starts.
type reaper struct {
	// scan is held for reading around each start and for writing by a
	// scan, so a leader that exits at once is registered before a scan
	// can see its zombie.
	scan    sync.RWMutex
	mu      sync.Mutex // guards leaders
	leaders map[int]struct{}
	sid     int
	log     *zap.Logger
}

func newReaper(log *zap.Logger) *reaper {
	sid, _ := unix.Getsid(0)
	r := &reaper{leaders: map[int]struct{}{}, sid: sid, log: log}
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGCHLD)
	go func() {
		for range ch {
			r.reap()
		}
	}()
	return r
}

// starting wraps the start of a leader; done registers its pid (0 when the
// start failed).
func (r *reaper) starting() (done func(pid int)) {
	if r == nil {
		return func(int) {}
	}
	r.scan.RLock()
	return func(pid int) {
		if pid > 0 {
			r.mu.Lock()
			r.leaders[pid] = struct{}{}
			r.mu.Unlock()
		}
		r.scan.RUnlock()
	}
}

// reaped unregisters a leader its owner has reaped.
func (r *reaper) reaped(pid int) {
	if r == nil {
		return
	}
	r.mu.Lock()
	delete(r.leaders, pid)
	r.mu.Unlock()
}

func (r *reaper) isLeader(pid int) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.leaders[pid]
	return ok
}

// reap collects every zombie child that is neither a registered leader nor
// in the server's session.
func (r *reaper) reap() {
	r.scan.Lock()
	defer r.scan.Unlock()
	tasks, _ := os.ReadDir("/proc/self/task")
	for _, t := range tasks {
		b, err := os.ReadFile("/proc/self/task/" + t.Name() + "/children")
		if err != nil {
			continue
		}
		for f := range strings.FieldsSeq(string(b)) {
			pid, err := strconv.Atoi(f)
			if err != nil {
				continue
			}
			if r.isLeader(pid) {
				continue
			}
			state, sid, ok := zombieSession(pid)
			if !ok || state != 'Z' || sid == r.sid {
				continue
			}
			var info unix.Siginfo
			_ = unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOHANG, nil)
		}
	}
}

// zombieSession reads the state and session of pid from /proc.
func zombieSession(pid int) (state byte, sid int, ok bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, false
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, false
	}
	// state ppid pgrp session ...
	fields := strings.Fields(string(b[i+1:]))
	if len(fields) < 4 {
		return 0, 0, false
	}
	sid, err = strconv.Atoi(fields[3])
	return fields[0][0], sid, err == nil
}
