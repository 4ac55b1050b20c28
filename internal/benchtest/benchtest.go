// Package benchtest holds the workload the module's throughput benchmarks
// share, so that the emulator's, the virtual network's and the proxy's
// numbers measure the same thing.
package benchtest

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// ProduceConsume produces records copies of value to topic with acks=all
// (no compression: every byte crosses the wire), then consumes them back.
// opts go to both clients (seed brokers, dialer, TLS, hooks). It returns
// how long producing took and how long the whole took; past timeout it
// fails tb.
func ProduceConsume(tb testing.TB, timeout time.Duration, topic string, records int, value []byte, opts ...kgo.Opt) (produce, all time.Duration) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	p, err := kgo.NewClient(append(opts, kgo.DefaultProduceTopic(topic), kgo.MaxBufferedRecords(50_000),
		kgo.ProducerBatchCompression(kgo.NoCompression()))...)
	if err != nil {
		tb.Fatal(err)
	}
	defer p.Close()
	cl, err := kgo.NewClient(append(opts, kgo.ConsumeTopics(topic), kgo.FetchMaxWait(50*time.Millisecond))...)
	if err != nil {
		tb.Fatal(err)
	}
	defer cl.Close()
	start := time.Now()
	for range records {
		p.Produce(ctx, &kgo.Record{Value: value}, func(_ *kgo.Record, err error) {
			if err != nil {
				tb.Error(err)
			}
		})
	}
	if err := p.Flush(ctx); err != nil {
		tb.Fatal(err)
	}
	produce = time.Since(start)
	for n := 0; n < records; {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			tb.Fatal(ctx.Err())
		}
		n += fs.NumRecords()
	}
	return produce, time.Since(start)
}
