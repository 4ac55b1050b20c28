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

// rawProduce sends one batch of values to partition 0 of topic on broker
// through cl's connection to it, as a client with stale metadata does,
// and returns the broker's answer. The request has cl's acks (kgo sets
// them on every produce request it sends).
func rawProduce(t *testing.T, ctx context.Context, cl *kgo.Client, broker int32, topic string, values ...string) kmsg.ProduceResponseTopicPartition {
	t.Helper()
	md, err := kadm.NewClient(cl).Metadata(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	req := kmsg.NewPtrProduceRequest()
	req.Acks = 1
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
		ctx := bubbleCtx(t)
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

		fenced, err := c.WaitPartition(ctx, "orders", 0, func(s fake.PartitionState) bool { return s.Leader != old && s.LeaderEpoch > st.LeaderEpoch })
		if err != nil {
			t.Fatal(err)
		}
		if took := time.Since(start); took < fake.DefaultBrokerSessionTimeout || took > fake.DefaultBrokerSessionTimeout+10*time.Millisecond {
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
		if r := rawProduce(t, ctx, p, old, "orders", "stale-0", "stale-1"); r.ErrorCode != 0 || r.BaseOffset != 15 {
			t.Errorf("acks=1 to the fenced broker: %v at %d, want acknowledged at 15", kerr.ErrorForCode(r.ErrorCode), r.BaseOffset)
		}
		if r := rawProduce(t, ctx, p, fenced.Leader, "orders", "new-0"); r.ErrorCode != 0 || r.BaseOffset != 10 {
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

// acks=all with min.insync.replicas=2 loses nothing to the same split
// brain: the isolated leader cannot commit (its followers cannot copy and
// it cannot shrink the ISR), so it answers REQUEST_TIMED_OUT; the
// idempotent producer retries until it finds the new leader, where each
// write lands once. What the isolated leader held (the retried batches)
// is truncated when it returns, and nothing acknowledged is lost.
func TestIsolatedLeaderAcksAllLosesNothing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := harness.Start(t, fake.VirtualNetwork(), fake.Seed(12), fake.Topic("orders", 1, 3, map[string]string{"min.insync.replicas": "2"}))
		ctx := bubbleCtx(t)
		p := c.Client(t, kgo.DefaultProduceTopic("orders"), kgo.ProduceRequestTimeout(time.Second))
		var acked []time.Time
		produce := func(prefix string, n int) {
			t.Helper()
			for i := range n {
				p.Produce(ctx, kgo.StringRecord(fmt.Sprintf("%s-%d", prefix, i)), func(r *kgo.Record, err error) {
					if err != nil {
						t.Errorf("producing %s: %v", r.Value, err)
					}
					acked = append(acked, time.Now())
				})
			}
			if err := p.Flush(ctx); err != nil {
				t.Fatal(err)
			}
		}
		produce("before", 20)
		old := partition(t, c, "orders", 0).Leader
		start := time.Now()
		h, err := c.AddFault(fake.Isolate(old))
		if err != nil {
			t.Fatal(err)
		}
		produce("during", 10)
		if first := acked[20].Sub(start); first < fake.DefaultBrokerSessionTimeout {
			t.Errorf("an acks=all write was acknowledged %v after the isolation, before the fence", first)
		}
		var timedOut int
		for _, e := range events(c, fake.EventProduceRejected) {
			if e.Error == kerr.RequestTimedOut.Message && e.Acks == -1 {
				timedOut++
			}
		}
		if timedOut == 0 {
			t.Errorf("no acks=all write to the isolated leader timed out:\n%s", c.JournalTail(40))
		}
		if err := h.Remove(); err != nil {
			t.Fatal(err)
		}
		produce("after", 10)
		if _, err := c.WaitPartition(ctx, "orders", 0, func(s fake.PartitionState) bool { return len(s.ISR) == 3 }); err != nil {
			t.Fatal(err)
		}
		if tr := events(c, fake.EventTruncate); len(tr) != 1 || tr[0].Broker != old {
			t.Errorf("truncate events %v, want the isolated leader's unacknowledged tail dropped once", tr)
		}
		cons := c.Client(t, kgo.ConsumeTopics("orders"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
		for n := 0; n < 40; {
			n += cons.PollFetches(ctx).NumRecords()
		}
		if end := partition(t, c, "orders", 0).HighWatermark; end != 40 {
			t.Errorf("the log ends at %d, want 40: each write once", end)
		}
		assertions.ExactlyOnce(t, c.History())
		assertions.NoLostWrites(t, c.BrokerHistory(t))
	})
}

// A read_committed consumer that knows only the fenced broker reads from
// it (its stale view) and gets nothing past the old high watermark, so it
// never sees a record the fenced broker acknowledged and later truncated.
func TestFencedBrokerServesOnlyBelowItsHighWatermark(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := harness.Start(t, fake.VirtualNetwork(), fake.Seed(13), fake.Topic("orders", 1, 3))
		ctx := bubbleCtx(t)
		p := c.Client(t, kgo.DefaultProduceTopic("orders"), kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite())
		for i := range 10 {
			if err := p.ProduceSync(ctx, kgo.StringRecord(fmt.Sprint("before-", i))).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
		old := partition(t, c, "orders", 0).Leader
		h, err := c.AddFault(fake.Isolate(old))
		if err != nil {
			t.Fatal(err)
		}
		fenced, err := c.WaitPartition(ctx, "orders", 0, func(s fake.PartitionState) bool { return s.Leader != old && s.LeaderEpoch > 1 })
		if err != nil {
			t.Fatal(err)
		}
		if r := rawProduce(t, ctx, p, old, "orders", "stale-0", "stale-1", "stale-2"); r.ErrorCode != 0 || r.BaseOffset != 10 {
			t.Fatalf("acks=1 to the fenced broker: %v at %d, want acknowledged at 10", kerr.ErrorForCode(r.ErrorCode), r.BaseOffset)
		}
		// The new leader's log grows past the fenced broker's high
		// watermark; the fenced broker does not have those records.
		if r := rawProduce(t, ctx, p, fenced.Leader, "orders", "new-0", "new-1"); r.ErrorCode != 0 || r.BaseOffset != 10 {
			t.Fatalf("acks=1 to the new leader: %v at %d, want acknowledged at 10", kerr.ErrorForCode(r.ErrorCode), r.BaseOffset)
		}
		fencedAt := events(c, fake.EventBrokerFenced)[0].Seq
		var addr string
		for _, b := range c.Brokers() {
			if b.ID == old {
				addr = b.Addr
			}
		}
		seen := map[string]bool{}
		for _, level := range []kgo.IsolationLevel{kgo.ReadCommitted(), kgo.ReadUncommitted()} {
			cons := c.Client(t, kgo.SeedBrokers(addr), kgo.ConsumeTopics("orders"), kgo.FetchIsolationLevel(level),
				kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.MetadataMaxAge(time.Hour))
			for n := 0; n < 10; {
				fs := cons.PollFetches(ctx)
				fs.EachRecord(func(r *kgo.Record) { seen[string(r.Value)] = true })
				n += fs.NumRecords()
			}
			pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
			fs := cons.PollFetches(pctx) // nothing more: the fenced broker's high watermark is 10
			cancel()
			fs.EachRecord(func(r *kgo.Record) { seen[string(r.Value)] = true })
		}
		var fromFenced int
		for _, e := range c.JournalSince(fencedAt) {
			if e.Kind == fake.EventFetch && e.Broker == old {
				fromFenced++
				if e.LastOffset >= 10 {
					t.Errorf("the fenced broker served offsets %d..%d, past its high watermark 10", e.Offset, e.LastOffset)
				}
			}
		}
		if fromFenced != 2 {
			t.Errorf("the fenced broker served %d fetches with records, want 2 (one per consumer):\n%s", fromFenced, c.JournalTail(30))
		}
		if err := h.Remove(); err != nil {
			t.Fatal(err)
		}
		for v := range seen {
			if strings.HasPrefix(v, "stale-") || strings.HasPrefix(v, "new-") {
				t.Errorf("a consumer of the fenced broker saw %s, past its high watermark", v)
			}
		}
		if len(seen) != 10 {
			t.Errorf("the consumers saw %d values, want the 10 written before the isolation", len(seen))
		}
		tr := events(c, fake.EventTruncate)
		if len(tr) != 1 || tr[0].Offset != 10 || tr[0].LastOffset != 12 {
			t.Errorf("truncate events %v, want offsets 10..12 on the fenced broker", tr)
		}
	})
}

// The groups a fenced broker coordinated move: a commit sent to it after
// the fence is refused with NOT_COORDINATOR, and the member commits
// through the new coordinator, its offsets intact.
func TestFencedCoordinatorRefusesCommits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := harness.Start(t, fake.VirtualNetwork(), fake.Seed(14), fake.Topic("orders", 1, 3))
		ctx := bubbleCtx(t)
		p := c.Client(t, kgo.DefaultProduceTopic("orders"))
		for i := range 10 {
			p.Produce(ctx, kgo.StringRecord(fmt.Sprint(i)), nil)
		}
		if err := p.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		m := c.Client(t, kgo.ConsumerGroup("g"), kgo.ConsumeTopics("orders"), kgo.DisableAutoCommit(), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
		for n := 0; n < 5; {
			n += m.PollRecords(ctx, 5).NumRecords()
		}
		if err := m.CommitUncommittedOffsets(ctx); err != nil {
			t.Fatal(err)
		}
		coord := c.Kfake().CoordinatorFor("g")
		h, err := c.AddFault(fake.Isolate(coord))
		if err != nil {
			t.Fatal(err)
		}
		md, err := kadm.NewClient(p).Metadata(ctx, "orders")
		if err != nil {
			t.Fatal(err)
		}
		commit := func() int16 {
			req := kmsg.NewPtrOffsetCommitRequest()
			req.Group, req.Generation = "g", -1
			rt := kmsg.NewOffsetCommitRequestTopic()
			rt.Topic, rt.TopicID = "orders", md.Topics["orders"].ID // v10 names topics by id
			rp := kmsg.NewOffsetCommitRequestTopicPartition()
			rp.Offset = 1
			rt.Partitions = append(rt.Partitions, rp)
			req.Topics = append(req.Topics, rt)
			resp, err := req.RequestWith(ctx, p.Broker(int(coord)))
			if err != nil {
				t.Fatal(err)
			}
			return resp.Topics[0].Partitions[0].ErrorCode
		}
		time.Sleep(fake.DefaultBrokerSessionTimeout + time.Millisecond)
		if b := c.Brokers()[coord]; !b.Fenced {
			t.Fatalf("broker %d not fenced after the broker session timeout: %+v", coord, b)
		}
		now := c.Kfake().CoordinatorFor("g")
		if now == coord {
			t.Fatalf("group g is still coordinated by the fenced broker %d", coord)
		}
		var moved bool
		for _, e := range events(c, fake.EventCoordinatorMoved) {
			moved = moved || (e.Group == "g" && e.Broker == now)
		}
		if !moved {
			t.Errorf("no coordinator-moved event for g to broker %d:\n%s", now, c.JournalTail(20))
		}
		if code := commit(); code != kerr.NotCoordinator.Code {
			t.Errorf("a commit to the fenced coordinator: %v, want NOT_COORDINATOR", kerr.ErrorForCode(code))
		}
		for n := 0; n < 5; {
			n += m.PollRecords(ctx, 5).NumRecords()
		}
		if err := m.CommitUncommittedOffsets(ctx); err != nil {
			t.Fatalf("committing through the new coordinator: %v", err)
		}
		offs, err := kadm.NewClient(p).FetchOffsets(ctx, "g")
		if err != nil {
			t.Fatal(err)
		}
		if o, _ := offs.Lookup("orders", 0); o.At != 10 {
			t.Errorf("g's committed offset is %d, want 10", o.At)
		}
		if err := h.Remove(); err != nil {
			t.Fatal(err)
		}
	})
}

// Isolating every broker, an unknown, down or already isolated broker,
// and healing twice are clear errors that leave nothing running.
func TestIsolateBadInput(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := harness.Start(t, fake.VirtualNetwork(), fake.Brokers(3), fake.Topic("orders", 1, 3))
		for _, tc := range []struct {
			f       fake.NetFault
			targets []fake.Target
			want    string
		}{
			{fake.Isolate(), nil, "fake.Isolate(): name at least one broker"},
			{fake.Isolate(0, 1, 2), nil, "fake.Isolate(0, 1, 2): no live broker would be left outside the isolation"},
			{fake.Isolate(7), nil, "fake.Isolate(7): unknown broker 7 (brokers are [0 1 2])"},
			{fake.Isolate(1, 1), nil, "fake.Isolate(1, 1): broker 1 is named twice"},
			{fake.Isolate(1), []fake.Target{fake.Times(2)}, "fake.Times(2) with fake.Isolate counts the requests of the clients it cuts off"},
		} {
			if _, err := c.AddFault(tc.f, tc.targets...); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("AddFault: %v, want an error containing %q", err, tc.want)
			}
		}
		h, err := c.AddFault(fake.Isolate(1))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.AddFault(fake.Isolate(1)); err == nil || !strings.Contains(err.Error(), "broker 1 is isolated already (fault isolate brokers [1])") {
			t.Errorf("isolating broker 1 twice: %v", err)
		}
		if _, err := c.AddFault(fake.Isolate(0, 2)); err == nil || !strings.Contains(err.Error(), "no live broker would be left") {
			t.Errorf("isolating the rest of the cluster: %v, want an error", err)
		}
		if err := c.KillBroker(1); err == nil || !strings.Contains(err.Error(), "KillBroker(1): the broker is isolated") {
			t.Errorf("killing an isolated broker: %v, want an error", err)
		}
		if err := h.Remove(); err != nil {
			t.Fatal(err)
		}
		if err := h.Remove(); err == nil || !strings.Contains(err.Error(), "was already removed") {
			t.Errorf("healing twice: %v, want an error", err)
		}
		if err := c.KillBroker(2); err != nil {
			t.Fatal(err)
		}
		if _, err := c.AddFault(fake.Isolate(2)); err == nil || !strings.Contains(err.Error(), "broker 2 is down") {
			t.Errorf("isolating a down broker: %v, want an error", err)
		}
		if _, err := fake.New(fake.BrokerSessionTimeout(0)); err == nil || !strings.Contains(err.Error(), "fake.BrokerSessionTimeout(0s): want a positive duration") {
			t.Errorf("BrokerSessionTimeout(0): %v, want an error", err)
		}
		if b := c.Brokers()[1]; b.Isolated || b.Fenced {
			t.Errorf("broker 1 after healing: %+v", b)
		}
		time.Sleep(2 * fake.DefaultBrokerSessionTimeout)
		if fe := events(c, fake.EventBrokerFenced); len(fe) != 0 {
			t.Errorf("a broker healed before its session timed out was fenced: %v", fe)
		}
	})
}

// An isolation healed before the broker session timeout loses nothing:
// the followers copy the tail the leader kept, waiting acks=all writes
// are answered, and no one is fenced.
func TestIsolationHealedBeforeFenceLosesNothing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := harness.Start(t, fake.VirtualNetwork(), fake.Seed(15), fake.Topic("orders", 1, 3, map[string]string{"min.insync.replicas": "2"}))
		ctx := bubbleCtx(t)
		p := c.Client(t, kgo.DefaultProduceTopic("orders"), kgo.ProduceRequestTimeout(30*time.Second))
		old := partition(t, c, "orders", 0).Leader
		h, err := c.AddFault(fake.Isolate(old))
		if err != nil {
			t.Fatal(err)
		}
		res := make(chan error, 1)
		p.Produce(ctx, kgo.StringRecord("waits"), func(_ *kgo.Record, err error) { res <- err })
		if _, err := c.WaitPartition(ctx, "orders", 0, func(s fake.PartitionState) bool { return s.LogEndOffset == 1 }); err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Second)
		if err := h.Remove(); err != nil {
			t.Fatal(err)
		}
		if err := <-res; err != nil {
			t.Fatalf("the acks=all write that waited: %v", err)
		}
		st := partition(t, c, "orders", 0)
		if st.Leader != old || st.HighWatermark != 1 || len(st.ISR) != 3 {
			t.Errorf("after healing: %+v, want leader %d, high watermark 1, full ISR", st, old)
		}
		for _, k := range []fake.EventKind{fake.EventBrokerFenced, fake.EventUnfence, fake.EventTruncate} {
			if es := events(c, k); len(es) != 0 {
				t.Errorf("%s events %v after an isolation shorter than the broker session timeout", k, es)
			}
		}
	})
}

// A leader with no in-sync replica outside the isolation (replication
// factor 1 here) takes its partition offline when it is fenced; it keeps
// acknowledging, and when it returns it leads again with what it wrote:
// nothing is lost, since no one else could have led.
func TestFencedSoleReplicaReturnsWithItsWrites(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := harness.Start(t, fake.VirtualNetwork(), fake.Seed(16), fake.Topic("solo", 1, 1), fake.BrokerSessionTimeout(2*time.Second))
		ctx := bubbleCtx(t)
		p := c.Client(t, kgo.DefaultProduceTopic("solo"), kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite())
		if err := p.ProduceSync(ctx, kgo.StringRecord("a")).FirstErr(); err != nil {
			t.Fatal(err)
		}
		old := partition(t, c, "solo", 0).Leader
		h, err := c.AddFault(fake.Isolate(old))
		if err != nil {
			t.Fatal(err)
		}
		if err := p.ProduceSync(ctx, kgo.StringRecord("b")).FirstErr(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(3 * time.Second)
		if st := partition(t, c, "solo", 0); st.Leader != -1 {
			t.Fatalf("after the fence: %+v, want offline", st)
		}
		if r := rawProduce(t, ctx, p, old, "solo", "c"); r.ErrorCode != 0 || r.BaseOffset != 2 {
			t.Fatalf("acks=1 to the fenced sole replica: %v at %d, want acknowledged at 2", kerr.ErrorForCode(r.ErrorCode), r.BaseOffset)
		}
		if err := h.Remove(); err != nil {
			t.Fatal(err)
		}
		st, err := c.WaitPartition(ctx, "solo", 0, func(s fake.PartitionState) bool { return s.Leader == old && s.HighWatermark == 3 })
		if err != nil {
			t.Fatal(err)
		}
		if got := values(consumeAll(t, ctx, c, "solo", 3)); !slices.Equal(got, []string{"a", "b", "c"}) {
			t.Errorf("after it returned (%+v): log %v, want [a b c]", st, got)
		}
		if tr := events(c, fake.EventTruncate); len(tr) != 0 {
			t.Errorf("truncate events %v, want none", tr)
		}
	})
}

// Targets cut the clients they name off the isolated broker too; other
// clients still reach it.
func TestIsolateTargetsCutClientsOff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := harness.Start(t, fake.VirtualNetwork(), fake.Seed(17), fake.Topic("orders", 1, 3))
		ctx := bubbleCtx(t)
		old := partition(t, c, "orders", 0).Leader
		h, err := c.AddFault(fake.Isolate(old), fake.OnClient("cut"))
		if err != nil {
			t.Fatal(err)
		}
		reach := c.Client(t, kgo.DefaultProduceTopic("orders"), kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite())
		if err := reach.ProduceSync(ctx, kgo.StringRecord("reached")).FirstErr(); err != nil {
			t.Fatal(err)
		}
		cut := c.Client(t, kgo.ClientID("cut"), kgo.DefaultProduceTopic("orders"), kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite())
		res := make(chan error, 1)
		cut.Produce(ctx, kgo.StringRecord("held"), func(_ *kgo.Record, err error) { res <- err })
		if err := h.Wait(ctx, 1); err != nil {
			t.Fatal(err)
		}
		for _, e := range events(c, fake.EventFaultHit) {
			if e.Client != "cut" || e.Broker != old {
				t.Errorf("fault hit %v, want only client cut on broker %d", e, old)
			}
		}
		// After the fence the held client finds the new leader.
		if err := <-res; err != nil {
			t.Fatalf("the cut-off client's write: %v", err)
		}
		if err := h.Remove(); err != nil {
			t.Fatal(err)
		}
	})
}

// PauseReplication outlives a failover, and says so: the leader-change
// event names the pause, the new leader's followers copy nothing, so an
// idempotent acks=all write waits, is refused NOT_ENOUGH_REPLICAS once
// the ISR shrinks below min.insync.replicas, and lands once replication
// resumes (the producer retries until then; it does not hang for ever).
func TestPauseReplicationOutlivesFailover(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := harness.Start(t, fake.VirtualNetwork(), fake.Seed(18), fake.Topic("orders", 1, 3, map[string]string{"min.insync.replicas": "2"}))
		ctx := bubbleCtx(t)
		p := c.Client(t, kgo.DefaultProduceTopic("orders"))
		if err := p.ProduceSync(ctx, kgo.StringRecord("before")).FirstErr(); err != nil {
			t.Fatal(err)
		}
		if err := c.PauseReplication("orders", 0); err != nil {
			t.Fatal(err)
		}
		next, err := c.FailLeader("orders", 0)
		if err != nil {
			t.Fatal(err)
		}
		lc := partitionEvents(c, fake.EventLeaderChange, "orders", 0)
		if d := lc[len(lc)-1].Detail; !strings.Contains(d, "stays paused (PauseReplication)") || !strings.Contains(d, "until ResumeReplication") {
			t.Errorf("the failover's leader-change detail %q does not say the pause outlives it", d)
		}
		if st := partition(t, c, "orders", 0); !st.ReplicationPaused || st.Leader != next {
			t.Errorf("after the failover: %+v, want leader %d with replication still paused", st, next)
		}
		res := make(chan error, 1)
		p.Produce(ctx, kgo.StringRecord("after"), func(_ *kgo.Record, err error) { res <- err })
		time.Sleep(time.Minute)
		select {
		case err := <-res:
			t.Fatalf("an acks=all write was answered (%v) while the new leader's followers were paused", err)
		default:
		}
		var refused bool
		for _, e := range partitionEvents(c, fake.EventProduceRejected, "orders", 0) {
			refused = refused || e.Error == kerr.NotEnoughReplicas.Message
		}
		if !refused {
			t.Errorf("no NOT_ENOUGH_REPLICAS while paused under the new leader:\n%s", c.JournalTail(20))
		}
		if err := c.ResumeReplication("orders", 0); err != nil {
			t.Fatal(err)
		}
		if err := <-res; err != nil {
			t.Fatalf("the write after resuming: %v", err)
		}
		if got := values(consumeAll(t, ctx, c, "orders", 2)); !slices.Equal(got, []string{"before", "after"}) {
			t.Errorf("log %v, want [before after]", got)
		}
	})
}

// bubbleCtx ends with the test or after two minutes of the bubble's
// clock: a wait whose condition never comes fails in milliseconds instead
// of running into go test's timeout.
func bubbleCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// Two brokers fenced one after the other each keep their own stale view
// and tail: the first leader's successor is isolated in turn, and each
// truncates its own divergent tail when it returns.
func TestSuccessiveIsolations(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := harness.Start(t, fake.VirtualNetwork(), fake.Seed(19), fake.Topic("orders", 1, 3))
		ctx := bubbleCtx(t)
		p := c.Client(t, kgo.DefaultProduceTopic("orders"), kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite())
		if err := p.ProduceSync(ctx, kgo.StringRecord("before")).FirstErr(); err != nil {
			t.Fatal(err)
		}
		isolate := func() (int32, *fake.FaultHandle) {
			t.Helper()
			st := partition(t, c, "orders", 0)
			h, err := c.AddFault(fake.Isolate(st.Leader))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.WaitPartition(ctx, "orders", 0, func(s fake.PartitionState) bool { return s.LeaderEpoch > st.LeaderEpoch }); err != nil {
				t.Fatal(err)
			}
			return st.Leader, h
		}
		want := func(r kmsg.ProduceResponseTopicPartition, at int64) {
			t.Helper()
			if r.ErrorCode != 0 || r.BaseOffset != at {
				t.Fatalf("acks=1: %v at %d, want acknowledged at %d", kerr.ErrorForCode(r.ErrorCode), r.BaseOffset, at)
			}
		}
		first, h1 := isolate()
		want(rawProduce(t, ctx, p, first, "orders", "first-alone"), 1)
		second := partition(t, c, "orders", 0).Leader
		want(rawProduce(t, ctx, p, second, "orders", "second-0"), 1)
		_, h2 := isolate()
		want(rawProduce(t, ctx, p, second, "orders", "second-alone"), 2)
		want(rawProduce(t, ctx, p, first, "orders", "first-again"), 2)
		third := partition(t, c, "orders", 0).Leader
		want(rawProduce(t, ctx, p, third, "orders", "third-0"), 2)
		if err := h1.Remove(); err != nil {
			t.Fatal(err)
		}
		if err := h2.Remove(); err != nil {
			t.Fatal(err)
		}
		tr := events(c, fake.EventTruncate)
		if len(tr) != 2 || tr[0].Broker != first || tr[0].Offset != 1 || tr[0].LastOffset != 2 || tr[1].Broker != second || tr[1].Offset != 2 || tr[1].LastOffset != 2 {
			t.Errorf("truncate events %v, want broker %d's offsets 1..2, then broker %d's offset 2", tr, first, second)
		}
		if _, err := c.WaitPartition(ctx, "orders", 0, func(s fake.PartitionState) bool { return len(s.ISR) == 3 }); err != nil {
			t.Fatal(err)
		}
		if got := values(consumeAll(t, ctx, c, "orders", 3)); !slices.Equal(got, []string{"before", "second-0", "third-0"}) {
			t.Errorf("log %v, want [before second-0 third-0]", got)
		}
	})
}
