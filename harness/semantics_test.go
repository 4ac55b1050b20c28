package harness_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/seed73168108/kafkaemu/assertions"
	"github.com/seed73168108/kafkaemu/fake"
	"github.com/seed73168108/kafkaemu/harness"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// failures captures assertion failures instead of failing the test.
type failures struct{ msgs []string }

func (f *failures) Errorf(format string, args ...any) {
	f.msgs = append(f.msgs, fmt.Sprintf(format, args...))
}

func produceN(t *testing.T, ctx context.Context, p *kgo.Client, prefix string, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		if err := p.ProduceSync(ctx, kgo.StringRecord(fmt.Sprint(prefix, i))).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
}

func consumeUntil(t *testing.T, ctx context.Context, cl *kgo.Client, n int) {
	t.Helper()
	for got := 0; got < n; {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("consumed %d of %d: %v", got, n, ctx.Err())
		}
		got += fs.NumRecords()
	}
}

func lostOffsets(r assertions.Report) []int64 {
	var out []int64
	for _, f := range r.Findings[assertions.LostWrite] {
		out = append(out, f.Offset)
	}
	return out
}

// TestAcks1LeaderLossFailsNoLostWrites runs in a synctest bubble: on the
// real clock a loaded machine could let the default 200 ms ReplicaLagMax
// pass between the pause and the failover, the high watermark then moved
// over the doomed writes and nothing was lost.
func TestAcks1LeaderLossFailsNoLostWrites(t *testing.T) {
	t.Parallel()
	synctest.Test(t, acks1LeaderLossFailsNoLostWrites)
}

func acks1LeaderLossFailsNoLostWrites(t *testing.T) {
	c := harness.Start(t, fake.VirtualNetwork(), fake.Topic("t", 1, 3))
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	p := c.Client(t, kgo.DefaultProduceTopic("t"), kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite(),
		kgo.WithHooks(c.Recorder("producer")))
	produceN(t, ctx, p, "safe-", 5)
	if err := c.PauseReplication("t", 0); err != nil {
		t.Fatal(err)
	}
	produceN(t, ctx, p, "doomed-", 5) // offsets 5..9, acknowledged by the leader alone
	if _, err := c.FailLeader("t", 0); err != nil {
		t.Fatal(err)
	}
	if err := c.ResumeReplication("t", 0); err != nil {
		t.Fatal(err)
	}
	produceN(t, ctx, p, "after-", 2) // offsets 5 and 6 again
	consumer := c.Client(t, kgo.ConsumerGroup("g"), kgo.ConsumeTopics("t"), kgo.WithHooks(c.Recorder("consumer")))
	consumeUntil(t, ctx, consumer, 7)

	want := []int64{5, 6, 7, 8, 9}
	r := assertions.Check(c.History())
	if got := lostOffsets(r); !slices.Equal(got, want) {
		t.Errorf("client-side lost-write offsets %v, want %v\n%s", got, want, r)
	}
	f := &failures{}
	if assertions.NoLostWrites(f, c.History()) {
		t.Fatal("NoLostWrites passed after acks=1 writes were lost")
	}
	if msg := strings.Join(f.msgs, "\n"); !strings.Contains(msg, "lost-write: 5 record(s)") || !strings.Contains(msg, `"doomed-0"`) {
		t.Errorf("failure message:\n%s", msg)
	}

	// The broker-side history, from the journal, finds the same loss.
	br := assertions.Check(c.BrokerHistory(t))
	if got := lostOffsets(br); !slices.Equal(got, want) {
		t.Errorf("broker-side lost-write offsets %v, want %v\n%s", got, want, br)
	}
}

func TestDroppedResponseDuplicateIsAtLeastOnce(t *testing.T) {
	t.Parallel()
	c := harness.Start(t, fake.Topic("t", 1, 3))
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	p := c.Client(t, kgo.DefaultProduceTopic("t"), kgo.DisableIdempotentWrite(), kgo.WithHooks(c.Recorder("producer")))
	produceN(t, ctx, p, "a-", 3)
	if _, err := c.AddFault(fake.DropResponses(1), fake.OnKeys(kmsg.Produce), fake.Times(1)); err != nil {
		t.Fatal(err)
	}
	produceN(t, ctx, p, "b-", 3) // b-0 is stored twice: the first answer was lost
	consumer := c.Client(t, kgo.ConsumerGroup("g"), kgo.ConsumeTopics("t"), kgo.WithHooks(c.Recorder("consumer")))
	consumeUntil(t, ctx, consumer, 7)

	assertions.AtLeastOnce(t, c.History())
	f := &failures{}
	if assertions.ExactlyOnce(f, c.History()) {
		t.Fatal("ExactlyOnce passed with a duplicate in the log")
	}
	if msg := strings.Join(f.msgs, "\n"); !strings.Contains(msg, "duplicate: 1 record(s)") || !strings.Contains(msg, `"b-0"`) {
		t.Errorf("failure message:\n%s", msg)
	}
	if r := assertions.Check(c.BrokerHistory(t)); r.Count(assertions.Duplicate) != 1 {
		t.Errorf("broker-side: %d duplicates, want 1\n%s", r.Count(assertions.Duplicate), r)
	}
}

func TestTransactionalPipelineExactlyOnceAcrossRebalance(t *testing.T) {
	t.Parallel()
	c := harness.Start(t, fake.Topic("in", 2, 3), fake.Topic("out", 2, 3))
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	in := c.Client(t, kgo.DefaultProduceTopic("in"))
	const n = 60
	produceN(t, ctx, in, "job-", n)

	rec := c.Recorder("pipeline")
	sess, err := kgo.NewGroupTransactSession(append(c.ClientDefaults(),
		kgo.TransactionalID("pipeline"), kgo.ConsumerGroup("eos"), kgo.ConsumeTopics("in"),
		kgo.Balancers(kgo.RangeBalancer()), // eager: the rebalance revokes the transaction's partitions
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.WithHooks(rec))...)
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	verify := c.Client(t, kgo.ConsumerGroup("verify"), kgo.ConsumeTopics("out"),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.WithHooks(c.Recorder("verify")))

	processed, rebalanced := 0, false
	for processed < n {
		fs := sess.PollRecords(ctx, 10)
		if ctx.Err() != nil {
			t.Fatalf("pipeline processed %d of %d", processed, n)
		}
		if fs.Empty() {
			continue
		}
		if err := sess.Begin(); err != nil {
			t.Fatal(err)
		}
		c.History().BeginTxn("pipeline")
		count := 0
		fs.EachRecord(func(r *kgo.Record) {
			count++
			sess.Produce(ctx, &kgo.Record{Topic: "out", Key: r.Key, Value: r.Value}, nil)
		})
		if !rebalanced && processed > 0 {
			// Mid-transaction, the group rebalances: the session must
			// abort and nothing may be duplicated downstream.
			if err := c.Rebalance(ctx, "eos"); err != nil {
				t.Fatal(err)
			}
			rebalanced = true
		}
		c.History().EndingTxn("pipeline")
		committed, err := sess.End(ctx, kgo.TryCommit)
		c.History().EndTxn("pipeline", committed && err == nil)
		if err != nil {
			t.Fatal(err)
		}
		if committed {
			processed += count
		}
	}
	consumeUntil(t, ctx, verify, n)
	aborts := 0
	for _, e := range c.Journal() {
		if e.Kind == fake.EventTxnEnd && !e.Committed {
			aborts++
		}
	}
	if aborts == 0 {
		t.Error("no transaction aborted: the rebalance did not hit a transaction in flight")
	}
	assertions.ExactlyOnce(t, assertions.Check(c.History(), assertions.Topics("out"), assertions.ConsumedBy("verify")))
}

// Harness clients record into the cluster's history by themselves.
func TestClientsRecordByDefault(t *testing.T) {
	t.Parallel()
	c := harness.Start(t, fake.Topic("t", 2, 3))
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	p := c.Client(t, kgo.DefaultProduceTopic("t"))
	produceN(t, ctx, p, "v", 20)
	consumer := c.Client(t, kgo.ConsumerGroup("g"), kgo.ConsumeTopics("t"))
	consumeUntil(t, ctx, consumer, 20)
	assertions.ExactlyOnce(t, assertions.Check(c.History(), assertions.ConsumedBy("g")))
	acks := 0
	for _, e := range c.History().Events() {
		if e.Op == assertions.OpAck {
			acks++
		}
	}
	if acks != 20 {
		t.Errorf("history has %d acks, want 20", acks)
	}
}
