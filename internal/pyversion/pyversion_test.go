package pyversion

import (
	"strings"
	"testing"
)

// Parse accepts exactly the four release names and "", and String gives
// back what Parse accepted.
func TestParse(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		in   string
		want Version
		ok   bool
	}{
		{"", Default, true},
		{"3.11", V3_11, true},
		{"3.12", V3_12, true},
		{"3.13", V3_13, true},
		{"3.14", V3_14, true},
		{"3.10", Default, false},
		{"3.15", Default, false},
		{"3.11.7", Default, false},
		{" 3.11", Default, false},
		{"311", Default, false},
		{"default", Default, false},
	} {
		got, err := Parse(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("Parse(%q): got (%v, %v), want (%v, ok=%v)", tt.in, got, err, tt.want, tt.ok)
			continue
		}
		if err != nil && !strings.Contains(err.Error(), Allowed) {
			t.Errorf("Parse(%q): error %q does not list the allowed values", tt.in, err)
		}
		if err == nil && got.String() != tt.in {
			t.Errorf("Parse(%q).String(): got %q", tt.in, got.String())
		}
	}
}

// Each rule switches at the release that introduced it, and Default
// follows 3.11 except for the title.
func TestRules(t *testing.T) {
	t.Parallel()
	type rules struct{ color, titleQuery, decodedSlash, encodedRedirect, rfc9110 bool }
	for v, want := range map[Version]rules{
		Default: {},
		V3_11:   {titleQuery: true},
		V3_12:   {titleQuery: true},
		V3_13:   {titleQuery: true, rfc9110: true},
		V3_14:   {color: true, decodedSlash: true, encodedRedirect: true, rfc9110: true},
	} {
		got := rules{v.ColorScheme(), v.TitleKeepsQuery(), v.DecodedTrailingSlash(), v.EncodedSlashRedirect(), v.RFC9110Phrases()}
		if got != want {
			t.Errorf("%q: got %+v, want %+v", v, got, want)
		}
	}
}
