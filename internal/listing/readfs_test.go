package listing

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// ReadFS lists a directory of an fs.FS exactly as Read lists it on disk:
// the same order, hiding, directory flags (a link to a directory is one),
// symlink flags and, with Stat, sizes and times.
func TestReadFSMatchesRead(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for name, content := range map[string]string{"b.txt": "bb", "A.txt": "a", "_x": "", ".hidden": "h"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	for link, target := range map[string]string{"tosub": "sub", "broken": "nowhere", "tob": "b.txt"} {
		if err := os.Symlink(target, filepath.Join(dir, link)); err != nil {
			t.Fatal(err)
		}
	}
	for _, stat := range []bool{false, true} {
		opt := Options{Stat: stat, Hide: func(name string) bool { return name == ".hidden" }}
		want, err := Read(dir, opt)
		if err != nil {
			t.Fatal(err)
		}
		got, err := ReadFS(os.DirFS(dir), ".", opt)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("stat=%v:\n got %+v\nwant %+v", stat, got, want)
		}
	}
}
