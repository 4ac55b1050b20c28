package fake_test

import (
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/seed73168108/kafkaemu/fake"
	"github.com/seed73168108/kafkaemu/harness"
	"github.com/seed73168108/kafkaemu/internal/wiretest"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// A client that writes acks=0 produce requests and closes its connection
// at once loses nothing: Kafka handles the requests it read before the
// close (sarama's acks=0 SyncProducer, closed right after its sends, lost
// 8 records of 10 before fake drained them).
func TestAcks0WritesBeforeCloseAreKept(t *testing.T) {
	t.Parallel()
	c := harness.Start(t, fake.Topic("t", 1, 3))
	st := partition(t, c, "t", 0)
	cn, err := net.Dial("tcp", c.Brokers()[st.Leader].Addr)
	if err != nil {
		t.Fatal(err)
	}
	const n = 20
	var frames []byte
	for i := range n {
		req := kmsg.NewPtrProduceRequest()
		req.Version, req.Acks, req.TimeoutMillis = 7, 0, 5000
		rt := kmsg.NewProduceRequestTopic()
		rt.Topic = "t"
		rp := kmsg.NewProduceRequestTopicPartition()
		rp.Records = wiretest.RawBatch(fmt.Sprint("v", i))
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		frames = append(frames, kmsg.NewRequestFormatter(kmsg.FormatterClientID("acks0")).AppendRequest(nil, req, int32(i))...)
	}
	if _, err := cn.Write(frames); err != nil {
		t.Fatal(err)
	}
	cn.Close()
	ctx := ctxT(t, 20*time.Second)
	if _, err := c.WaitPartition(ctx, "t", 0, func(st fake.PartitionState) bool { return st.HighWatermark >= n }); err != nil {
		t.Fatalf("%v: high watermark %d, want %d\n%s", err, partition(t, c, "t", 0).HighWatermark, n, c.JournalTail(30))
	}
	// The journal records an acks=0 append once kfake has handled it, a
	// moment after the log (and the high watermark) has it: wait for it.
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for got, _ := appendedRecords(c, "t", 0); got != n; got, _ = appendedRecords(c, "t", 0) {
		select {
		case <-ctx.Done():
			t.Fatalf("the journal's appends hold %d records, want %d", got, n)
		case <-tick.C:
		}
	}
}
