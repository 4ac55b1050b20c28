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

// A consumer that starts at offset 5 did not prove the writes before it
// lost: the cluster's History judges what the log holds, so they are
// unseen, not lost writes (LostWrite: "a consumer that skipped it shows
// poll-skip and unseen instead").
func TestHistoryJudgesTheLog(t *testing.T) {
	t.Parallel()
	c := harness.Start(t, fake.Topic("t", 1, 3, map[string]string{"min.insync.replicas": "2"}))
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	produceN(t, ctx, c.Client(t, kgo.DefaultProduceTopic("t")), "v", 10)
	consumer := c.Client(t, kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{"t": {0: kgo.NewOffset().At(5)}}))
	consumeUntil(t, ctx, consumer, 5)
	r := assertions.Check(c.History())
	if r.Count(assertions.LostWrite) != 0 || r.Count(assertions.Unseen) != 5 {
		t.Errorf("lost-write %d, unseen %d; want 0 and 5: the log holds the writes the consumer started after\n%s", r.Count(assertions.LostWrite), r.Count(assertions.Unseen), r)
	}
	// The view is not added to the History: checking twice judges the same.
	if r2 := assertions.Check(c.History()); r2.String() != r.String() {
		t.Errorf("second check:\n%s\nfirst:\n%s", r2, r)
	}
}
