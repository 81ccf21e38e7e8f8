package listing

import (
	"bufio"
	"io"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/pyhttp/caddy-pyhttp/internal/pystr"
)

// WriteJSON streams the JSON listing, which Python does not have: an array
// with one object per entry, in the order given (Read's sort order),
//
//	{"name":"a b","url":"a%20b","is_dir":false,"is_symlink":false,"size":3,"mod_time":"2024-05-01T12:00:00Z"}
//
// url is the href of the HTML listing (with "/" for directories). size and
// mod_time are only meaningful when Read was called with Options.Stat;
// mod_time is RFC 3339 in UTC with as many fractional digits as needed.
// A name's undecodable bytes are written as \udcXX escapes, the lone
// surrogates Python's os.listdir would give (json.loads plus os.fsencode get
// the raw bytes back); other JSON decoders may substitute U+FFFD.
func WriteJSON(w io.Writer, entries []Entry) error {
	return IndexOf(entries).WriteJSON(w)
}

// WriteJSON streams the index as WriteJSON does.
func (x *Index) WriteJSON(w io.Writer) error {
	bw := bufio.NewWriterSize(w, 32<<10)
	var buf []byte
	bw.WriteByte('[')
	for i := range x.Len() {
		e := x.At(i)
		buf = buf[:0]
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, `{"name":`...)
		buf = appendJSONString(buf, e.Name)
		buf = append(buf, `,"url":"`...)
		buf = pystr.AppendQuoted(buf, e.Name) // only unreserved bytes and %XX: no JSON escaping needed
		if e.IsDir {
			buf = append(buf, '/')
		}
		buf = append(buf, `","is_dir":`...)
		buf = strconv.AppendBool(buf, e.IsDir)
		buf = append(buf, `,"is_symlink":`...)
		buf = strconv.AppendBool(buf, e.IsSymlink)
		buf = append(buf, `,"size":`...)
		buf = strconv.AppendInt(buf, e.Size, 10)
		buf = append(buf, `,"mod_time":"`...)
		buf = e.ModTime.UTC().AppendFormat(buf, time.RFC3339Nano)
		buf = append(buf, `"}`...)
		if _, err := bw.Write(buf); err != nil {
			return err
		}
	}
	bw.WriteByte(']')
	return bw.Flush()
}

// appendJSONString appends s as a JSON string (RFC 8259 §7). Control
// characters, U+2028 and U+2029 (invalid in JavaScript string literals
// before ES2019) are escaped; undecodable bytes become \udcXX.
func appendJSONString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				dst = append(dst, '\\', c)
			case c == '\n':
				dst = append(dst, `\n`...)
			case c == '\r':
				dst = append(dst, `\r`...)
			case c == '\t':
				dst = append(dst, `\t`...)
			case c < 0x20 || c == 0x7F:
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&15])
			default:
				dst = append(dst, c)
			}
			i++
			continue
		}
		r, w := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && w == 1:
			dst = append(dst, '\\', 'u', 'd', 'c', hex[c>>4], hex[c&15])
		case r == '\u2028' || r == '\u2029':
			dst = append(dst, `\u202`...)
			dst = append(dst, hex[r&15])
		default:
			dst = append(dst, s[i:i+w]...)
		}
		i += w
	}
	return append(dst, '"')
}
