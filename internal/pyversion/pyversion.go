// Package pyversion names the CPython releases whose http.server output the
// engines reproduce, and says which of their client-visible rules each one
// follows. A Version is parsed once, when a handler is provisioned, and
// passed by value to the listing, errorpage and pypath engines.
//
// The rules that differ between the supported releases:
//
//   - 3.11 and 3.12 are the same wherever a client looks.
//   - 3.13 renamed the reason phrases (and so the error page's default
//     message) of 413, 414, 416 and 422 to RFC 9110's: "Content Too Large",
//     "URI Too Long", "Range Not Satisfiable", "Unprocessable Content".
//   - 3.14 adds a colour-scheme <style> block to the listing and the error
//     page, leaves the query and fragment out of the listing title, detects
//     the trailing slash of translate_path after percent-decoding (so
//     "/dir%2F" is slashed), and takes a path ending in "%2f"/"%2F" as
//     already slashed when deciding on the directory redirect.
//
// The zero Version, Default, is what the handlers do when no python_version
// is configured: 3.11's (and 3.12's) documents, phrases and path rules, with
// one deliberate change from them, the listing title without the query, as
// 3.14 has it.
package pyversion

import "fmt"

// Version is a supported CPython release, or Default.
type Version uint8

// The supported values. Their order is the release order.
const (
	Default Version = iota
	V3_11
	V3_12
	V3_13
	V3_14
)

// names are the accepted spellings, indexed by Version.
var names = [...]string{Default: "", V3_11: "3.11", V3_12: "3.12", V3_13: "3.13", V3_14: "3.14"}

// Allowed lists the accepted values for error messages and documentation.
const Allowed = "3.11, 3.12, 3.13, 3.14"

// Parse returns the Version named by s ("3.11" ... "3.14"); "" is Default.
// Any other value is an error that lists the allowed ones.
func Parse(s string) (Version, error) {
	for v, name := range names {
		if s == name {
			return Version(v), nil
		}
	}
	return Default, fmt.Errorf("unsupported Python version %q (allowed: %s)", s, Allowed)
}

// String is the value Parse accepts for v ("" for Default).
func (v Version) String() string {
	if int(v) < len(names) {
		return names[v]
	}
	return fmt.Sprintf("Version(%d)", uint8(v))
}

// ColorScheme reports whether the listing and the error page carry the
// `color-scheme: light dark` style block (3.14).
func (v Version) ColorScheme() bool { return v >= V3_14 }

// TitleKeepsQuery reports whether the listing title shows self.path whole,
// query and fragment included, as 3.11–3.13 do. Default does not: a title
// that echoes the query is 3.13's behaviour only when asked for by name.
func (v Version) TitleKeepsQuery() bool { return v >= V3_11 && v <= V3_13 }

// DecodedTrailingSlash reports whether translate_path looks for the
// trailing slash after percent-decoding, without rstrip (3.14), so that an
// encoded "%2F" at the end counts.
func (v Version) DecodedTrailingSlash() bool { return v >= V3_14 }

// EncodedSlashRedirect reports whether send_head takes a path ending in
// "%2f" or "%2F" as already ending in a slash and so sends no 301 (3.14).
func (v Version) EncodedSlashRedirect() bool { return v >= V3_14 }

// RFC9110Phrases reports whether http.HTTPStatus has 3.13's RFC 9110
// phrases for 413, 414, 416 and 422.
func (v Version) RFC9110Phrases() bool { return v >= V3_13 }
