//go:build unix

package cgihost

import (
	"bufio"
	"bytes"
	"errors"
	"sync"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// readStderr logs the script's stderr line by line. Memory stays bounded
// whatever the script writes: lines are cut at maxStderrLine, and once the
// per-request budget is spent the rest is read and counted but not kept
// (a script must never block on a full stderr pipe).
func (p *process) readStderr() {
	defer close(p.stderrDone)
	br := bufio.NewReaderSize(p.stderr, maxStderrLine)
	skipping := false // inside the discarded tail of a truncated line
	for {
		chunk, err := br.ReadSlice('\n')
		full := errors.Is(err, bufio.ErrBufferFull)
		switch {
		case skipping:
			p.errlog.drop(len(chunk), false)
			skipping = full
		case full:
			p.errlog.line(chunk, true)
			skipping = true
		default:
			if line := bytes.TrimRight(chunk, "\r\n"); len(line) > 0 {
				p.errlog.line(line, false)
			}
		}
		if err != nil && !full {
			return
		}
	}
}

// stderrLog holds stderr lines until the response status is known, so that
// they are logged at Error for a 5xx response and at Warn otherwise (the
// fastcgi transport does the same).
type stderrLog struct {
	log    *zap.Logger
	script string
	pid    int

	mu           sync.Mutex
	status       int // 0 until the header block was parsed
	held         []heldLine
	lines        int
	bytes        int
	droppedBytes int64
	droppedLines int64
}

type heldLine struct {
	text      string
	truncated bool
}

// line logs (or holds) one line, within the per-request budget.
func (l *stderrLog) line(b []byte, truncated bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lines >= maxStderrLines || l.bytes+len(b) > maxStderrBytes {
		l.dropLocked(len(b), true)
		return
	}
	l.lines++
	l.bytes += len(b)
	if l.status == 0 {
		if len(l.held) < maxHeldLines {
			l.held = append(l.held, heldLine{string(b), truncated})
			return
		}
		// The script talks a lot before its header: stop holding, log now.
		l.flushLocked(zapcore.WarnLevel)
		l.write(zapcore.WarnLevel, string(b), truncated)
		return
	}
	l.write(l.level(), string(b), truncated)
}

// drop counts output that is not logged.
func (l *stderrLog) drop(n int, newLine bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.dropLocked(n, newLine)
}

func (l *stderrLog) dropLocked(n int, newLine bool) {
	l.droppedBytes += int64(n)
	if newLine {
		l.droppedLines++
	}
}

// setStatus fixes the log level and releases held lines.
func (l *stderrLog) setStatus(status int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.status == 0 {
		l.status = status
	}
	l.flushLocked(l.level())
}

// finish logs what is still held and a summary of what was dropped. It runs
// after the status was set and stderr was drained, so that held lines get the
// right level.
func (l *stderrLog) finish() {
	l.mu.Lock()
	defer l.mu.Unlock()
	level := l.level()
	l.flushLocked(level)
	if l.droppedBytes > 0 {
		if ce := l.log.Check(level, "cgi stderr output dropped"); ce != nil {
			ce.Write(zap.String("script", l.script), zap.Int("pid", l.pid),
				zap.Int64("dropped_bytes", l.droppedBytes), zap.Int64("dropped_lines", l.droppedLines))
		}
	}
}

func (l *stderrLog) level() zapcore.Level {
	if l.status >= 500 {
		return zapcore.ErrorLevel
	}
	return zapcore.WarnLevel
}

func (l *stderrLog) flushLocked(level zapcore.Level) {
	for _, h := range l.held {
		l.write(level, h.text, h.truncated)
	}
	l.held = nil
}

func (l *stderrLog) write(level zapcore.Level, text string, truncated bool) {
	ce := l.log.Check(level, "cgi stderr")
	if ce == nil {
		return
	}
	fields := []zap.Field{zap.String("script", l.script), zap.Int("pid", l.pid), zap.String("line", text)}
	if truncated {
		fields = append(fields, zap.Bool("truncated", true))
	}
	ce.Write(fields...)
}

const (
	// maxStderrLine caps one logged line; the rest of it is dropped.
	maxStderrLine = 4 << 10
	// maxStderrBytes and maxStderrLines cap what one request logs.
	maxStderrBytes = 64 << 10
	maxStderrLines = 1000
	// maxHeldLines bounds the lines kept while the status is unknown.
	maxHeldLines = 16
)
