package pyhttp

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// seedPython is the interpreter named by the shebang of the seed's
// cgi_server.py: Debian's Python 3.11, which still has the cgi module.
const seedPython = "/usr/bin/python3"

// runSeedClient runs testdata/seed/client.py against url and returns its
// output.
func runSeedClient(t *testing.T, py, url string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	client, err := filepath.Abs(filepath.Join("testdata", "seed", "client.py"))
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, py, client, url)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("client.py %s: %v\n%s", url, err, stderr.Bytes())
	}
	return stdout.Bytes()
}

// seedTree copies testdata/seed into a fresh public directory with the
// form handler executable.
func seedTree(t *testing.T) string {
	t.Helper()
	root := publicTempDir(t)
	copyTree(t, filepath.Join("testdata", "seed"), root)
	chmodAll(t, root, 0o755, "cgi-bin/cgi_server.py")
	return root
}

// The seed's form example gives the same output through pyhttp_cgi as
// through `python3 -m http.server --cgi`.
func TestSeedFormExample(t *testing.T) {
	py := lookPython(t)
	if err := exec.Command(seedPython, "-W", "ignore", "-c", "import cgi").Run(); err != nil {
		t.Skipf("%s has no cgi module: %v", seedPython, err)
	}

	pyRoot := seedTree(t)
	pyPort := startPython(t, pyRoot, "--cgi")
	want := runSeedClient(t, py, fmt.Sprintf("http://127.0.0.1:%d/cgi-bin/cgi_server.py", pyPort))

	root := seedTree(t)
	cgiSite(t, root, "", "")
	got := runSeedClient(t, py, cgiURL("/cgi-bin/cgi_server.py"))

	if !strings.Contains(string(want), "김윤미") {
		t.Fatalf("Python's output lacks the name: %q", want)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("client output:\ngot  %q\nwant %q (python3 -m http.server --cgi)", got, want)
	}
}
