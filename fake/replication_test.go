package fake_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/seed73168108/kafkaemu/fake"
	"github.com/seed73168108/kafkaemu/harness"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// waitFor polls cond until it holds or ctx ends.
func waitFor(t *testing.T, ctx context.Context, what string, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("waiting for %s: %v", what, ctx.Err())
		case <-tick.C:
		}
	}
}

func partition(t *testing.T, c *harness.Cluster, topic string, p int32) fake.PartitionState {
	t.Helper()
	st, err := c.Partition(topic, p)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// consumeAll reads topic from the start until it has read n records.
func consumeAll(t *testing.T, ctx context.Context, c *harness.Cluster, topic string, n int) []*kgo.Record {
	t.Helper()
	cl := c.Client(t, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	defer cl.Close()
	var got []*kgo.Record
	for len(got) < n {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("consumed %d of %d records of %s: %v", len(got), n, topic, ctx.Err())
		}
		fs.EachRecord(func(r *kgo.Record) { got = append(got, r) })
	}
	return got
}

func values(rs []*kgo.Record) []string {
	var out []string
	for _, r := range rs {
		out = append(out, string(r.Value))
	}
	return out
}

// TestAcks1WritesLostOnLeaderFailure runs in a synctest bubble: with
// ReplicaLagMax's 200 ms on the real clock a loaded machine let the ISR
// shrink (and the high watermark move over the tail) before the test
// looked; on the bubble's clock 200 ms pass only when nothing else can
// happen.
func TestAcks1WritesLostOnLeaderFailure(t *testing.T) {
	t.Parallel()
	synctest.Test(t, acks1WritesLostOnLeaderFailure)
}

func acks1WritesLostOnLeaderFailure(t *testing.T) {
	c := harness.Start(t, fake.VirtualNetwork(), fake.Topic("t", 1, 3))
	ctx := ctxT(t, 15*time.Second)
	p := c.Client(t, kgo.DefaultProduceTopic("t"), kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite())
	for i := 0; i < 3; i++ {
		if err := p.ProduceSync(ctx, kgo.StringRecord(fmt.Sprint("safe-", i))).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.PauseReplication("t", 0); err != nil {
		t.Fatal(err)
	}
	var acked []int64
	for i := 0; i < 10; i++ {
		r := kgo.StringRecord(fmt.Sprint("doomed-", i))
		if err := p.ProduceSync(ctx, r).FirstErr(); err != nil {
			t.Fatal(err)
		}
		acked = append(acked, r.Offset)
	}
	if want := []int64{3, 4, 5, 6, 7, 8, 9, 10, 11, 12}; !slices.Equal(acked, want) {
		t.Fatalf("acks=1 offsets %v, want %v", acked, want)
	}
	st := partition(t, c, "t", 0)
	if st.HighWatermark != 3 || st.LogEndOffset != 13 {
		t.Fatalf("paused: high watermark %d, log end %d; want 3 and 13", st.HighWatermark, st.LogEndOffset)
	}
	// Consumers see only the replicated prefix.
	adm := kadm.NewClient(c.Client(t))
	ends, err := adm.ListEndOffsets(ctx, "t")
	if err != nil {
		t.Fatal(err)
	}
	if o, _ := ends.Lookup("t", 0); o.Offset != 3 {
		t.Errorf("ListOffsets latest = %d while paused, want the high watermark 3", o.Offset)
	}

	old := st.Leader
	next, err := c.FailLeader("t", 0)
	if err != nil {
		t.Fatal(err)
	}
	st = partition(t, c, "t", 0)
	if next == old || st.Leader != next || st.LeaderEpoch <= 1 || slices.Contains(st.ISR, old) {
		t.Fatalf("after FailLeader: %+v (old leader %d, new %d)", st, old, next)
	}
	if st.LogEndOffset != 3 {
		t.Errorf("log end %d after failover, want 3: the tail is gone", st.LogEndOffset)
	}
	if err := c.ResumeReplication("t", 0); err != nil {
		t.Fatal(err)
	}
	// The lost offsets are reused by new writes, as in Kafka.
	r := kgo.StringRecord("after")
	if err := p.ProduceSync(ctx, r).FirstErr(); err != nil {
		t.Fatal(err)
	}
	if r.Offset != 3 {
		t.Errorf("first write after failover at offset %d, want 3 (reused)", r.Offset)
	}
	got := values(consumeAll(t, ctx, c, "t", 4))
	if want := []string{"safe-0", "safe-1", "safe-2", "after"}; !slices.Equal(got, want) {
		t.Errorf("consumed %v, want %v", got, want)
	}
	var truncated []fake.Event
	for _, e := range c.Journal() {
		if e.Kind == fake.EventTruncate {
			truncated = append(truncated, e)
		}
	}
	if len(truncated) != 1 || truncated[0].Offset != 3 || truncated[0].LastOffset != 12 {
		t.Errorf("journal truncations %v, want one of offsets 3..12", truncated)
	}
	// The old leader follows again and rejoins the ISR.
	waitFor(t, ctx, "the old leader back in the ISR", func() bool {
		return slices.Contains(partition(t, c, "t", 0).ISR, old)
	})
}

func TestAcksAllSurvivesLeaderFailure(t *testing.T) {
	t.Parallel()
	c := harness.Start(t, fake.Topic("t", 1, 3, map[string]string{"min.insync.replicas": "2"}), fake.ReplicaLagMax(10*time.Second))
	ctx := ctxT(t, 15*time.Second)
	p := c.Client(t, kgo.DefaultProduceTopic("t"), kgo.MaxBufferedRecords(100))
	if err := c.PauseReplication("t", 0); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	acked := map[string]int64{}
	for i := 0; i < 20; i++ {
		wg.Add(1)
		p.Produce(ctx, kgo.StringRecord(fmt.Sprint(i)), func(r *kgo.Record, err error) {
			defer wg.Done()
			if err != nil {
				t.Errorf("record %s: %v", r.Value, err)
				return
			}
			mu.Lock()
			acked[string(r.Value)] = r.Offset
			mu.Unlock()
		})
	}
	// acks=all waits in purgatory: nothing is acknowledged while paused.
	waitFor(t, ctx, "writes in the leader's tail", func() bool { return partition(t, c, "t", 0).LogEndOffset > 0 })
	mu.Lock()
	if len(acked) != 0 {
		t.Errorf("%d acks=all writes acknowledged while replication was paused", len(acked))
	}
	mu.Unlock()
	if _, err := c.FailLeader("t", 0); err != nil {
		t.Fatal(err)
	}
	if err := c.ResumeReplication("t", 0); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	got := values(consumeAll(t, ctx, c, "t", 20))
	slices.Sort(got)
	var want []string
	for i := 0; i < 20; i++ {
		want = append(want, fmt.Sprint(i))
	}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("consumed %v, want each of 0..19 once", got)
	}
	if st := partition(t, c, "t", 0); st.HighWatermark != 20 {
		t.Errorf("high watermark %d, want 20 (no duplicates)", st.HighWatermark)
	}
}

func TestISRShrinksAndMinInsyncRefusesWrites(t *testing.T) {
	t.Parallel()
	c := harness.Start(t, fake.Topic("t", 1, 3, map[string]string{"min.insync.replicas": "2"}), fake.ReplicaLagMax(30*time.Millisecond))
	ctx := ctxT(t, 15*time.Second)
	one := c.Client(t, kgo.DefaultProduceTopic("t"), kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite())
	if err := c.PauseReplication("t", 0); err != nil {
		t.Fatal(err)
	}
	if err := one.ProduceSync(ctx, kgo.StringRecord("a")).FirstErr(); err != nil {
		t.Fatal(err)
	}
	st := partition(t, c, "t", 0)
	waitFor(t, ctx, "the ISR to shrink to the leader", func() bool {
		st = partition(t, c, "t", 0)
		return len(st.ISR) == 1
	})
	waitFor(t, ctx, "the high watermark to cover the write", func() bool { return partition(t, c, "t", 0).HighWatermark == 1 })

	// Metadata shows the shrunken ISR.
	adm := kadm.NewClient(c.Client(t))
	md, err := adm.Metadata(ctx, "t")
	if err != nil {
		t.Fatal(err)
	}
	if isr := md.Topics["t"].Partitions[0].ISR; !slices.Equal(isr, []int32{st.Leader}) {
		t.Errorf("metadata ISR %v, want [%d]", isr, st.Leader)
	}

	all := c.Client(t, kgo.DefaultProduceTopic("t"), kgo.RecordRetries(2))
	err = all.ProduceSync(ctx, kgo.StringRecord("refused")).FirstErr()
	if !errors.Is(err, kerr.NotEnoughReplicas) && !strings.Contains(fmt.Sprint(err), "NOT_ENOUGH_REPLICAS") {
		t.Errorf("acks=all with ISR 1 < min.insync 2: %v, want NOT_ENOUGH_REPLICAS", err)
	}
	if hw := partition(t, c, "t", 0).HighWatermark; hw != 1 {
		t.Errorf("high watermark %d after a refused write, want 1: nothing written", hw)
	}
	// acks=1 keeps working.
	if err := one.ProduceSync(ctx, kgo.StringRecord("b")).FirstErr(); err != nil {
		t.Errorf("acks=1 with a small ISR: %v", err)
	}
	if err := c.ResumeReplication("t", 0); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "the ISR to grow back", func() bool { return len(partition(t, c, "t", 0).ISR) == 3 })
	if err := all.ProduceSync(ctx, kgo.StringRecord("accepted")).FirstErr(); err != nil {
		t.Errorf("acks=all after the ISR recovered: %v", err)
	}
}

func TestKillAndRestartBroker(t *testing.T) {
	t.Parallel()
	c := harness.Start(t, fake.Seed(3), fake.Topic("t", 3, 3, map[string]string{"min.insync.replicas": "2"}))
	ctx := ctxT(t, 20*time.Second)
	p := c.Client(t, kgo.DefaultProduceTopic("t"))
	g := c.Client(t, kgo.ConsumerGroup("g"), kgo.ConsumeTopics("t"))
	produce := func(prefix string, n int) {
		for i := 0; i < n; i++ {
			if err := p.ProduceSync(ctx, kgo.StringRecord(fmt.Sprint(prefix, i))).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
	}
	consumed := map[string]int{}
	consume := func(n int) {
		for total := 0; total < n; {
			fs := g.PollFetches(ctx)
			if ctx.Err() != nil {
				t.Fatalf("consumed %d of %d: %v", total, n, ctx.Err())
			}
			fs.EachRecord(func(r *kgo.Record) { consumed[string(r.Value)]++; total++ })
			if err := g.CommitUncommittedOffsets(ctx); err != nil {
				t.Logf("commit: %v", err)
			}
		}
	}
	produce("before-", 30)
	consume(30)

	victim := partition(t, c, "t", 0).Leader
	coord := c.Kfake().CoordinatorFor("g")
	if err := c.KillBroker(victim); err != nil {
		t.Fatal(err)
	}
	for p := int32(0); p < 3; p++ {
		st := partition(t, c, "t", p)
		if st.Leader == victim || slices.Contains(st.ISR, victim) {
			t.Errorf("partition %d after killing %d: %+v", p, victim, st)
		}
	}
	if now := c.Kfake().CoordinatorFor("g"); now == victim {
		t.Errorf("group coordinator still on dead broker %d (was %d)", victim, coord)
	}
	for _, b := range c.Brokers() {
		if b.ID == victim && b.Up {
			t.Errorf("broker %d still up", victim)
		}
	}
	if len(c.Addrs()) != 2 {
		t.Errorf("Addrs %v, want the 2 live brokers", c.Addrs())
	}
	produce("during-", 30)
	consume(30)

	if err := c.RestartBroker(victim); err != nil {
		t.Fatal(err)
	}
	// RestartBroker returns with the broker caught up and in every ISR.
	for p := int32(0); p < 3; p++ {
		if st := partition(t, c, "t", p); !slices.Contains(st.ISR, victim) {
			t.Errorf("t[%d] ISR %v right after RestartBroker(%d)", p, st.ISR, victim)
		}
	}
	produce("after-", 30)
	consume(30)
	for v, n := range consumed {
		if n != 1 {
			t.Errorf("record %s consumed %d times", v, n)
		}
	}
	if len(consumed) != 90 {
		t.Errorf("consumed %d distinct records, want 90", len(consumed))
	}
}

func TestOfflinePartitionComesBack(t *testing.T) {
	t.Parallel()
	c := harness.Start(t, fake.Topic("t", 1, 2))
	ctx := ctxT(t, 15*time.Second)
	st := partition(t, c, "t", 0)
	follower := st.Replicas[1]
	if err := c.KillBroker(follower); err != nil {
		t.Fatal(err)
	}
	if err := c.KillBroker(st.Leader); err == nil {
		// 3 brokers, 2 killed: the third is alive, so this is allowed.
	} else {
		t.Fatal(err)
	}
	off := partition(t, c, "t", 0)
	if off.Leader != -1 || !slices.Equal(off.ISR, []int32{st.Leader}) {
		t.Fatalf("with both replicas dead: %+v, want offline with ISR [%d]", off, st.Leader)
	}
	adm := kadm.NewClient(c.Client(t))
	md, err := adm.Metadata(ctx, "t")
	if err != nil {
		t.Fatal(err)
	}
	if pd := md.Topics["t"].Partitions[0]; !errors.Is(pd.Err, kerr.LeaderNotAvailable) || len(pd.OfflineReplicas) != 2 {
		t.Errorf("metadata for an offline partition: err %v offline %v", pd.Err, pd.OfflineReplicas)
	}
	// The follower that was out of the ISR cannot lead (no unclean election).
	if err := c.RestartBroker(follower); err != nil {
		t.Fatal(err)
	}
	if partition(t, c, "t", 0).Leader != -1 {
		t.Error("an out-of-sync replica became leader without unclean election")
	}
	if err := c.RestartBroker(st.Leader); err != nil {
		t.Fatal(err)
	}
	if l := partition(t, c, "t", 0).Leader; l != st.Leader {
		t.Errorf("leader %d after the last in-sync replica returned, want %d", l, st.Leader)
	}
	p := c.Client(t, kgo.DefaultProduceTopic("t"))
	if err := p.ProduceSync(ctx, kgo.StringRecord("back")).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

func TestFaultVerbBadInput(t *testing.T) {
	t.Parallel()
	c := harness.Start(t, fake.Brokers(2), fake.Topic("t", 1, 2))
	check := func(what string, err error, want string) {
		t.Helper()
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want it to contain %q", what, err, want)
		}
	}
	_, err := c.FailLeader("nope", 0)
	check("FailLeader unknown topic", err, `unknown topic "nope"`)
	_, err = c.FailLeader("t", 5)
	check("FailLeader unknown partition", err, `topic "t" has no partition 5`)
	check("PauseReplication unknown", c.PauseReplication("t", -1), "no partition -1")
	check("ResumeReplication not paused", c.ResumeReplication("t", 0), "already resumed")
	check("KillBroker unknown", c.KillBroker(9), "KillBroker(9): unknown broker (brokers are [0 1])")
	check("RestartBroker running", c.RestartBroker(0), "RestartBroker(0): the broker is running")
	check("PauseFollower unknown", c.PauseFollower(7), "PauseFollower(7): unknown broker (brokers are [0 1])")
	if err := c.KillBroker(1); err != nil {
		t.Fatal(err)
	}
	check("KillBroker twice", c.KillBroker(1), "KillBroker(1): the broker is already down")
	check("KillBroker last", c.KillBroker(0), "KillBroker(0): it is the last live broker")
	_, err = c.AddFault(fake.Latency(-time.Second, 0))
	check("negative latency", err, "fake.Latency(-1s, 0s): durations must not be negative")
	_, err = c.AddFault(fake.DropResponses(1.5))
	check("bad probability", err, "fake.DropResponses(1.5): probability must be in (0, 1]")
	_, err = c.AddFault(fake.Latency(time.Millisecond, 0), fake.OnBrokers(5))
	check("fault on unknown broker", err, "fake.OnBrokers: unknown broker 5")
	_, err = c.AddFault(fake.NetFault{})
	check("zero fault", err, "a zero NetFault")
	h, err := c.AddFault(fake.Latency(time.Millisecond, 0))
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Remove(); err != nil {
		t.Fatal(err)
	}
	check("remove twice", h.Remove(), "was already removed")
}

func TestTxnMarkerWaitsForTail(t *testing.T) {
	t.Parallel()
	c := harness.Start(t, fake.Topic("t", 1, 3), fake.ReplicaLagMax(10*time.Second))
	ctx := ctxT(t, 15*time.Second)
	tx := c.Client(t, kgo.DefaultProduceTopic("t"), kgo.TransactionalID("tx"))
	plain := c.Client(t, kgo.DefaultProduceTopic("t"), kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite())
	if err := tx.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := tx.ProduceSync(ctx, kgo.StringRecord("in-txn")).FirstErr(); err != nil {
		t.Fatal(err)
	}
	if err := c.PauseReplication("t", 0); err != nil {
		t.Fatal(err)
	}
	r := kgo.StringRecord("plain")
	if err := plain.ProduceSync(ctx, r).FirstErr(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- tx.EndTransaction(ctx, kgo.TryCommit) }()
	if err := c.ResumeReplication("t", 0); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	cl := c.Client(t, kgo.ConsumeTopics("t"), kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	got := map[string]int64{}
	for len(got) < 2 {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read_committed consumer got %v", got)
		}
		fs.EachRecord(func(rec *kgo.Record) { got[string(rec.Value)] = rec.Offset })
	}
	if got["in-txn"] != 0 || got["plain"] != r.Offset || r.Offset != 1 {
		t.Errorf("offsets %v (plain acknowledged at %d): the commit marker must come after the tail", got, r.Offset)
	}
	for _, e := range c.Journal() {
		if strings.Contains(e.Detail, "leader had assigned") {
			t.Errorf("offsets diverged: %v", e)
		}
	}
}

func TestTransactionAcrossFailover(t *testing.T) {
	t.Parallel()
	c := harness.Start(t, fake.Topic("t", 1, 3, map[string]string{"min.insync.replicas": "2"}), fake.ReplicaLagMax(10*time.Second))
	ctx := ctxT(t, 20*time.Second)
	p := c.Client(t, kgo.DefaultProduceTopic("t"), kgo.TransactionalID("tx"))
	if err := p.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := p.ProduceSync(ctx, kgo.StringRecord("before")).FirstErr(); err != nil {
		t.Fatal(err)
	}
	if err := c.PauseReplication("t", 0); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- p.ProduceSync(ctx, kgo.StringRecord("during")).FirstErr() }()
	waitFor(t, ctx, "the write in the leader's tail", func() bool {
		st := partition(t, c, "t", 0)
		return st.LogEndOffset > st.HighWatermark
	})
	if _, err := c.FailLeader("t", 0); err != nil {
		t.Fatal(err)
	}
	if err := c.ResumeReplication("t", 0); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("transactional write across the failover: %v", err)
	}
	if err := p.EndTransaction(ctx, kgo.TryCommit); err != nil {
		t.Fatal(err)
	}
	cl := c.Client(t, kgo.ConsumeTopics("t"), kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	var got []string
	for len(got) < 2 {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read_committed got %v", got)
		}
		fs.EachRecord(func(r *kgo.Record) { got = append(got, string(r.Value)) })
	}
	if !slices.Equal(got, []string{"before", "during"}) {
		t.Errorf("read_committed consumer got %v, want [before during] once each", got)
	}
}

func TestCloseReleasesBlockedRequests(t *testing.T) {
	t.Parallel()
	c, err := fake.New(fake.Topic("t", 1, 3), fake.ReplicaLagMax(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	p, err := kgo.NewClient(kgo.SeedBrokers(c.Addrs()...), kgo.DefaultProduceTopic("t"))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ctx := ctxT(t, 10*time.Second)
	if err := p.ProduceSync(ctx, kgo.StringRecord("x")).FirstErr(); err != nil {
		t.Fatal(err)
	}
	if err := c.PauseReplication("t", 0); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- p.ProduceSync(ctx, kgo.StringRecord("waiting")).FirstErr() }()
	if _, err := c.WaitPartition(ctx, "t", 0, func(st fake.PartitionState) bool { return st.LogEndOffset > st.HighWatermark }); err != nil {
		t.Fatal(err)
	}
	// Close returns although a request is held (goleak checks that nothing
	// of the cluster is left running), and the write never succeeds.
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	p.Close() // the client gives up on what it could not deliver
	select {
	case err := <-done:
		if err == nil {
			t.Error("a write waiting for followers succeeded after Close")
		}
	case <-ctx.Done():
		t.Fatal("the blocked acks=all write never returned")
	}
}

func TestJournalJSONLines(t *testing.T) {
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
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	journal := c.Journal()
	// 3 brokers up, the topic's leader and creation, the append and its
	// high watermark: at least 7 events, one line each.
	if len(lines) != len(journal) || len(lines) < 7 {
		t.Fatalf("%d JSON lines for %d events, want one per event and at least 7", len(lines), len(journal))
	}
	var last int64
	sawAppend := false
	for i, l := range lines {
		var e fake.Event
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		if e.Seq <= last {
			t.Fatalf("sequence numbers not increasing: %d after %d", e.Seq, last)
		}
		last = e.Seq
		// Each line decodes to its event, zeros and all.
		if d := cmp.Diff(journal[i], e); d != "" {
			t.Errorf("line %d does not decode to the journal's event (-want +got):\n%s", i, d)
		}
		// The zeros that mean something are written (the first append is
		// at partition 0, offset 0), the fields that do not apply are not.
		var raw map[string]any
		if err := json.Unmarshal([]byte(l), &raw); err != nil {
			t.Fatal(err)
		}
		switch e.Kind {
		case fake.EventAppend:
			sawAppend = true
			for _, k := range []string{"broker", "partition", "offset", "last_offset"} {
				if _, ok := raw[k]; !ok {
					t.Errorf("the append's JSON has no %q: %s", k, l)
				}
			}
		case fake.EventTopicCreated:
			if _, ok := raw["offset"]; ok {
				t.Errorf("a topic-created event carries an offset: %s", l)
			}
		}
	}
	if !sawAppend {
		t.Errorf("no append in:\n%s", b.String())
	}
}

func TestFetchJournalKnowsIsolation(t *testing.T) {
	t.Parallel()
	c := harness.Start(t, fake.Topic("t", 1, 1))
	ctx := ctxT(t, 10*time.Second)
	p := c.Client(t, kgo.DefaultProduceTopic("t"))
	if err := p.ProduceSync(ctx, kgo.StringRecord("x")).FirstErr(); err != nil {
		t.Fatal(err)
	}
	for _, level := range []kgo.IsolationLevel{kgo.ReadCommitted(), kgo.ReadUncommitted()} {
		cl := c.Client(t, kgo.ConsumeTopics("t"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchIsolationLevel(level), kgo.ClientID(fmt.Sprint("reader-", level == kgo.ReadCommitted())))
		consumed := 0
		for consumed == 0 {
			fs := cl.PollFetches(ctx)
			if ctx.Err() != nil {
				t.Fatal(ctx.Err())
			}
			consumed += fs.NumRecords()
		}
	}
	seen := map[string]bool{}
	for _, e := range c.Journal() {
		if e.Kind == fake.EventFetch {
			seen[e.Client] = e.ReadCommitted
		}
	}
	if !seen["reader-true"] || seen["reader-false"] {
		t.Errorf("fetch isolation in the journal: %v", seen)
	}
}
