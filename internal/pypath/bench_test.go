package pypath

import (
	"testing"

	"github.com/pyhttp/caddy-pyhttp/internal/pyversion"
)

// BenchmarkTranslate measures one static request: decode, normalise, join.
func BenchmarkTranslate(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_, _ = Translate(pyversion.Default, "/srv/www", "/docs/caf%C3%A9/../guide/index.html?x=1")
	}
}

// BenchmarkCGIPath measures CGI detection plus the run_cgi walk, whose
// os.Stat calls dominate.
func BenchmarkCGIPath(b *testing.B) {
	root := b.TempDir()
	cgiTree(b, root)
	dirs := []string{"/cgi-bin", "/htbin"}
	b.ReportAllocs()
	for b.Loop() {
		c, _ := CollapsePath("/cgi-bin/sub/nested.sh/more/info")
		dir, rest, _ := MatchCGIDir(c, dirs)
		_ = LocateScript(root, dir, rest)
	}
}
