package fake_test

import (
	"bufio"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/seed73168108/kafkaemu/fake"
	"github.com/seed73168108/kafkaemu/harness"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// The JSON lines keep the zeros that mean something (the first append is
// at partition 0, offset 0) and decode back to the same events.
func TestJournalJSONKeepsMeaningfulZeros(t *testing.T) {
	t.Parallel()
	c := harness.Start(t, fake.Topic("t", 1, 3))
	p := c.Client(t, kgo.DefaultProduceTopic("t"))
	if err := p.ProduceSync(ctxT(t, 10*time.Second), kgo.StringRecord("x")).FirstErr(); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := c.WriteJournal(&b); err != nil {
		t.Fatal(err)
	}
	events := c.Journal()
	sc := bufio.NewScanner(strings.NewReader(b.String()))
	i := 0
	sawAppend := false
	for ; sc.Scan(); i++ {
		var raw map[string]any
		if err := json.Unmarshal(sc.Bytes(), &raw); err != nil {
			t.Fatalf("line %d %q: %v", i, sc.Text(), err)
		}
		var e fake.Event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatal(err)
		}
		if i < len(events) {
			if d := cmp.Diff(events[i], e); d != "" {
				t.Errorf("line %d does not decode to its event (-want +got):\n%s", i, d)
			}
		}
		if e.Kind == fake.EventAppend && e.Offset == 0 {
			sawAppend = true
			for _, k := range []string{"broker", "partition", "offset", "last_offset"} {
				if _, ok := raw[k]; !ok {
					t.Errorf("the first append's JSON has no %q: %s", k, sc.Text())
				}
			}
		}
		if e.Kind == fake.EventTopicCreated {
			if _, ok := raw["offset"]; ok {
				t.Errorf("a topic-created event carries an offset: %s", sc.Text())
			}
		}
	}
	if i != len(events) {
		t.Errorf("%d JSON lines for %d events", i, len(events))
	}
	if !sawAppend {
		t.Errorf("no append at offset 0 in:\n%s", b.String())
	}
}

// A fault that removes itself after Times(n) hits says so in the journal.
func TestSpentFaultIsJournaled(t *testing.T) {
	t.Parallel()
	c := harness.Start(t, fake.Topic("t", 1, 1))
	ctx := ctxT(t, 10*time.Second)
	h, err := c.AddFault(fake.CloseConnections(), fake.OnKeys(kmsg.Produce), fake.Times(1))
	if err != nil {
		t.Fatal(err)
	}
	p := c.Client(t, kgo.DefaultProduceTopic("t"))
	if err := p.ProduceSync(ctx, kgo.StringRecord("x")).FirstErr(); err != nil {
		t.Fatal(err)
	}
	if h.Hits() != 1 {
		t.Fatalf("%d hits, want 1", h.Hits())
	}
	for _, e := range c.Journal() {
		if e.Kind == fake.EventFaultRemoved && strings.Contains(e.Detail, "after 1 hits") {
			return
		}
	}
	t.Errorf("no fault-removed event for the spent fault:\n%s", c.JournalTail(20))
}
