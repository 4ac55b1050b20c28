package proxy_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/seed73168108/kafkaemu/internal/wiretest"
	"github.com/seed73168108/kafkaemu/journal"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestBytesUnchanged: the proxy never changes data. A batch produced
// through it is stored byte for byte as sent (past the base offset and
// leader epoch the broker assigns), and a fetch through the proxy answers
// exactly the bytes the same fetch gets directly from the upstream, for
// plain and compressed batches with keys and headers.
func TestBytesUnchanged(t *testing.T) {
	up := upstream(t, kfake.SeedTopics(1, "orders"))
	p := start(t, up.ListenAddrs())
	ctx := ctxT(t, 20*time.Second)
	st, err := p.Partition(ctx, "orders", 0)
	if err != nil {
		t.Fatal(err)
	}
	via := client(t, p.Addrs())
	direct := client(t, up.ListenAddrs())

	raw := wiretest.RawBatch("one", "two", "three")
	req := kmsg.NewPtrProduceRequest()
	req.Acks, req.TimeoutMillis = -1, 5000
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic = "orders"
	md, err := kadm.NewClient(via).Metadata(ctx, "orders")
	if err != nil {
		t.Fatal(err)
	}
	rt.TopicID = md.Topics["orders"].ID // kgo sends the newest version: topics by id
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Records = raw
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	presp, err := req.RequestWith(ctx, via.Broker(int(st.Leader)))
	if err != nil {
		t.Fatal(err)
	}
	if code := presp.Topics[0].Partitions[0].ErrorCode; code != 0 {
		t.Fatalf("produce through the proxy: error %d", code)
	}
	base := presp.Topics[0].Partitions[0].BaseOffset

	for _, codec := range []kgo.CompressionCodec{kgo.NoCompression(), kgo.SnappyCompression(), kgo.ZstdCompression()} {
		prod := client(t, p.Addrs(), kgo.DefaultProduceTopic("orders"), kgo.ProducerBatchCompression(codec))
		var rs []*kgo.Record
		for i := range 20 {
			rs = append(rs, &kgo.Record{Key: []byte(fmt.Sprint("k", i)), Value: bytes.Repeat([]byte{byte(i)}, 100+i),
				Headers: []kgo.RecordHeader{{Key: "h", Value: []byte(fmt.Sprint(i))}}})
		}
		if err := prod.ProduceSync(ctx, rs...).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}

	fetch := func(cl *kgo.Client) *kmsg.FetchResponse {
		t.Helper()
		req := kmsg.NewPtrFetchRequest()
		req.MaxWaitMillis, req.MaxBytes, req.SessionEpoch = 10, 50<<20, -1
		ft := kmsg.NewFetchRequestTopic()
		ft.Topic, ft.TopicID = "orders", md.Topics["orders"].ID
		fp := kmsg.NewFetchRequestTopicPartition()
		fp.Partition, fp.FetchOffset, fp.PartitionMaxBytes = 0, 0, 50<<20
		ft.Partitions = append(ft.Partitions, fp)
		req.Topics = append(req.Topics, ft)
		resp, err := req.RequestWith(ctx, cl.Broker(int(st.Leader)))
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	a, b := fetch(via), fetch(direct)
	ab, bb := a.AppendTo(nil), b.AppendTo(nil)
	if !bytes.Equal(ab, bb) {
		t.Fatalf("a fetch through the proxy answered %d bytes that differ from the %d of the same fetch direct", len(ab), len(bb))
	}
	batches := b.Topics[0].Partitions[0].RecordBatches
	if len(batches) < len(raw) {
		t.Fatalf("the upstream's log holds %d bytes", len(batches))
	}
	if int64(be64(batches[0:8])) != base {
		t.Fatalf("the first batch is at %d, the produce answered %d", be64(batches[0:8]), base)
	}
	if !bytes.Equal(batches[16:len(raw)], raw[16:]) {
		t.Errorf("the batch produced through the proxy is stored changed:\nsent   %x\nstored %x", raw[16:], batches[16:len(raw)])
	}
	if n := len(a.Topics[0].Partitions[0].RecordBatches); n <= len(raw) {
		t.Errorf("the fetch holds %d bytes: the compressed batches are missing", n)
	}
}

func be64(b []byte) uint64 {
	var n uint64
	for _, x := range b[:8] {
		n = n<<8 | uint64(x)
	}
	return n
}

// TestLargeFramesUnchanged: produce requests and fetch answers of
// hundreds of KiB, whose frame buffers the proxy reuses, cross it
// unchanged, one after the other on the same connections: every record
// is consumed back through the proxy as produced, at the offset its
// produce answer gave, and the journal's appends and fetches cover
// exactly those offsets.
func TestLargeFramesUnchanged(t *testing.T) {
	up := upstream(t, kfake.SeedTopics(1, "big"))
	p := start(t, up.ListenAddrs())
	ctx := ctxT(t, 60*time.Second)
	const n = 60
	values := make([][]byte, n)
	rng := rand.NewChaCha8([32]byte{7})
	for i := range values {
		values[i] = make([]byte, 100<<10+i)
		rng.Read(values[i])
	}
	// Linger gathers records into batches of up to 1 MB; the requests
	// follow each other on one connection.
	prod := client(t, p.Addrs(), kgo.DefaultProduceTopic("big"), kgo.ProducerLinger(20*time.Millisecond),
		kgo.ProducerBatchCompression(kgo.NoCompression()))
	at := make(map[int64][]byte)
	for round := range 3 {
		var rs []*kgo.Record
		for i := round * n / 3; i < (round+1)*n/3; i++ {
			rs = append(rs, &kgo.Record{Value: values[i]})
		}
		results := prod.ProduceSync(ctx, rs...)
		if err := results.FirstErr(); err != nil {
			t.Fatal(err)
		}
		for _, r := range results {
			at[r.Record.Offset] = r.Record.Value
		}
	}
	if len(at) != n {
		t.Fatalf("%d distinct offsets for %d records", len(at), n)
	}

	cons := client(t, p.Addrs(), kgo.ConsumeTopics("big"), kgo.FetchMaxPartitionBytes(1<<20))
	for got := 0; got < n; {
		fs := cons.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("consumed %d of %d records: %v", got, n, err)
		}
		fs.EachRecord(func(r *kgo.Record) {
			got++
			if want, ok := at[r.Offset]; !ok || !bytes.Equal(r.Value, want) {
				t.Errorf("offset %d: consumed %d bytes that differ from the %d produced there", r.Offset, len(r.Value), len(want))
			}
		})
	}

	appended, fetched := map[int64]int{}, map[int64]bool{}
	for _, e := range p.Journal() {
		if e.Topic != "big" {
			continue
		}
		for o := e.Offset; o <= e.LastOffset; o++ {
			switch e.Kind {
			case journal.EventAppend:
				appended[o]++
			case journal.EventFetch:
				fetched[o] = true
			}
		}
	}
	for o := range at {
		if appended[o] != 1 || !fetched[o] {
			t.Errorf("offset %d: journaled in %d appends, fetched %v; want 1 append and a fetch", o, appended[o], fetched[o])
		}
	}
	if len(appended) != n {
		t.Errorf("the journal appends %d offsets, want %d", len(appended), n)
	}
}
