// Package mimetypes guesses a Content-Type from a file name the way Python's
// http.server does (SimpleHTTPRequestHandler.guess_type), with the same answer
// on every host.
//
// Python's answer depends on the machine: mimetypes loads its built-in map and
// then every mime.types file it finds. This package freezes one such table,
// CPython 3.13's built-ins plus Debian's /etc/mime.types, into table.go, so the
// result does not depend on the host Caddy runs on. Unlike Go's
// mime.TypeByExtension it never appends "; charset=...": Python sends a bare
// "text/html".
package mimetypes

//go:generate sh -c "$(pyenv root)/versions/3.13.0/bin/python3 gen.py"

import (
	"errors"
	"fmt"
	"maps"
	"mime"
	"slices"
	"strings"
	"sync"

	"github.com/pyhttp/caddy-pyhttp/internal/pystr"
)

// ErrInvalidExtension reports an override key that guess_type could never
// match: it must start with "." and be a single suffix (no '/', no second '.').
var ErrInvalidExtension = errors.New("invalid extension")

// ErrInvalidType reports an override value that is not a "type/subtype" media
// type.
var ErrInvalidType = errors.New("invalid media type")

// Table is an immutable Content-Type table; safe for concurrent use.
type Table struct {
	// overrides is http.server's extensions_map: the handler's defaults plus
	// the user's entries. The mimetypes tables are shared package state.
	overrides map[string]string
}

// Default is the table without overrides.
func Default() *Table { return defaultTable() }

var defaultTable = sync.OnceValue(func() *Table {
	return &Table{overrides: maps.Clone(defaultOverrides)}
})

// New returns the default table with user overrides applied ("mime" config): keys are extensions
// with a leading dot (".ext"), checked first like http.server's extensions_map (as is, then lower-cased).
// It rejects a key without a leading dot or with a '/', and a value that is not "type/subtype"
// (use mime.ParseMediaType; parameters allowed), with an error naming the bad entry.
//
// It also rejects a key with a second '.', such as ".tar.gz": guess_type only
// ever looks up the text from the last '.', so that entry could never match.
// All bad entries are reported, in key order, joined with errors.Join.
func New(overrides map[string]string) (*Table, error) {
	if len(overrides) == 0 {
		return Default(), nil
	}
	var errs []error
	for _, ext := range slices.Sorted(maps.Keys(overrides)) {
		if err := checkEntry(ext, overrides[ext]); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	m := maps.Clone(defaultOverrides)
	maps.Copy(m, overrides)
	return &Table{overrides: m}, nil
}

// checkEntry validates one "mime" override.
func checkEntry(ext, typ string) error {
	switch {
	case !strings.HasPrefix(ext, "."):
		return fmt.Errorf("mime entry %q: %w: must start with '.'", ext, ErrInvalidExtension)
	case strings.ContainsRune(ext, '/'):
		return fmt.Errorf("mime entry %q: %w: must not contain '/'", ext, ErrInvalidExtension)
	case strings.Count(ext, ".") > 1:
		return fmt.Errorf("mime entry %q: %w: only the text from the last '.' is matched", ext, ErrInvalidExtension)
	}
	// A value ends up in a response header, so refuse control characters
	// outright; ParseMediaType alone accepts some inside quoted strings.
	if strings.ContainsFunc(typ, func(r rune) bool { return r < ' ' || r == 0x7f }) {
		return fmt.Errorf("mime entry %q: %w: %q contains a control character", ext, ErrInvalidType, typ)
	}
	mt, _, err := mime.ParseMediaType(typ)
	if err != nil {
		return fmt.Errorf("mime entry %q: %w: %q: %w", ext, ErrInvalidType, typ, err)
	}
	// ParseMediaType also accepts a bare token (it parses Content-Disposition
	// too), so the slash must be checked here.
	if !strings.Contains(mt, "/") {
		return fmt.Errorf("mime entry %q: %w: %q is not type/subtype", ext, ErrInvalidType, typ)
	}
	return nil
}

// TypeByName returns the Content-Type for a file name or path (only the last component matters).
//
// It follows SimpleHTTPRequestHandler.guess_type and mimetypes'
// _guess_file_type in CPython 3.13 (3.11.7 and 3.12 behave the same):
//  1. the extension is the text from the last '.' of the last component,
//     where leading dots do not count (".bashrc" has none);
//  2. extensions_map (the overrides) is tried with it as is, then lower-cased;
//  3. the suffix map rewrites it, repeatedly (.tgz -> .tar.gz);
//  4. one case-sensitive encoding suffix (.gz .Z .bz2 .xz .br) is dropped;
//  5. the remaining extension is looked up lower-cased only (mimetypes
//     lower-cases before the lookup, so upper-case keys from mime.types, such
//     as ".ELN", are unreachable, exactly as in Python);
//  6. otherwise application/octet-stream.
func (t *Table) TypeByName(name string) string {
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		name = name[i+1:]
	}
	base, ext := splitext(name)
	if typ, ok := t.overrides[ext]; ok {
		return typ
	}
	if typ, ok := t.overrides[pystr.Lower(ext)]; ok {
		return typ
	}
	for {
		s, ok := defaultSuffixes[pystr.Lower(ext)]
		if !ok {
			break
		}
		base, ext = splitext(base + s)
	}
	if _, ok := defaultEncodings[ext]; ok {
		_, ext = splitext(base)
	}
	if typ, ok := defaultTypes[pystr.Lower(ext)]; ok {
		return typ
	}
	return fallbackType
}

// splitext is posixpath.splitext for a name without '/': the extension runs
// from the last '.', unless everything before that dot is dots too, in which
// case there is none (genericpath._splitext skips leading dots).
func splitext(name string) (base, ext string) {
	dot := strings.LastIndexByte(name, '.')
	if dot < 0 {
		return name, ""
	}
	if strings.TrimLeft(name[:dot], ".") == "" {
		return name, ""
	}
	return name[:dot], name[dot:]
}

const fallbackType = "application/octet-stream"
