package scriptcheck

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// CheckFile refuses exactly what suexec refuses of the program itself.
func TestCheckFile(t *testing.T) {
	t.Parallel()
	const uid = 1000
	for _, tc := range []struct {
		name string
		info Info
		want string // "" for accepted
	}{
		{"ok", Info{UID: uid, Mode: unix.S_IFREG | 0o755}, ""},
		{"owner only", Info{UID: uid, Mode: unix.S_IFREG | 0o700}, ""},
		{"group writable", Info{UID: uid, Mode: unix.S_IFREG | 0o775}, "writable by group or others"},
		{"world writable", Info{UID: uid, Mode: unix.S_IFREG | 0o757}, "writable by group or others"},
		{"setuid", Info{UID: uid, Mode: unix.S_IFREG | unix.S_ISUID | 0o755}, "setuid or setgid"},
		{"setgid", Info{UID: uid, Mode: unix.S_IFREG | unix.S_ISGID | 0o755}, "setuid or setgid"},
		{"other owner", Info{UID: uid + 1, Mode: unix.S_IFREG | 0o755}, "owned by uid 1001, not by uid 1000"},
		{"root owned", Info{UID: 0, Mode: unix.S_IFREG | 0o755}, "owned by uid 0"},
		{"symlink", Info{UID: uid, Mode: unix.S_IFLNK | 0o777}, "symbolic link"},
		{"directory", Info{UID: uid, Mode: unix.S_IFDIR | 0o755}, "not a regular file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := CheckFile("/s", tc.info, uid)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("got %v, want accepted", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, ErrViolation)):
				t.Errorf("got %v, want a violation containing %q", err, tc.want)
			}
		})
	}
}

// Check works on the files themselves: modes and ownership set on disk
// are what it sees, a symbolic link is refused, and a writable directory
// anywhere between the script and the top is refused.
func TestCheckOnDisk(t *testing.T) {
	top := t.TempDir()
	if err := os.Chmod(top, 0o755); err != nil {
		t.Fatal(err)
	}
	cgi := filepath.Join(top, "cgi-bin")
	sub := filepath.Join(cgi, "sub")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(sub, "s.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	uid := uint32(os.Geteuid())
	chmod := func(p string, m os.FileMode) {
		t.Helper()
		if err := os.Chmod(p, m); err != nil {
			t.Fatal(err)
		}
	}
	if err := Check(script, top, uid); err != nil {
		t.Fatalf("clean tree: %v", err)
	}
	if err := Check(script, top, uid+1); !errors.Is(err, ErrViolation) {
		t.Errorf("another uid: got %v, want a violation", err)
	}
	for _, tc := range []struct {
		name string
		path string
		mode os.FileMode
		want string
	}{
		{"script group writable", script, 0o775, "script is writable"},
		{"script setuid", script, os.ModeSetuid | 0o755, "setuid"},
		{"its directory world writable", sub, 0o777, sub + ": directory is writable"},
		{"cgi dir group writable", cgi, 0o775, cgi + ": directory is writable"},
		{"top sticky world writable", top, os.ModeSticky | 0o777, top + ": directory is writable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			orig, err := os.Stat(tc.path)
			if err != nil {
				t.Fatal(err)
			}
			chmod(tc.path, tc.mode)
			defer chmod(tc.path, orig.Mode())
			if err := Check(script, top, uid); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want a violation containing %q", err, tc.want)
			}
		})
	}
	// Above top nothing is checked: t.TempDir's parents may be anything.
	chmod(top, 0o755)
	link := filepath.Join(cgi, "link.sh")
	if err := os.Symlink(script, link); err != nil {
		t.Fatal(err)
	}
	if err := Check(link, top, uid); err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Errorf("symbolic link: got %v, want refused", err)
	}
}
