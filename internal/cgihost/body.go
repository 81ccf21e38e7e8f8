//go:build unix

package cgihost

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync/atomic"
	"time"
)

// DefaultSpoolLimit is the size of [DefaultSpoolBudget]: room for one
// 1 GiB upload (program mode's default max_request_body) or sixteen of
// directory mode's 64 MiB, while a full disk stays out of reach.
const DefaultSpoolLimit = 1 << 30

// DefaultSpoolBudget is the budget of every [Host] whose Spool is nil.
var DefaultSpoolBudget = NewSpoolBudget(DefaultSpoolLimit)

// SpoolBudget bounds the bytes of request bodies spooled at once (memory
// and temporary files together) by every [Host] that shares it. A body
// that does not fit in what is left is refused with 503 and Retry-After
// ([ErrSpoolBudget]); one larger than the whole budget can never fit and
// gets 413 ([ErrBodyTooLarge]). Bytes are reserved as they arrive, before
// they are stored, and returned when the script's request ends. It is safe
// for concurrent use.
type SpoolBudget struct {
	limit atomic.Int64
	used  atomic.Int64
	peak  atomic.Int64
}

// NewSpoolBudget returns a budget of limit bytes; limit <= 0 means
// [DefaultSpoolLimit].
func NewSpoolBudget(limit int64) *SpoolBudget {
	b := &SpoolBudget{}
	b.SetLimit(limit)
	return b
}

// SetLimit changes the size of the budget; limit <= 0 means
// [DefaultSpoolLimit]. Bytes already spooled stay spooled: a smaller limit
// only refuses new bytes until enough are returned.
func (b *SpoolBudget) SetLimit(limit int64) {
	if limit <= 0 {
		limit = DefaultSpoolLimit
	}
	b.limit.Store(limit)
}

// Limit returns the size of the budget.
func (b *SpoolBudget) Limit() int64 { return b.limit.Load() }

// InUse returns the bytes spooled now.
func (b *SpoolBudget) InUse() int64 { return b.used.Load() }

// Peak returns the most bytes that were spooled at once.
func (b *SpoolBudget) Peak() int64 { return b.peak.Load() }

func (b *SpoolBudget) reserve(n int64) bool {
	for {
		u := b.used.Load()
		if u+n > b.limit.Load() {
			return false
		}
		if b.used.CompareAndSwap(u, u+n) {
			for p := b.peak.Load(); u+n > p && !b.peak.CompareAndSwap(p, u+n); p = b.peak.Load() {
			}
			return true
		}
	}
}

func (b *SpoolBudget) release(n int64) { b.used.Add(-n) }

// errBodyOverBudget reports a body that outgrew the whole budget.
var errBodyOverBudget = fmt.Errorf("%w: larger than the spool budget", ErrBodyTooLarge)

// budgetWriter reserves every byte in the budget before storing it.
type budgetWriter struct {
	w    io.Writer
	body *requestBody
}

func (bw *budgetWriter) Write(p []byte) (int, error) {
	b, n := bw.body.budget, int64(len(p))
	if bw.body.held+n > b.Limit() {
		return 0, errBodyOverBudget
	}
	if !b.reserve(n) {
		return 0, ErrSpoolBudget
	}
	bw.body.held += n
	return bw.w.Write(p)
}

// requestBody is what the script reads on stdin.
type requestBody struct {
	src  io.Reader // streamed through a pipe; nil when file is set
	n    int64     // exact number of bytes to deliver
	file *os.File  // spooled body, handed to the script as fd 0
	// spooled reports that n was measured here and CONTENT_LENGTH must be
	// set from it.
	spooled bool
	budget  *SpoolBudget // what held is reserved in; nil when nothing was spooled
	held    int64        // bytes reserved in budget, returned by close
}

func (b *requestBody) close() {
	if b.file != nil {
		_ = b.file.Close()
	}
	if b.budget != nil {
		b.budget.release(b.held)
		b.held = 0
	}
}

func (h *Host) spoolBudget() *SpoolBudget {
	if h.Spool == nil {
		return DefaultSpoolBudget
	}
	return h.Spool
}

// prepareBody decides how the body reaches stdin. A body of known length is
// streamed; one without (chunked, or HTTP/2 without content-length) is
// spooled first because RFC 3875 section 4.1.2 requires CONTENT_LENGTH
// whenever there is a body, and CPython-era scripts read exactly that many
// bytes. Spooled bytes count against the host's [SpoolBudget]; run takes
// the process slot first, so requests queued behind MaxProcs spool nothing.
func (h *Host) prepareBody(w http.ResponseWriter, r *http.Request) (*requestBody, error) {
	switch {
	case r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0:
		return &requestBody{}, nil
	case r.ContentLength > 0:
		return &requestBody{src: r.Body, n: r.ContentLength}, nil
	}
	if h.Timeout > 0 {
		// A client trickling a chunked body would otherwise hold its spool
		// (memory, then disk) for ever: spooling counts against Timeout
		// like the script's run does.
		rc := http.NewResponseController(w)
		if rc.SetReadDeadline(time.Now().Add(h.Timeout)) == nil {
			defer func() { _ = rc.SetReadDeadline(time.Time{}) }()
		}
	}
	limit := h.MaxRequestBody
	if limit <= 0 {
		limit = defaultMaxRequestBody
	}
	body := &requestBody{spooled: true, budget: h.spoolBudget()}
	var mem bytes.Buffer
	n, err := io.CopyN(&budgetWriter{w: &mem, body: body}, r.Body, min(limit, memorySpool)+1)
	if errors.Is(err, io.EOF) {
		body.src, body.n = bytes.NewReader(mem.Bytes()), n
		return body, nil
	}
	if err != nil {
		body.close()
		return nil, h.spoolError(w, err)
	}
	if n > limit {
		body.close()
		return nil, &Error{Status: http.StatusRequestEntityTooLarge, Err: ErrBodyTooLarge}
	}
	if err := h.spillBody(w, body, mem.Bytes(), r.Body, limit); err != nil {
		body.close()
		return nil, err
	}
	return body, nil
}

// spoolError turns a failed spool copy into the answer: 503 with
// Retry-After when the budget is spent, 413 when the body outgrew it,
// else what reading the body failed with.
func (h *Host) spoolError(w http.ResponseWriter, err error) error {
	switch {
	case errors.Is(err, ErrSpoolBudget):
		w.Header().Set("Retry-After", "1")
		return &Error{Status: http.StatusServiceUnavailable, Err: err}
	case errors.Is(err, errBodyOverBudget):
		return &Error{Status: http.StatusRequestEntityTooLarge, Err: err}
	}
	return bodyError(err)
}

// spillBody spools a body larger than memorySpool to an unlinked temporary
// file: head is what was read into memory, rest the remainder of the body.
// The caller closes body on error.
func (h *Host) spillBody(w http.ResponseWriter, body *requestBody, head []byte, rest io.Reader, limit int64) error {
	spoolErr := func(err error) error {
		return &Error{Status: http.StatusInternalServerError, Err: fmt.Errorf("spooling request body: %w", err)}
	}
	f, err := os.CreateTemp("", "cgihost-body-*")
	if err != nil {
		return spoolErr(err)
	}
	// Unlinked at once: the data lives only as long as the descriptors, so
	// nothing is left behind whatever happens next.
	_ = os.Remove(f.Name())
	body.file = f
	if _, err := f.Write(head); err != nil {
		return spoolErr(err)
	}
	n := int64(len(head))
	// head is already reserved; the rest is reserved as it arrives, so the
	// budget counts the file while it grows.
	m, err := io.CopyN(&budgetWriter{w: f, body: body}, rest, limit-n+1)
	body.n = n + m
	switch {
	case err == nil:
		return &Error{Status: http.StatusRequestEntityTooLarge, Err: ErrBodyTooLarge}
	case !errors.Is(err, io.EOF):
		return h.spoolError(w, err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return spoolErr(err)
	}
	return nil
}

func bodyError(err error) error {
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
		return &Error{Status: http.StatusRequestEntityTooLarge, Err: fmt.Errorf("reading request body: %w", err)}
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return &Error{Status: http.StatusRequestTimeout, Err: fmt.Errorf("reading request body: %w", err)}
	}
	return &Error{Status: http.StatusBadRequest, Err: fmt.Errorf("reading request body: %w", err)}
}
