package assertions_test

import (
	"fmt"

	"github.com/seed73168108/kafkaemu/assertions"
)

func ExampleCheck() {
	h := assertions.NewHistory()
	h.Send("producer", "orders", "", "o-1")
	h.Ack("producer", "orders", 0, 0, "", "o-1")
	h.Send("producer", "orders", "", "o-2")
	h.Ack("producer", "orders", 0, 1, "", "o-2") // acks=1; the leader then died
	h.Send("producer", "orders", "", "o-3")
	h.Ack("producer", "orders", 0, 1, "", "o-3") // offset 1 reused by the new leader
	h.Poll("billing-1", "billing", 1, true, []assertions.Record{
		{Topic: "orders", Partition: 0, Offset: 0, Value: "o-1"},
		{Topic: "orders", Partition: 0, Offset: 1, Value: "o-3"},
	})
	fmt.Println(assertions.Check(h))
	// Output:
	// 8 events checked
	// lost-write: 1
	//   orders[0]@1 value "o-2" by producer: acknowledged, never read; "o-3" is at its offset
	// inconsistent-offsets: 1
	//   orders[0]@1 value "o-3" by producer: acknowledged "o-3" here, but "o-2" was seen at this offset before
}
