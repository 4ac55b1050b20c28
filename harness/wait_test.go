package harness_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seed73168108/kafkaemu/assertions"
	"github.com/seed73168108/kafkaemu/fake"
	"github.com/seed73168108/kafkaemu/harness"
	"github.com/twmb/franz-go/pkg/kgo"
)

// consumeInBackground polls cl until ctx ends, counts the records it
// read per value, then reports them processed to rec, and returns a
// function that waits for the loop to stop.
func consumeInBackground(ctx context.Context, cl *kgo.Client, rec *assertions.Recorder, commit bool, seen map[string]int, mu *sync.Mutex) func() {
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			fs := cl.PollFetches(ctx)
			mu.Lock()
			fs.EachRecord(func(r *kgo.Record) { seen[string(r.Value)]++ })
			mu.Unlock()
			rec.Processed(fs.Records()...)
			if commit && fs.NumRecords() > 0 {
				_ = cl.CommitUncommittedOffsets(ctx)
			}
		}
	}()
	return func() { <-done }
}

// WaitConsumed returns once the group has processed every record, and
// not before: the test's own count of what the consumer read before
// reporting it processed is the oracle.
func TestWaitConsumed(t *testing.T) {
	t.Parallel()
	c := harness.Start(t, fake.Topic("t", 3, 3))
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	p := c.Client(t, kgo.DefaultProduceTopic("t"))
	const n = 90
	for i := 0; i < n; i++ {
		p.Produce(ctx, &kgo.Record{Key: []byte(fmt.Sprint("k", i%7)), Value: []byte(fmt.Sprint("v", i))}, nil)
	}
	if err := p.Flush(ctx); err != nil {
		t.Fatal(err)
	}

	// No consumer yet: the wait ends with ctx, naming every partition.
	short, scancel := context.WithTimeout(ctx, 20*time.Millisecond)
	err := c.WaitConsumed(short, "g", "t")
	scancel()
	if err == nil {
		t.Fatal("WaitConsumed returned nil with no consumer")
	}
	for p := 0; p < 3; p++ {
		if want := fmt.Sprintf("t[%d] (nothing of offsets 0..", p); !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not name partition %d (%q): %v", p, want, err)
		}
	}

	var mu sync.Mutex
	seen := map[string]int{}
	cctx, ccancel := context.WithCancel(ctx)
	rec := c.Recorder("consumer", assertions.Processing())
	cl := c.Client(t, kgo.ConsumerGroup("g"), kgo.ConsumeTopics("t"), kgo.WithHooks(rec))
	stop := consumeInBackground(cctx, cl, rec, true, seen, &mu)
	defer func() { ccancel(); stop() }()
	if err := c.WaitConsumed(ctx, "g", "t"); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	got := len(seen)
	mu.Unlock()
	if got != n {
		t.Fatalf("WaitConsumed returned when the consumer had read %d of %d records", got, n)
	}
	if err := c.WaitCommitted(ctx, "g", "t"); err != nil {
		t.Fatal(err)
	}
	gi := c.Kfake().GroupInfo("g")
	for p := int32(0); p < 3; p++ {
		st, err := c.Partition("t", p)
		if err != nil {
			t.Fatal(err)
		}
		if got := gi.Commits["t"][p].Offset; got != st.HighWatermark {
			t.Errorf("after WaitCommitted, t[%d] is committed at %d, want its high watermark %d", p, got, st.HighWatermark)
		}
		// The History has the brokers' commits, whatever call made them.
		found := false
		for _, e := range c.History().Events() {
			found = found || e.Op == assertions.OpCommit && e.Group == "g" && e.Partition == p && e.Offset == st.HighWatermark
		}
		if !found {
			t.Errorf("the History has no commit of t[%d] at %d by group g", p, st.HighWatermark)
		}
	}
}

// Transaction markers, and the records of an aborted transaction at the
// end of the log, are nothing to read: a read_committed group that read
// everything committed is done although its position is below the high
// watermark.
func TestWaitConsumedSkipsMarkersAndAbortedRecords(t *testing.T) {
	t.Parallel()
	c := harness.Start(t, fake.Topic("t", 1, 3))
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	p := c.Client(t, kgo.DefaultProduceTopic("t"), kgo.TransactionalID("tx"))
	for i, end := range []kgo.TransactionEndTry{kgo.TryCommit, kgo.TryCommit, kgo.TryAbort} {
		if err := p.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		for j := 0; j < 3; j++ {
			if err := p.ProduceSync(ctx, kgo.StringRecord(fmt.Sprint("txn-", i, "-", j))).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
		if err := p.EndTransaction(ctx, end); err != nil {
			t.Fatal(err)
		}
	}
	st, err := c.Partition("t", 0)
	if err != nil {
		t.Fatal(err)
	}
	if st.HighWatermark != 12 { // 3 x (3 records + a marker)
		t.Fatalf("high watermark %d, want 12: three transactions of three records and a marker", st.HighWatermark)
	}
	var mu sync.Mutex
	seen := map[string]int{}
	cctx, ccancel := context.WithCancel(ctx)
	rec := c.Recorder("consumer", assertions.Processing())
	cl := c.Client(t, kgo.ConsumerGroup("g"), kgo.ConsumeTopics("t"), kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.WithHooks(rec))
	stop := consumeInBackground(cctx, cl, rec, true, seen, &mu)
	defer func() { ccancel(); stop() }()
	if err := c.WaitConsumed(ctx, "g", "t"); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	got := len(seen)
	mu.Unlock()
	if got != 6 {
		t.Fatalf("WaitConsumed returned when the consumer had read %d of the 6 committed records", got)
	}
	if err := c.WaitCommitted(ctx, "g", "t"); err != nil {
		t.Fatal(err)
	}
}

func TestWaitConsumedNamesBadInput(t *testing.T) {
	t.Parallel()
	c := harness.Start(t, fake.Topic("t", 1, 1))
	if err := c.WaitConsumed(t.Context(), "g"); err == nil || err.Error() != `WaitConsumed("g"): no topics named` {
		t.Errorf("no topics: %v", err)
	}
	if err := c.WaitConsumed(t.Context(), "g", "nope"); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("unknown topic: %v", err)
	}
	if err := c.WaitCommitted(t.Context(), "g", "nope"); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("unknown topic: %v", err)
	}
}
