//go:build unix

package cgihost

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
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
	cl := p.contentLength(hdr, status)
	p.writeHead(w, hdr, status, loc, cl)
	// HEAD and 204/304 send no body (CPython sends it anyway), but the output
	// is still drained so the script is not blocked on a full pipe.
	discard := r.Method == http.MethodHead || !bodyAllowed(status)
	if discard {
		cl = -1 // HEAD: the length is what a GET would send, not a bound
	}
	copyErr := p.streamBody(w, r, bufs, discard, cl)
	overLong := errors.Is(copyErr, errOverLong)
	if overLong {
		copyErr = nil // the client got exactly Content-Length bytes
	}
	if copyErr == nil && !overLong && p.canDetach() {
		// The body is complete (stdout reached EOF) but the script runs
		// on: let the response end now instead of holding the client until
		// the script exits, as CPython does. Apache likewise ends the
		// response and deals with the process afterwards.
		return p.detach("", status)
	}
	return outcome{err: p.endResponse(status, copyErr, discard)}
}

// contentLength returns the script's Content-Length to send on, or -1 for
// none. NPH scripts keep the server's framing, and 204 and 304 carry no
// length of their own.
func (p *process) contentLength(hdr *ResponseHeader, status int) int64 {
	if hdr.BadContentLength != nil {
		if ce := p.log.Check(zapcore.WarnLevel, "cgi script sent an invalid Content-Length; dropped"); ce != nil {
			ce.Write(zap.String("script", p.script.Path), zap.Int("pid", p.pid), zap.Strings("content_length", hdr.BadContentLength))
		}
	}
	if p.script.NPH || !bodyAllowed(status) {
		return -1
	}
	return hdr.ContentLength
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

// writeHead sends the response header built from the script's, with cl as
// its Content-Length unless it is -1.
func (p *process) writeHead(w http.ResponseWriter, hdr *ResponseHeader, status int, loc string, cl int64) {
	out := w.Header()
	for k, vv := range hdr.Header {
		out[k] = vv
	}
	out.Del("Content-Length")
	if cl >= 0 {
		out["Content-Length"] = []string{strconv.FormatInt(cl, 10)}
	}
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
func (p *process) streamBody(w http.ResponseWriter, r *http.Request, bufs *buffers, discard bool, cl int64) error {
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
		b := &bodyCopy{p: p, w: w, r: r, rc: rc, bufs: bufs, discard: discard, left: cl, declared: cl,
			encoding: w.Header()["Content-Encoding"], piece: pieceFor(r, cl)}
		copyErr = b.run()
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

// bodyCopy sends one response body.
type bodyCopy struct {
	p        *process
	w        http.ResponseWriter
	r        *http.Request
	rc       *http.ResponseController
	bufs     *buffers
	discard  bool
	declared int64    // the Content-Length sent, or -1
	left     int64    // bytes of it still to send, or -1 without one
	encoding []string // Content-Encoding as the script set it
	piece    int      // the largest Write (pieceFor)
	wrote    bool     // a body write went through the ResponseWriter
	spliced  bool     // spliceBody was tried
}

// run streams the body as the script writes it: whenever a read comes back
// short the output is empty for now, so what was read is flushed, which is
// what server-sent events and long polling need. When the framing allows,
// the rest goes with spliceBody instead. With a Content-Length, exactly that
// many bytes are sent: less ends in an abort, more in errOverLong.
func (b *bodyCopy) run() error {
	p, bufs := b.p, b.bufs
	for {
		if b.left == 0 {
			return b.atLength()
		}
		if b.canSplice() {
			if err, done := b.spliceBody(); done {
				return err
			}
			continue // at Content-Length, or the read loop takes over
		}
		// Whole pieces: a short last piece per read would cost a write call
		// for little.
		buf := bufs.buf[:len(bufs.buf)/b.piece*b.piece]
		if b.left > 0 && int64(len(buf)) > b.left {
			buf = buf[:b.left]
		}
		n, rerr := bufs.br.Read(buf)
		if n > 0 && !b.discard {
			if b.left > 0 {
				b.left -= int64(n)
			}
			if err := b.write(buf[:n]); err != nil {
				p.abort()
				return p.abortCause(fmt.Errorf("writing response: %w", err))
			}
			if n < len(buf) && !p.leaderExited() {
				// Once the script has exited, the rest of its output is
				// already in the socket: the next reads end the body, and
				// flushing now would only cost a system call and a TCP
				// segment ahead of the final chunk.
				if err := b.rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
					p.abort()
					return p.abortCause(fmt.Errorf("flushing response: %w", err))
				}
			}
		}
		switch {
		case rerr == nil:
		case errors.Is(rerr, io.EOF):
			return b.atEOF()
		default:
			p.abort()
			return p.abortCause(rerr)
		}
	}
}

// write sends data in pieces of at most b.piece bytes.
func (b *bodyCopy) write(data []byte) error {
	for len(data) > 0 {
		piece := data[:min(len(data), b.piece)]
		m, err := b.w.Write(piece)
		b.wrote = true
		b.p.bytesOut.Add(int64(m))
		if err != nil {
			return err
		}
		data = data[len(piece):]
	}
	return nil
}

// writePiece bounds each Write of an unchunked HTTP/1.x body. A write(2) of
// exactly 64 KiB (Caddy's default write chunk) to a loopback socket costs
// the sender 1.6x the CPU of a 60 KiB one (bench/relay.go: 39 against 22 ms
// per 100 MiB; 256 KiB writes: 28), presumably because it is two full
// segments (TCP_MAXSEG 32,741 there) and a 54-byte one, every time. A chunked body needs no
// pieces: net/http writes each chunk as its first 4 KiB (with the chunk
// header) and the rest, so no write is a multiple of 64 KiB. Over any other
// link the pieces cost only the extra write calls.
const writePiece = 60 << 10

// pieceFor returns the largest Write for a body: writePiece for a body
// net/http does not chunk (a Content-Length, or HTTP/1.0), else a whole
// copy buffer.
func pieceFor(r *http.Request, declared int64) int {
	if r.ProtoMajor == 1 && (declared >= 0 || r.ProtoMinor == 0) {
		return writePiece
	}
	return copyBufSize
}

// atEOF ends a body whose output ended: complete, unless the script sent
// less than its Content-Length. net/http would close the connection then,
// but a middleware that dropped the length (encode) would end its own
// framing normally and pass the truncated body off as complete: abort.
func (b *bodyCopy) atEOF() error {
	if b.left <= 0 {
		return nil
	}
	sent := b.declared - b.left
	p := b.p
	if ce := p.log.Check(zapcore.WarnLevel, "cgi script output ended before its Content-Length; closing the connection"); ce != nil {
		ce.Write(zap.String("script", p.script.Path), zap.Int("pid", p.pid),
			zap.Int64("content_length", b.declared), zap.Int64("sent", sent))
	}
	// What was sent goes out before the abort closes the connection, so the
	// client sees the body cut short rather than no response at all.
	_ = b.rc.Flush()
	return fmt.Errorf("cgi script sent %d of its %d-byte Content-Length", sent, b.declared)
}

// atLength is reached once Content-Length bytes were sent: the output must
// end there. If the script has more, the rest is not sent, the script is
// stopped, and the response (complete and framed) stands, so a keep-alive
// connection stays in sync.
func (b *bodyCopy) atLength() error {
	p := b.p
	n, err := b.bufs.br.Read(b.bufs.buf[:1])
	switch {
	case n > 0:
		p.abort()
		if ce := p.log.Check(zapcore.WarnLevel, "cgi script output exceeds its Content-Length; cut there and script stopped"); ce != nil {
			ce.Write(zap.String("script", p.script.Path), zap.Int("pid", p.pid), zap.Int64("content_length", b.declared))
		}
		return errOverLong
	case err == nil:
		return b.atLength() // cannot happen: Read of one byte returns one or fails
	case errors.Is(err, io.EOF):
		return nil
	default:
		p.abort()
		return p.abortCause(err)
	}
}

// errOverLong reports that atLength cut off output beyond Content-Length.
var errOverLong = errors.New("cgi output beyond its Content-Length")

// canSplice reports whether the rest of the body can go from the script's
// socket straight to the client's with splice(2) (Go's TCPConn.ReadFrom,
// reached through net/http's response.ReadFrom and Caddy's wrappers).
// That needs an HTTP/1.x connection without TLS, a body net/http does not
// chunk (a Content-Length, or HTTP/1.0, which ends the body at close), no
// middleware transforming the body (encode drops Content-Length or sets
// Content-Encoding; the first write through the chain made it decide),
// nothing buffered in the header reader, and a script not yet killed (the
// stdoutReader's exit linger then takes over). A chunked body keeps the
// read/flush loop: splicing would need to frame each chunk itself.
//
// Caddy's write-idle wrapper (IdleTimeoutWriter, on by default) hands each
// 64 KiB chunk over as an *io.LimitedReader of its own, which hides an inner
// LimitedReader from the connection: a bounded body would not be spliced,
// and an unbounded one would not stop at Content-Length. So with the
// wrapper only a body without Content-Length is spliced (over HTTP/1.0).
//
// Nor is a body for a client on the same host (loopback): splice halves
// the server's CPU per byte relayed, but the loopback receiver then pays
// about twice its usual CPU for the spliced pages, and end to end the copy
// is faster (BENCHMARKS.md, issue 10, "CGI output").
func (b *bodyCopy) canSplice() bool {
	if b.spliced || b.discard || !b.wrote || b.bufs.br.Buffered() > 0 {
		return false
	}
	b.spliced = true // decided once
	if b.r.ProtoMajor != 1 || b.r.TLS != nil || b.p.groupKilled() || loopbackClient(b.r) {
		return false
	}
	if _, ok := b.w.(io.ReaderFrom); !ok {
		return false
	}
	h := b.w.Header()
	if !slices.Equal(h["Content-Encoding"], b.encoding) {
		return false
	}
	if b.declared >= 0 {
		return h.Get("Content-Length") == strconv.FormatInt(b.declared, 10) && !behindChunkingWriter(b.w)
	}
	return b.r.ProtoMinor == 0
}

// loopbackClient reports whether r came from a loopback address.
func loopbackClient(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}

// spliceSource returns what spliceBody hands to ReadFrom: the script's
// socket itself, or an *io.LimitedReader of it bounded at what is left of
// Content-Length. Go splices from exactly these two (net/splice_linux.go).
func (b *bodyCopy) spliceSource() (io.Reader, *io.LimitedReader) {
	if b.left < 0 {
		return b.p.stdout, nil
	}
	lr := &io.LimitedReader{R: b.p.stdout, N: b.left}
	return lr, lr
}

// spliceBody sends the rest of the body with one ReadFrom. done is false
// when the read loop must go on: after Content-Length bytes (to check that
// the output ends there) and when the supervisor's read deadline after the
// group's SIGKILL cut the splice short (the stdoutReader's linger rules then
// apply to what is left).
func (b *bodyCopy) spliceBody() (err error, done bool) {
	p := b.p
	src, lr := b.spliceSource()
	n, err := b.w.(io.ReaderFrom).ReadFrom(src)
	p.bytesOut.Add(n)
	if lr != nil {
		b.left = lr.N
	}
	if p.stopping() {
		// As in stdoutReader.Read: a splice woken by the supervisor's
		// deadline may have seen EOF, which must not pass for the end.
		p.abort()
		return p.abortCause(errTerminated), true
	}
	switch {
	case err == nil && b.left == 0:
		return nil, false
	case err == nil:
		p.out.sawEOF()
		return b.atEOF(), true
	case errors.Is(err, os.ErrDeadlineExceeded):
		// A write deadline fails the next write of the loop too.
		return nil, false
	default:
		p.abort()
		return p.abortCause(fmt.Errorf("writing response: %w", err)), true
	}
}

// chunkingWriter is the method set of Caddy's write-idle wrapper
// (caddyhttp.IdleTimeoutWriter) that is specific to it; the package has no
// Caddy dependency, so the wrapper is recognised by it.
type chunkingWriter interface {
	Override(timeout time.Duration, minRate int64, maxChunk int) (restore func())
}

// behindChunkingWriter reports whether w's chain holds Caddy's write-idle
// wrapper (as simple.go's writeChunk finds it).
func behindChunkingWriter(w http.ResponseWriter) bool {
	for w != nil {
		if _, ok := w.(chunkingWriter); ok {
			return true
		}
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			return false
		}
		w = u.Unwrap()
	}
	return false
}

// groupKilled reports whether the group got its final SIGKILL.
func (p *process) groupKilled() bool {
	select {
	case <-p.killed:
		return true
	default:
		return false
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
