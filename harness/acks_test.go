package harness_test

import (
	"context"
	"fmt"
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

// These tests pin what a real kgo producer is told about acks=all under
// paused replication, with expectations written as literal offsets and
// error codes (Kafka's documented behaviour), not derived from the
// emulator's own rules.

// waitJournal waits, on a condition, until ok accepts the journal or done
// is closed; it reports which.
func waitJournal(t *testing.T, ctx context.Context, c *harness.Cluster, done <-chan struct{}, ok func([]fake.Event) bool) bool {
	t.Helper()
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for {
		if ok(c.Journal()) {
			return true
		}
		select {
		case <-done:
			return false
		case <-ctx.Done():
			t.Fatalf("waiting for a journal event: %v", ctx.Err())
		case <-tick.C:
		}
	}
}

// An acks=all write to a partition whose followers stopped copying is
// not acknowledged while they are stopped (its request times out, and the
// retry waits again); once replication resumes it is acknowledged at its
// offset, 1.
func TestAcksAllWaitsForPausedFollowers(t *testing.T) {
	t.Parallel()
	// Followers stay in the ISR for a minute: the write can only wait.
	c := harness.Start(t, fake.ReplicaLagMax(time.Minute), fake.Topic("orders", 1, 3, map[string]string{"min.insync.replicas": "2"}))
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	p := c.Client(t, kgo.DefaultProduceTopic("orders"), kgo.ProduceRequestTimeout(200*time.Millisecond))
	if r, err := p.ProduceSync(ctx, kgo.StringRecord("o-0")).First(); err != nil || r.Offset != 0 {
		t.Fatalf("first write: offset %d, %v; want offset 0", r.Offset, err)
	}
	if err := c.PauseReplication("orders", 0); err != nil {
		t.Fatal(err)
	}
	acked := make(chan struct{})
	var offset int64 = -1
	var perr error
	p.Produce(ctx, kgo.StringRecord("o-1"), func(r *kgo.Record, err error) {
		offset, perr = r.Offset, err
		close(acked)
	})
	// The leader answers REQUEST_TIMED_OUT when the request's 200ms run
	// out, and again to the producer's retry; an answer before that is an
	// acknowledgement of a write nothing replicated.
	timedOut := waitJournal(t, ctx, c, acked, func(evs []fake.Event) bool {
		timeouts := 0
		for _, ev := range evs {
			if ev.Kind == fake.EventProduceRejected && ev.Topic == "orders" && ev.Error == kerr.RequestTimedOut.Message {
				timeouts++
			}
		}
		return timeouts >= 2
	})
	if !timedOut {
		t.Fatalf("acks=all write answered while replication was paused: offset %d, err %v", offset, perr)
	}
	select {
	case <-acked:
		t.Fatalf("acks=all write answered while replication was paused: offset %d, err %v", offset, perr)
	default:
	}
	if err := c.ResumeReplication("orders", 0); err != nil {
		t.Fatal(err)
	}
	select {
	case <-acked:
	case <-ctx.Done():
		t.Fatal("acks=all write never acknowledged after replication resumed")
	}
	if perr != nil || offset != 1 {
		t.Fatalf("after resume: offset %d, err %v; want offset 1, no error", offset, perr)
	}
	st, err := c.Partition("orders", 0)
	if err != nil {
		t.Fatal(err)
	}
	if st.HighWatermark != 2 {
		t.Errorf("high watermark %d, want 2 (o-0, o-1, the retry deduplicated)", st.HighWatermark)
	}
	// The retry was the same batch, not a second write: the leader
	// appended o-1 once, at offset 1.
	var appends []string
	for _, ev := range c.Journal() {
		if ev.Kind == fake.EventAppend && ev.Detail == "un-replicated" {
			appends = append(appends, fmt.Sprintf("%d..%d", ev.Offset, ev.LastOffset))
		}
	}
	if len(appends) != 1 || appends[0] != "1..1" {
		t.Errorf("un-replicated appends at %v, want one at 1..1 (a retry of a batch in the tail is that batch)", appends)
	}
}

// A waiting acks=all write whose followers then fall out of the ISR,
// leaving fewer in-sync replicas than min.insync.replicas, is appended
// but answered NOT_ENOUGH_REPLICAS_AFTER_APPEND at its offset; the next
// write is refused outright with NOT_ENOUGH_REPLICAS and not appended.
// (kgo retries both and reports only that its retries ran out, so the
// produce requests are sent through the client by hand.)
func TestNotEnoughReplicasAfterAppend(t *testing.T) {
	t.Parallel()
	c := harness.Start(t, fake.ReplicaLagMax(100*time.Millisecond), fake.Topic("orders", 1, 3, map[string]string{"min.insync.replicas": "2"}))
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	p := c.Client(t, kgo.DefaultProduceTopic("orders"))
	if r, err := p.ProduceSync(ctx, kgo.StringRecord("o-0")).First(); err != nil || r.Offset != 0 {
		t.Fatalf("first write: offset %d, %v; want offset 0", r.Offset, err)
	}
	md, err := kadm.NewClient(p).Metadata(ctx, "orders")
	if err != nil {
		t.Fatal(err)
	}
	st, err := c.Partition("orders", 0)
	if err != nil {
		t.Fatal(err)
	}
	produce := func(value string) kmsg.ProduceResponseTopicPartition {
		t.Helper()
		req := kmsg.NewPtrProduceRequest()
		req.Acks = -1
		req.TimeoutMillis = 10_000
		rt := kmsg.NewProduceRequestTopic()
		rt.Topic, rt.TopicID = "orders", md.Topics["orders"].ID
		rp := kmsg.NewProduceRequestTopicPartition()
		rp.Records = wiretest.RawBatch(value)
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		resp, err := req.RequestWith(ctx, p.Broker(int(st.Leader)))
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
			t.Fatalf("produce response %+v, want one partition", resp.Topics)
		}
		return resp.Topics[0].Partitions[0]
	}
	if err := c.PauseReplication("orders", 0); err != nil {
		t.Fatal(err)
	}
	if r := produce("o-1"); r.ErrorCode != kerr.NotEnoughReplicasAfterAppend.Code || r.BaseOffset != 1 {
		t.Fatalf("write waiting while the ISR shrank to the leader: %v at offset %d, want NOT_ENOUGH_REPLICAS_AFTER_APPEND at 1",
			kerr.ErrorForCode(r.ErrorCode), r.BaseOffset)
	}
	if r := produce("o-2"); r.ErrorCode != kerr.NotEnoughReplicas.Code || r.BaseOffset != -1 {
		t.Fatalf("write to an ISR of one with min.insync.replicas=2: %v at offset %d, want NOT_ENOUGH_REPLICAS at -1",
			kerr.ErrorForCode(r.ErrorCode), r.BaseOffset)
	}
	if st, err = c.Partition("orders", 0); err != nil {
		t.Fatal(err)
	}
	if st.HighWatermark != 2 || len(st.ISR) != 1 {
		t.Errorf("high watermark %d, ISR %v; want 2 (o-0 and the appended o-1, not o-2) and the leader alone", st.HighWatermark, st.ISR)
	}
}
