package fake_test

import (
	"fmt"
	"hash/crc32"
	"strings"
	"testing"
	"time"

	"github.com/seed73168108/kafkaemu/fake"
	"github.com/seed73168108/kafkaemu/harness"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// appendedRecords sums the records of topic's append events, and counts
// the events that cover offset at.
func appendedRecords(c *harness.Cluster, topic string, at int64) (records int64, covering int) {
	for _, e := range c.Journal() {
		if e.Kind == fake.EventAppend && e.Topic == topic {
			records += e.LastOffset - e.Offset + 1
			if e.Offset <= at && at <= e.LastOffset {
				covering++
			}
		}
	}
	return records, covering
}

// A retry of an idempotent batch whose answer was lost is deduplicated by
// the broker: the journal shows one append, and the timeline counts the
// records the log holds.
func TestDeduplicatedRetryIsOneAppend(t *testing.T) {
	t.Parallel()
	c := harness.Start(t, fake.Topic("t", 1, 3))
	ctx := ctxT(t, 20*time.Second)
	p := c.Client(t, kgo.DefaultProduceTopic("t"))
	if err := p.ProduceSync(ctx, kgo.StringRecord("warm-up")).FirstErr(); err != nil {
		t.Fatal(err)
	}
	h, err := c.AddFault(fake.DropResponses(1), fake.OnKeys(kmsg.Produce), fake.Times(3))
	if err != nil {
		t.Fatal(err)
	}
	once := kgo.StringRecord("once")
	if err := p.ProduceSync(ctx, once).FirstErr(); err != nil {
		t.Fatal(err)
	}
	if h.Hits() != 3 {
		t.Fatalf("the fault dropped %d answers, want 3", h.Hits())
	}
	if _, n := appendedRecords(c, "t", once.Offset); n != 1 {
		t.Errorf("%d append events cover offset %d, want 1 (a deduplicated retry appends nothing):\n%s", n, once.Offset, c.JournalTail(20))
	}

	// 2500 records, the first answers lost: 2500 appended.
	if _, err := c.AddFault(fake.DropResponses(1), fake.OnKeys(kmsg.Produce), fake.Times(3)); err != nil {
		t.Fatal(err)
	}
	const n = 2500
	var rs []*kgo.Record
	for i := range n - 2 {
		rs = append(rs, kgo.StringRecord(fmt.Sprint("v", i)))
	}
	if err := p.ProduceSync(ctx, rs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	if st := partition(t, c, "t", 0); st.HighWatermark != n {
		t.Fatalf("high watermark %d, want %d", st.HighWatermark, n)
	}
	if got, _ := appendedRecords(c, "t", 0); got != n {
		t.Errorf("the journal's appends hold %d records, the log %d", got, n)
	}
	if tl := fake.Timeline(c.Journal()); !strings.Contains(tl, fmt.Sprintf(" %d records appended", n)) {
		t.Errorf("timeline summary: %s", tl[:strings.Index(tl, "\n")])
	}
}

// idempotentBatch is an uncompressed v2 record batch of producer pid.
func idempotentBatch(pid int64, epoch int16, seq int32, values ...string) []byte {
	var recs []byte
	for i, v := range values {
		r := kmsg.Record{OffsetDelta: int32(i), Value: []byte(v)}
		r.Length = int32(len(r.AppendTo(nil)) - 1)
		recs = r.AppendTo(recs)
	}
	now := time.Now().UnixMilli()
	b := kmsg.RecordBatch{
		PartitionLeaderEpoch: -1, Magic: 2, LastOffsetDelta: int32(len(values) - 1),
		FirstTimestamp: now, MaxTimestamp: now,
		ProducerID: pid, ProducerEpoch: epoch, FirstSequence: seq,
		NumRecords: int32(len(values)), Records: recs,
	}
	b.Length = int32(len(b.AppendTo(nil)) - 12)
	enc := b.AppendTo(nil)
	b.CRC = int32(crc32.Checksum(enc[21:], crc32.MakeTable(crc32.Castagnoli)))
	return b.AppendTo(nil)
}

// A retry of a batch the log holds, arriving while the leader keeps an
// un-replicated tail, is answered with the batch's offset, as Kafka's
// leader answers it from its producer state: it is not appended to the
// tail a second time.
func TestRetryOfLoggedBatchNotAppendedToTail(t *testing.T) {
	t.Parallel()
	c := harness.Start(t, fake.Topic("t", 1, 3), fake.ReplicaLagMax(time.Minute))
	ctx := ctxT(t, 15*time.Second)
	cl := c.Client(t)
	init := kmsg.NewPtrInitProducerIDRequest()
	init.TransactionTimeoutMillis = 60000
	ir, err := init.RequestWith(ctx, cl)
	if err != nil || ir.ErrorCode != 0 {
		t.Fatalf("InitProducerID: %v %v", err, kerr.ErrorForCode(ir.ErrorCode))
	}
	md, err := kadm.NewClient(cl).Metadata(ctx, "t")
	if err != nil {
		t.Fatal(err)
	}
	leader := partition(t, c, "t", 0).Leader
	produce := func() kmsg.ProduceResponseTopicPartition {
		t.Helper()
		req := kmsg.NewPtrProduceRequest()
		req.Acks, req.TimeoutMillis = -1, 300
		rt := kmsg.NewProduceRequestTopic()
		rt.Topic, rt.TopicID = "t", md.Topics["t"].ID
		rp := kmsg.NewProduceRequestTopicPartition()
		rp.Records = idempotentBatch(ir.ProducerID, ir.ProducerEpoch, 0, "a", "b")
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		resp, err := req.RequestWith(ctx, cl.Broker(int(leader)))
		if err != nil {
			t.Fatal(err)
		}
		return resp.Topics[0].Partitions[0]
	}
	if r := produce(); r.ErrorCode != 0 || r.BaseOffset != 0 {
		t.Fatalf("first write: %v at %d", kerr.ErrorForCode(r.ErrorCode), r.BaseOffset)
	}
	if err := c.PauseReplication("t", 0); err != nil {
		t.Fatal(err)
	}
	if r := produce(); r.ErrorCode != 0 || r.BaseOffset != 0 {
		t.Errorf("retry while the partition keeps a tail: %v at %d, want no error at 0", kerr.ErrorForCode(r.ErrorCode), r.BaseOffset)
	}
	if st := partition(t, c, "t", 0); st.LogEndOffset != 2 {
		t.Errorf("log end %d, want 2: the retry was appended again", st.LogEndOffset)
	}
	if got, _ := appendedRecords(c, "t", 0); got != 2 {
		t.Errorf("the journal's appends hold %d records, want 2:\n%s", got, c.JournalTail(20))
	}
}

// The timeline counts each append once: a note about where a replicated
// tail batch landed is not another append.
func TestTimelineCountsAppendsOnce(t *testing.T) {
	now := time.Now()
	evs := []fake.Event{
		{Seq: 1, Time: now, Kind: fake.EventAppend, Topic: "t", Offset: 0, LastOffset: 1, Detail: "un-replicated"},
		{Seq: 2, Time: now, Kind: fake.EventAppend, Topic: "t", Offset: 2, LastOffset: 3, Detail: "replicated at 2, leader had assigned 0"},
		{Seq: 3, Time: now, Kind: fake.EventAppend, Topic: "t", Offset: 4, LastOffset: 4},
	}
	if tl := fake.Timeline(evs); !strings.Contains(tl, " 3 records appended") {
		t.Errorf("timeline: %s", tl)
	}
}
