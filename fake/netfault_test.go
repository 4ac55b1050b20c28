package fake_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/seed73168108/kafkaemu/fake"
	"github.com/seed73168108/kafkaemu/harness"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// appendsOf counts the journal's appends of topic.
func appendsOf(c *harness.Cluster, topic string) (records int64) {
	for _, e := range c.Journal() {
		if e.Kind == fake.EventAppend && e.Topic == topic && e.Detail == "" {
			records += e.LastOffset - e.Offset + 1
		}
	}
	return records
}

func TestDropResponsesDuplicatesWithoutIdempotence(t *testing.T) {
	t.Parallel()
	for _, idempotent := range []bool{false, true} {
		t.Run(fmt.Sprint("idempotent=", idempotent), func(t *testing.T) {
			t.Parallel()
			c := harness.Start(t, fake.Topic("t", 1, 3))
			ctx := ctxT(t, 15*time.Second)
			opts := []kgo.Opt{kgo.DefaultProduceTopic("t")}
			if !idempotent {
				opts = append(opts, kgo.DisableIdempotentWrite())
			}
			p := c.Client(t, opts...)
			if err := p.ProduceSync(ctx, kgo.StringRecord("warm-up")).FirstErr(); err != nil {
				t.Fatal(err)
			}
			h, err := c.AddFault(fake.DropResponses(1), fake.OnKeys(kmsg.Produce), fake.Times(3))
			if err != nil {
				t.Fatal(err)
			}
			r := kgo.StringRecord("once")
			if err := p.ProduceSync(ctx, r).FirstErr(); err != nil {
				t.Fatal(err)
			}
			if h.Hits() != 3 {
				t.Errorf("fault hit %d requests, want 3", h.Hits())
			}
			st := partition(t, c, "t", 0)
			got := values(consumeAll(t, ctx, c, "t", int(st.HighWatermark)))
			n := 0
			for _, v := range got {
				if v == "once" {
					n++
				}
			}
			switch {
			case idempotent && n != 1:
				t.Errorf("idempotent producer: %q stored %d times, want once (log %v)", "once", n, got)
			case !idempotent && n != 4:
				t.Errorf("non-idempotent producer: %q stored %d times, want 4: the broker applied 3 dropped attempts and the retry (log %v)", "once", n, got)
			}
		})
	}
}

func TestLatencyDelaysAnswers(t *testing.T) {
	t.Parallel()
	c := harness.Start(t, fake.Seed(9), fake.Topic("t", 1, 1))
	ctx := ctxT(t, 15*time.Second)
	p := c.Client(t, kgo.DefaultProduceTopic("t"))
	if err := p.ProduceSync(ctx, kgo.StringRecord("warm-up")).FirstErr(); err != nil {
		t.Fatal(err)
	}
	h, err := c.AddFault(fake.Latency(40*time.Millisecond, 10*time.Millisecond), fake.OnKeys(kmsg.Produce))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := p.ProduceSync(ctx, kgo.StringRecord("slow")).FirstErr(); err != nil {
		t.Fatal(err)
	}
	// A lower bound only: the fault must have delayed the answer.
	if d := time.Since(start); d < 40*time.Millisecond {
		t.Errorf("produce answered after %v under 40ms latency", d)
	}
	if h.Hits() < 1 {
		t.Error("latency fault never hit")
	}
	if err := h.Remove(); err != nil {
		t.Fatal(err)
	}
}

func TestBlackholeHoldsUntilRemoved(t *testing.T) {
	t.Parallel()
	c := harness.Start(t, fake.Topic("t", 1, 1))
	ctx := ctxT(t, 15*time.Second)
	p := c.Client(t, kgo.DefaultProduceTopic("t"))
	if err := p.ProduceSync(ctx, kgo.StringRecord("warm-up")).FirstErr(); err != nil {
		t.Fatal(err)
	}
	h, err := c.AddFault(fake.Blackhole(), fake.OnKeys(kmsg.Produce))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- p.ProduceSync(ctx, kgo.StringRecord("held")).FirstErr() }()
	if err := h.Wait(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if hw := partition(t, c, "t", 0).HighWatermark; hw != 1 {
		t.Errorf("a blackholed produce reached the broker: high watermark %d", hw)
	}
	if err := h.Remove(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("produce after the blackhole was removed: %v", err)
	}
	if hw := partition(t, c, "t", 0).HighWatermark; hw != 2 {
		t.Errorf("high watermark %d after release, want 2", hw)
	}
}

func TestCloseConnectionsClientReconnects(t *testing.T) {
	t.Parallel()
	c := harness.Start(t, fake.Topic("t", 1, 1))
	ctx := ctxT(t, 15*time.Second)
	p := c.Client(t, kgo.DefaultProduceTopic("t"))
	h, err := c.AddFault(fake.CloseConnections(), fake.OnKeys(kmsg.Produce), fake.Times(2))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.ProduceSync(ctx, kgo.StringRecord("x")).FirstErr(); err != nil {
		t.Fatal(err)
	}
	if h.Hits() != 2 {
		t.Errorf("hits %d, want 2", h.Hits())
	}
	if err := h.Remove(); err == nil {
		t.Error("a fault that removed itself after Times(2) could be removed again")
	}
	if n, err := c.CloseClientConnections(-1); err != nil || n == 0 {
		t.Errorf("CloseClientConnections: %d, %v", n, err)
	}
	if err := p.ProduceSync(ctx, kgo.StringRecord("y")).FirstErr(); err != nil {
		t.Fatalf("after closing every connection: %v", err)
	}
}

func TestNetworkPartitionShrinksISR(t *testing.T) {
	t.Parallel()
	c := harness.Start(t, fake.Seed(5), fake.Topic("t", 1, 3), fake.ReplicaLagMax(20*time.Millisecond))
	ctx := ctxT(t, 15*time.Second)
	st := partition(t, c, "t", 0)
	isolated := st.Replicas[2]
	// Seed the client with the leader only: a seed broker behind a network
	// partition would hold the client's first request until it times out.
	leaderAddr := c.Brokers()[st.Leader].Addr
	p := c.Client(t, kgo.SeedBrokers(leaderAddr), kgo.DefaultProduceTopic("t"), kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite())
	h, err := c.AddFault(fake.Partition(isolated))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.ProduceSync(ctx, kgo.StringRecord("a")).FirstErr(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "the isolated follower to leave the ISR", func() bool { return len(partition(t, c, "t", 0).ISR) == 2 })
	if err := h.Remove(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "the follower to rejoin", func() bool { return len(partition(t, c, "t", 0).ISR) == 3 })
}
