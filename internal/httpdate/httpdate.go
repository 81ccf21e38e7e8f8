// Package httpdate decides If-Modified-Since exactly as Python's
// SimpleHTTPRequestHandler.send_head does.
//
// send_head parses the header with email.utils.parsedate_to_datetime, a
// lenient RFC 2822 parser (email._parseaddr._parsedate_tz) that accepts far
// more than the three forms of RFC 9110 §5.6.7, and uses the result only when
// it carries no zone or exactly UTC. This package ports that parser line by
// line from CPython 3.11 (3.12 and 3.13 are identical), treating the header
// value as Latin-1 text as http.client does, so that Caddy answers 304 for the
// same requests Python does.
package httpdate

import (
	"math"
	"net/http"
	"slices"
	"strings"
	"time"
)

// ParseIfModifiedSince returns the instant and true if Python's send_head would use the header value.
//
// It is usable when parsedate_to_datetime succeeds, the fields make a valid
// datetime (years 1–9999, no leap second), and the zone is absent, -0000, an
// unknown name (all taken as UTC, RFC 9110 §5.6.7 / RFC 7231 §7.1.1.1), or
// exactly zero (GMT, UT, UTC, Z, +0000, even "0"). Any other offset is ignored
// even when it names the same instant, because send_head compares only when
// ims.tzinfo is datetime.timezone.utc.
func ParseIfModifiedSince(v string) (time.Time, bool) {
	d, ok := parsedateTZ(v)
	if !ok || d.zone == zoneOther {
		return time.Time{}, false
	}
	// datetime.datetime() raises ValueError for any field out of range, and
	// send_head then ignores the header.
	if d.year < 1 || d.year > 9999 || d.month < 1 || d.month > 12 ||
		d.day < 1 || d.day > daysIn(d.year, d.month) ||
		d.hour < 0 || d.hour > 23 || d.min < 0 || d.min > 59 || d.sec < 0 || d.sec > 59 {
		return time.Time{}, false
	}
	return time.Date(int(d.year), time.Month(d.month), int(d.day), int(d.hour), int(d.min), int(d.sec), 0, time.UTC), true
}

// NotModified reports whether send_head answers 304: an If-Modified-Since header is present and usable
// and there is no If-None-Match header at all, and mtime (UTC, sub-second part dropped) <= the IMS.
// A future IMS also gives true.
//
// Only the first If-Modified-Since value counts (email.message.Message.get
// returns the first), and an If-None-Match with any value, even empty,
// disables the check: Python never evaluates ETags (RFC 9110 §13.1.3 says
// If-None-Match takes precedence). The mtime's second is computed as CPython
// does, through the float st_mtime rounded to microseconds (see pySecond).
func NotModified(h http.Header, mtime time.Time) bool {
	ims := h.Values("If-Modified-Since")
	if len(ims) == 0 || len(h.Values("If-None-Match")) > 0 {
		return false
	}
	t, ok := ParseIfModifiedSince(ims[0])
	if !ok {
		return false
	}
	return pySecond(mtime) <= t.Unix()
}

// pySecond is the Unix second of datetime.fromtimestamp(st_mtime,
// timezone.utc).replace(microsecond=0). os.stat builds st_mtime as the double
// sec + nsec*1e-9 (posixmodule.c fill_time), and fromtimestamp rounds that to
// microseconds half-to-even (_PyTime_DoubleToDenominator), so an mtime in the
// last half-microsecond of a second, or one the double cannot resolve, counts
// as the next second.
func pySecond(mtime time.Time) int64 {
	st := float64(mtime.Unix()) + float64(mtime.Nanosecond())*1e-9
	intpart, frac := math.Modf(st)
	us := math.RoundToEven(frac * 1e6)
	if us >= 1e6 {
		intpart++
	} else if us < 0 {
		intpart--
	}
	return int64(intpart)
}

// zone classifies _parsedate_tz's tzoffset the way send_head uses it.
type zone int

const (
	zoneNone  zone = iota // None: no zone, -0000 or an unknown name; naive, so UTC
	zoneUTC               // offset 0: datetime.timezone(timedelta(0)) is timezone.utc
	zoneOther             // any other offset: never compared
)

// parsed is the _parsedate_tz result. Numbers are saturated far outside every
// valid range instead of overflowing, since Python's ints are unbounded and
// any such value only makes datetime() raise.
type parsed struct {
	year, month, day, hour, min, sec int64
	zone                             zone
}

var monthNames = []string{
	"jan", "feb", "mar", "apr", "may", "jun", "jul",
	"aug", "sep", "oct", "nov", "dec",
	"january", "february", "march", "april", "may", "june", "july",
	"august", "september", "october", "november", "december",
}

var dayNames = []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}

// zoneNames is _parseaddr._timezones; only whether the offset is zero
// matters here.
var zoneNames = map[string]int{
	"UT": 0, "UTC": 0, "GMT": 0, "Z": 0,
	"AST": -400, "ADT": -300,
	"EST": -500, "EDT": -400,
	"CST": -600, "CDT": -500,
	"MST": -700, "MDT": -600,
	"PST": -800, "PDT": -700,
}

// parsedateTZ ports email._parseaddr._parsedate_tz (CPython 3.11). Comments
// quote the Python where the Go differs in shape. Where Python would raise
// (IndexError), the result is "not parsed": send_head catches both alike.
func parsedateTZ(data string) (parsed, bool) {
	var p parsed
	words := pySplit(data)
	if len(words) == 0 {
		return p, false
	}
	// The FWS after the comma after the day-of-week is optional (RFC 2822
	// §3.3), so "Thu,04" is split at its last comma.
	if strings.HasSuffix(words[0], ",") || slices.Index(dayNames, asciiLower(words[0])) >= 0 {
		words = words[1:]
	} else if i := strings.LastIndexByte(words[0], ','); i >= 0 {
		words[0] = words[0][i+1:]
	}
	if len(words) == 3 { // RFC 850 date, deprecated: "19-Nov-82 16:14:55 EST"
		if stuff := strings.Split(words[0], "-"); len(stuff) == 3 {
			words = append(stuff, words[1:]...)
		}
	}
	if len(words) == 4 {
		// A zone glued to the time ("14:58:26+0800"); '+' is looked for
		// first, and a sign at index 0 does not split.
		s := words[3]
		i := strings.IndexByte(s, '+')
		if i == -1 {
			i = strings.IndexByte(s, '-')
		}
		if i > 0 {
			words = append(words[:3:3], s[:i], s[i:])
		} else {
			words = append(words, "") // dummy tz
		}
	}
	if len(words) < 5 {
		return p, false
	}
	dd, mm, yy, tm, tz := words[0], words[1], words[2], words[3], words[4]
	if dd == "" || mm == "" || yy == "" {
		return p, false
	}
	mm = asciiLower(mm)
	mi := slices.Index(monthNames, mm)
	if mi < 0 {
		// "February 5, 2003": month first.
		dd, mm = mm, asciiLower(dd)
		if mi = slices.Index(monthNames, mm); mi < 0 {
			return p, false
		}
	}
	p.month = int64(mi%12 + 1)
	dd = strings.TrimSuffix(dd, ",") // removes at most one, as dd[:-1] does
	if strings.IndexByte(yy, ':') > 0 {
		yy, tm = tm, yy // "Feb 5 13:47:26 2003" (asctime)
	}
	if yy == "" {
		return p, false // yy[-1] would raise IndexError
	}
	if yy[len(yy)-1] == ',' {
		if yy = yy[:len(yy)-1]; yy == "" {
			return p, false
		}
	}
	if !pyIsDigit(yy[0]) {
		yy, tz = tz, yy
	}
	if tm == "" {
		return p, false // tm[-1] would raise IndexError
	}
	tm = strings.TrimSuffix(tm, ",")
	var thh, tmm, tss string
	switch t := strings.Split(tm, ":"); {
	case len(t) == 2:
		thh, tmm, tss = t[0], t[1], "0"
	case len(t) == 3:
		thh, tmm, tss = t[0], t[1], t[2]
	case len(t) == 1 && strings.Contains(t[0], "."):
		// Some non-compliant MUAs use '.' to separate time elements.
		switch t = strings.Split(t[0], "."); len(t) {
		case 2:
			thh, tmm, tss = t[0], t[1], "0"
		case 3:
			thh, tmm, tss = t[0], t[1], t[2]
		default:
			return p, false
		}
	default:
		return p, false
	}
	var ok [5]bool
	p.year, ok[0] = pyInt(yy)
	p.day, ok[1] = pyInt(dd)
	p.hour, ok[2] = pyInt(thh)
	p.min, ok[3] = pyInt(tmm)
	p.sec, ok[4] = pyInt(tss)
	if ok != [5]bool{true, true, true, true, true} {
		return p, false
	}
	// Two-digit years per POSIX: 69–99 are 19xx, the rest (also negative
	// ones, as Python applies "yy < 100" literally) get 2000 added.
	if p.year < 100 {
		if p.year > 68 {
			p.year += 1900
		} else {
			p.year += 2000
		}
	}
	p.zone = zoneNone
	tz = asciiUpper(tz)
	if off, known := zoneNames[tz]; known {
		if off == 0 {
			p.zone = zoneUTC
		} else {
			p.zone = zoneOther
		}
	} else if off, isInt := pyInt(tz); isInt {
		// "-0000" means "no zone information" (RFC 2822 §3.3), so a zero
		// offset with a minus sign stays None.
		switch {
		case off != 0:
			p.zone = zoneOther
		case !strings.HasPrefix(tz, "-"):
			p.zone = zoneUTC
		}
	}
	return p, true
}

// pySplit is str.split() with no separator, over Latin-1 text: runs of
// Python whitespace separate words and none are empty. For code points up to
// U+00FF that is \t \n \v \f \r, \x1c–\x1f, space, \x85 and \xa0.
func pySplit(s string) []string {
	// FieldsFunc sees runes, but the text is Latin-1 bytes, so split by byte.
	var words []string
	start := -1
	for i := range len(s) {
		if pyIsSpace(s[i]) {
			if start >= 0 {
				words = append(words, s[start:i])
				start = -1
			}
		} else if start < 0 {
			start = i
		}
	}
	if start >= 0 {
		words = append(words, s[start:])
	}
	return words
}

// pyIsSpace is str.isspace for one Latin-1 character.
func pyIsSpace(c byte) bool {
	return '\t' <= c && c <= '\r' || 0x1c <= c && c <= ' ' || c == 0x85 || c == 0xa0
}

// pyIsDigit is str.isdigit for one Latin-1 character: ASCII digits and the
// superscripts ², ³ and ¹ (which int() then rejects).
func pyIsDigit(c byte) bool {
	return '0' <= c && c <= '9' || c == 0xb2 || c == 0xb3 || c == 0xb9
}

// maxDigits is CPython's default int_max_str_digits (3.11+, CVE-2020-10735):
// int() raises ValueError for a longer decimal string. It matters for the
// zone, where ValueError means "no zone", not "bad date".
const maxDigits = 4300

// saturate bounds parsed numbers far beyond every valid field range.
const saturate = 1 << 40

// pyInt is int(s) for a string without whitespace: an optional sign, then
// ASCII digits with single underscores between them. Latin-1 holds no other
// decimal digits. The value saturates at ±saturate.
func pyInt(s string) (int64, bool) {
	neg := false
	if s != "" && (s[0] == '+' || s[0] == '-') {
		neg = s[0] == '-'
		s = s[1:]
	}
	if s == "" || s[0] == '_' || s[len(s)-1] == '_' || strings.Contains(s, "__") {
		return 0, false
	}
	var v int64
	digits := 0
	for i := range len(s) {
		c := s[i]
		if c == '_' {
			continue
		}
		if c < '0' || c > '9' {
			return 0, false
		}
		digits++
		if v < saturate {
			v = v*10 + int64(c-'0')
		}
	}
	if digits > maxDigits {
		return 0, false
	}
	v = min(v, saturate)
	if neg {
		v = -v
	}
	return v, true
}

// asciiLower is str.lower for matching ASCII names: no Latin-1 character
// outside ASCII lower-cases to ASCII, so the rest can stay as is.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// asciiUpper is str.upper for matching zone names. The only Latin-1
// character that upper-cases to ASCII is ß ("SS"), and no zone name holds
// "SS", so it can stay as is.
func asciiUpper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			b[i] = c - ('a' - 'A')
		}
	}
	return string(b)
}

// daysIn is the number of days in month of the proleptic Gregorian year, as
// datetime checks it.
func daysIn(year, month int64) int64 {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}
