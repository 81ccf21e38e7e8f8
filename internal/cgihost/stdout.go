//go:build unix

package cgihost

import (
	"errors"
	"io"
	"os"
	"sync"
	"time"
)

// stdoutReader reads a script's stdout, applying the exit linger: once the
// group is dead, buffered output is still delivered in full, however slow
// the client, but a pipe held open by an escaped process ends the stream
// after exitLinger of silence or after more than a pipe's worth of new data.
//
// Only Serve's goroutine reads; the supervisor talks to it through the read
// deadline of f, killed and stopped.
type stdoutReader struct {
	f       *os.File
	killed  <-chan struct{} // closed once the group got its final SIGKILL
	stopped func() bool     // the supervisor decided to stop the script
	eof     chan struct{}   // closed when the reader saw EOF
	eofOnce sync.Once

	ownDeadline bool          // the current read deadline was set by the reader
	postKill    int64         // bytes read after the final SIGKILL
	waited      time.Duration // time spent blocked in reads after the final SIGKILL
}

// Read implements io.Reader. It reports errTerminated once the script is
// being stopped, and io.EOF at the end of the output or of the linger.
func (o *stdoutReader) Read(b []byte) (int, error) {
	for {
		if o.stopped() {
			return 0, errTerminated
		}
		select {
		case <-o.killed:
			// An escaped process trickling a byte now and then never
			// leaves exitLinger of silence: the time spent waiting for it
			// is capped too (time spent writing to a slow client is not
			// counted, so buffered output still gets through).
			if o.postKill > 2*pipeCapacity || o.waited >= maxLinger {
				return 0, io.EOF
			}
			_ = o.f.SetReadDeadline(time.Now().Add(min(exitLinger, maxLinger-o.waited)))
			o.ownDeadline = true
		default:
		}
		t0 := time.Now()
		n, err := o.f.Read(b)
		if o.ownDeadline {
			o.waited += time.Since(t0)
		}
		if o.stopped() {
			// Checked after the read too: a read woken by the supervisor's
			// deadline can still report EOF if the pipe closes before the
			// reader runs, which would pass a killed script's output off as
			// complete.
			return 0, errTerminated
		}
		if o.ownDeadline {
			o.postKill += int64(n)
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			if o.ownDeadline {
				return n, io.EOF
			}
			if n > 0 {
				return n, nil
			}
			continue // the supervisor's linger deadline hit a read it did not expect
		}
		if errors.Is(err, io.EOF) {
			o.eofOnce.Do(func() { close(o.eof) })
		}
		return n, err
	}
}

// maxLinger caps the total time the reader waits for output after the
// group's final SIGKILL.
const maxLinger = 5 * exitLinger

// errTerminated is what the stdout reader reports once the supervisor has
// decided to stop the script.
var errTerminated = errors.New("cgi script stopped")
