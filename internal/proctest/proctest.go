// Package proctest holds the process checks shared by the tests of the CGI
// host and of the Caddy handler: whether a script (or a child it left
// behind) is gone.
package proctest

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// Gone reports whether pid no longer runs. A zombie counts as gone: an
// orphaned grandchild is reparented to PID 1, which may be slow to reap.
func Gone(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	// The state follows the command name, which may itself contain ") ".
	i := strings.LastIndex(string(stat), ") ")
	if i < 0 || i+2 >= len(stat) {
		return true
	}
	state := stat[i+2]
	return state == 'Z' || state == 'X'
}

// WaitGone fails t unless pid is gone within the given time.
func WaitGone(t testing.TB, pid int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !Gone(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("got pid %d still running after %v, want it gone", pid, within)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
