// Package pythontest finds a CPython interpreter for the differential tests
// that compare the engines with Python's own http.server. Tests skip when
// none of the wanted versions is installed.
package pythontest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Find returns the path of a CPython whose version is between 3.minMinor
// and 3.maxMinor inclusive, or "" if there is none. It looks on PATH
// (python3, python3.N) and in pyenv's versions directory.
func Find(minMinor, maxMinor int) string {
	var cands []string
	names := []string{"python3"}
	for m := minMinor; m <= maxMinor; m++ {
		names = append(names, fmt.Sprintf("python3.%d", m))
	}
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			cands = append(cands, p)
		}
	}
	root := os.Getenv("PYENV_ROOT")
	if root == "" {
		if out, err := exec.Command("pyenv", "root").Output(); err == nil {
			root = strings.TrimSpace(string(out))
		}
	}
	if root != "" {
		for m := minMinor; m <= maxMinor; m++ {
			found, _ := filepath.Glob(filepath.Join(root, "versions", fmt.Sprintf("3.%d.*", m), "bin", "python3"))
			cands = append(cands, found...)
		}
	}
	check := fmt.Sprintf("import sys; sys.exit(not (3, %d) <= sys.version_info[:2] <= (3, %d))", minMinor, maxMinor)
	for _, p := range cands {
		if exec.Command(p, "-c", check).Run() == nil {
			return p
		}
	}
	return ""
}
