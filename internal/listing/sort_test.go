package listing

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pyhttp/caddy-pyhttp/internal/pystr"
	"github.com/pyhttp/caddy-pyhttp/internal/pyversion"
)

// sortedByKey returns the names' indexes as Python's stable
// list.sort(key=str.lower) orders them, by pystr.SortKey.
func sortedByKey(names []string) []uint32 {
	keys := make([]string, len(names))
	order := make([]uint32, len(names))
	for i, n := range names {
		keys[i] = pystr.SortKey(n)
		order[i] = uint32(i)
	}
	slices.SortStableFunc(order, func(a, b uint32) int { return strings.Compare(keys[a], keys[b]) })
	return order
}

// checkSortIndex sorts names with sortIndex and compares the order with
// sortedByKey's, and the HTML length with the written document's.
func checkSortIndex(t *testing.T, names []string) {
	t.Helper()
	entries := make([]Entry, len(names))
	for i, n := range names {
		entries[i] = Entry{Name: n, IsDir: i%7 == 3, IsSymlink: i%11 == 5}
	}
	x := IndexOf(entries)
	wantLen := x.htmlLen
	sortIndex(x)
	want := sortedByKey(names)
	if !slices.Equal(x.order, want) {
		for i := range want {
			if x.order[i] != want[i] {
				t.Fatalf("%d names: position %d holds %q (entry %d), want %q (entry %d)",
					len(names), i, names[x.order[i]], x.order[i], names[want[i]], want[i])
			}
		}
	}
	if x.htmlLen != wantLen {
		t.Fatalf("%d names: htmlLen after sorting %d, IndexOf's %d", len(names), x.htmlLen, wantLen)
	}
}

// randomNames returns n names drawn from pieces that make long shared
// prefixes (so the radix sort recurses several levels deep), case variants
// that tie under str.lower (runs of equal keys longer than insertionMax),
// non-ASCII letters whose keys differ from their bytes (Ω, İ, Σ, ẞ) or do
// not (é, 日), and undecodable bytes.
func randomNames(rng *rand.Rand, n int) []string {
	pieces := []string{
		"a", "A", "b", "B", "z", "Z", "0", "9", ".", "-", " ", "_", "&", "%",
		"é", "É", "Ω", "ω", "İ", "i", "Σ", "σ", "ß", "ẞ", "日", "😀",
		"\xff", "\x80", "\xed\xa0\x80", "\xe2\x82",
		"common-prefix-", "COMMON-PREFIX-", "longer/shared/part", "IMG_0000",
	}
	names := make([]string, n)
	for i := range names {
		var b strings.Builder
		for range 1 + rng.IntN(6) {
			b.WriteString(pieces[rng.IntN(len(pieces))])
		}
		names[i] = strings.ReplaceAll(b.String(), "/", "_")
	}
	return names
}

// sortIndex orders exactly as a stable sort by pystr.SortKey does, for
// sets of names that exercise each of its paths: insertion sort alone,
// radix runs, deep recursion on shared prefixes, big tie runs, keys kept
// and keys read from the name.
func TestSortIndexMatchesStableSort(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{0, 1, 2, insertionMax, insertionMax + 1, 1000, 30_000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			checkSortIndex(t, randomNames(rng, n))
		})
	}
	t.Run("shared prefix", func(t *testing.T) {
		var names []string
		for i := range 5000 {
			p := strings.Repeat("Same-Prefix_", 1+i%20)
			names = append(names, fmt.Sprintf("%s%05d", p, rng.IntN(3000)), fmt.Sprintf("%sx%d", strings.ToUpper(p), i%50))
		}
		checkSortIndex(t, names)
	})
	t.Run("equal keys", func(t *testing.T) {
		var names []string
		for i := range 3000 {
			names = append(names, []string{"readme", "README", "ReadMe", "straße", "STRAßE", "ΣΑΣ", "σας"}[i%7])
		}
		checkSortIndex(t, names)
	})
	t.Run("flat", func(t *testing.T) {
		var names []string
		for i := range 20_000 {
			names = append(names, fmt.Sprintf("file%06d.txt", i), fmt.Sprintf("IMG_%06d.JPG", 20_000-i))
		}
		rng.Shuffle(len(names), func(i, j int) { names[i], names[j] = names[j], names[i] })
		checkSortIndex(t, names)
	})
}

// FuzzSortIndex checks sortIndex against a stable sort by pystr.SortKey
// for fuzzed names (split at "/"; names hold no NUL, as no file name does).
func FuzzSortIndex(f *testing.F) {
	f.Add("b/A/a/B/ab/aB/Ab/AB")
	f.Add("common-prefix-1/COMMON-PREFIX-2/common-prefix-/common-prefix-10")
	f.Add("\xff/\x80/é/É/Ω/ω/İ/i̇/ΣΑΣ/σας/ß/ẞ/日/😀")
	f.Fuzz(func(t *testing.T, joined string) {
		if strings.IndexByte(joined, 0) >= 0 {
			return
		}
		names := strings.Split(joined, "/")
		// Repeat the names so that runs grow past insertionMax.
		for len(names) <= 4*insertionMax && len(joined) > 0 {
			names = append(names, names...)
		}
		checkSortIndex(t, names)
	})
}

// Names are kept in chunks of nameChunk bytes; a name never straddles two,
// and every name reads back whole, the empty name included.
func TestIndexNameChunks(t *testing.T) {
	var entries []Entry
	long := strings.Repeat("x", 1000)
	for i := range 3 * nameChunk / 900 {
		entries = append(entries, Entry{Name: fmt.Sprintf("%d%s", i, long[:i%1000])}, Entry{Name: ""})
	}
	x := IndexOf(entries)
	if len(x.names) < 2 {
		t.Fatalf("%d chunks, want several", len(x.names))
	}
	for i, e := range entries {
		if got := x.At(i).Name; got != e.Name {
			t.Fatalf("entry %d: got %q, want %q", i, got, e.Name)
		}
	}
	if x := IndexOf([]Entry{{Name: ""}}); x.At(0).Name != "" {
		t.Fatalf("empty name: got %q", x.At(0).Name)
	}
}

// ReadIndex of a directory large enough for readDir to prepare the sort in
// a second goroutine (pipelineMin) orders and measures as sortIndex does on
// the same names in directory order.
func TestReadIndexPipelined(t *testing.T) {
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(3, 4))
	seen := map[string]bool{}
	for _, n := range randomNames(rng, 3*pipelineMin) {
		if n == "." || n == ".." || seen[n] {
			continue
		}
		seen[n] = true
		if err := os.WriteFile(filepath.Join(dir, n), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	f, err := os.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := f.Readdirnames(-1) // directory order
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	if len(raw) < 2*pipelineMin {
		t.Fatalf("%d entries, want at least %d", len(raw), 2*pipelineMin)
	}
	x, err := ReadIndex(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := sortedByKey(raw)
	for i, j := range want {
		if got := x.At(i).Name; got != raw[j] {
			t.Fatalf("position %d: got %q, want %q", i, got, raw[j])
		}
	}
	var doc bytes.Buffer
	if err := x.WriteHTML(&doc, pyversion.Default, "/d/"); err != nil {
		t.Fatal(err)
	}
	if n := x.HTMLLength(pyversion.Default, "/d/"); n != int64(doc.Len()) {
		t.Fatalf("HTMLLength %d, document %d bytes", n, doc.Len())
	}
	if ref := referenceHTML("/d/", x.Entries()); doc.String() != ref {
		t.Fatal("document differs from the one built entry by entry with pystr.Quote and pystr.HTMLEscape")
	}
}

// referenceHTML is list_directory's document for entries, built line by
// line from pystr.Quote and pystr.HTMLEscape, as the reference for
// WriteHTML's chunked writing.
func referenceHTML(title string, entries []Entry) string {
	var b strings.Builder
	b.WriteString(htmlHead + pystr.HTMLEscape(title) + htmlTitleEnd + pystr.HTMLEscape(title) + htmlH1End)
	for _, e := range entries {
		href, label := e.Name, e.Name
		if e.IsDir {
			href += "/"
			label += "/"
		}
		if e.IsSymlink {
			label = e.Name + "@"
		}
		b.WriteString(htmlItemStart + pystr.Quote(href) + htmlItemMid + pystr.HTMLEscape(label) + htmlItemEnd)
	}
	b.WriteString(htmlTail)
	return b.String()
}
