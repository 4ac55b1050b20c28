package fake_test

import (
	"context"
	"fmt"
	"time"

	"github.com/seed73168108/kafkaemu/fake"
	"github.com/twmb/franz-go/pkg/kgo"
)

func ExampleNew() {
	c, err := fake.New(fake.Seed(1), fake.Topic("orders", 3, 3))
	if err != nil {
		panic(err)
	}
	defer c.Close()
	st, _ := c.Partition("orders", 1)
	fmt.Println("leader", st.Leader, "replicas", st.Replicas, "isr", st.ISR)
	// Output: leader 1 replicas [1 2 0] isr [1 2 0]
}

// An acks=1 write acknowledged by a leader that dies before its followers
// copy it is lost; the offset is handed out again.
func ExampleCluster_FailLeader() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _ := fake.New(fake.Seed(1), fake.Topic("t", 1, 3))
	defer c.Close()
	p, _ := kgo.NewClient(kgo.SeedBrokers(c.Addrs()...), kgo.DefaultProduceTopic("t"),
		kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite(), kgo.MetadataMinAge(10*time.Millisecond))
	defer p.Close()

	_ = c.PauseReplication("t", 0)
	r := kgo.StringRecord("doomed")
	_ = p.ProduceSync(ctx, r).FirstErr()
	fmt.Println("acknowledged at offset", r.Offset)

	leader, _ := c.FailLeader("t", 0)
	_ = c.ResumeReplication("t", 0)
	st, _ := c.Partition("t", 0)
	fmt.Println("new leader", leader, "high watermark", st.HighWatermark)

	r = kgo.StringRecord("next")
	_ = p.ProduceSync(ctx, r).FirstErr()
	fmt.Println("next write at offset", r.Offset)
	// Output:
	// acknowledged at offset 0
	// new leader 1 high watermark 0
	// next write at offset 0
}

// A leader cut off from the controller and its followers, but not from
// clients, keeps acknowledging acks=1 writes that only it holds. After the
// broker session timeout the controller fences it and elects a follower;
// when the isolation heals the old leader truncates what only it had.
func ExampleIsolate() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _ := fake.New(fake.Seed(1), fake.Topic("t", 1, 3), fake.BrokerSessionTimeout(200*time.Millisecond))
	defer c.Close()
	p, _ := kgo.NewClient(kgo.SeedBrokers(c.Addrs()...), kgo.DefaultProduceTopic("t"),
		kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite())
	defer p.Close()

	st, _ := c.Partition("t", 0)
	h, _ := c.AddFault(fake.Isolate(st.Leader))
	r := kgo.StringRecord("only-the-isolated-leader-has-me")
	_ = p.ProduceSync(ctx, r).FirstErr()
	fmt.Println("acknowledged at offset", r.Offset)

	st, _ = c.WaitPartition(ctx, "t", 0, func(s fake.PartitionState) bool { return s.LeaderEpoch > st.LeaderEpoch })
	fmt.Println("fenced: new leader", st.Leader, "high watermark", st.HighWatermark)
	_ = h.Remove()
	for _, e := range c.Journal() {
		if e.Kind == fake.EventBrokerFenced || e.Kind == fake.EventUnfence || e.Kind == fake.EventTruncate {
			fmt.Println(e.Kind, "broker", e.Broker)
		}
	}
	// Output:
	// acknowledged at offset 0
	// fenced: new leader 1 high watermark 0
	// broker-fenced broker 0
	// unfence broker 0
	// truncate broker 0
}
