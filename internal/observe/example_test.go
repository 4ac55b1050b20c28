package observe_test

import (
	"fmt"

	"github.com/seed73168108/kafkaemu/internal/observe"
	"github.com/seed73168108/kafkaemu/internal/wiretest"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// A produce request and the broker's answer (base offset 40) become an
// append event with the batch's offsets.
func Example() {
	req := kmsg.NewPtrProduceRequest()
	req.Acks = -1
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic = "orders"
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Partition, rp.Records = 2, wiretest.RawBatch("a", "b", "c")
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)

	b := observe.FindBatch(req, "orders", [16]byte{}, 2)
	e := observe.Append(observe.Source{Broker: 1, Client: "writer"}, req, "orders", 2, b, 40)
	fmt.Println(e.Describe())
	// Output:
	// append orders[2] offsets 40..42 acks=-1 client=writer
}
