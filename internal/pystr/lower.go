// Package pystr holds Python's string rules, each in one place:
// str.lower() and the sort key of list.sort(key=str.lower) (Lower,
// SortKey), urllib.parse.quote and unquote (Quote, Unquote),
// html.escape(quote=False) (HTMLEscape), repr() of a str (Repr) and
// http.server's log_message escaping (LogEscape).
//
// Strings are Go strings of raw bytes standing for the str Python would
// hold after decoding them with surrogateescape: valid UTF-8 is text, every
// undecodable byte b is the lone surrogate U+DC00+b. The package needs no
// Caddy and no other package of this module.
package pystr

import (
	"unicode"
	"unicode/utf8"
)

// Lower is CPython's str.lower() applied to the surrogateescape-decoded
// string, re-encoded the way Python writes the listing: valid UTF-8 is
// lower-cased with the full Unicode mapping and undecodable bytes come back
// unchanged.
//
// It differs from strings.ToLower in two ways that change the listing order
// (the listing is sorted by it): U+0130 maps to "i\u0307" (the only unconditional multi-rune
// lowercase mapping in SpecialCasing.txt, which CPython's
// _PyUnicode_ToLowerFull applies), and U+03A3 becomes final sigma U+03C2 in
// the Final_Sigma context (CPython's handle_capital_sigma in
// Objects/unicodeobject.c). Character properties come from Go's unicode
// tables (Unicode 15.0, the same as Python 3.12); characters assigned only in
// later versions lower-case as Go knows them.
func Lower(s string) string {
	if k, ok := lowerASCII(s); ok {
		return k
	}
	return string(appendLower(make([]byte, 0, len(s)+2), s, false))
}

// SortKey returns the key Python's list.sort(key=str.lower) compares. Its
// bytes order the same way as the code points of the Python string: valid
// UTF-8 already does, and undecodable bytes are written as the
// surrogatepass encoding of their surrogateescape code point (U+DC80..U+DCFF
// become ED B2 80..ED B3 BF), which sorts between U+D7FF and U+E000 exactly
// where Python puts the lone surrogates. The raw byte would sort wrongly
// (0x80 before "é").
func SortKey(s string) string {
	if k, ok := lowerASCII(s); ok {
		return k
	}
	return string(appendLower(make([]byte, 0, len(s)+4), s, true))
}

// lowerASCII handles names that are pure ASCII, returning s itself (no
// allocation) when it has no upper-case letter. ok is false when s has a
// byte >= 0x80 and needs the Unicode path.
func lowerASCII(s string) (string, bool) {
	upper := false
	for i := range len(s) {
		c := s[i]
		if c >= utf8.RuneSelf {
			return "", false
		}
		if 'A' <= c && c <= 'Z' {
			upper = true
		}
	}
	if !upper {
		return s, true
	}
	b := make([]byte, len(s))
	for i := range len(s) {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b[i] = c
	}
	return string(b), true
}

// appendLower appends the lower-cased s to dst. With surrogates set,
// undecodable bytes are appended as encoded surrogates (for sort keys);
// otherwise as the raw byte (what Python's surrogateescape encoder emits).
func appendLower(dst []byte, s string, surrogates bool) []byte {
	var runes []rune // decoded s, only built when a capital sigma needs context
	for i, ri := 0, 0; i < len(s); ri++ {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			if surrogates {
				dst = appendSurrogate(dst, s[i])
			} else {
				dst = append(dst, s[i])
			}
		case r == 'İ':
			dst = append(dst, "i\u0307"...)
		case r == 'Σ':
			if runes == nil {
				runes = decodeEscaped(s)
			}
			if finalSigma(runes, ri) {
				dst = utf8.AppendRune(dst, 'ς')
			} else {
				dst = utf8.AppendRune(dst, 'σ')
			}
		default:
			dst = utf8.AppendRune(dst, unicode.ToLower(r))
		}
		i += n
	}
	return dst
}

// appendSurrogate appends the surrogatepass UTF-8 encoding of U+DC00+b, the
// code point Python's surrogateescape decoder gives the undecodable byte b.
// utf8.AppendRune refuses surrogates, so it is written by hand.
func appendSurrogate(dst []byte, b byte) []byte {
	cp := 0xDC00 + rune(b)
	return append(dst, 0xE0|byte(cp>>12), 0x80|byte(cp>>6)&0x3F, 0x80|byte(cp)&0x3F)
}

// decodeEscaped decodes s as Python's surrogateescape does: one rune per
// valid UTF-8 sequence and U+DC00+b for every undecodable byte b. Go's
// decoder rejects exactly what CPython's does (surrogates, overlongs, values
// above U+10FFFF), and escaping the bytes of CPython's maximal invalid
// subsequence one by one equals Go's byte-at-a-time error recovery.
func decodeEscaped(s string) []rune {
	runes := make([]rune, 0, len(s))
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			r = 0xDC00 + rune(s[i])
		}
		runes = append(runes, r)
		i += n
	}
	return runes
}

// finalSigma reports whether the capital sigma at runes[i] is in the
// Final_Sigma context, \p{cased}\p{case-ignorable}* Σ !(\p{case-ignorable}*\p{cased}),
// copying CPython's handle_capital_sigma (which looks at the original, not
// the lower-cased, neighbours).
func finalSigma(runes []rune, i int) bool {
	j := i - 1
	for j >= 0 && caseIgnorable(runes[j]) {
		j--
	}
	if j < 0 || !cased(runes[j]) {
		return false
	}
	j = i + 1
	for j < len(runes) && caseIgnorable(runes[j]) {
		j++
	}
	return j == len(runes) || !cased(runes[j])
}

// cased is the Unicode derived property Cased (DerivedCoreProperties.txt):
// Lowercase, Uppercase or Lt, where Lowercase = Ll + Other_Lowercase and
// Uppercase = Lu + Other_Uppercase.
func cased(r rune) bool {
	return unicode.In(r, unicode.Lu, unicode.Ll, unicode.Lt, unicode.Other_Lowercase, unicode.Other_Uppercase)
}

// caseIgnorable is the Unicode derived property Case_Ignorable
// (Unicode §3.13, D136): Mn, Me, Cf, Lm, Sk, or Word_Break MidLetter,
// MidNumLet or Single_Quote. Go has no Word_Break tables, so those three
// classes are listed in caseIgnorableWB.
func caseIgnorable(r rune) bool {
	return unicode.In(r, unicode.Mn, unicode.Me, unicode.Cf, unicode.Lm, unicode.Sk) ||
		unicode.Is(caseIgnorableWB, r)
}

// caseIgnorableWB holds the Word_Break=MidLetter, MidNumLet and Single_Quote
// characters (WordBreakProperty.txt, Unicode 15.0) that are not already in
// one of the general categories above.
var caseIgnorableWB = &unicode.RangeTable{
	R16: []unicode.Range16{
		{Lo: 0x0027, Hi: 0x0027, Stride: 1}, // Single_Quote '
		{Lo: 0x002E, Hi: 0x002E, Stride: 1}, // MidNumLet .
		{Lo: 0x003A, Hi: 0x003A, Stride: 1}, // MidLetter :
		{Lo: 0x00B7, Hi: 0x00B7, Stride: 1}, // MidLetter middle dot
		{Lo: 0x0387, Hi: 0x0387, Stride: 1}, // MidLetter Greek ano teleia
		{Lo: 0x055F, Hi: 0x055F, Stride: 1}, // MidLetter Armenian abbreviation mark
		{Lo: 0x05F4, Hi: 0x05F4, Stride: 1}, // MidLetter Hebrew gershayim
		{Lo: 0x2018, Hi: 0x2019, Stride: 1}, // MidNumLet quotation marks
		{Lo: 0x2024, Hi: 0x2024, Stride: 1}, // MidNumLet one dot leader
		{Lo: 0x2027, Hi: 0x2027, Stride: 1}, // MidLetter hyphenation point
		{Lo: 0xFE13, Hi: 0xFE13, Stride: 1}, // MidLetter presentation colon
		{Lo: 0xFE52, Hi: 0xFE52, Stride: 1}, // MidNumLet small full stop
		{Lo: 0xFE55, Hi: 0xFE55, Stride: 1}, // MidLetter small colon
		{Lo: 0xFF07, Hi: 0xFF07, Stride: 1}, // MidNumLet fullwidth apostrophe
		{Lo: 0xFF0E, Hi: 0xFF0E, Stride: 1}, // MidNumLet fullwidth full stop
		{Lo: 0xFF1A, Hi: 0xFF1A, Stride: 1}, // MidLetter fullwidth colon
	},
}

// AppendSortKey appends SortKey(s) to dst, allocating nothing beyond dst's
// growth (a listing builds every key into one buffer).
func AppendSortKey(dst []byte, s string) []byte {
	for i := range len(s) {
		if s[i] >= utf8.RuneSelf {
			return appendLower(dst, s, true)
		}
	}
	for i := range len(s) {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}
