// Command quickstart starts a 3-broker kafkaemu cluster, produces 1,000
// records with acks=all, consumes them in a consumer group, commits, and
// prints a summary.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/seed73168108/kafkaemu/fake"
	"github.com/twmb/franz-go/pkg/kgo"
)

func main() {
	if err := run(os.Stdout, true); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

func run(w io.Writer, timing bool) error {
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	c, err := fake.New(fake.Seed(1), fake.Topic("orders", 3, 3, map[string]string{"min.insync.replicas": "2"}))
	if err != nil {
		return err
	}
	defer c.Close()

	producer, err := kgo.NewClient(
		kgo.SeedBrokers(c.Addrs()...),
		kgo.DefaultProduceTopic("orders"),
		kgo.RequiredAcks(kgo.AllISRAcks()),
	)
	if err != nil {
		return err
	}
	defer producer.Close()
	const n = 1000
	for i := 0; i < n; i++ {
		producer.Produce(ctx, &kgo.Record{Key: []byte(fmt.Sprint("customer-", i%10)), Value: []byte(fmt.Sprint("order-", i))}, nil)
	}
	if err := producer.Flush(ctx); err != nil {
		return err
	}

	consumer, err := kgo.NewClient(
		kgo.SeedBrokers(c.Addrs()...),
		kgo.ConsumerGroup("billing"),
		kgo.ConsumeTopics("orders"),
		kgo.DisableAutoCommit(),
		kgo.FetchMaxWait(50*time.Millisecond),
		kgo.HeartbeatInterval(100*time.Millisecond),
	)
	if err != nil {
		return err
	}
	defer consumer.Close()
	consumed := 0
	for consumed < n {
		fs := consumer.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("consumed %d of %d: %w", consumed, n, err)
		}
		fs.EachError(func(t string, p int32, err error) { fmt.Fprintf(w, "fetch %s[%d]: %v\n", t, p, err) })
		consumed += fs.NumRecords()
		if err := consumer.CommitUncommittedOffsets(ctx); err != nil {
			return err
		}
	}

	fmt.Fprintf(w, "produced %d records with acks=all, consumed and committed %d in group billing\n", n, consumed)
	for p := int32(0); p < 3; p++ {
		st, err := c.Partition("orders", p)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "orders[%d]: leader %d, replicas %v, isr %v, high watermark %d\n", p, st.Leader, st.Replicas, st.ISR, st.HighWatermark)
	}
	if timing {
		fmt.Fprintf(w, "elapsed %d ms\n", time.Since(start).Milliseconds())
	}
	return nil
}
