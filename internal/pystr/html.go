package pystr

// HTMLEscape is html.escape(s, quote=False): only &, < and > are replaced.
// html.EscapeString also escapes quotes and so must not be used; Python
// leaves them literal in listing labels. Other bytes, including undecodable
// ones, pass through unchanged because Python encodes the page with
// surrogateescape.
func HTMLEscape(s string) string {
	n := HTMLEscapedLen(s)
	if n == len(s) {
		return s
	}
	b := make([]byte, 0, n)
	for i := range len(s) {
		switch c := s[i]; c {
		case '&':
			b = append(b, "&amp;"...)
		case '<':
			b = append(b, "&lt;"...)
		case '>':
			b = append(b, "&gt;"...)
		default:
			b = append(b, c)
		}
	}
	return string(b)
}

// HTMLEscapedLen is len(HTMLEscape(s)) without building it.
func HTMLEscapedLen(s string) int {
	n := len(s)
	for i := range len(s) {
		switch s[i] {
		case '&':
			n += len("&amp;") - 1
		case '<', '>':
			n += len("&lt;") - 1
		}
	}
	return n
}

// AppendHTMLEscaped appends HTMLEscape(s) to dst.
func AppendHTMLEscaped(dst []byte, s string) []byte {
	start := 0
	for i := range len(s) {
		var rep string
		switch s[i] {
		case '&':
			rep = "&amp;"
		case '<':
			rep = "&lt;"
		case '>':
			rep = "&gt;"
		default:
			continue
		}
		dst = append(dst, s[start:i]...)
		dst = append(dst, rep...)
		start = i + 1
	}
	return append(dst, s[start:]...)
}
