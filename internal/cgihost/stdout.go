//go:build unix

package cgihost

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"time"
)

// stdoutPair creates a script's stdout: a unix stream socket pair rather
// than a pipe, so that the body can go from it to the client's TCP
// connection with splice(2) when the framing allows (see spliceBody), as
// Apache's mod_cgid also gives its scripts a socket. Ours is a
// *net.UnixConn (read deadlines, the poller); the script's is a blocking
// *os.File for fd 1, with a send buffer of pipeCapacity so that a fast
// script hands over as much per wake-up as it did through a 1 MiB pipe.
func stdoutPair() (*net.UnixConn, *os.File, error) {
	fds, err := socketpair()
	if err != nil {
		return nil, nil, fmt.Errorf("socketpair: %w", err)
	}
	// Capped by net.core.wmem_max; failure only costs throughput.
	_ = syscall.SetsockoptInt(fds[1], syscall.SOL_SOCKET, syscall.SO_SNDBUF, pipeCapacity)
	script := os.NewFile(uintptr(fds[1]), "cgi-stdout")
	ours := os.NewFile(uintptr(fds[0]), "cgi-stdout")
	c, err := net.FileConn(ours) // a close-on-exec dup
	_ = ours.Close()
	if err != nil {
		_ = script.Close()
		return nil, nil, err
	}
	uc, ok := c.(*net.UnixConn)
	if !ok {
		_ = c.Close()
		_ = script.Close()
		return nil, nil, fmt.Errorf("socketpair gave a %T", c)
	}
	return uc, script, nil
}

// deadlineReader is our end of the script's stdout.
type deadlineReader interface {
	io.Reader
	SetReadDeadline(time.Time) error
}

// stdoutReader reads a script's stdout, applying the exit linger: once the
// group is dead, buffered output is still delivered in full, however slow
// the client, but a pipe held open by an escaped process ends the stream
// after exitLinger of silence or after more than a pipe's worth of new data.
//
// Only Serve's goroutine reads; the supervisor talks to it through the read
// deadline of f, killed and stopped.
type stdoutReader struct {
	f       deadlineReader
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
			o.sawEOF()
		}
		return n, err
	}
}

// sawEOF records the end of the output, also when it was seen by a splice
// that bypassed Read.
func (o *stdoutReader) sawEOF() { o.eofOnce.Do(func() { close(o.eof) }) }

// maxLinger caps the total time the reader waits for output after the
// group's final SIGKILL.
const maxLinger = 5 * exitLinger

// errTerminated is what the stdout reader reports once the supervisor has
// decided to stop the script.
var errTerminated = errors.New("cgi script stopped")
