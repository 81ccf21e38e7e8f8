package pystr

import "testing"

func TestQuote(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", ""},
		{"unreserved kept", "AZaz09_.-~", "AZaz09_.-~"},
		{"slash is safe", "d/", "d/"},
		{"space", "a b", "a%20b"},
		{"html specials and quotes", `& < > " '`, "%26%20%3C%20%3E%20%22%20%27"},
		{"sub-delims and gen-delims", "@+=:,;!$()*&#%?", "%40%2B%3D%3A%2C%3B%21%24%28%29%2A%26%23%25%3F"},
		{"spec example", `sp ace & <tag> "q" 's'.txt`, "sp%20ace%20%26%20%3Ctag%3E%20%22q%22%20%27s%27.txt"},
		{"hangul", "김윤미.txt", "%EA%B9%80%EC%9C%A4%EB%AF%B8.txt"},
		{"control chars", "a\nb\x00", "a%0Ab%00"},
		{"upper-case hex", "\x7f", "%7F"},
		{"undecodable 0xFF is surrogate U+DCFF", "\xff", "%ED%B3%BF"},
		{"undecodable 0x80 is surrogate U+DC80", "\x80", "%ED%B2%80"},
		{"encoded surrogate is three bad bytes", "\xed\xa0\x80", "%ED%B3%AD%ED%B2%A0%ED%B2%80"},
		{"truncated sequence", "\xe4\xb8A", "%ED%B3%A4%ED%B2%B8A"},
		{"U+0130", "İ", "%C4%B0"},
		{"supplementary", "😀", "%F0%9F%98%80"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := Quote(tt.in); got != tt.want {
				t.Errorf("Quote(%q): got %q, want %q", tt.in, got, tt.want)
			}
			if got := QuotedLen(tt.in); got != len(tt.want) {
				t.Errorf("QuotedLen(%q): got %d, want %d", tt.in, got, len(tt.want))
			}
		})
	}
}

func TestHTMLEscape(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", ""},
		{"plain", "a.txt", "a.txt"},
		{"amp lt gt", "a&b<c>d", "a&amp;b&lt;c&gt;d"},
		{"quotes stay literal", `"q" 's'`, `"q" 's'`},
		{"spec example", `sp ace & <tag> "q" 's'.txt`, `sp ace &amp; &lt;tag&gt; "q" 's'.txt`},
		{"entity is escaped again", "&amp;", "&amp;amp;"},
		{"hangul", "김윤미", "김윤미"},
		{"undecodable byte passes through", "\xff&", "\xff&amp;"},
		{"punctuation untouched", "@+=:,;!$()*#%?", "@+=:,;!$()*#%?"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := HTMLEscape(tt.in); got != tt.want {
				t.Errorf("HTMLEscape(%q): got %q, want %q", tt.in, got, tt.want)
			}
			if got := HTMLEscapedLen(tt.in); got != len(tt.want) {
				t.Errorf("HTMLEscapedLen(%q): got %d, want %d", tt.in, got, len(tt.want))
			}
		})
	}
}

func TestUnquote(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", ""},
		{"no escapes", "/a/b", "/a/b"},
		{"upper hex", "%41%2F", "A/"},
		{"lower hex", "%c3%a9", "é"},
		{"plus is literal", "a+b", "a+b"},
		{"percent at end", "100%", "100%"},
		{"one digit at end", "%4", "%4"},
		{"bad digit", "%zz%4g", "%zz%4g"},
		{"escaped percent not decoded twice", "%2541", "%41"},
		{"nul", "%00", "\x00"},
		{"invalid utf-8 byte", "%FF", "\xff"},
		{"raw bytes pass", "\xff\xfe", "\xff\xfe"},
		{"percent before valid escape", "%%41", "%A"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := Unquote(tt.in); got != tt.want {
				t.Errorf("Unquote(%q) got %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}
