package pyhttp

import (
	"os"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig"
)

// Every Caddyfile in docs/migrating.md adapts: a site block as written, a
// bare directive inside a site. caddy-cgi's own config (the `cgi`
// directive, not part of this build) is skipped.
func TestMigratingDocCaddyfilesAdapt(t *testing.T) {
	data, err := os.ReadFile("docs/migrating.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := 0
	rest := string(data)
	for {
		_, after, ok := strings.Cut(rest, "```caddyfile\n")
		if !ok {
			break
		}
		block, tail, ok := strings.Cut(after, "```")
		if !ok {
			t.Fatal("unterminated caddyfile block")
		}
		rest = tail
		first, _, _ := strings.Cut(block, "\n")
		if strings.HasPrefix(first, "cgi ") {
			continue
		}
		blocks++
		site := strings.Fields(first)[0]
		if !strings.HasPrefix(site, ":") && !strings.Contains(site, ".") {
			block = ":8080 {\n" + block + "}\n"
		}
		if _, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(block), nil); err != nil {
			t.Errorf("docs/migrating.md block starting %q does not adapt: %v\n%s", first, err, block)
		}
	}
	if blocks < 10 {
		t.Fatalf("found only %d caddyfile blocks in docs/migrating.md", blocks)
	}
}
