package fake_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/seed73168108/kafkaemu/fake"
	"github.com/seed73168108/kafkaemu/harness"
	"github.com/seed73168108/kafkaemu/internal/wiretest"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// partitionEvents is the journal's events of kind for topic/partition.
func partitionEvents(c *harness.Cluster, kind fake.EventKind, topic string, part int32) []fake.Event {
	var out []fake.Event
	for _, e := range c.Journal() {
		if e.Kind == kind && e.Topic == topic && e.Partition == part {
			out = append(out, e)
		}
	}
	return out
}

// An acks=all write waiting on a paused partition whose followers stay in
// the ISR (ReplicaLagMax is long) is answered REQUEST_TIMED_OUT once the
// request's timeout passes; the write stays in the leader's log and is
// replicated when replication resumes, as in Kafka.
func TestAcksAllTimesOutOnPausedPartition(t *testing.T) {
	t.Parallel()
	c := harness.Start(t, fake.Topic("t", 1, 3, map[string]string{"min.insync.replicas": "2"}), fake.ReplicaLagMax(time.Minute))
	ctx := ctxT(t, 15*time.Second)
	const timeout = 150 * time.Millisecond
	p := c.Client(t, kgo.DefaultProduceTopic("t"), kgo.ProduceRequestTimeout(timeout), kgo.RecordRetries(0), kgo.DisableIdempotentWrite())
	if err := p.ProduceSync(ctx, kgo.StringRecord("before")).FirstErr(); err != nil {
		t.Fatal(err)
	}
	st := partition(t, c, "t", 0)
	if err := c.PauseReplication("t", 0); err != nil {
		t.Fatal(err)
	}

	// The broker's answer, read through the client's connection to the leader.
	req := kmsg.NewPtrProduceRequest()
	req.Acks = -1
	req.TimeoutMillis = int32(timeout.Milliseconds())
	md, err := kadm.NewClient(p).Metadata(ctx, "t")
	if err != nil {
		t.Fatal(err)
	}
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic, rt.TopicID = "t", md.Topics["t"].ID // produce v13 names topics by id
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Partition = 0
	rp.Records = wiretest.RawBatch("raw")
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	start := time.Now()
	resp, err := req.RequestWith(ctx, p.Broker(int(st.Leader)))
	if err != nil {
		t.Fatal(err)
	}
	elapsed := time.Since(start)
	if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
		t.Fatalf("produce response %+v, want one partition", resp.Topics)
	}
	if pr := resp.Topics[0].Partitions[0]; pr.ErrorCode != kerr.RequestTimedOut.Code || pr.BaseOffset != -1 {
		t.Errorf("acks=all on a paused partition: %v at base offset %d, want REQUEST_TIMED_OUT at -1", kerr.ErrorForCode(pr.ErrorCode), pr.BaseOffset)
	}
	if elapsed < timeout {
		t.Errorf("REQUEST_TIMED_OUT after %v, before the %v request timeout", elapsed, timeout)
	}

	// A kgo producer sees the same answer; kgo treats it as "maybe written"
	// and, with no retries left, fails the record with ErrRecordRetries.
	start = time.Now()
	err = p.ProduceSync(ctx, kgo.StringRecord("kgo")).FirstErr()
	if !errors.Is(err, kgo.ErrRecordRetries) {
		t.Errorf("kgo acks=all write with RecordRetries(0) on a paused partition: %v, want kgo.ErrRecordRetries", err)
	}
	if d := time.Since(start); d < timeout {
		t.Errorf("kgo write failed after %v, before the %v request timeout", d, timeout)
	}
	rej := partitionEvents(c, fake.EventProduceRejected, "t", 0)
	if len(rej) != 2 {
		t.Fatalf("journal has %d produce rejections, want 2 (raw and kgo):\n%s", len(rej), c.JournalTail(20))
	}
	for i, e := range rej {
		if e.Error != kerr.RequestTimedOut.Message || e.Acks != -1 || e.Offset != int64(i+1) {
			t.Errorf("rejection %d: %v, want REQUEST_TIMED_OUT for acks=all at offset %d", i, e, i+1)
		}
	}

	// Nothing was committed, and the followers never left the ISR.
	now := partition(t, c, "t", 0)
	if now.HighWatermark != 1 || now.LogEndOffset != 3 || !slices.Equal(now.ISR, st.ISR) || now.Leader != st.Leader {
		t.Errorf("after the timeouts: %+v, want high watermark 1, log end 3, ISR %v, leader %d", now, st.ISR, st.Leader)
	}
	if err := c.ResumeReplication("t", 0); err != nil {
		t.Fatal(err)
	}
	got := values(consumeAll(t, ctx, c, "t", 3))
	if want := []string{"before", "raw", "kgo"}; !slices.Equal(got, want) {
		t.Errorf("after resuming: log %v, want %v (timed-out writes stay in the leader's log)", got, want)
	}
}

// An acks=all write waiting for followers fails with NOT_LEADER_OR_FOLLOWER
// when the leader dies; a client that does not retry sees that error, one
// that retries succeeds on the new leader, at the offset the dropped tail
// had.
func TestAcksAllWaitingWhenLeaderDies(t *testing.T) {
	t.Parallel()
	c := harness.Start(t, fake.Topic("t", 1, 3, map[string]string{"min.insync.replicas": "2"}), fake.ReplicaLagMax(time.Minute))
	ctx := ctxT(t, 15*time.Second)
	once := c.Client(t, kgo.ClientID("no-retry"), kgo.DefaultProduceTopic("t"), kgo.RecordRetries(0))
	retry := c.Client(t, kgo.ClientID("retrying"), kgo.DefaultProduceTopic("t"))
	for _, p := range []*kgo.Client{once, retry} {
		if err := p.ProduceSync(ctx, kgo.StringRecord("warm-up")).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	old := partition(t, c, "t", 0).Leader
	if err := c.PauseReplication("t", 0); err != nil {
		t.Fatal(err)
	}
	onceErr, retryErr := make(chan error, 1), make(chan error, 1)
	retried := kgo.StringRecord("retried")
	go func() { onceErr <- once.ProduceSync(ctx, kgo.StringRecord("failed")).FirstErr() }()
	go func() { retryErr <- retry.ProduceSync(ctx, retried).FirstErr() }()
	waitFor(t, ctx, "both acks=all writes waiting in the leader's tail", func() bool {
		st := partition(t, c, "t", 0)
		return st.HighWatermark == 2 && st.LogEndOffset == 4
	})
	next, err := c.FailLeader("t", 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := <-onceErr; !errors.Is(err, kerr.NotLeaderForPartition) {
		t.Errorf("waiting acks=all write without retries, leader failed: %v, want NOT_LEADER_OR_FOLLOWER", err)
	}
	if err := c.ResumeReplication("t", 0); err != nil {
		t.Fatal(err)
	}
	if err := <-retryErr; err != nil {
		t.Fatalf("waiting acks=all write with retries, leader failed: %v", err)
	}
	if retried.Offset != 2 {
		t.Errorf("the retried write landed at offset %d, want 2 (the dropped tail's first offset)", retried.Offset)
	}
	onNew := false
	for _, e := range c.Journal() {
		if e.Kind == fake.EventAppend && e.Client == "retrying" && e.Offset <= 2 && e.LastOffset >= 2 {
			onNew = onNew || e.Broker == next
		}
	}
	if !onNew {
		t.Errorf("no append of the retried write on the new leader %d (old %d):\n%s", next, old, c.JournalTail(20))
	}
	got := values(consumeAll(t, ctx, c, "t", 3))
	if want := []string{"warm-up", "warm-up", "retried"}; !slices.Equal(got, want) {
		t.Errorf("log %v, want %v", got, want)
	}
	if st := partition(t, c, "t", 0); st.HighWatermark != 3 {
		t.Errorf("high watermark %d, want 3: the failed write must not be in the log", st.HighWatermark)
	}
}

// With unclean.leader.election.enable=true, failing the only in-sync
// replica elects an out-of-sync one instead of refusing (as the same
// topology does with the default false).
func TestUncleanElectionOfOutOfSyncReplica(t *testing.T) {
	t.Parallel()
	c := harness.Start(t,
		fake.Topic("unclean", 1, 3, map[string]string{"unclean.leader.election.enable": "true"}),
		fake.Topic("clean", 1, 3),
		fake.ReplicaLagMax(20*time.Millisecond))
	ctx := ctxT(t, 15*time.Second)
	p := c.Client(t, kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite())
	for _, topic := range []string{"unclean", "clean"} {
		if err := p.ProduceSync(ctx, &kgo.Record{Topic: topic, Value: []byte("in-sync")}).FirstErr(); err != nil {
			t.Fatal(err)
		}
		if err := c.PauseReplication(topic, 0); err != nil {
			t.Fatal(err)
		}
		if err := p.ProduceSync(ctx, &kgo.Record{Topic: topic, Value: []byte("leader-only")}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	before := map[string]fake.PartitionState{}
	for _, topic := range []string{"unclean", "clean"} {
		waitFor(t, ctx, topic+": the ISR shrunk to the leader", func() bool {
			st := partition(t, c, topic, 0)
			before[topic] = st
			return slices.Equal(st.ISR, []int32{st.Leader})
		})
	}

	// Default: no in-sync replica can take over, so FailLeader refuses.
	cl := before["clean"]
	if _, err := c.FailLeader("clean", 0); err == nil || !strings.Contains(err.Error(), "no in-sync replica can take over") {
		t.Errorf("FailLeader with ISR [%d] and unclean election off: %v, want a refusal", cl.Leader, err)
	}
	if st := partition(t, c, "clean", 0); st.Leader != cl.Leader || st.LeaderEpoch != cl.LeaderEpoch {
		t.Errorf("clean topic after a refused FailLeader: %+v, want leader %d epoch %d", st, cl.Leader, cl.LeaderEpoch)
	}

	// Unclean: the first live out-of-sync replica in assignment order leads.
	un := before["unclean"]
	next, err := c.FailLeader("unclean", 0)
	if err != nil {
		t.Fatalf("FailLeader with unclean election: %v", err)
	}
	want := un.Replicas[0]
	if want == un.Leader {
		want = un.Replicas[1]
	}
	if next != want || slices.Contains(un.ISR, next) {
		t.Errorf("unclean election chose %d, want the out-of-sync replica %d (replicas %v, ISR %v)", next, want, un.Replicas, un.ISR)
	}
	st := partition(t, c, "unclean", 0)
	if st.Leader != next || st.LeaderEpoch != un.LeaderEpoch+1 || !slices.Equal(st.ISR, []int32{next}) {
		t.Errorf("after unclean election: %+v, want leader %d, epoch %d, ISR [%d]", st, next, un.LeaderEpoch+1, next)
	}
	var change *fake.Event
	for _, e := range c.Journal() {
		if e.Kind == fake.EventLeaderChange && e.Topic == "unclean" && e.Leader == next {
			change = &e
		}
	}
	if change == nil || change.Epoch != st.LeaderEpoch || !strings.Contains(change.Detail, "unclean election of an out-of-sync replica") {
		t.Errorf("journal leader change %v, want an unclean election of %d at epoch %d", change, next, st.LeaderEpoch)
	}
	adm := kadm.NewClient(c.Client(t))
	md, err := adm.Metadata(ctx, "unclean")
	if err != nil {
		t.Fatal(err)
	}
	if pd := md.Topics["unclean"].Partitions[0]; pd.Err != nil || pd.Leader != next || pd.LeaderEpoch != st.LeaderEpoch || !slices.Equal(pd.ISR, []int32{next}) {
		t.Errorf("metadata after unclean election: leader %d epoch %d isr %v err %v; want %d, %d, [%d]", pd.Leader, pd.LeaderEpoch, pd.ISR, pd.Err, next, st.LeaderEpoch, next)
	}
	// The partition stays online: writes go to the new leader.
	if err := p.ProduceSync(ctx, &kgo.Record{Topic: "unclean", Value: []byte("after")}).FirstErr(); err != nil {
		t.Errorf("write after unclean election: %v", err)
	}
}
