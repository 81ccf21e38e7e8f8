package byterange

import (
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, header string
		size         int64
		want         Range
	}{
		{"first-last", "bytes=0-1", 6, Range{Partial, 0, 2}},
		{"open end", "bytes=2-", 6, Range{Partial, 2, 4}},
		{"last clamped to the end", "bytes=4-100", 6, Range{Partial, 4, 2}},
		{"suffix", "bytes=-2", 6, Range{Partial, 4, 2}},
		{"suffix longer than the file", "bytes=-100", 6, Range{Partial, 0, 6}},
		{"unit is case-insensitive", "Bytes=0-0", 6, Range{Partial, 0, 1}},
		{"spaces tolerated", " bytes = 1 - 2 ", 6, Range{Partial, 1, 2}},
		{"first past the end", "bytes=6-10", 6, Range{Decision: Unsatisfiable}},
		{"first far past the end", "bytes=100-200", 6, Range{Decision: Unsatisfiable}},
		{"zero suffix", "bytes=-0", 6, Range{Decision: Unsatisfiable}},
		{"suffix of an empty file", "bytes=-1", 0, Range{Decision: Unsatisfiable}},
		{"range of an empty file", "bytes=0-", 0, Range{Decision: Unsatisfiable}},
		// RFC 9110 section 14.2: an unknown unit must be ignored.
		{"other unit", "items=0-1", 6, Range{}},
		{"no unit", "0-1", 6, Range{}},
		{"garbage", "bytes=abc", 6, Range{}},
		{"last before first", "bytes=5-1", 6, Range{}},
		{"negative first", "bytes=--1", 6, Range{}},
		{"several ranges", "bytes=0-1,3-4", 6, Range{}},
		{"no dash", "bytes=3", 6, Range{}},
		{"empty spec", "bytes=", 6, Range{}},
		{"overflow", "bytes=99999999999999999999-", 6, Range{}},
		{"plus sign", "bytes=+1-2", 6, Range{}},
		{"empty header", "", 6, Range{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Parse(tc.header, tc.size); got != tc.want {
				t.Errorf("Parse(%q, %d) = %+v, want %+v", tc.header, tc.size, got, tc.want)
			}
		})
	}
}

func TestContentRange(t *testing.T) {
	t.Parallel()
	if got := (Range{Partial, 4, 2}).ContentRange(6); got != "bytes 4-5/6" {
		t.Errorf("got %q", got)
	}
	if got := (Range{Decision: Unsatisfiable}).ContentRange(6); got != "bytes */6" {
		t.Errorf("got %q", got)
	}
}

func TestIfRangeAllows(t *testing.T) {
	t.Parallel()
	mod := time.Date(2026, 11, 24, 21, 0, 0, 500, time.UTC)
	for _, tc := range []struct {
		ifRange string
		want    bool
	}{
		{"", true},
		{"Tue, 24 Nov 2026 21:00:00 GMT", true},
		{"Tue, 24 Nov 2026 21:00:01 GMT", false},
		{"Tue, 24 Nov 2026 20:59:59 GMT", false},
		{`"etag"`, false},
		{`W/"etag"`, false},
		{"not a date", false},
	} {
		if got := IfRangeAllows(tc.ifRange, mod); got != tc.want {
			t.Errorf("IfRangeAllows(%q) = %v, want %v", tc.ifRange, got, tc.want)
		}
	}
}

// FuzzParse: any header either is ignored, is unsatisfiable, or names a
// non-empty range inside the file.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{"bytes=0-1", "bytes=-5", "bytes=5-", "bytes=0-1,2-3", "items=1-2", "bytes=-0", "bytes= 9-3"} {
		f.Add(seed, int64(10))
	}
	f.Fuzz(func(t *testing.T, header string, size int64) {
		if size < 0 {
			size = -size
		}
		if size < 0 {
			return
		}
		r := Parse(header, size)
		if r.Decision == Partial && (r.Length <= 0 || r.Start < 0 || r.Start+r.Length > size) {
			t.Fatalf("Parse(%q, %d) = %+v: outside the file", header, size, r)
		}
	})
}
