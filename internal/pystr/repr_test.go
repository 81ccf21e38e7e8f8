package pystr

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

// Repr must format method and script names exactly as Python's repr(),
// since they appear in Python's error messages.
func TestRepr(t *testing.T) {
	t.Parallel()
	inputs := []string{
		"PUT", "get", "", "it's", `say "hi"`, `both ' and "`, `back\slash`,
		"tab\tnew\nline\rcr", "\x00\x01\x1f\x7f", "/cgi-bin/김", "caf\u00e9", "\u00a0nbsp",
		"\u0085next", "\u200bzwsp", "\U0001F600", "\xff\xfe", "/cgi-bin/x y",
	}
	want := map[string]string{
		"PUT": `'PUT'`, "get": `'get'`, "": `''`, "it's": `"it's"`, `say "hi"`: `'say "hi"'`,
		`both ' and "`: `'both \' and "'`, `back\slash`: `'back\\slash'`,
		"tab\tnew\nline\rcr": `'tab\tnew\nline\rcr'`, "\x00\x01\x1f\x7f": `'\x00\x01\x1f\x7f'`,
		"/cgi-bin/김": `'/cgi-bin/김'`, "caf\u00e9": `'café'`, "\u00a0nbsp": `'\xa0nbsp'`,
		"\u0085next": `'\x85next'`, "\u200bzwsp": `'\u200bzwsp'`, "\U0001F600": "'\U0001F600'",
		"\xff\xfe": `'\udcff\udcfe'`, "/cgi-bin/x y": `'/cgi-bin/x y'`,
	}
	for _, in := range inputs {
		if got := Repr(in); got != want[in] {
			t.Errorf("Repr(%q) = %s, want %s", in, got, want[in])
		}
	}

	// Cross-check with the interpreter where it is installed.
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not installed")
	}
	script := "import json,sys\nfor s in json.load(sys.stdin): print(repr(s))"
	var valid []string
	for _, in := range inputs {
		if in != "\xff\xfe" { // not representable in JSON
			valid = append(valid, in)
		}
	}
	data, _ := json.Marshal(valid)
	cmd := exec.Command(python, "-c", script)
	cmd.Stdin = bytes.NewReader(data)
	cmd.Env = append(cmd.Environ(), "PYTHONIOENCODING=utf-8")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python3: %v", err)
	}
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if len(lines) != len(valid) {
		t.Fatalf("python printed %d lines, want %d", len(lines), len(valid))
	}
	for i, in := range valid {
		if got := Repr(in); got != lines[i] {
			t.Errorf("Repr(%q) = %s, python says %s", in, got, lines[i])
		}
	}
}

func TestLogEscape(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"/plain":         "/plain",
		"/a\nb":          `/a\x0ab`,
		"/back\\slash":   `/back\\slash`,
		"/\x1b[31mred":   `/\x1b[31mred`,
		"/del\x7f":       `/del\x7f`,
		"/c1\u0085":      `/c1\x85`,
		"/김":             "/김",
		"GET / HTTP/1.1": "GET / HTTP/1.1",
	} {
		if got := LogEscape(in); got != want {
			t.Errorf("LogEscape(%q) = %q, want %q", in, got, want)
		}
	}
}
