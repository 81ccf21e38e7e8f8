package pyhttp

import (
	"os"
	"testing"

	"github.com/pyhttp/caddy-pyhttp/internal/cgihost"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// The load-time warning of finding 11 (issue 7): scripts that share a uid
// can read each other's HTTP_COOKIE, so a handler without user_pool says
// so, naming HTTP_AUTHORIZATION too with pass_auth; with user_pool or
// max_procs 1 (no two scripts at once) it stays silent.
func TestCGIWarnsWhenScriptsShareUID(t *testing.T) {
	for _, tc := range []struct {
		name    string
		cgi     CGI
		exposed []any
	}{
		{"default", CGI{}, []any{"HTTP_COOKIE"}},
		{"pass_auth", CGI{PassAuth: true}, []any{"HTTP_COOKIE", "HTTP_AUTHORIZATION"}},
		{"max_procs 1", CGI{MaxProcs: 1}, nil},
		{"user_pool", CGI{UserPool: "61100-61109"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			core, logs := observer.New(zapcore.WarnLevel)
			c := tc.cgi
			c.logger = zap.New(core)
			c.warnSharedUID(65534)
			got := logs.FilterMessageSnippet("share one uid").All()
			if tc.exposed == nil {
				if len(got) != 0 {
					t.Errorf("warned: %v", got)
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("got %d warnings, want 1", len(got))
			}
			exposed, _ := got[0].ContextMap()["exposed"].([]any)
			if len(exposed) != len(tc.exposed) {
				t.Errorf("exposed %v, want %v", exposed, tc.exposed)
			}
		})
	}
}

// user_pool reaches the host and fills in max_procs; spool_budget sets the
// process's budget.
func TestCGIUserPoolAndSpoolBudgetProvision(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("user_pool requires root")
	}
	c := &CGI{UserPool: "61100-61109"}
	provisionCGI(t, c)
	if c.host.UIDPool == nil || c.host.UIDPool.Size() != 10 || c.MaxProcs != 10 || c.host.MaxProcs != 10 {
		t.Errorf("pool %v, max_procs %d/%d", c.host.UIDPool, c.MaxProcs, c.host.MaxProcs)
	}
	old := cgihost.DefaultSpoolBudget.Limit()
	t.Cleanup(func() { cgihost.DefaultSpoolBudget.SetLimit(old) })
	b := &CGI{SpoolBudget: 3 << 20}
	provisionCGI(t, b)
	if got := cgihost.DefaultSpoolBudget.Limit(); got != 3<<20 {
		t.Errorf("process spool budget %d, want %d", got, 3<<20)
	}
}
