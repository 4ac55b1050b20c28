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
