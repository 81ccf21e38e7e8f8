//go:build unix

package cgihost

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// serve handles the script's output: header block, then body.
func (p *process) serve(w http.ResponseWriter, r *http.Request) outcome {
	bufs := bufferPool.Get().(*buffers)
	defer bufferPool.Put(bufs)
	bufs.br.Reset(p.out)
	defer bufs.br.Reset(nil)

	hdr, err := ReadHeader(bufs.br, maxHeaderBytes, p.script.NPH)
	if err != nil {
		return outcome{err: p.abandonBeforeHeader(err)}
	}
	status, loc := hdr.Status, hdr.Location
	if loc != "" && status == 0 {
		if strings.HasPrefix(loc, "/") {
			return p.localRedirect(bufs.br, loc)
		}
		// RFC 3875 section 6.2.3: a client redirect.
		status = http.StatusFound
	}
	if status == 0 {
		status = http.StatusOK
	}
	p.writeHead(w, hdr, status, loc)
	// HEAD and 204/304 send no body (CPython sends it anyway), but the output
	// is still drained so the script is not blocked on a full pipe.
	discard := r.Method == http.MethodHead || !bodyAllowed(status)
	copyErr := p.streamBody(w, bufs, discard)
	if copyErr == nil && p.canDetach() {
		// The body is complete (stdout reached EOF) but the script runs
		// on: let the response end now instead of holding the client until
		// the script exits, as CPython does. Apache likewise ends the
		// response and deals with the process afterwards.
		return p.detach("", status)
	}
	return outcome{err: p.endResponse(status, copyErr, discard)}
}

// localRedirect handles a Location starting with "/" and no Status: the
// server serves loc itself (RFC 3875 section 6.2.2). The rest of the output
// is meaningless but the script must finish.
func (p *process) localRedirect(br *bufio.Reader, loc string) outcome {
	_, err := io.Copy(io.Discard, br)
	p.errlog.setStatus(http.StatusOK)
	if err == nil && p.canDetach() {
		// As for a complete body: the redirect need not wait for a script
		// that closed stdout and works on.
		return p.detach(loc, 0)
	}
	state := p.finish()
	if err != nil {
		return outcome{err: p.reportBeforeHeader(state, statusFor(p.reason()), err)}
	}
	p.logExit(state, 0)
	return outcome{localRedirect: loc}
}

// writeHead sends the response header built from the script's.
func (p *process) writeHead(w http.ResponseWriter, hdr *ResponseHeader, status int, loc string) {
	out := w.Header()
	for k, vv := range hdr.Header {
		out[k] = vv
	}
	out.Del("Content-Length")
	if loc != "" {
		out.Set("Location", loc)
	}
	if _, ok := hdr.Header["Content-Type"]; !ok {
		// Without a Content-Type, net/http would sniff one from the body.
		out["Content-Type"] = nil
	}
	p.wmu.Lock()
	p.streaming = true
	p.wmu.Unlock()
	p.errlog.setStatus(status)
	w.WriteHeader(status)
}

// streamBody sends the body (or drains it when discard is set) and returns
// what cut it short, if anything.
func (p *process) streamBody(w http.ResponseWriter, bufs *buffers, discard bool) error {
	rc := http.NewResponseController(w)
	var copyErr error
	if !discard && bufs.br.Buffered() == 0 {
		// Show the header now: an event stream may be silent for a while.
		if err := rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
			p.abort()
			copyErr = p.abortCause(fmt.Errorf("flushing response header: %w", err))
		}
	}
	if copyErr == nil {
		copyErr = p.copyBody(w, rc, bufs, discard)
	}
	// A script that closed stdout and runs on past Timeout must not get its
	// complete response cut by a write deadline.
	p.wmu.Lock()
	p.streaming = false
	p.wmu.Unlock()
	return copyErr
}

// canDetach reports whether a script whose output is complete may be left
// to run on after the response: its request body was delivered in full
// and it does not exit within exitLinger anyway.
func (p *process) canDetach() bool {
	return p.stdinDelivered() && !p.exitsSoon()
}

// detach ends the response while the script runs on; it is the only way a
// response ends before its script. The caller checked canDetach: with the
// request body delivered, finish never touches the ResponseWriter, which
// belongs to net/http again once Serve returns. Closing p.detached tells
// the supervisor that the end of the request, which cancels its context,
// no longer concerns the script; Timeout and Close still do. The outcome's
// background function waits for the script, reaps it and logs its exit.
func (p *process) detach(loc string, status int) outcome {
	p.cutStdin()
	close(p.detached)
	return outcome{localRedirect: loc, background: func() {
		p.logExit(p.finish(), status)
	}}
}

// stdinDelivered reports whether the whole request body has reached the
// script (or there was none to stream). A script that answered early and
// still reads its upload must not be detached: that would cut the body
// short and pass the truncation off as EOF.
func (p *process) stdinDelivered() bool {
	select {
	case <-p.stdinDone:
		return true
	default:
		return false
	}
}

// exitsSoon reports whether the leader exits within exitLinger of the end
// of its output, which is what almost every script does.
func (p *process) exitsSoon() bool {
	select {
	case <-p.exited:
		return true
	default:
	}
	t := time.NewTimer(exitLinger)
	defer t.Stop()
	select {
	case <-p.exited:
		return true
	case <-t.C:
		return false
	}
}

// copyBody streams the body as the script writes it: whenever a read comes
// back short the pipe is empty for now, so what was read is flushed, which
// is what server-sent events and long polling need.
func (p *process) copyBody(w http.ResponseWriter, rc *http.ResponseController, bufs *buffers, discard bool) error {
	buf := bufs.buf
	for {
		n, rerr := bufs.br.Read(buf)
		if n > 0 && !discard {
			m, err := w.Write(buf[:n])
			p.bytesOut.Add(int64(m))
			if err != nil {
				p.abort()
				return p.abortCause(fmt.Errorf("writing response: %w", err))
			}
			if n < len(buf) && !p.leaderExited() {
				// Once the script has exited, the rest of its output is
				// already in the pipe: the next reads end the body, and
				// flushing now would only cost a system call and a TCP
				// segment ahead of the final chunk.
				if err := rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
					p.abort()
					return p.abortCause(fmt.Errorf("flushing response: %w", err))
				}
			}
		}
		switch {
		case rerr == nil:
		case errors.Is(rerr, io.EOF):
			return nil
		default:
			p.abort()
			return p.abortCause(rerr)
		}
	}
}

// leaderExited reports whether the script's leader process has exited.
func (p *process) leaderExited() bool {
	select {
	case <-p.exited:
		return true
	default:
		return false
	}
}

// abortCause names why a started response stopped.
func (p *process) abortCause(err error) error {
	switch p.reason() {
	case reasonClientGone:
		return fmt.Errorf("client gone: %w", err)
	case reasonTimeout:
		return ErrTimeout
	case reasonClosed:
		return ErrClosed
	}
	if errors.Is(err, errTerminated) {
		return errors.New("reading script output: stopped")
	}
	return fmt.Errorf("reading script output: %w", err)
}

// bodyAllowed reports whether status may carry content (RFC 9110 sections
// 15.3.5 and 15.4.5); net/http refuses writes otherwise.
func bodyAllowed(status int) bool {
	return status != http.StatusNoContent && status != http.StatusNotModified
}

type buffers struct {
	br  *bufio.Reader
	buf []byte
}

// bufferPool keeps the per-request stdout buffers: a large copy buffer keeps
// the syscall count low on big outputs (the ~2 GB/s target), pooling keeps
// memory flat under load.
var bufferPool = sync.Pool{New: func() any {
	return &buffers{br: bufio.NewReaderSize(nil, headerBufSize), buf: make([]byte, copyBufSize)}
}}
