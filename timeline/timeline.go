package timeline

import (
	"io"

	"github.com/seed73168108/kafkaemu/journal"
)

// Mark is an anomaly drawn on its partition's lane: a record the checker
// found (a lost write, a duplicate, a skipped poll...) and what caused it.
type Mark struct {
	Anomaly   string // the anomaly's name, as assertions names it ("lost-write")
	Topic     string
	Partition int32
	Offset    int64
	// Seq is the journal event the cause points to (the truncation that
	// dropped a lost write, the abort a G1a read): the mark is drawn at its
	// time. 0 draws it where its offset was last appended.
	Seq int64
	// Text says what caused it; the page shows it on hover and in its
	// list of anomalies.
	Text string
}

// Page is one timeline page.
type Page struct {
	Title  string // the page's heading; "kafkaemu timeline" if empty
	Events []journal.Event
	Marks  []Mark
	// Err is what went wrong reading the journal (journal.Read's error): the page
	// draws the events that were read and names the first bad line.
	Err error
}

// WriteHTML writes events, with marks on their partition lanes, as one
// self-contained HTML page (Page.WriteHTML).
func WriteHTML(w io.Writer, events []journal.Event, marks ...Mark) error {
	return Page{Events: events, Marks: marks}.WriteHTML(w)
}

// WriteHTML writes p as one self-contained HTML file: inline SVG and CSS
// and a few lines of plain JavaScript for hovering, nothing fetched from
// the network. Its lanes share one time axis: faults, one lane per broker,
// per partition, per group, and transactions. A lane with more than a few
// thousand events draws them aggregated per pixel column, so a journal of
// a million events stays a few megabytes.
func (p Page) WriteHTML(w io.Writer) error {
	o := &out{w: w, buf: make([]byte, 0, 64<<10)}
	render(o, p)
	return o.flush()
}
