package pyhttp

import (
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// nameFilter is a core that, like Caddy's include/exclude filters, drops
// entries of other loggers only in Check: its level test passes for all.
type nameFilter struct {
	zapcore.Core
	prefix string
}

func (f nameFilter) With(fields []zapcore.Field) zapcore.Core {
	return nameFilter{f.Core.With(fields), f.prefix}
}

func (f nameFilter) Check(e zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if !strings.HasPrefix(e.LoggerName, f.prefix) {
		return ce
	}
	return f.Core.Check(e, ce)
}

// The handler's logger is raised to the lowest level a configured log
// writes for its name, so that debug checks fail early (and a request's
// lazy logger never builds its fields) when only another logger's debug
// entries are kept, as in pyhttp-server.
func TestWithWrittenLevels(t *testing.T) {
	t.Parallel()
	debugOther, _ := observer.New(zapcore.DebugLevel)
	warnOurs, warnLogs := observer.New(zapcore.WarnLevel)
	debugOurs, debugLogs := observer.New(zapcore.DebugLevel)
	tests := []struct {
		name      string
		core      zapcore.Core
		wantDebug bool
		wantInfo  bool
	}{
		{"debug for another logger, warn for ours", zapcore.NewTee(nameFilter{debugOther, "http.log.access"}, nameFilter{warnOurs, "http.handlers"}), false, false},
		{"debug for ours", zapcore.NewTee(nameFilter{debugOurs, "http.handlers"}), true, true},
		{"nothing for ours", nameFilter{debugOther, "http.log.access"}, false, false},
	}
	for _, tt := range tests {
		log := withWrittenLevels(zap.New(tt.core).Named("http.handlers.pyhttp_cgi"))
		if got := log.Core().Enabled(zapcore.DebugLevel); got != tt.wantDebug {
			t.Errorf("%s: debug enabled %v, want %v", tt.name, got, tt.wantDebug)
		}
		if got := log.Core().Enabled(zapcore.InfoLevel); got != tt.wantInfo {
			t.Errorf("%s: info enabled %v, want %v", tt.name, got, tt.wantInfo)
		}
		log.Warn("kept")
		log.Debug("debug line")
	}
	if n := warnLogs.FilterMessage("kept").Len(); n != 1 {
		t.Errorf("got %d warnings written, want 1", n)
	}
	if n := debugLogs.FilterMessage("debug line").Len(); n != 1 {
		t.Errorf("got %d debug lines written where debug is on, want 1", n)
	}
}
