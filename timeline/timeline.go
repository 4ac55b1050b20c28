package timeline

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/seed73168108/kafkaemu/fake"
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
	Events []fake.Event
	Marks  []Mark
	// Err is what went wrong reading the journal (Read's error): the page
	// draws the events that were read and names the first bad line.
	Err error
}

// WriteHTML writes events, with marks on their partition lanes, as one
// self-contained HTML page (Page.WriteHTML).
func WriteHTML(w io.Writer, events []fake.Event, marks ...Mark) error {
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

// ReadError is Read's error: the journal had lines that are not events.
type ReadError struct {
	Line int   // the first bad line, from 1
	Err  error // what was wrong with it
	Bad  int   // how many lines were bad
}

func (e *ReadError) Error() string {
	s := fmt.Sprintf("line %d is not a journal event: %v", e.Line, e.Err)
	if e.Bad > 1 {
		s += fmt.Sprintf(" (%d bad lines in all)", e.Bad)
	}
	return s
}

func (e *ReadError) Unwrap() error { return e.Err }

// Read reads a journal of JSON lines (Cluster.WriteJournal, kafkaemu
// serve's GET /journal). It keeps every event it could read: a line that
// is not an event is skipped, and the error, a *ReadError, names the
// first such line and counts them. Blank lines are ignored. An error of r
// itself is returned as it is, with the events read before it.
func Read(r io.Reader) ([]fake.Event, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	var (
		evs  []fake.Event
		rerr *ReadError
	)
	for line := 1; ; line++ {
		b, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) { // a long line: gather it
			long := append([]byte(nil), b...)
			for errors.Is(err, bufio.ErrBufferFull) {
				b, err = br.ReadSlice('\n')
				long = append(long, b...)
			}
			b = long
		}
		if err != nil && err != io.EOF {
			return evs, err
		}
		if t := bytes.TrimSpace(b); len(t) > 0 {
			var e fake.Event
			if uerr := unmarshalEvent(t, &e); uerr != nil {
				if rerr == nil {
					rerr = &ReadError{Line: line, Err: uerr}
				}
				rerr.Bad++
			} else {
				evs = append(evs, e)
			}
		}
		if err == io.EOF {
			break
		}
	}
	if rerr != nil {
		return evs, rerr
	}
	return evs, nil
}

// unmarshalEvent decodes one line, which must be a JSON object with a
// kind: a line of some other JSON (a number, an array, an object of
// another program) is not an event.
func unmarshalEvent(b []byte, e *fake.Event) error {
	if b[0] != '{' {
		return errors.New("not a JSON object")
	}
	if err := json.Unmarshal(b, e); err != nil {
		return err
	}
	if e.Kind == "" {
		return errors.New(`no "kind"`)
	}
	return nil
}
