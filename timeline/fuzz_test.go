package timeline_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/seed73168108/kafkaemu/internal/journaltest"
	"github.com/seed73168108/kafkaemu/timeline"
)

// FuzzRead reads arbitrary bytes as a journal and draws what it read: no
// panic, only *ReadError for bad lines, never more events than lines, and
// a page that ends.
func FuzzRead(f *testing.F) {
	whole := jsonl(f, journaltest.Synthetic(60, 5))
	f.Add(whole)
	f.Add(whole[:len(whole)/2])
	f.Add("")
	f.Add("\n\n")
	f.Add(`{"seq":1,"kind":"append","topic":"t","partition":0,"offset":5,"last_offset":2}` + "\n")
	f.Add(`{"seq":1,"time":"2026-01-01T00:00:00Z","kind":"leader-change","topic":"t","leader":-7,"epoch":1,"isr":[]}` + "\n" + `{"kind":"truncate","topic":"t","offset":9,"last_offset":-3}`)
	f.Add(`{"kind":"txn-end","producer_id":3}` + "\n" + `{"kind":"fault-removed","detail":"x brokers [1 2"}` + "\n" + `{"kind":"fault-added","detail":"network-partition brokers [0 x]"}`)
	f.Add(`{"kind":"append","topic":"t","time":"0001-01-01T00:00:00Z","last_offset":9223372036854775807}` + "\n" + `{"kind":"truncate","topic":"t","time":"9999-12-31T23:59:59Z","offset":-9223372036854775808}`)
	f.Add(`{"kind":"group","group":"g","epoch":2147483647,"detail":"join"}` + "\n" + "[]\n{\"kind\":5}\nnull\n")
	f.Fuzz(func(t *testing.T, in string) {
		evs, err := timeline.Read(strings.NewReader(in))
		var re *timeline.ReadError
		if err != nil && (!errors.As(err, &re) || re.Line < 1 || re.Bad < 1) {
			t.Fatalf("error %v", err)
		}
		if lines := strings.Count(in, "\n") + 1; len(evs) > lines {
			t.Fatalf("%d events from %d lines", len(evs), lines)
		}
		var b bytes.Buffer
		if werr := (timeline.Page{Events: evs, Err: err}).WriteHTML(&b); werr != nil {
			t.Fatal(werr)
		}
		if !strings.HasSuffix(b.String(), "</html>\n") {
			t.Fatalf("the page does not end")
		}
	})
}
