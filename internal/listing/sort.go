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
// byte: what the byte costs in an href and a label.
var asciiHTMLLen = func() (t [128]uint8) {
	for c := range 128 {
		s := string(rune(c))
		t[c] = uint8(pystr.QuotedLen(s) + pystr.HTMLEscapedLen(s))
	}
	return t
}()

// nameHTMLLen returns pystr.QuotedLen(name)+pystr.HTMLEscapedLen(name), and
// whether name is ASCII, in one pass for ASCII names.
func nameHTMLLen(name string) (int, bool) {
	n := 0
	for i := range len(name) {
		c := name[i]
		if c >= 0x80 {
			return pystr.QuotedLen(name) + pystr.HTMLEscapedLen(name), false
		}
		n += int(asciiHTMLLen[c])
	}
	return n, true
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
// sort is a most-significant-first radix sort on eight key bytes at a time:
// a stable least-significant-first radix sort of the 64-bit prefixes, then
// the same on the next eight bytes of every run of equal prefixes, down to
// small runs, which an insertion sort finishes. Every step is stable and
// the records start in directory order, so equal keys keep it.
func sortIndex(x *Index) {
	n := len(x.ends)
	recs := make([]sortRec, n)
	var keys strings.Builder
	var kEnds []uint32
	var key []byte
	var total int64
	for j := range recs {
		name := x.name(uint32(j))
		l, ascii := nameHTMLLen(name)
		total += int64(l) + entryHTMLExtra(x.flags[j])
		if ascii {
			recs[j] = sortRec{prefixAt(name, 0), uint32(j), nameKey}
			continue
		}
		key = pystr.AppendSortKey(key[:0], name)
		if lowersTo(name, key) {
			recs[j] = sortRec{prefixAt(name, 0), uint32(j), nameKey}
			continue
		}
		if uint64(keys.Len())+uint64(len(key)) > math.MaxUint32 || len(kEnds) == nameKey {
			// Too long to address: fall back to a key per entry.
			sortIndexStrings(x)
			return
		}
		keys.Write(key)
		recs[j] = sortRec{prefixAt(key, 0), uint32(j), uint32(len(kEnds))}
		kEnds = append(kEnds, uint32(keys.Len()))
	}
	x.htmlLen = total
	s := sorter{x: x, keys: keys.String(), kEnds: kEnds}
	s.sortRun(recs, make([]sortRec, n), 0)
	for i := range recs {
		x.order[i] = recs[i].idx
	}
}

// insertionMax is the longest run sortRun leaves to insertion sort.
const insertionMax = 24

// sortRun sorts a, whose keys agree on their first depth bytes and whose
// prefix fields hold the eight bytes from depth on, by key, stably. tmp is
// scratch space at least as long as a.
func (s *sorter) sortRun(a, tmp []sortRec, depth int) {
	if len(a) <= insertionMax {
		s.insertionSort(a, depth)
		return
	}
	radixSortPrefixes(a, tmp)
	for i := 0; i < len(a); {
		j := i + 1
		for j < len(a) && a[j].prefix == a[i].prefix {
			j++
		}
		// A prefix ending in zero padding is a whole key: the run's keys
		// are equal and stay in directory order.
		if j-i > 1 && a[i].prefix&0xff != 0 {
			run := a[i:j]
			for k := range run {
				run[k].prefix = prefixAt(s.key(&run[k]), depth+8)
			}
			s.sortRun(run, tmp, depth+8)
		}
		i = j
	}
}

// radixSortPrefixes sorts a by prefix, stably (least significant byte
// first), skipping the bytes all of a shares. tmp is at least as long as a.
func radixSortPrefixes(a, tmp []sortRec) {
	var count [8][256]uint32
	for i := range a {
		p := a[i].prefix
		for b := range 8 {
			count[b][byte(p>>(8*b))]++
		}
	}
	src, dst := a, tmp[:len(a)]
	for b := range 8 {
		c := &count[b]
		shift := 8 * b
		if c[byte(src[0].prefix>>shift)] == uint32(len(a)) {
			continue // every prefix has the same byte here
		}
		var off [256]uint32
		sum := uint32(0)
		for v := range 256 {
			off[v] = sum
			sum += c[v]
		}
		for i := range src {
			v := byte(src[i].prefix >> shift)
			dst[off[v]] = src[i]
			off[v]++
		}
		src, dst = dst, src
	}
	if &src[0] != &a[0] {
		copy(a, src)
	}
}

// insertionSort sorts a small run a as sortRun does.
func (s *sorter) insertionSort(a []sortRec, depth int) {
	for i := 1; i < len(a); i++ {
		for j := i; j > 0 && s.less(&a[j], &a[j-1], depth); j-- {
			a[j], a[j-1] = a[j-1], a[j]
		}
	}
}

// less reports whether a's key sorts before b's, for keys that agree on
// their first depth bytes and prefixes taken at depth.
func (s *sorter) less(a, b *sortRec, depth int) bool {
	if a.prefix != b.prefix {
		return a.prefix < b.prefix
	}
	if a.prefix&0xff == 0 {
		return false // equal keys
	}
	// Both keys go on past depth+8 (the prefix's last byte is not padding).
	ka, kb := s.key(a)[depth+8:], s.key(b)[depth+8:]
	for i := range min(len(ka), len(kb)) {
		if ca, cb := lowerByte[ka[i]], lowerByte[kb[i]]; ca != cb {
			return ca < cb
		}
	}
	return len(ka) < len(kb)
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
		l, _ := nameHTMLLen(name)
		total += int64(l) + entryHTMLExtra(x.flags[j])
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
