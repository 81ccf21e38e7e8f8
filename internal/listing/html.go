package listing

import (
	"bufio"
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

// HTMLLength returns the exact byte length WriteHTML will write for the
// same version and title, so the caller can send Content-Length (as Python
// does) before streaming the body. It allocates nothing.
func (x *Index) HTMLLength(v pyversion.Version, title string) int64 {
	n := int64(len(head(v))+len(htmlTitleEnd)+len(htmlH1End)+len(htmlTail)) +
		2*int64(pystr.HTMLEscapedLen(title))
	for _, j := range x.order {
		name, f := x.name(j), x.flags[j]
		n += int64(len(htmlItemStart)+len(htmlItemMid)+len(htmlItemEnd)) +
			int64(pystr.QuotedLen(name)+pystr.HTMLEscapedLen(name))
		if f&flagDir != 0 {
			n++ // "/" on the href
		}
		if f&(flagDir|flagSymlink) != 0 {
			n++ // "/" or "@" on the label
		}
	}
	return n
}

// WriteHTML streams the listing document of Python v (list_directory; 3.14
// adds a style block to 3.11–3.13's) for the index, in its order, through a
// buffer, so memory stays constant however many entries there are. title is
// the decoded request target (pypath.ListingTitle chooses which part of
// it); it is escaped like a label.
func (x *Index) WriteHTML(w io.Writer, v pyversion.Version, title string) error {
	bw := bufio.NewWriterSize(w, 32<<10)
	bw.WriteString(head(v))
	pystr.WriteHTMLEscaped(bw, title)
	bw.WriteString(htmlTitleEnd)
	pystr.WriteHTMLEscaped(bw, title)
	bw.WriteString(htmlH1End)
	for _, j := range x.order {
		name, f := x.name(j), x.flags[j]
		bw.WriteString(htmlItemStart)
		pystr.WriteQuoted(bw, name)
		if f&flagDir != 0 {
			bw.WriteByte('/')
		}
		bw.WriteString(htmlItemMid)
		pystr.WriteHTMLEscaped(bw, name)
		// A symlink's "@" replaces the directory "/" on the label only:
		// list_directory sets displayname twice but linkname once.
		switch {
		case f&flagSymlink != 0:
			bw.WriteByte('@')
		case f&flagDir != 0:
			bw.WriteByte('/')
		}
		if _, err := bw.WriteString(htmlItemEnd); err != nil {
			return err // bufio keeps the first write error; stop early
		}
	}
	bw.WriteString(htmlTail)
	return bw.Flush()
}
