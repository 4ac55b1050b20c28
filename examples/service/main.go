// Command service is a small consumer service, billing, and the way to
// test one with kafkaemu: main_test.go runs two instances of it across a
// rebalance and a leader failover and asserts that every acknowledged
// order was billed (at-least-once), judged on what the service processed,
// not on what its Kafka client polled. A handler that drops one order
// makes that test fail with a message naming the order.
//
// main runs the service once against an emulated cluster.
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

// Billing consumes orders in group "billing" and hands each to Handle;
// it commits a poll's records once all of them are handled, so a crash or
// a rebalance bills some orders twice but never skips one (at-least-once).
type Billing struct {
	Client *kgo.Client // ConsumerGroup("billing"), ConsumeTopics("orders"), DisableAutoCommit()
	Handle func(ctx context.Context, r *kgo.Record) error
}

// Run bills orders until ctx ends or Handle fails.
func (b *Billing) Run(ctx context.Context) error {
	for {
		fs := b.Client.PollFetches(ctx)
		if ctx.Err() != nil {
			return nil
		}
		rs := fs.Records()
		for _, r := range rs {
			if err := b.Handle(ctx, r); err != nil {
				return fmt.Errorf("billing %s[%d]@%d: %w", r.Topic, r.Partition, r.Offset, err)
			}
		}
		// A commit can fail when a rebalance took the partitions away: the
		// new owner bills those orders again, which at-least-once allows.
		_ = b.Client.CommitRecords(ctx, rs...)
	}
}

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "service:", err)
		os.Exit(1)
	}
}

// run bills 100 orders with one instance and reports what it billed.
func run(w io.Writer) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := fake.New(fake.Seed(1), fake.Topic("orders", 3, 3, map[string]string{"min.insync.replicas": "2"}))
	if err != nil {
		return err
	}
	defer c.Close()
	p, err := kgo.NewClient(kgo.SeedBrokers(c.Addrs()...), kgo.DefaultProduceTopic("orders"))
	if err != nil {
		return err
	}
	defer p.Close()
	for i := 0; i < 100; i++ {
		p.Produce(ctx, &kgo.Record{Key: []byte(fmt.Sprint("customer-", i%10)), Value: []byte(fmt.Sprint("order-", i))}, nil)
	}
	if err := p.Flush(ctx); err != nil {
		return err
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.Addrs()...), kgo.ConsumerGroup("billing"), kgo.ConsumeTopics("orders"),
		kgo.DisableAutoCommit(), kgo.FetchMaxWait(50*time.Millisecond))
	if err != nil {
		return err
	}
	defer cl.Close()
	billed := map[string]bool{}
	rctx, stop := context.WithCancel(ctx)
	defer stop()
	svc := &Billing{Client: cl, Handle: func(_ context.Context, r *kgo.Record) error {
		billed[string(r.Value)] = true
		if len(billed) == 100 {
			stop()
		}
		return nil
	}}
	if err := svc.Run(rctx); err != nil {
		return err
	}
	if ctx.Err() != nil {
		return fmt.Errorf("billed %d of 100 orders before the deadline", len(billed))
	}
	fmt.Fprintf(w, "billed %d orders\n", len(billed))
	return nil
}
