package pyhttp

import (
	"testing"
)

func TestAcceptsJSON(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		accept string
		want   bool
	}{
		{"", false},
		{"*/*", false},
		{"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", false},
		{"application/json", true},
		{"application/json; charset=utf-8", true},
		{"text/html, application/json;q=0.5", true},
		{"application/json;q=0", false},
		{"application/json;q=0.000", false},
		{"application/jsonp", false},
		{"garbage;;;", false},
	} {
		if got := acceptsJSON(tc.accept); got != tc.want {
			t.Errorf("acceptsJSON(%q) = %v, want %v", tc.accept, got, tc.want)
		}
	}
}
