package proctest

import (
	"os"
	"os/exec"
	"testing"
)

func TestGone(t *testing.T) {
	if Gone(os.Getpid()) {
		t.Fatal("got the test process gone, want it running")
	}
	cmd := exec.Command("/bin/sh", "-c", "exit 0")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	if !Gone(cmd.Process.Pid) {
		t.Errorf("got reaped pid %d running, want it gone", cmd.Process.Pid)
	}
}
