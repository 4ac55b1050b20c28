package fake_test

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
	"github.com/seed73168108/kafkaemu/internal/wiretest"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// events is the journal's events of kind.
func events(c *harness.Cluster, kind fake.EventKind) []fake.Event {
	var out []fake.Event
	for _, e := range c.Journal() {
		if e.Kind == kind {
			out = append(out, e)
		}
	}
	return out
}

// rawProduce sends one batch of values to broker through cl's connection
// to it, as a client with stale metadata does, and returns the broker's
// answer for the partition.
func rawProduce(t *testing.T, ctx context.Context, cl *kgo.Client, broker int32, topic string, acks int16, values ...string) kmsg.ProduceResponseTopicPartition {
	t.Helper()
	md, err := kadm.NewClient(cl).Metadata(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	req := kmsg.NewPtrProduceRequest()
	req.Acks = acks
	req.TimeoutMillis = 1000
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic, rt.TopicID = topic, md.Topics[topic].ID
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Records = wiretest.RawBatch(values...)
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, cl.Broker(int(broker)))
	if err != nil {
		t.Fatal(err)
	}
	return resp.Topics[0].Partitions[0]
}

// brokerMetadata is topic/0 as broker answers Metadata.
func brokerMetadata(t *testing.T, ctx context.Context, cl *kgo.Client, broker int32, topic string) kmsg.MetadataResponseTopicPartition {
	t.Helper()
	req := kmsg.NewPtrMetadataRequest()
	rt := kmsg.NewMetadataRequestTopic()
	rt.Topic = kmsg.StringPtr(topic)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, cl.Broker(int(broker)))
	if err != nil {
		t.Fatal(err)
	}
	return resp.Topics[0].Partitions[0]
}

// A leader cut off from the controller and its followers, with clients
// still reaching it: it keeps acknowledging acks=1 writes it alone holds,
// its high watermark and ISR stay put, and after the broker session
// timeout the controller fences it and elects a follower (next epoch).
// The fenced broker keeps its stale view and keeps acknowledging; on heal
// it truncates to where its epoch ended on the new leader (KIP-101) and
// rejoins the ISR. The lost writes are found by the client-side checker
// and by BrokerHistory at their exact offsets.
func TestIsolatedLeaderSplitBrainAcks1(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := harness.Start(t, fake.VirtualNetwork(), fake.Seed(11), fake.Topic("orders", 1, 3))
		ctx := t.Context()
		p := c.Client(t, kgo.DefaultProduceTopic("orders"), kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite())
		produce := func(prefix string, n int) []*kgo.Record {
			t.Helper()
			var rs []*kgo.Record
			for i := range n {
				r, err := p.ProduceSync(ctx, kgo.StringRecord(fmt.Sprintf("%s-%d", prefix, i))).First()
				if err != nil {
					t.Fatalf("producing %s-%d: %v", prefix, i, err)
				}
				rs = append(rs, r)
			}
			return rs
		}
		produce("before", 10)
		st := partition(t, c, "orders", 0)
		old := st.Leader
		start := time.Now()
		h, err := c.AddFault(fake.Isolate(old))
		if err != nil {
			t.Fatal(err)
		}
		during := produce("during", 5)
		for i, r := range during {
			if r.Offset != int64(10+i) {
				t.Fatalf("during-%d acknowledged at offset %d, want %d", i, r.Offset, 10+i)
			}
		}
		time.Sleep(2 * time.Second) // ten times ReplicaLagMax
		now := partition(t, c, "orders", 0)
		if now.Leader != old || now.HighWatermark != 10 || now.LogEndOffset != 15 || !slices.Equal(now.ISR, st.ISR) {
			t.Fatalf("isolated for 2s: %+v, want leader %d, high watermark 10, log end 15, ISR %v (it cannot shrink without the controller)", now, old, st.ISR)
		}

		fenced, err := c.WaitPartition(ctx, "orders", 0, func(s fake.PartitionState) bool { return s.Leader != old })
		if err != nil {
			t.Fatal(err)
		}
		if took := time.Since(start); took != fake.DefaultBrokerSessionTimeout {
			t.Errorf("fenced after %v, want the broker session timeout %v", took, fake.DefaultBrokerSessionTimeout)
		}
		if fenced.LeaderEpoch != st.LeaderEpoch+1 || slices.Contains(fenced.ISR, old) || fenced.HighWatermark != 10 {
			t.Errorf("after the fence: %+v, want epoch %d, ISR without %d, high watermark 10", fenced, st.LeaderEpoch+1, old)
		}
		fe := events(c, fake.EventBrokerFenced)
		if len(fe) != 1 || fe[0].Broker != old {
			t.Fatalf("broker-fenced events %v, want one for broker %d", fe, old)
		}
		if b := c.Brokers()[old]; !b.Isolated || !b.Fenced || !b.Up {
			t.Errorf("broker %d after the fence: %+v, want up, isolated and fenced", old, b)
		}

		// The fenced broker still answers its own view and acknowledges.
		md := brokerMetadata(t, ctx, p, old, "orders")
		if md.Leader != old || md.LeaderEpoch != st.LeaderEpoch {
			t.Errorf("the fenced broker's metadata: leader %d epoch %d, want its stale view (leader %d epoch %d)", md.Leader, md.LeaderEpoch, old, st.LeaderEpoch)
		}
		md = brokerMetadata(t, ctx, p, fenced.Leader, "orders")
		if md.Leader != fenced.Leader || md.LeaderEpoch != fenced.LeaderEpoch {
			t.Errorf("the new leader's metadata: leader %d epoch %d, want leader %d epoch %d", md.Leader, md.LeaderEpoch, fenced.Leader, fenced.LeaderEpoch)
		}
		if r := rawProduce(t, ctx, p, old, "orders", 1, "stale-0", "stale-1"); r.ErrorCode != 0 || r.BaseOffset != 15 {
			t.Errorf("acks=1 to the fenced broker: %v at %d, want acknowledged at 15", kerr.ErrorForCode(r.ErrorCode), r.BaseOffset)
		}
		if r := rawProduce(t, ctx, p, fenced.Leader, "orders", 1, "new-0"); r.ErrorCode != 0 || r.BaseOffset != 10 {
			t.Errorf("acks=1 to the new leader: %v at %d, want acknowledged at 10", kerr.ErrorForCode(r.ErrorCode), r.BaseOffset)
		}

		if err := h.Remove(); err != nil {
			t.Fatal(err)
		}
		if err := h.Remove(); err == nil || !strings.Contains(err.Error(), "already removed") {
			t.Errorf("healing twice: %v, want an error saying it was already removed", err)
		}
		healed, err := c.WaitPartition(ctx, "orders", 0, func(s fake.PartitionState) bool { return len(s.ISR) == 3 })
		if err != nil {
			t.Fatal(err)
		}
		if healed.Leader != fenced.Leader {
			t.Errorf("after healing, leader %d, want %d to keep leading", healed.Leader, fenced.Leader)
		}
		tr := events(c, fake.EventTruncate)
		if len(tr) != 1 || tr[0].Broker != old || tr[0].Offset != 10 || tr[0].LastOffset != 16 || !strings.Contains(tr[0].Detail, "KIP-101") {
			t.Fatalf("truncate events %v, want one on broker %d for offsets 10..16 (KIP-101)", tr, old)
		}
		if un := events(c, fake.EventUnfence); len(un) != 1 || un[0].Broker != old {
			t.Errorf("unfence events %v, want one for broker %d", un, old)
		}
		produce("after", 3)

		// Consume everything, then judge.
		cons := c.Client(t, kgo.ConsumeTopics("orders"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
		end := partition(t, c, "orders", 0).HighWatermark
		for n := int64(0); n < end; {
			n += int64(cons.PollFetches(ctx).NumRecords())
		}
		r := assertions.Check(c.History())
		var lost []int64
		for _, f := range r.Findings[assertions.LostWrite] {
			lost = append(lost, f.Offset)
		}
		if !slices.Equal(lost, []int64{10, 11, 12, 13, 14}) {
			t.Errorf("client-side lost writes at offsets %v, want 10..14 (the five acknowledged while isolated):\n%s", lost, r)
		}
		bh := assertions.Check(c.BrokerHistory(t))
		lost = nil
		for _, f := range bh.Findings[assertions.LostWrite] {
			lost = append(lost, f.Offset)
		}
		if !slices.Equal(lost, []int64{10, 11, 12, 13, 14, 15, 16}) {
			t.Errorf("broker-side lost writes at offsets %v, want 10..16 (five from kgo, two raw to the fenced broker):\n%s", lost, bh)
		}
	})
}
