package harness_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seed73168108/kafkaemu/assertions"
	"github.com/seed73168108/kafkaemu/fake"
	"github.com/seed73168108/kafkaemu/harness"
	"github.com/twmb/franz-go/pkg/kgo"
)

// BenchmarkWaitConsumed measures how late a wait for "the consumers
// caught up" returns after the last record was processed: WaitConsumed
// against the hand-rolled "no progress for 300ms" poll. Each op produces
// 100 records to 3 partitions and waits; ms-late/op is the time from the
// consumer's last Processed call to the wait's return.
func BenchmarkWaitConsumed(b *testing.B) {
	for _, bc := range []struct {
		name string
		wait func(ctx context.Context, c *harness.Cluster, processed *atomic.Int64) error
	}{
		{"WaitConsumed", func(ctx context.Context, c *harness.Cluster, _ *atomic.Int64) error {
			return c.WaitConsumed(ctx, "g", "t")
		}},
		{"quiet-300ms", func(ctx context.Context, _ *harness.Cluster, processed *atomic.Int64) error {
			last, since := int64(-1), time.Now()
			for time.Since(since) < 300*time.Millisecond {
				if n := processed.Load(); n != last {
					last, since = n, time.Now()
				}
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-time.After(10 * time.Millisecond):
				}
			}
			return nil
		}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			c := harness.Start(b, fake.Topic("t", 3, 3))
			ctx, cancel := context.WithTimeout(b.Context(), 5*time.Minute)
			defer cancel()
			p := c.Client(b, kgo.DefaultProduceTopic("t"))
			rec := c.Recorder("consumer", assertions.Processing())
			cl := c.Client(b, kgo.ConsumerGroup("g"), kgo.ConsumeTopics("t"), kgo.WithHooks(rec))
			var processed atomic.Int64
			var lastAt atomic.Int64 // unix nanoseconds of the last Processed call
			cctx, ccancel := context.WithCancel(ctx)
			done := make(chan struct{})
			go func() {
				defer close(done)
				for cctx.Err() == nil {
					fs := cl.PollFetches(cctx)
					if rs := fs.Records(); len(rs) > 0 {
						rec.Processed(rs...)
						processed.Add(int64(len(rs)))
						lastAt.Store(time.Now().UnixNano())
					}
				}
			}()
			defer func() { ccancel(); <-done }()
			var late time.Duration
			i := 0
			for b.Loop() {
				for j := 0; j < 100; j++ {
					p.Produce(ctx, &kgo.Record{Key: []byte(fmt.Sprint(j % 7)), Value: []byte(fmt.Sprint(i, "-", j))}, nil)
				}
				if err := p.Flush(ctx); err != nil {
					b.Fatal(err)
				}
				i++
				if err := bc.wait(ctx, c, &processed); err != nil {
					b.Fatal(err)
				}
				late += time.Since(time.Unix(0, lastAt.Load()))
				if got := processed.Load(); got != int64(100*i) {
					b.Fatalf("the wait returned with %d of %d records processed", got, 100*i)
				}
			}
			b.ReportMetric(float64(late.Microseconds())/1000/float64(i), "ms-late/op")
		})
	}
}
