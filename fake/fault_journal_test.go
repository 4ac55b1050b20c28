package fake_test

import (
	"strings"
	"testing"
	"time"

	"github.com/seed73168108/kafkaemu/fake"
	"github.com/seed73168108/kafkaemu/harness"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

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
