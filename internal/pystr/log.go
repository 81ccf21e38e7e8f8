package pystr

import (
	"fmt"
	"strings"
)

// LogEscape is log_message's control-character translation (Python 3.11):
// C0, DEL and C1 controls become \xNN and backslash is doubled, so a
// request cannot forge log lines.
func LogEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\\':
			b.WriteString(`\\`)
		case r < 0x20 || (r >= 0x7f && r <= 0x9f):
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
