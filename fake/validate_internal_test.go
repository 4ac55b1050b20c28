package fake

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// BenchmarkCheckRequest: what validating one request costs, for the
// requests a producing and consuming client sends most: a Produce of
// three 1 MiB batches (the records are not parsed: kmsg keeps them as
// bytes) and a Fetch of three partitions.
func BenchmarkCheckRequest(b *testing.B) {
	c, err := New(Brokers(1))
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	produce := kmsg.NewPtrProduceRequest()
	produce.Version, produce.Acks, produce.TimeoutMillis = 12, -1, 5000
	pt := kmsg.NewProduceRequestTopic()
	pt.Topic = "bench"
	fetch := kmsg.NewPtrFetchRequest()
	fetch.Version, fetch.MaxWaitMillis, fetch.MaxBytes = 16, 50, 50<<20
	ft := kmsg.NewFetchRequestTopic()
	ft.Topic = "bench"
	for i := int32(0); i < 3; i++ {
		pp := kmsg.NewProduceRequestTopicPartition()
		pp.Partition, pp.Records = i, make([]byte, 1<<20)
		pt.Partitions = append(pt.Partitions, pp)
		fp := kmsg.NewFetchRequestTopicPartition()
		fp.Partition, fp.PartitionMaxBytes = i, 1<<20
		ft.Partitions = append(ft.Partitions, fp)
	}
	produce.Topics = append(produce.Topics, pt)
	fetch.Topics = append(fetch.Topics, ft)
	for _, req := range []kmsg.Request{produce, fetch} {
		frame := kmsg.NewRequestFormatter(kmsg.FormatterClientID("bench")).AppendRequest(nil, req, 1)
		b.Run(kmsg.NameForKey(req.Key()), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, _, _, bad := c.checkRequest(frame); bad != nil {
					b.Fatal(bad.reason)
				}
			}
		})
	}
}
