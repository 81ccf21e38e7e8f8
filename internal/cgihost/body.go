//go:build unix

package cgihost

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"
)

// requestBody is what the script reads on stdin.
type requestBody struct {
	src  io.Reader // streamed through a pipe; nil when file is set
	n    int64     // exact number of bytes to deliver
	file *os.File  // spooled body, handed to the script as fd 0
	// spooled reports that n was measured here and CONTENT_LENGTH must be
	// set from it.
	spooled bool
}

func (b *requestBody) close() {
	if b.file != nil {
		_ = b.file.Close()
	}
}

// prepareBody decides how the body reaches stdin. A body of known length is
// streamed; one without (chunked, or HTTP/2 without content-length) is
// spooled first because RFC 3875 section 4.1.2 requires CONTENT_LENGTH
// whenever there is a body, and CPython-era scripts read exactly that many
// bytes.
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
	var mem bytes.Buffer
	n, err := io.CopyN(&mem, r.Body, min(limit, memorySpool)+1)
	if errors.Is(err, io.EOF) {
		return &requestBody{src: bytes.NewReader(mem.Bytes()), n: n, spooled: true}, nil
	}
	if err != nil {
		return nil, bodyError(err)
	}
	if n > limit {
		return nil, &Error{Status: http.StatusRequestEntityTooLarge, Err: ErrBodyTooLarge}
	}
	return spillBody(mem.Bytes(), r.Body, limit)
}

// spillBody spools a body larger than memorySpool to an unlinked temporary
// file: head is what was read into memory, rest the remainder of the body.
func spillBody(head []byte, rest io.Reader, limit int64) (*requestBody, error) {
	spoolErr := func(err error) error {
		return &Error{Status: http.StatusInternalServerError, Err: fmt.Errorf("spooling request body: %w", err)}
	}
	f, err := os.CreateTemp("", "cgihost-body-*")
	if err != nil {
		return nil, spoolErr(err)
	}
	// Unlinked at once: the data lives only as long as the descriptors, so
	// nothing is left behind whatever happens next.
	_ = os.Remove(f.Name())
	body := &requestBody{file: f, spooled: true}
	if _, err := f.Write(head); err != nil {
		body.close()
		return nil, spoolErr(err)
	}
	n := int64(len(head))
	m, err := io.CopyN(f, rest, limit-n+1)
	body.n = n + m
	switch {
	case err == nil:
		body.close()
		return nil, &Error{Status: http.StatusRequestEntityTooLarge, Err: ErrBodyTooLarge}
	case !errors.Is(err, io.EOF):
		body.close()
		return nil, bodyError(err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		body.close()
		return nil, spoolErr(err)
	}
	return body, nil
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
