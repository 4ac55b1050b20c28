package harness_test

import (
	"context"
	"testing"
	"time"

	"github.com/seed73168108/kafkaemu/assertions"
	"github.com/seed73168108/kafkaemu/fake"
	"github.com/seed73168108/kafkaemu/harness"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Reading the log back for the broker-side history is not a consumer: with
// no consumer at all every acknowledged write is unseen, however often the
// history is built, and the journal shows no fetch.
func TestBrokerHistoryReadBackIsNoConsumer(t *testing.T) {
	t.Parallel()
	c := harness.Start(t, fake.Topic("t", 1, 3))
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	produceN(t, ctx, c.Client(t, kgo.DefaultProduceTopic("t")), "v", 10)
	for i := range 2 {
		r := assertions.Check(c.BrokerHistory(t))
		if r.Count(assertions.Unseen) != 10 || r.Count(assertions.LostWrite) != 0 {
			t.Errorf("call %d, no consumer: unseen %d, lost-write %d; want 10 and 0\n%s", i+1, r.Count(assertions.Unseen), r.Count(assertions.LostWrite), r)
		}
	}
	if got := len(c.ReadLog(t)); got != 10 {
		t.Errorf("ReadLog read %d records, want 10", got)
	}
	for _, e := range c.Journal() {
		if e.Kind == fake.EventFetch {
			t.Errorf("the journal shows a fetch though nothing consumed: %v", e)
		}
	}
}
