package listing

import (
	"context"
	"errors"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// ErrBusy is returned by Lister.List when the listing could not get its
// share of the memory budget (or a build slot) within the wait: the caller
// answers 503.
var ErrBusy = errors.New("too many large directory listings in progress")

// Lister bounds the memory that directory listings hold at once, however
// many clients ask for them and however slowly they read:
//
//   - An Index is held from the moment it is built until its response is
//     written, which for a client that never reads is the server's write
//     timeout. Every held index is charged to a byte budget (limit); a
//     listing whose index does not fit waits, up to wait, for others to
//     finish, and then fails with ErrBusy. An index larger than the whole
//     budget is listed alone.
//   - At most builds indexes are built at once (the CPU-bound part, with
//     transient memory of about twice the index), and the budget is taken
//     before the build slot is given back, so the memory of listings is at
//     most limit plus builds times a build's own.
//   - HTML listings (Options.Stat false) of the same directory with the same
//     key share one index while any of them is in flight and the directory
//     is the same file with the same modification time (entries added,
//     removed or renamed change it), so 60 clients of one huge directory
//     cost one index, not 60. JSON listings, whose sizes and times can
//     change without the directory changing, are built per request.
//
// The zero Lister is not usable; use NewLister.
type Lister struct {
	limit  int64
	wait   time.Duration
	builds chan struct{}

	mu      sync.Mutex
	used    int64
	changed chan struct{} // closed and replaced whenever used drops
	waiting int           // acquire calls waiting for the budget
	shared  map[string]*held
	// building holds, per key of a shared listing being built, a channel
	// closed when that build ends, so that one build serves them all.
	building map[string]chan struct{}

	inFlight atomic.Int64
	pending  atomic.Int64
}

// held is an index charged to the budget, with the requests sending it.
type held struct {
	x    *Index
	dir  os.FileInfo // the directory as it was before the index was read
	key  string
	cost int64
	refs int
}

// NewLister returns a Lister with a budget of limit bytes of index memory,
// builds concurrent builds (at least 1), and a wait of at most wait for
// either.
func NewLister(limit int64, builds int, wait time.Duration) *Lister {
	return &Lister{
		limit:   limit,
		wait:    wait,
		builds:  make(chan struct{}, max(builds, 1)),
		changed: make(chan struct{}),
		shared:  make(map[string]*held),

		building: make(map[string]chan struct{}),
	}
}

// InFlight returns the number of List calls whose release has not been
// called yet (waiting, building or sending).
func (l *Lister) InFlight() int64 { return l.inFlight.Load() }

// Pending returns the number of List calls that have not returned yet
// (waiting for the budget or a build slot, or building).
func (l *Lister) Pending() int64 { return l.pending.Load() }

// Used returns the bytes of index memory charged to the budget now.
func (l *Lister) Used() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.used
}

// List returns the index of dir for opt, and the function to call once
// the response is written (exactly once, also after an error from
// writing). key must identify everything besides dir that shapes the index
// (the Hide patterns); it decides which requests may share an index. An
// error from ReadIndex is returned as is; ErrBusy or the context's error
// when the budget or a build slot was not free in time.
func (l *Lister) List(ctx context.Context, dir, key string, opt Options) (*Index, func(), error) {
	l.inFlight.Add(1)
	l.pending.Add(1)
	x, release, err := l.list(ctx, dir, key, opt)
	l.pending.Add(-1)
	if err != nil {
		l.inFlight.Add(-1)
		return nil, nil, err
	}
	return x, release, nil
}

func (l *Lister) list(ctx context.Context, dir, key string, opt Options) (*Index, func(), error) {
	share := !opt.Stat
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, nil, err
	}
	deadline := time.NewTimer(l.wait)
	defer deadline.Stop()
	if share {
		for {
			h, done := l.lookupOrBuild(key, fi)
			if h != nil {
				return h.x, l.releaser(h), nil
			}
			if done == nil {
				break // this request builds it
			}
			select {
			case <-done:
			case <-deadline.C:
				return nil, nil, ErrBusy
			case <-ctx.Done():
				return nil, nil, ctx.Err()
			}
		}
		defer func() {
			l.mu.Lock()
			close(l.building[key])
			delete(l.building, key)
			l.mu.Unlock()
		}()
	}
	select {
	case l.builds <- struct{}{}:
	case <-deadline.C:
		return nil, nil, ErrBusy
	case <-ctx.Done():
		return nil, nil, ctx.Err()
	}
	defer func() { <-l.builds }()
	x, err := ReadIndex(dir, opt)
	if err != nil {
		return nil, nil, err
	}
	h := &held{x: x, dir: fi, key: key, cost: min(x.Bytes(), l.limit), refs: 1}
	if err := l.acquire(ctx, deadline.C, h.cost); err != nil {
		return nil, nil, err
	}
	if share {
		l.mu.Lock()
		l.shared[key] = h // replaces an index of an older state of dir
		l.mu.Unlock()
	}
	return x, l.releaser(h), nil
}

// lookupOrBuild returns the shared index for key with one more reference,
// if it was read from dir as it is now. Otherwise it returns the channel of
// the build of key under way, or, if there is none, nil for both after
// recording that the caller builds it.
func (l *Lister) lookupOrBuild(key string, dir os.FileInfo) (*held, <-chan struct{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if h := l.shared[key]; h != nil && os.SameFile(h.dir, dir) && h.dir.ModTime().Equal(dir.ModTime()) {
		h.refs++
		return h, nil
	}
	if done := l.building[key]; done != nil {
		return nil, done
	}
	l.building[key] = make(chan struct{})
	return nil, nil
}

// acquire charges n bytes to the budget, waiting until they fit (or
// nothing is charged), the deadline fires or ctx ends.
func (l *Lister) acquire(ctx context.Context, deadline <-chan time.Time, n int64) error {
	for {
		l.mu.Lock()
		if l.used == 0 || l.used+n <= l.limit {
			l.used += n
			l.mu.Unlock()
			return nil
		}
		changed := l.changed
		l.waiting++
		l.mu.Unlock()
		var err error
		select {
		case <-changed:
		case <-deadline:
			err = ErrBusy
		case <-ctx.Done():
			err = ctx.Err()
		}
		l.mu.Lock()
		l.waiting--
		l.mu.Unlock()
		if err != nil {
			return err
		}
	}
}

// releaser returns the function that drops one reference to h, and frees
// its budget with the last.
func (l *Lister) releaser(h *held) func() {
	var once sync.Once
	return func() {
		once.Do(func() {
			l.mu.Lock()
			h.refs--
			if h.refs == 0 {
				if l.shared[h.key] == h {
					delete(l.shared, h.key)
				}
				l.used -= h.cost
				close(l.changed)
				l.changed = make(chan struct{})
			}
			l.mu.Unlock()
			l.inFlight.Add(-1)
		})
	}
}
