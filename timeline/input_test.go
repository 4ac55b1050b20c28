package timeline_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/seed73168108/kafkaemu/fake"
	"github.com/seed73168108/kafkaemu/internal/journaltest"
	"github.com/seed73168108/kafkaemu/journal"
	"github.com/seed73168108/kafkaemu/timeline"
)

// jsonl is evs as JSON lines, as Cluster.WriteJournal writes them.
func jsonl(t testing.TB, evs []fake.Event) string {
	t.Helper()
	var b strings.Builder
	enc := json.NewEncoder(&b)
	for _, e := range evs {
		if err := enc.Encode(e); err != nil {
			t.Fatal(err)
		}
	}
	return b.String()
}

// A journal cut off mid-line, with a foreign line and a line of other
// JSON in it, reads as the events it has; the error names the first bad
// line and counts them, and the page draws the events and names it too.
func TestReadKeepsWhatItCould(t *testing.T) {
	evs := journaltest.Synthetic(40, 1)
	lines := strings.SplitAfter(jsonl(t, evs), "\n")
	var in strings.Builder
	for i, l := range lines[:39] {
		switch i {
		case 5:
			in.WriteString("Dec 03 07:00:01 kafkaemu[12]: not json\n")
		case 9:
			in.WriteString("[1, 2, 3]\n\n")
		}
		in.WriteString(l)
	}
	in.WriteString(lines[39][:len(lines[39])/2]) // cut off
	got, err := journal.Read(strings.NewReader(in.String()))
	var re *journal.ReadError
	if !errors.As(err, &re) || re.Line != 6 || re.Bad != 3 {
		t.Fatalf("error %v; want a *ReadError naming line 6 with 3 bad lines", err)
	}
	if !strings.Contains(err.Error(), "line 6 is not a journal event") {
		t.Errorf("error %q does not name line 6", err)
	}
	if len(got) != 39 || got[38].Seq != 39 || got[5].Seq != 6 {
		t.Fatalf("read %d events; want the 39 whole ones", len(got))
	}
	var page bytes.Buffer
	if err := (timeline.Page{Events: got, Err: err}).WriteHTML(&page); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(page.String(), `id="readerr">Read 39 events; line 6 is not a journal event`) || !strings.Contains(page.String(), "<svg") {
		t.Errorf("the page does not draw the events and name line 6:\n%.1500s", page.String())
	}
}

// Reading stops at an error of the reader, keeping the events before it.
func TestReadReaderError(t *testing.T) {
	r := iotest.TimeoutReader(strings.NewReader(jsonl(t, journaltest.Synthetic(3000, 2))))
	got, err := journal.Read(r)
	if !errors.Is(err, iotest.ErrTimeout) || len(got) == 0 {
		t.Errorf("read %d events, %v; want some and the reader's error", len(got), err)
	}
}

// An empty journal, or one with only blank lines, makes a page that says
// so; a journal with nothing but foreign lines says so and names the line.
func TestEmptyJournal(t *testing.T) {
	for _, in := range []string{"", "\n\n  \n"} {
		evs, err := journal.Read(strings.NewReader(in))
		if err != nil || len(evs) != 0 {
			t.Fatalf("Read(%q) = %d events, %v", in, len(evs), err)
		}
		var b bytes.Buffer
		if err := timeline.WriteHTML(&b, evs); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(b.String(), "The journal is empty") || strings.Contains(b.String(), "<svg") {
			t.Errorf("page of an empty journal:\n%s", b.String())
		}
	}
	evs, err := journal.Read(strings.NewReader("hello\nworld\n"))
	var b bytes.Buffer
	if werr := (timeline.Page{Events: evs, Err: err}).WriteHTML(&b); werr != nil {
		t.Fatal(werr)
	}
	if !strings.Contains(b.String(), "Read 0 events; line 1 is not a journal event") || !strings.Contains(b.String(), "The journal is empty") {
		t.Errorf("page of a foreign file:\n%s", b.String())
	}
}

// Names from the journal (topics, groups, clients, errors) are escaped:
// a topic named like markup stays text.
func TestEscapes(t *testing.T) {
	evs := journaltest.Synthetic(200, 3)
	for i := range evs {
		if evs[i].Topic == "orders" {
			evs[i].Topic = `<script>alert("x")</script>&'`
		}
		if evs[i].Group != "" {
			evs[i].Group = `g"><img onerror=1>`
		}
	}
	var b bytes.Buffer
	if err := timeline.WriteHTML(&b, evs, timeline.Mark{Anomaly: "lost-write", Topic: evs[10].Topic, Text: "</li><b>"}); err != nil {
		t.Fatal(err)
	}
	html := b.String()
	svgOf(t, html)
	for _, bad := range []string{"<script>alert", "<img", "</li><b>"} {
		if strings.Contains(html, bad) {
			t.Errorf("the page has %q unescaped", bad)
		}
	}
	if strings.Count(html, "<script>") != 1 {
		t.Errorf("the page has %d scripts; want its own only", strings.Count(html, "<script>"))
	}
}

// A lane of more events than it draws one by one draws them per pixel
// column: a million events make a page under 5 MB, and the hover text of
// a column counts its events.
func TestMillionEventsAggregated(t *testing.T) {
	if testing.Short() {
		t.Skip("a million events")
	}
	evs := journaltest.Synthetic(1_000_000, 4)
	var b bytes.Buffer
	if err := timeline.WriteHTML(&b, evs); err != nil {
		t.Fatal(err)
	}
	if b.Len() > 5<<20 {
		t.Errorf("the page of %d events is %d bytes; want at most 5 MB", len(evs), b.Len())
	}
	html := b.String()
	if !strings.Contains(html, "appends (aggregated)") || !strings.Contains(html, "commits (aggregated)") {
		t.Errorf("no aggregated columns in the page")
	}
	if n := strings.Count(html, "<rect"); n > 100_000 {
		t.Errorf("%d rects; want the lanes aggregated", n)
	}
	t.Logf("%d events: %d bytes, %d rects", len(evs), b.Len(), strings.Count(html, "<rect"))
}
