package pyhttp

import (
	"path/filepath"
	"testing"
)

func TestFileHidden(t *testing.T) {
	t.Parallel()
	hide := []string{".git", "*.bak", "/srv/www/private", "/srv/www/Caddyfile"}
	for _, tc := range []struct {
		name string
		want bool
	}{
		{"/srv/www/index.html", false},
		{"/srv/www/.git", true},
		{"/srv/www/.git/config", true},
		{"/srv/www/sub/old.bak", true},
		{"/srv/www/private", true},
		{"/srv/www/private/key", true},
		{"/srv/www/privateer", false},
		{"/srv/www/Caddyfile", true},
		{"/srv/www/sub/Caddyfile", false},
		{"/srv/www/.gitignore", false},
	} {
		if got := fileHidden(tc.name, hide); got != tc.want {
			t.Errorf("fileHidden(%q) = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// listingHide must hide exactly the children fileHidden hides, for every
// directory that is not itself hidden.
func TestListingHideAgreesWithFileHidden(t *testing.T) {
	t.Parallel()
	hide := []string{".git", "*.bak", "/srv/www/Caddyfile", "/srv/*/secret*", "/srv/www/sub/x?", "/other/file"}
	dirs := []string{"/srv/www", "/srv/www/sub", "/srv/data", "/srv", "/other", "/"}
	names := []string{"index.html", ".git", "a.bak", "Caddyfile", "secret.txt", "secret", "x1", "x12", "file", "www", "sub", "data"}
	for _, dir := range dirs {
		if fileHidden(dir, hide) {
			continue
		}
		filter := listingHide(dir, hide)
		for _, name := range names {
			want := fileHidden(filepath.Join(dir, name), hide)
			got := filter != nil && filter(name)
			if got != want {
				t.Errorf("listingHide(%q)(%q) = %v, fileHidden says %v", dir, name, got, want)
			}
		}
	}
	if listingHide("/srv/www", []string{"/elsewhere/Caddyfile"}) != nil {
		t.Error("a pattern for another directory still costs a per-entry check")
	}
}
