package fake_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/seed73168108/kafkaemu/fake"
	"github.com/seed73168108/kafkaemu/harness"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

func TestMetadataShowsModel(t *testing.T) {
	t.Parallel()
	c := harness.Start(t, fake.Seed(7), fake.Topic("orders", 6, 3))
	adm := kadm.NewClient(c.Client(t))
	ctx := ctxT(t, 10*time.Second)

	// kadm creates a topic through the controller; it joins the model.
	if _, err := adm.CreateTopic(ctx, 4, 2, nil, "payments"); err != nil {
		t.Fatal(err)
	}
	md, err := adm.Metadata(ctx, "orders", "payments")
	if err != nil {
		t.Fatal(err)
	}
	if len(md.Brokers) != 3 {
		t.Fatalf("metadata lists %d brokers, want 3", len(md.Brokers))
	}
	leaders := map[int32]int{}
	for _, topic := range []string{"orders", "payments"} {
		td := md.Topics[topic]
		if td.Err != nil {
			t.Fatalf("%s: %v", topic, td.Err)
		}
		for _, pd := range td.Partitions.Sorted() {
			st, err := c.Partition(topic, pd.Partition)
			if err != nil {
				t.Fatal(err)
			}
			if pd.Leader != st.Leader || !slices.Equal(pd.Replicas, st.Replicas) || !slices.Equal(pd.ISR, st.ISR) || pd.LeaderEpoch != st.LeaderEpoch {
				t.Errorf("%s[%d]: metadata leader %d replicas %v isr %v epoch %d; model %+v", topic, pd.Partition, pd.Leader, pd.Replicas, pd.ISR, pd.LeaderEpoch, st)
			}
			if st.Replicas[0] != st.Leader {
				t.Errorf("%s[%d]: leader %d is not the first replica %v", topic, pd.Partition, st.Leader, st.Replicas)
			}
			if topic == "orders" {
				leaders[st.Leader]++
			}
		}
	}
	if len(md.Topics["payments"].Partitions) != 4 || len(md.Topics["payments"].Partitions[0].Replicas) != 2 {
		t.Errorf("payments: %+v, want 4 partitions of 2 replicas", md.Topics["payments"].Partitions)
	}
	// Rack-unaware assignment spreads leaders evenly: 6 partitions, 3 brokers.
	for b, n := range leaders {
		if n != 2 {
			t.Errorf("broker %d leads %d partitions of orders, want 2 each: %v", b, n, leaders)
		}
	}
}

func TestSameSeedSamePlacement(t *testing.T) {
	t.Parallel()
	place := func(seed int64) string {
		c := harness.Start(t, fake.Seed(seed), fake.Brokers(5), fake.Topic("t", 10, 3))
		var b strings.Builder
		for p := int32(0); p < 10; p++ {
			st, _ := c.Partition("t", p)
			fmt.Fprint(&b, st.Replicas)
		}
		return b.String()
	}
	if a, b := place(42), place(42); a != b {
		t.Errorf("seed 42 placed replicas differently: %s vs %s", a, b)
	}
	c := harness.Start(t)
	if c.Seed() == 0 {
		t.Log("random seed happened to be 0")
	}
}

func TestProduceConsumeGroupResume(t *testing.T) {
	t.Parallel()
	c := harness.Start(t, fake.Topic("events", 3, 3))
	ctx := ctxT(t, 20*time.Second)
	p := c.Client(t, kgo.DefaultProduceTopic("events"), kgo.RequiredAcks(kgo.AllISRAcks()))
	for i := 0; i < 300; i++ {
		p.Produce(ctx, kgo.StringRecord(fmt.Sprint(i)), func(_ *kgo.Record, err error) {
			if err != nil {
				t.Error(err)
			}
		})
	}
	if err := p.Flush(ctx); err != nil {
		t.Fatal(err)
	}

	// The first consumer reads 100 and commits exactly those.
	c1 := c.Client(t, kgo.ConsumerGroup("g"), kgo.ConsumeTopics("events"), kgo.DisableAutoCommit())
	seen := map[string]bool{}
	var first []*kgo.Record
	for len(first) < 100 {
		fs := c1.PollRecords(ctx, 100-len(first))
		if err := fs.Err0(); err != nil {
			t.Fatal(err)
		}
		first = append(first, fs.Records()...)
	}
	if err := c1.CommitRecords(ctx, first...); err != nil {
		t.Fatal(err)
	}
	for _, r := range first {
		seen[string(r.Value)] = true
	}
	c1.Close()

	// A new member resumes from the committed offsets: 200 more, none repeated.
	c2 := c.Client(t, kgo.ConsumerGroup("g"), kgo.ConsumeTopics("events"), kgo.DisableAutoCommit())
	n := 0
	for n < 200 {
		fs := c2.PollFetches(ctx)
		if err := fs.Err0(); err != nil {
			t.Fatal(err)
		}
		fs.EachRecord(func(r *kgo.Record) {
			if seen[string(r.Value)] {
				t.Errorf("record %s consumed again after its offset was committed", r.Value)
			}
			seen[string(r.Value)] = true
			n++
		})
	}
	if len(seen) != 300 {
		t.Errorf("consumed %d distinct records, want 300", len(seen))
	}
	commits := 0
	for _, e := range c.Journal() {
		if e.Kind == fake.EventOffsetCommit && e.Group == "g" {
			commits++
		}
	}
	if commits == 0 {
		t.Error("the journal has no offset commits for group g")
	}
}

func TestIdempotentProducer(t *testing.T) {
	t.Parallel()
	c := harness.Start(t, fake.Topic("idem", 1, 3))
	ctx := ctxT(t, 10*time.Second)
	p := c.Client(t, kgo.DefaultProduceTopic("idem"))
	for i := 0; i < 50; i++ {
		if err := p.ProduceSync(ctx, kgo.StringRecord(fmt.Sprint(i))).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	st, _ := c.Partition("idem", 0)
	if st.HighWatermark != 50 {
		t.Errorf("high watermark %d, want 50", st.HighWatermark)
	}
	for _, e := range c.Journal() {
		if e.Kind == fake.EventAppend && e.ProducerID < 0 {
			t.Fatalf("append without a producer id from an idempotent producer: %v", e)
		}
	}
}

func TestTransactionsReadCommitted(t *testing.T) {
	t.Parallel()
	c := harness.Start(t, fake.Topic("tx", 1, 3))
	ctx := ctxT(t, 15*time.Second)
	p := c.Client(t, kgo.DefaultProduceTopic("tx"), kgo.TransactionalID("tx-1"))
	for _, commit := range []bool{true, false} {
		if err := p.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 5; i++ {
			if err := p.ProduceSync(ctx, kgo.StringRecord(fmt.Sprintf("%v-%d", commit, i))).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
		if err := p.EndTransaction(ctx, kgo.TransactionEndTry(commit)); err != nil {
			t.Fatal(err)
		}
	}
	// One more committed record marks the end of what we expect to read.
	if err := p.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := p.ProduceSync(ctx, kgo.StringRecord("end")).FirstErr(); err != nil {
		t.Fatal(err)
	}
	if err := p.EndTransaction(ctx, kgo.TryCommit); err != nil {
		t.Fatal(err)
	}

	read := func(level kgo.IsolationLevel) []string {
		cl := c.Client(t, kgo.ConsumeTopics("tx"), kgo.FetchIsolationLevel(level), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
		var got []string
		for !slices.Contains(got, "end") {
			fs := cl.PollFetches(ctx)
			if err := fs.Err0(); err != nil {
				t.Fatal(err)
			}
			fs.EachRecord(func(r *kgo.Record) { got = append(got, string(r.Value)) })
		}
		return got
	}
	committed := read(kgo.ReadCommitted())
	want := []string{"true-0", "true-1", "true-2", "true-3", "true-4", "end"}
	if !slices.Equal(committed, want) {
		t.Errorf("read_committed saw %v, want %v", committed, want)
	}
	if all := read(kgo.ReadUncommitted()); len(all) != 11 {
		t.Errorf("read_uncommitted saw %d records %v, want 11 (aborted ones included)", len(all), all)
	}
	ends := 0
	for _, e := range c.Journal() {
		if e.Kind == fake.EventTxnEnd {
			ends++
		}
	}
	if ends != 3 {
		t.Errorf("journal has %d txn-end events, want 3", ends)
	}
}

func TestBadOptions(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		opts []fake.Option
		want string
	}{
		{"zero partitions", []fake.Option{fake.Topic("t", 0, 1)}, `fake.Topic("t"): partitions = 0, want >= 1`},
		{"negative partitions", []fake.Option{fake.Topic("t", -2, 1)}, `partitions = -2`},
		{"zero replicas", []fake.Option{fake.Topic("t", 1, 0)}, `fake.Topic("t"): replicas = 0, want >= 1`},
		{"replicas over brokers", []fake.Option{fake.Topic("t", 1, 4)}, `fake.Topic("t"): replicas = 4, but the cluster has 3 brokers`},
		{"duplicate topic", []fake.Option{fake.Topic("t", 1, 1), fake.Topic("t", 2, 1)}, `fake.Topic("t"): the topic is declared twice`},
		{"no brokers", []fake.Option{fake.Brokers(0)}, `fake.Brokers(0): a cluster needs at least 1 broker`},
		{"negative brokers", []fake.Option{fake.Brokers(-1)}, `fake.Brokers(-1)`},
		{"empty name", []fake.Option{fake.Topic("", 1, 1)}, `the topic name is empty`},
		{"min isr over replicas", []fake.Option{fake.Topic("t", 1, 2, map[string]string{"min.insync.replicas": "3"})}, `min.insync.replicas = 3 exceeds replicas = 2`},
		{"min isr not a number", []fake.Option{fake.Topic("t", 1, 2, map[string]string{"min.insync.replicas": "two"})}, `min.insync.replicas = "two"`},
		{"negative lag", []fake.Option{fake.ReplicaLagMax(-time.Second)}, `fake.ReplicaLagMax(-1s): want a positive duration`},
		{"nil option", []fake.Option{nil}, `option 0 is nil`},
	} {
		c, err := fake.New(tc.opts...)
		if err == nil {
			c.Close()
			t.Errorf("%s: no error", tc.name)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %q, want it to contain %q", tc.name, err, tc.want)
		}
	}
}

func TestCloseIsIdempotentAndFreesPorts(t *testing.T) {
	t.Parallel()
	c, err := fake.New()
	if err != nil {
		t.Fatal(err)
	}
	addrs := c.Addrs()
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	// Every port is free again: we can listen on it ourselves.
	for _, a := range addrs {
		if err := listenOnce(a); err != nil {
			t.Errorf("port %s still taken after Close: %v", a, err)
		}
	}
	if _, err := c.Partition("t", 0); err == nil {
		t.Error("Partition on a closed cluster: no error")
	}
}

func TestUnknownTopicErrors(t *testing.T) {
	t.Parallel()
	c := harness.Start(t, fake.Topic("t", 2, 1))
	if _, err := c.Partition("nope", 0); err == nil || !strings.Contains(err.Error(), `unknown topic "nope"`) {
		t.Errorf("unknown topic: %v", err)
	}
	if _, err := c.Partition("t", 2); err == nil || !strings.Contains(err.Error(), `topic "t" has no partition 2 (it has 2)`) {
		t.Errorf("unknown partition: %v", err)
	}
	var ke *kerr.Error
	_ = errors.As(nil, &ke)
}
