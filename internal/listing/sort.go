package listing

import (
	"cmp"
	"math"
	"slices"
	"strings"

	"github.com/pyhttp/caddy-pyhttp/internal/pystr"
)

// sortRec is one entry while sortIndex sorts.
type sortRec struct {
	prefix uint64 // eight key bytes from the run's depth on, big-endian, zero-padded
	idx    uint32 // the entry (directory order)
	key    uint32 // nameKey, or k: the key is sorter.keys[kEnds[k-1]:kEnds[k]]
}

// nameKey marks an entry whose key is its name lower-cased byte by byte
// (lowerByte) as it is read: every ASCII name, and every other name whose
// non-ASCII letters are already lower-case and which is valid UTF-8.
const nameKey = math.MaxUint32

// lowerByte maps A-Z to a-z and every other byte to itself: str.lower of
// an ASCII name, and the identity on a key already lower-cased (a key
// holds no upper-case ASCII letter).
var lowerByte = func() (t [256]byte) {
	for c := range 256 {
		t[c] = byte(c)
		if 'A' <= c && c <= 'Z' {
			t[c] = byte(c) + 'a' - 'A'
		}
	}
	return t
}()

// asciiHTMLLen is pystr.QuotedLen plus pystr.HTMLEscapedLen of each ASCII
// byte (what the byte costs in an href and a label), and 0 for the others.
var asciiHTMLLen = func() (t [256]uint8) {
	for c := range 128 {
		s := string(rune(c))
		t[c] = uint8(pystr.QuotedLen(s) + pystr.HTMLEscapedLen(s))
	}
	return t
}()

// htmlAsIs holds, for each byte, flagHrefAsIs if quoting leaves it as it
// is and flagLabelAsIs if HTML escaping does; a name gets the flags all of
// its bytes have.
var htmlAsIs = func() (t [256]uint8) {
	for c := range 256 {
		s := string([]byte{byte(c)})
		if c < 0x80 && pystr.QuotedLen(s) == 1 {
			t[c] |= flagHrefAsIs
		}
		if pystr.HTMLEscapedLen(s) == 1 {
			t[c] |= flagLabelAsIs
		}
	}
	return t
}()

// nameHTML returns pystr.QuotedLen(name)+pystr.HTMLEscapedLen(name), the
// flagHrefAsIs and flagLabelAsIs that apply to name, and whether name is
// ASCII, in one pass without branches for ASCII names.
func nameHTML(name string) (int, uint8, bool) {
	n, or, asIs := 0, byte(0), uint8(flagHrefAsIs|flagLabelAsIs)
	for i := range len(name) {
		c := name[i]
		or |= c
		asIs &= htmlAsIs[c]
		n += int(asciiHTMLLen[c])
	}
	if or >= 0x80 {
		return pystr.QuotedLen(name) + pystr.HTMLEscapedLen(name), asIs, false
	}
	return n, asIs, true
}

// measure returns entry j's share of the HTML document, and whether its
// name is ASCII, and sets its flagHrefAsIs and flagLabelAsIs.
func (x *Index) measure(j int) (int64, bool) {
	l, asIs, ascii := nameHTML(x.name(uint32(j)))
	x.flags[j] |= asIs
	return int64(l) + entryHTMLExtra(x.flags[j]), ascii
}

// lowersTo reports whether key is name with lowerByte applied to each
// byte.
func lowersTo(name string, key []byte) bool {
	if len(name) != len(key) {
		return false
	}
	for i := range len(key) {
		if lowerByte[name[i]] != key[i] {
			return false
		}
	}
	return true
}

// prefixAt packs the eight bytes of k from d on, lower-cased by lowerByte
// and zero-padded past its end, big-endian. Names hold no NUL, so the
// padding sorts a key before its extensions, as the byte comparison does.
func prefixAt[S string | []byte](k S, d int) uint64 {
	var p uint64
	if d+8 <= len(k) {
		for _, c := range []byte(k[d : d+8]) {
			p = p<<8 | uint64(lowerByte[c])
		}
		return p
	}
	for i := d; i < d+8; i++ {
		p <<= 8
		if i < len(k) {
			p |= uint64(lowerByte[k[i]])
		}
	}
	return p
}

// sorter holds what sortIndex needs to read any entry's key.
type sorter struct {
	x     *Index
	keys  string   // the keys of the non-ASCII names, concatenated
	kEnds []uint32 // kEnds[k]: end of key k in keys
}

// key returns r's key, or for nameKey its name, whose bytes compare
// through lowerByte.
func (s *sorter) key(r *sortRec) string {
	if r.key == nameKey {
		return s.x.name(r.idx)
	}
	start := uint32(0)
	if r.key > 0 {
		start = s.kEnds[r.key-1]
	}
	return s.keys[start:s.kEnds[r.key]]
}

// sortIndex fills x.order with the entries sorted by pystr.SortKey(name),
// keeping directory order for equal keys as Python's stable list.sort
// does, and x.htmlLen with the entries' share of the HTML document (it
// reads every name anyway).
//
// Only the keys that differ from their name lower-cased byte by byte are
// kept (in one buffer); any other name is its own key, lower-cased by
// lowerByte as it is compared. In a typical directory that is every name
// but those with an upper-case non-ASCII letter or undecodable bytes. The
// sort is a radix sort on the key bytes (sortRun), ties broken by
// directory order.
func sortIndex(x *Index) {
	var p sortPrep
	p.grow(len(x.ends))
	for j := range x.ends {
		p.add(j, x.name(uint32(j)), x.flags[j])
	}
	sortPrepared(x, &p)
}

// sortPrep gathers, entry by entry in directory order, what sortIndex
// needs: each entry's sort record and, where it differs from the name, its
// key; whether its name is written as it is (flagHrefAsIs, flagLabelAsIs); and the entries'
// share of the HTML document. ReadIndex fills it while the directory is
// still being read (see readDir), so that this pass over the names overlaps
// getdents64.
type sortPrep struct {
	recs    []sortRec
	keys    strings.Builder // the keys kept, concatenated
	kEnds   []uint32        // kEnds[k]: end of key k in keys
	asIs    []uint8         // asIs[j]: entry j's flagHrefAsIs and flagLabelAsIs
	htmlLen int64
	key     []byte // scratch for the key being built
	tooLong bool   // the keys do not fit in 4 GiB: sortIndexStrings sorts
}

// grow makes room for n entries.
func (p *sortPrep) grow(n int) {
	p.recs = slices.Grow(p.recs, n)
	p.asIs = slices.Grow(p.asIs, n)
}

// add adds entry j, named name, with flags f; entries are added in order
// from 0.
func (p *sortPrep) add(j int, name string, f uint8) {
	l, asIs, ascii := nameHTML(name)
	p.asIs = append(p.asIs, asIs)
	p.htmlLen += int64(l) + entryHTMLExtra(f)
	if !ascii {
		p.key = pystr.AppendSortKey(p.key[:0], name)
		if !lowersTo(name, p.key) {
			if p.tooLong || uint64(p.keys.Len())+uint64(len(p.key)) > math.MaxUint32 || len(p.kEnds) == nameKey {
				p.tooLong = true
				p.recs = append(p.recs, sortRec{idx: uint32(j), key: nameKey})
				return
			}
			p.keys.Write(p.key)
			p.recs = append(p.recs, sortRec{prefixAt(p.key, 0), uint32(j), uint32(len(p.kEnds))})
			p.kEnds = append(p.kEnds, uint32(p.keys.Len()))
			return
		}
	}
	p.recs = append(p.recs, sortRec{prefixAt(name, 0), uint32(j), nameKey})
}

// sortPrepared is sortIndex once p holds every entry of x.
func sortPrepared(x *Index, p *sortPrep) {
	for j, asIs := range p.asIs {
		x.flags[j] |= asIs
	}
	if p.tooLong {
		// Too long to address: fall back to a key per entry.
		sortIndexStrings(x)
		return
	}
	x.htmlLen = p.htmlLen
	s := sorter{x: x, keys: p.keys.String(), kEnds: p.kEnds}
	s.sortRun(p.recs, 0, 0)
	for i := range p.recs {
		x.order[i] = p.recs[i].idx
	}
}

// insertionMax is the longest run sortRun leaves to insertion sort.
const insertionMax = 24

// sortRun sorts a by key and, for equal keys, by directory order. All of
// a's keys agree on their first depth+k bytes (0 <= k <= 8), and the
// prefix fields hold the eight bytes from depth on.
//
// It is an in-place most-significant-byte radix sort (American flag sort:
// count the byte's values, then swap every record into its bucket), so it
// needs no second array. The largest bucket is sorted by the loop rather
// than by recursion, which bounds the recursion at log2(len(a)) (every
// other bucket holds at most half of the records).
func (s *sorter) sortRun(a []sortRec, depth, k int) {
	for len(a) > insertionMax {
		if k == 8 {
			depth += 8
			k = 0
			for i := range a {
				a[i].prefix = prefixAt(s.key(&a[i]), depth)
			}
		}
		shift := 56 - 8*k
		var count [256]uint32
		for i := range a {
			count[byte(a[i].prefix>>shift)]++
		}
		var next, end [256]uint32
		sum := uint32(0)
		largest := 0
		for v := range 256 {
			next[v] = sum
			sum += count[v]
			end[v] = sum
			if count[v] > count[largest] {
				largest = v
			}
		}
		if count[largest] < uint32(len(a)) {
			for v := range 256 {
				for next[v] < end[v] {
					b := byte(a[next[v]].prefix >> shift)
					if int(b) == v {
						next[v]++
						continue
					}
					a[next[v]], a[next[b]] = a[next[b]], a[next[v]]
					next[b]++
				}
			}
		}
		// Bucket 0 is the keys that ended before this byte (names hold no
		// NUL): they are equal, and go in directory order.
		if count[0] > 1 {
			slices.SortFunc(a[:count[0]], func(x, y sortRec) int { return cmp.Compare(x.idx, y.idx) })
		}
		for v := 1; v < 256; v++ {
			if v != largest && count[v] > 1 {
				s.sortRun(a[end[v]-count[v]:end[v]], depth, k+1)
			}
		}
		if largest == 0 {
			return
		}
		a = a[end[largest]-count[largest] : end[largest]]
		k++
	}
	s.insertionSort(a, depth)
}

// insertionSort sorts a small run a as sortRun does.
func (s *sorter) insertionSort(a []sortRec, depth int) {
	for i := 1; i < len(a); i++ {
		for j := i; j > 0 && s.less(&a[j], &a[j-1], depth); j-- {
			a[j], a[j-1] = a[j-1], a[j]
		}
	}
}

// less reports whether a sorts before b: by key, then by directory order.
// Both keys agree on their first depth bytes, and the prefixes hold the
// eight from there.
func (s *sorter) less(a, b *sortRec, depth int) bool {
	if a.prefix != b.prefix {
		return a.prefix < b.prefix
	}
	if a.prefix&0xff != 0 {
		// Both keys go on past depth+8 (the prefix's last byte is not
		// padding).
		ka, kb := s.key(a)[depth+8:], s.key(b)[depth+8:]
		for i := range min(len(ka), len(kb)) {
			if ca, cb := lowerByte[ka[i]], lowerByte[kb[i]]; ca != cb {
				return ca < cb
			}
		}
		if len(ka) != len(kb) {
			return len(ka) < len(kb)
		}
	}
	return a.idx < b.idx // equal keys
}

// keyPrefix packs the first eight bytes of k, zero-padded, big-endian.
func keyPrefix(k string) uint64 { return prefixAt(k, 0) }

// sortIndexStrings is sortIndex with one key string per entry, for a
// directory whose keys do not fit in 4 GiB.
func sortIndexStrings(x *Index) {
	type keyed struct {
		prefix uint64
		key    string
		idx    uint32
	}
	keys := make([]keyed, len(x.ends))
	var total int64
	for j := range keys {
		name := x.name(uint32(j))
		l, _ := x.measure(j)
		total += l
		k := pystr.SortKey(name)
		keys[j] = keyed{keyPrefix(k), k, uint32(j)}
	}
	slices.SortFunc(keys, func(a, b keyed) int {
		if a.prefix != b.prefix {
			return cmp.Compare(a.prefix, b.prefix)
		}
		if c := strings.Compare(a.key, b.key); c != 0 {
			return c
		}
		return cmp.Compare(a.idx, b.idx)
	})
	x.htmlLen = total
	for i, k := range keys {
		x.order[i] = k.idx
	}
}
