package harness_test

import (
	"strings"
	"testing"
	"testing/synctest"

	"github.com/seed73168108/kafkaemu/assertions"
	"github.com/seed73168108/kafkaemu/fake"
	"github.com/seed73168108/kafkaemu/harness"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// explained is the explanation of the one finding of anomaly a.
func explained(t *testing.T, c *harness.Cluster, r assertions.Report, a assertions.Anomaly) harness.Explanation {
	t.Helper()
	var out []harness.Explanation
	for _, x := range c.Explain(r) {
		if x.Anomaly == a {
			out = append(out, x)
		}
	}
	if len(out) != 1 {
		t.Fatalf("%d %s explanations; want 1. Report:\n%s", len(out), a, r)
	}
	return out[0]
}

// journalFind is the first journal event ok accepts.
func journalFind(t *testing.T, c *harness.Cluster, ok func(fake.Event) bool) fake.Event {
	t.Helper()
	for _, e := range c.Journal() {
		if ok(e) {
			return e
		}
	}
	t.Fatalf("no such journal event:\n%s", c.JournalTail(40))
	return fake.Event{}
}

// A duplicate is explained by the dropped response between the write and
// its retry: the explanation points at the fault's hit.
func TestExplainDuplicate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := harness.Start(t, fake.VirtualNetwork(), fake.Topic("t", 1, 1))
		p := c.Client(t, kgo.DefaultProduceTopic("t"), kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite())
		if _, err := c.AddFault(fake.DropResponses(1), fake.OnKeys(kmsg.Produce), fake.Times(1)); err != nil {
			t.Fatal(err)
		}
		if err := p.ProduceSync(t.Context(), kgo.StringRecord("d-1")).FirstErr(); err != nil {
			t.Fatal(err)
		}
		hit := journalFind(t, c, func(e fake.Event) bool { return e.Kind == fake.EventFaultHit })
		x := explained(t, c, assertions.Check(c.History()), assertions.Duplicate)
		if x.Seq != hit.Seq || !strings.Contains(x.Cause, `fault "drop-responses`) || !strings.Contains(x.Cause, "its retry wrote the batch again") {
			t.Errorf("duplicate explained by #%d: %s; want the fault hit #%d", x.Seq, x.Cause, hit.Seq)
		}
	})
}

// A read of an aborted record (G1a) is explained by the transaction that
// wrote it, its abort, and the reader's isolation level.
func TestExplainG1a(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := harness.Start(t, fake.VirtualNetwork(), fake.Topic("t", 1, 1))
		ctx := t.Context()
		rec := c.Recorder("tx")
		p := c.Client(t, kgo.DefaultProduceTopic("t"), kgo.TransactionalID("tx"), kgo.WithHooks(rec))
		if err := rec.BeginTxn(p); err != nil {
			t.Fatal(err)
		}
		if err := p.ProduceSync(ctx, kgo.StringRecord("a-1")).FirstErr(); err != nil {
			t.Fatal(err)
		}
		if err := rec.EndTransaction(ctx, p, kgo.TryAbort); err != nil {
			t.Fatal(err)
		}
		r := c.Client(t, kgo.ConsumeTopics("t"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart())) // read_uncommitted
		for n := 0; n < 1; {
			n += len(r.PollFetches(ctx).Records())
		}
		abort := journalFind(t, c, func(e fake.Event) bool { return e.Kind == fake.EventTxnEnd && !e.Committed })
		x := explained(t, c, assertions.Check(c.History()), assertions.G1a)
		for _, want := range []string{"written by transactional producer", "the transaction aborted at", "reads at read_uncommitted"} {
			if !strings.Contains(x.Cause, want) {
				t.Errorf("G1a cause lacks %q: %s", want, x.Cause)
			}
		}
		if x.Seq != abort.Seq {
			t.Errorf("G1a explained by #%d; want the abort #%d", x.Seq, abort.Seq)
		}
	})
}

// A skipped record is explained by the commit that moved the group past
// it.
func TestExplainPollSkip(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := harness.Start(t, fake.VirtualNetwork(), fake.Topic("t", 1, 1))
		ctx := t.Context()
		p := c.Client(t, kgo.DefaultProduceTopic("t"))
		for _, v := range []string{"s-0", "s-1", "s-2", "s-3"} {
			if err := p.ProduceSync(ctx, kgo.StringRecord(v)).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
		// The application commits past s-1 and s-2 before processing them.
		var offsets kadm.Offsets
		offsets.Add(kadm.Offset{Topic: "t", Partition: 0, At: 3, LeaderEpoch: -1})
		if _, err := kadm.NewClient(c.Client(t)).CommitOffsets(ctx, "g", offsets); err != nil {
			t.Fatal(err)
		}
		commit := journalFind(t, c, func(e fake.Event) bool { return e.Kind == fake.EventOffsetCommit })
		rec := c.Recorder("g-consumer", assertions.Processing())
		g := c.Client(t, kgo.ConsumerGroup("g"), kgo.ConsumeTopics("t"), kgo.WithHooks(rec))
		for n := 0; n < 1; {
			fs := g.PollFetches(ctx)
			for _, r := range fs.Records() {
				rec.Processed(r)
				n++
			}
		}
		r := assertions.Check(c.History(), assertions.ConsumedBy("g"))
		for _, x := range c.Explain(r) {
			if x.Anomaly != assertions.Unseen {
				continue
			}
			if x.Seq != commit.Seq || !strings.Contains(x.Cause, "group g committed offset 3 at") {
				t.Errorf("%s@%d unseen, explained by #%d: %s; want the commit #%d", x.Value, x.Offset, x.Seq, x.Cause, commit.Seq)
			}
		}
		if r.Count(assertions.Unseen) != 3 { // s-0, s-1 and s-2: the group started at the commit
			t.Errorf("report:\n%s", r)
		}
	})
}
