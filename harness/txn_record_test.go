package harness_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/seed73168108/kafkaemu/assertions"
	"github.com/seed73168108/kafkaemu/fake"
	"github.com/seed73168108/kafkaemu/harness"
	"github.com/twmb/franz-go/pkg/kgo"
)

// A transactional harness client that aborts a transaction does not make
// the default history report the aborted records as lost: kgo has no
// hooks for transaction boundaries, so a transactional client is recorded
// only through a Recorder whose BeginTxn/EndTransaction the test calls.
func TestTransactionalClientWithoutRecorder(t *testing.T) {
	t.Parallel()
	c := harness.Start(t, fake.Topic("t", 1, 3))
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	p := c.Client(t, kgo.DefaultProduceTopic("t"), kgo.TransactionalID("tx"))
	for i, commit := range []kgo.TransactionEndTry{kgo.TryAbort, kgo.TryCommit} {
		if err := p.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		if err := p.ProduceSync(ctx, kgo.StringRecord(fmt.Sprint("txn-", i))).FirstErr(); err != nil {
			t.Fatal(err)
		}
		if err := p.EndTransaction(ctx, commit); err != nil {
			t.Fatal(err)
		}
	}
	plain := c.Client(t, kgo.DefaultProduceTopic("t"))
	if err := plain.ProduceSync(ctx, kgo.StringRecord("plain")).FirstErr(); err != nil {
		t.Fatal(err)
	}
	r := c.Client(t, kgo.ConsumerGroup("g"), kgo.ConsumeTopics("t"), kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	for n := 0; n < 2; {
		fs := r.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatal(ctx.Err())
		}
		n += fs.NumRecords()
	}
	assertions.ExactlyOnce(t, assertions.Check(c.History(), assertions.ConsumedBy("g")))
}
