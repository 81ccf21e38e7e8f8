// Package byterange decides what a single-file response does with a Range
// header (RFC 9110 section 14): serve one byte range, answer 416, or ignore
// the header and send the whole file.
//
// Python's http.server ignores Range altogether; pyhttp_simple serves a
// single range and otherwise behaves as Python does, so everything this
// package cannot serve as exactly one range (another unit, bad syntax,
// several ranges) is ignored rather than refused, as RFC 9110 allows.
package byterange

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Decision is what to do with a request's Range header.
type Decision int

const (
	// Ignore sends the whole representation with 200.
	Ignore Decision = iota
	// Partial sends Start..Start+Length-1 with 206.
	Partial
	// Unsatisfiable answers 416 with "Content-Range: bytes */size".
	Unsatisfiable
)

// Range is the outcome of Parse.
type Range struct {
	Decision Decision
	Start    int64
	Length   int64
}

// ContentRange is the Content-Range header value for r on a representation
// of size bytes.
func (r Range) ContentRange(size int64) string {
	if r.Decision == Unsatisfiable {
		return "bytes */" + strconv.FormatInt(size, 10)
	}
	return "bytes " + strconv.FormatInt(r.Start, 10) + "-" + strconv.FormatInt(r.Start+r.Length-1, 10) +
		"/" + strconv.FormatInt(size, 10)
}

// Parse reads a Range header value for a representation of size bytes. Only
// a single "bytes" range is served (the unit is case-insensitive, RFC 9110
// section 14.1); another unit must be ignored (section 14.2), and invalid
// syntax and multiple ranges are ignored too. A first position at or past
// the end, and a zero-length suffix, are unsatisfiable (section 14.1.2).
func Parse(header string, size int64) Range {
	unit, spec, ok := strings.Cut(strings.TrimSpace(header), "=")
	if !ok || !strings.EqualFold(strings.TrimSpace(unit), "bytes") || strings.Contains(spec, ",") {
		return Range{}
	}
	first, last, ok := strings.Cut(strings.TrimSpace(spec), "-")
	if !ok {
		return Range{}
	}
	first, last = strings.TrimSpace(first), strings.TrimSpace(last)
	if first == "" {
		// suffix-range: the last n bytes.
		n, ok := digits(last)
		if !ok {
			return Range{}
		}
		if n == 0 || size == 0 {
			return Range{Decision: Unsatisfiable}
		}
		n = min(n, size)
		return Range{Decision: Partial, Start: size - n, Length: n}
	}
	start, ok := digits(first)
	if !ok {
		return Range{}
	}
	end := size - 1
	if last != "" {
		l, ok := digits(last)
		if !ok || l < start {
			return Range{}
		}
		end = min(l, size-1)
	}
	if start >= size {
		return Range{Decision: Unsatisfiable}
	}
	return Range{Decision: Partial, Start: start, Length: end - start + 1}
}

// IfRangeAllows reports whether an If-Range header lets the range be used
// for a representation last modified at modTime (RFC 9110 section 13.1.5).
// There are no entity tags here, so an entity tag never matches; a date
// matches only if it equals Last-Modified exactly.
func IfRangeAllows(ifRange string, modTime time.Time) bool {
	if ifRange == "" {
		return true
	}
	if strings.HasPrefix(ifRange, `"`) || strings.HasPrefix(ifRange, "W/") {
		return false
	}
	t, err := http.ParseTime(ifRange)
	return err == nil && t.Equal(modTime.UTC().Truncate(time.Second))
}

// digits parses a non-empty run of ASCII digits that fits an int64.
func digits(s string) (int64, bool) {
	if s == "" {
		return 0, false
	}
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}
