package listing

import (
	"io"

	"github.com/pyhttp/caddy-pyhttp/internal/pystr"
	"github.com/pyhttp/caddy-pyhttp/internal/pyversion"
)

// ContentType is the listing's Content-Type header value exactly as Python
// sends it: "text/html; charset=%s" % sys.getfilesystemencoding(), with a
// space after the semicolon (the error page has none).
const ContentType = "text/html; charset=utf-8"

// The fixed parts of the 3.11–3.13 document (3.14's head is htmlHead314). list_directory joins its lines
// with "\n" and the last chunk ends in "\n", so every line below, including
// the last, ends in LF.
const (
	htmlHead = "<!DOCTYPE HTML>\n" +
		"<html lang=\"en\">\n" +
		"<head>\n" +
		"<meta charset=\"utf-8\">\n" +
		"<title>Directory listing for "
	// htmlHead314 is 3.14's head: list_directory appends one unindented
	// style block (a single list item holding four LFs) after <meta
	// charset>, so that browsers follow the reader's light or dark scheme.
	htmlHead314 = "<!DOCTYPE HTML>\n" +
		"<html lang=\"en\">\n" +
		"<head>\n" +
		"<meta charset=\"utf-8\">\n" +
		"<style type=\"text/css\">\n" +
		":root {\n" +
		"color-scheme: light dark;\n" +
		"}\n" +
		"</style>\n" +
		"<title>Directory listing for "
	htmlTitleEnd = "</title>\n" +
		"</head>\n" +
		"<body>\n" +
		"<h1>Directory listing for "
	htmlH1End = "</h1>\n" +
		"<hr>\n" +
		"<ul>\n"
	htmlItemStart = "<li><a href=\""
	htmlItemMid   = "\">"
	htmlItemEnd   = "</a></li>\n"
	htmlTail      = "</ul>\n" +
		"<hr>\n" +
		"</body>\n" +
		"</html>\n"
)

// head is the document's start, up to the title text, for Python v.
func head(v pyversion.Version) string {
	if v.ColorScheme() {
		return htmlHead314
	}
	return htmlHead
}

// HTMLLength returns the exact byte length WriteHTML will write for the
// same version, title and entries, so the caller can send Content-Length
// (as Python does) before streaming the body.
func HTMLLength(v pyversion.Version, title string, entries []Entry) int64 {
	return IndexOf(entries).HTMLLength(v, title)
}

// WriteHTML is Index.WriteHTML for entries in the order given.
func WriteHTML(w io.Writer, v pyversion.Version, title string, entries []Entry) error {
	return IndexOf(entries).WriteHTML(w, v, title)
}

// entryHTMLExtra is what an entry with flags f adds to the document beside
// its quoted and escaped name: the fixed parts of its line and the "/" or
// "@" suffixes.
func entryHTMLExtra(f uint8) int64 {
	n := int64(len(htmlItemStart) + len(htmlItemMid) + len(htmlItemEnd))
	if f&flagDir != 0 {
		n++ // "/" on the href
	}
	if f&(flagDir|flagSymlink) != 0 {
		n++ // "/" or "@" on the label
	}
	return n
}

// HTMLLength returns the exact byte length WriteHTML will write for the
// same version and title, so the caller can send Content-Length (as Python
// does) before streaming the body. The entries' share was totalled when
// the index was built, so it allocates nothing and does not depend on the
// number of entries.
func (x *Index) HTMLLength(v pyversion.Version, title string) int64 {
	return int64(len(head(v))+len(htmlTitleEnd)+len(htmlH1End)+len(htmlTail)) +
		2*int64(pystr.HTMLEscapedLen(title)) + x.htmlLen
}

// htmlChunk is the size of the chunks WriteHTML writes: entries are
// appended to one buffer of about this size, which goes to w whenever
// another entry might not fit.
const htmlChunk = 64 << 10

// WriteHTML streams the listing document of Python v (list_directory; 3.14
// adds a style block to 3.11–3.13's) for the index, in its order, in
// chunks of htmlChunk bytes, so memory stays constant however many entries
// there are. title is the decoded request target (pypath.ListingTitle
// chooses which part of it); it is escaped like a label. Each entry is
// quoted and escaped straight into the chunk (pystr.AppendQuoted,
// pystr.AppendHTMLEscaped): no call per byte and no allocation per entry.
func (x *Index) WriteHTML(w io.Writer, v pyversion.Version, title string) error {
	buf := make([]byte, 0, htmlChunk)
	buf = append(buf, head(v)...)
	buf = pystr.AppendHTMLEscaped(buf, title)
	buf = append(buf, htmlTitleEnd...)
	buf = pystr.AppendHTMLEscaped(buf, title)
	buf = append(buf, htmlH1End...)
	for _, j := range x.order {
		name, f := x.name(j), x.flags[j]
		// An entry takes at most 14 bytes per name byte (%XX%XX%XX for an
		// undecodable one, plus its label) and 30 more: flush first if
		// that might not fit, so the chunk is never regrown.
		if len(buf)+14*len(name)+32 > cap(buf) && len(buf) > 0 {
			if _, err := w.Write(buf); err != nil {
				return err
			}
			buf = buf[:0]
		}
		buf = append(buf, htmlItemStart...)
		if f&flagHrefAsIs != 0 {
			buf = append(buf, name...)
		} else {
			buf = pystr.AppendQuoted(buf, name)
		}
		if f&flagDir != 0 {
			buf = append(buf, '/')
		}
		buf = append(buf, htmlItemMid...)
		if f&flagLabelAsIs != 0 {
			buf = append(buf, name...)
		} else {
			buf = pystr.AppendHTMLEscaped(buf, name)
		}
		// A symlink's "@" replaces the directory "/" on the label only:
		// list_directory sets displayname twice but linkname once.
		switch {
		case f&flagSymlink != 0:
			buf = append(buf, '@')
		case f&flagDir != 0:
			buf = append(buf, '/')
		}
		buf = append(buf, htmlItemEnd...)
	}
	buf = append(buf, htmlTail...)
	_, err := w.Write(buf)
	return err
}
