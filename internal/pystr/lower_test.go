package pystr

import (
	"bufio"
	"bytes"
	"strconv"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/pyhttp/caddy-pyhttp/internal/pythontest"
)

func TestLower(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", ""},
		{"lower ascii unchanged", "readme.txt", "readme.txt"},
		{"upper ascii", "README.TXT", "readme.txt"},
		{"underscore is not a letter", "B_x", "b_x"},
		{"hangul has no case", "김윤미.txt", "김윤미.txt"},
		{"latin-1 upper", "ÉCOLE", "école"},
		{"dotted capital I is two runes", "İstanbul", "i\u0307stanbul"},
		{"kelvin sign", "\u212A", "k"},
		{"titlecase digraph", "ǅ", "ǆ"},
		{"sharp s has no lower", "ß", "ß"},
		{"capital sharp s", "ẞ", "ß"},
		{"lone sigma", "Σ", "σ"},
		{"final sigma", "ΑΣ", "ας"},
		{"medial sigma", "ΑΣΑ", "ασα"},
		{"dot is ignorable so the extension is a cased follower", "ΑΣ.txt", "ασ.txt"},
		{"sigma before dot and space", "ΑΣ. x", "ας. x"},
		{"sigma after ignorable only", "'Σ", "'σ"},
		{"sigma across ignorable", "Α'Σ'", "α'ς'"},
		{"sigma before ignorable then cased", "ΑΣ'Α", "ασ'α"},
		{"sigma after digit", "1Σ", "1σ"},
		{"two sigmas", "ΣΣ", "σς"},
		{"undecodable byte kept", "A\xffB", "a\xffb"},
		{"undecodable bytes around sigma", "Α\xffΣ", "α\xffσ"},
		{"encoded surrogate kept raw", "\xed\xa0\x80X", "\xed\xa0\x80x"},
		{"replacement char is valid", "\uFFFDA", "\uFFFDa"},
		{"supplementary", "𐐀", "𐐨"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := Lower(tt.in); got != tt.want {
				t.Errorf("Lower(%q): got %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// Sort keys must order like Python's code-point comparison of
// surrogateescape-decoded names: an undecodable byte is U+DC80..U+DCFF, so it
// sorts after every BMP letter below U+D800 and before U+E000.
func TestSortKeyOrdersLikeCodePoints(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, less, more string
	}{
		{"underscore before letters", "b_x", "ba"},
		{"dot before letters", ".a", "a"},
		{"undecodable after latin-1", "é", "\x80"},
		{"undecodable after hangul", "김", "\xff"},
		{"undecodable before private use", "\xff", "\ue000"},
		{"undecodable before supplementary", "\xff", "𐐨"},
		{"low undecodable before high", "\x80", "\xff"},
		{"final sigma before sigma", "ας", "ασ"},
		{"dotted I sorts as i", "İz", "j"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if a, b := SortKey(tt.less), SortKey(tt.more); a >= b {
				t.Errorf("SortKey(%q) = %q, SortKey(%q) = %q: got not less, want less", tt.less, a, tt.more, b)
			}
		})
	}
}

// A lower-case ASCII name is its own sort key, so the common case of Read
// allocates nothing per entry for keys.
func TestSortKeyNoAllocForLowerASCII(t *testing.T) {
	name := strings.Repeat("file-0001.txt", 2)
	if n := testing.AllocsPerRun(100, func() { _ = SortKey(name) }); n != 0 {
		t.Errorf("sortKey allocations: got %v, want 0", n)
	}
}

// pyCaseTable prints, for every code point Python knows (category not Cn,
// surrogates excluded): "A lo hi" ranges of assigned code points, "L cp
// hex..." where str.lower() changes the character, "C cp" where c+"Σ" ends
// in final sigma (c is cased and not case-ignorable), and "I cp" where
// "A"+c+"Σ" does but c+"Σ" does not (c is case-ignorable).
const pyCaseTable = `
import sys, unicodedata
out = sys.stdout
start = None
def flush(end):
    if start is not None:
        out.write("A %d %d\n" % (start, end))
for cp in range(0x110000):
    c = chr(cp)
    assigned = unicodedata.category(c) not in ("Cn", "Cs")
    if assigned and start is None:
        start = cp
    if not assigned and start is not None:
        flush(cp - 1)
        start = None
    if not assigned:
        continue
    low = c.lower()
    if low != c:
        out.write("L %d %s\n" % (cp, " ".join("%x" % ord(x) for x in low)))
    if (c + "\u03a3").lower()[-1] == "\u03c2":
        out.write("C %d\n" % cp)
    elif ("A" + c + "\u03a3").lower()[-1] == "\u03c2":
        out.write("I %d\n" % cp)
flush(0x10FFFF)
`

// assignedInGo reports whether Go's Unicode tables know r.
func assignedInGo(r rune) bool {
	return unicode.In(r, unicode.L, unicode.M, unicode.N, unicode.P, unicode.S, unicode.Z, unicode.Cc, unicode.Cf, unicode.Co)
}

// Lower must agree with CPython's str.lower() on every code point both
// Unicode tables know, including the Final_Sigma context, which depends on
// the Cased and Case_Ignorable properties of the neighbours.
func TestLowerMatchesPythonAllCodePoints(t *testing.T) {
	for _, python := range pythontest.Interpreters(t) {
		t.Run(python.Version, func(t *testing.T) {
			out, _ := pythontest.Run(t, python.Path, pyCaseTable)
			lower := map[rune]string{}
			kind := map[rune]byte{}
			var assigned [][2]rune
			sc := bufio.NewScanner(bytes.NewReader(out))
			for sc.Scan() {
				f := strings.Fields(sc.Text())
				cp, _ := strconv.Atoi(f[1])
				switch f[0] {
				case "A":
					hi, _ := strconv.Atoi(f[2])
					assigned = append(assigned, [2]rune{rune(cp), rune(hi)})
				case "L":
					var b strings.Builder
					for _, h := range f[2:] {
						v, _ := strconv.ParseUint(h, 16, 32)
						b.WriteRune(rune(v))
					}
					lower[rune(cp)] = b.String()
				case "C", "I":
					kind[rune(cp)] = f[0][0]
				}
			}
			checked, bad := 0, 0
			for _, rg := range assigned {
				for r := rg[0]; r <= rg[1]; r++ {
					if !assignedInGo(r) {
						continue // newer in Python than in Go: no common ground
					}
					checked++
					c := string(r)
					want, ok := lower[r]
					if !ok {
						want = c
					}
					if got := Lower(c); got != want {
						bad++
						t.Errorf("Lower(%U): got %q, want %q", r, got, want)
					}
					if r == 'Σ' {
						continue // its own context; covered by TestLower
					}
					wantCased, wantIgn := kind[r] == 'C', kind[r] == 'I'
					gotCased := strings.HasSuffix(Lower(c+"Σ"), "ς")
					gotIgn := !gotCased && strings.HasSuffix(Lower("A"+c+"Σ"), "ς")
					if gotCased != wantCased || gotIgn != wantIgn {
						bad++
						t.Errorf("sigma context of %U: got cased=%v ignorable=%v, want cased=%v ignorable=%v",
							r, gotCased, gotIgn, wantCased, wantIgn)
					}
					if bad > 20 {
						t.Fatal("too many differences")
					}
				}
			}
			if checked < 100_000 {
				t.Errorf("checked %d code points, want at least 100000", checked)
			}
		})
	}
}

// FuzzLower checks properties any correct str.lower() port has: pure ASCII
// input lowers like strings.ToLower, undecodable bytes survive unchanged and
// in order, the result is already lower (idempotence), and the sort key is
// the result with undecodable bytes written as encoded surrogates.
func FuzzLower(f *testing.F) {
	for _, s := range []string{"", "ABC", "İ", "ΑΣ", "Α'Σ'", "A\xffΣ", "\xed\xa0\x80", "ǅ", "ẞ"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := Lower(s)
		if isASCII(s) && got != strings.ToLower(s) {
			t.Fatalf("Lower(%q): got %q, want %q", s, got, strings.ToLower(s))
		}
		if g, w := invalidBytes(got), invalidBytes(s); g != w {
			t.Fatalf("undecodable bytes of Lower(%q): got %q, want %q", s, g, w)
		}
		if again := Lower(got); again != got {
			t.Fatalf("Lower(Lower(%q)): got %q, want %q", s, again, got)
		}
		var want []byte
		for i := 0; i < len(got); {
			r, n := utf8.DecodeRuneInString(got[i:])
			if r == utf8.RuneError && n == 1 {
				want = appendSurrogate(want, got[i])
			} else {
				want = append(want, got[i:i+n]...)
			}
			i += n
		}
		if k := SortKey(s); k != string(want) {
			t.Fatalf("SortKey(%q): got %q, want %q", s, k, want)
		}
	})
}

func isASCII(s string) bool {
	for i := range len(s) {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// invalidBytes returns the undecodable bytes of s, in order.
func invalidBytes(s string) string {
	var b []byte
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			b = append(b, s[i])
		}
		i += n
	}
	return string(b)
}

// AppendSortKey appends exactly SortKey's bytes.
func TestAppendSortKeyIsSortKey(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"", "abc", "ABC.txt", "Straße", "İstanbul", "ΟΔΟΣ Σ", "\xff\x80a", "\u212a", "café", "CAFE\u0301", "김 & <x>"} {
		if got, want := string(AppendSortKey([]byte("prefix"), s)), "prefix"+SortKey(s); got != want {
			t.Errorf("AppendSortKey(%q) = %q, want %q", s, got, want)
		}
	}
}
