package listing

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

// WriteJSON emits valid JSON whose url is the HTML href and whose names
// decode back (undecodable bytes as \udcXX escapes, which Go reads as U+FFFD).
func TestWriteJSON(t *testing.T) {
	t.Parallel()
	mt := time.Date(2024, 5, 1, 12, 0, 0, 0, time.FixedZone("X", 3600))
	entries := []Entry{
		{Name: `a "b" \c`, Size: 3, ModTime: mt},
		{Name: "d <&>", IsDir: true, IsSymlink: true, Size: 4096, ModTime: mt},
		{Name: "김\n\u2028\x01", Size: 0},
		{Name: "\xff"},
	}
	var buf bytes.Buffer
	if err := WriteJSON(&buf, entries); err != nil {
		t.Fatal(err)
	}
	type item struct {
		Name      string    `json:"name"`
		URL       string    `json:"url"`
		IsDir     bool      `json:"is_dir"`
		IsSymlink bool      `json:"is_symlink"`
		Size      int64     `json:"size"`
		ModTime   time.Time `json:"mod_time"`
	}
	var got []item
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatalf("invalid JSON %q: %v", buf.Bytes(), err)
	}
	want := []item{
		{`a "b" \c`, "a%20%22b%22%20%5Cc", false, false, 3, mt},
		{"d <&>", "d%20%3C%26%3E/", true, true, 4096, mt},
		{"김\n\u2028\x01", "%EA%B9%80%0A%E2%80%A8%01", false, false, 0, time.Time{}},
		{"\uFFFD", "%ED%B3%BF", false, false, 0, time.Time{}},
	}
	if len(got) != len(want) {
		t.Fatalf("items: got %d, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Name != w.Name || g.URL != w.URL || g.IsDir != w.IsDir || g.IsSymlink != w.IsSymlink || g.Size != w.Size || !g.ModTime.Equal(w.ModTime) {
			t.Errorf("item %d: got %+v, want %+v", i, g, w)
		}
	}
	if !bytes.Contains(buf.Bytes(), []byte(`"name":"\udcff"`)) {
		t.Errorf("undecodable byte: got %q, want a \\udcff escape", buf.Bytes())
	}
	if !bytes.Contains(buf.Bytes(), []byte(`"mod_time":"2024-05-01T11:00:00Z"`)) {
		t.Errorf("mod_time: got %q, want RFC 3339 in UTC", buf.Bytes())
	}
}

// An empty listing is an empty array, not null.
func TestWriteJSONEmpty(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	if err := WriteJSON(&buf, nil); err != nil {
		t.Fatal(err)
	}
	if got, want := buf.String(), "[]"; got != want {
		t.Errorf("WriteJSON(nil): got %q, want %q", got, want)
	}
}
