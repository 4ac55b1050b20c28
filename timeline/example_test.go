package timeline_test

import (
	"fmt"
	"strings"
	"time"

	"github.com/seed73168108/kafkaemu/fake"
	"github.com/seed73168108/kafkaemu/timeline"
)

// A leader with acks=1 writes no follower copied fails: the page shows the
// dropped tail in red and the lost write at its offset.
func ExampleWriteHTML() {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	events := []fake.Event{
		{Seq: 1, Time: at(0), Kind: fake.EventBrokerUp, Broker: 0},
		{Seq: 2, Time: at(0), Kind: fake.EventBrokerUp, Broker: 1},
		{Seq: 3, Time: at(1), Kind: fake.EventLeaderChange, Topic: "payments", Leader: 0, Epoch: 0, ISR: []int32{0, 1}},
		{Seq: 4, Time: at(2), Kind: fake.EventAppend, Topic: "payments", Offset: 0, LastOffset: 99, Acks: 1},
		{Seq: 5, Time: at(2), Kind: fake.EventHighWatermark, Topic: "payments", Offset: 100},
		{Seq: 6, Time: at(5), Kind: fake.EventReplication, Topic: "payments", Detail: "paused"},
		{Seq: 7, Time: at(12), Kind: fake.EventAppend, Topic: "payments", Offset: 100, LastOffset: 149, Acks: 1, Detail: "un-replicated"},
		{Seq: 8, Time: at(15), Kind: fake.EventTruncate, Topic: "payments", Offset: 100, LastOffset: 149, Detail: "leader failed"},
		{Seq: 9, Time: at(15), Kind: fake.EventLeaderChange, Topic: "payments", Leader: 1, Epoch: 1, ISR: []int32{1}},
	}
	var page strings.Builder
	err := timeline.WriteHTML(&page, events, timeline.Mark{
		Anomaly: "lost-write", Topic: "payments", Offset: 120, Seq: 8,
		Text: "acknowledged with acks=1 at +12ms, dropped with the un-replicated tail 100..149 when the leader failed at +15ms",
	})
	fmt.Println(err)
	fmt.Println(strings.Count(page.String(), `class="lane"`), "lanes")
	fmt.Println(strings.Count(page.String(), `<circle class="mk"`), "mark")
	// Output:
	// <nil>
	// 3 lanes
	// 1 mark
}
