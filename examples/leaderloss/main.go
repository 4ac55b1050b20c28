// Command leaderloss shows the reason to test against kafkaemu: the same
// workload twice, with acks=1 and with acks=all + min.insync.replicas=2.
// Replication to the followers is paused, the leader fails, and the table
// shows what the producer was told (acknowledged), what a consumer can
// read afterwards (consumed) and the difference (lost). With acks=1 the
// leader acknowledged writes no follower had copied, and they are gone;
// with acks=all nothing acknowledged is lost.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/seed73168108/kafkaemu/fake"
	"github.com/twmb/franz-go/pkg/kgo"
)

func main() {
	seed := flag.Int64("seed", 42, "cluster seed")
	flag.Parse()
	if err := run(os.Stdout, *seed); err != nil {
		fmt.Fprintln(os.Stderr, "leaderloss:", err)
		os.Exit(1)
	}
}

type result struct {
	mode                   string
	acknowledged, consumed int
	lost                   int
	truncated              string
}

func run(w io.Writer, seed int64) error {
	var rs []result
	for _, acksAll := range []bool{false, true} {
		r, err := workload(seed, acksAll)
		if err != nil {
			return err
		}
		rs = append(rs, r)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "producer\tacknowledged\tconsumed\tlost\tdropped by the failover")
	for _, r := range rs {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%s\n", r.mode, r.acknowledged, r.consumed, r.lost, r.truncated)
	}
	return tw.Flush()
}

func workload(seed int64, acksAll bool) (result, error) {
	res := result{mode: "acks=1"}
	if acksAll {
		res.mode = "acks=all, min.insync.replicas=2"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := fake.New(fake.Seed(seed), fake.ReplicaLagMax(10*time.Second),
		fake.Topic("payments", 1, 3, map[string]string{"min.insync.replicas": "2"}))
	if err != nil {
		return res, err
	}
	defer c.Close()

	// kgo refreshes metadata at most every 5s by default; a short minimum
	// age lets the producer find the new leader at once.
	opts := []kgo.Opt{
		kgo.SeedBrokers(c.Addrs()...),
		kgo.DefaultProduceTopic("payments"),
		kgo.MetadataMinAge(10 * time.Millisecond),
		kgo.RetryBackoffFn(func(int) time.Duration { return 10 * time.Millisecond }),
	}
	if acksAll {
		opts = append(opts, kgo.RequiredAcks(kgo.AllISRAcks()))
	} else {
		opts = append(opts, kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite())
	}
	producer, err := kgo.NewClient(opts...)
	if err != nil {
		return res, err
	}
	defer producer.Close()

	var mu sync.Mutex
	acked := map[string]bool{}
	var firstErr error
	produce := func(v string) {
		producer.Produce(ctx, kgo.StringRecord(v), func(r *kgo.Record, err error) {
			mu.Lock()
			defer mu.Unlock()
			if err != nil && firstErr == nil {
				firstErr = fmt.Errorf("producing %s: %w", r.Value, err)
			}
			if err == nil {
				acked[string(r.Value)] = true
			}
		})
	}
	for i := 0; i < 100; i++ {
		produce(fmt.Sprint("payment-", i))
	}
	if err := producer.Flush(ctx); err != nil {
		return res, err
	}

	// The followers stop copying; 50 more writes reach only the leader.
	if err := c.PauseReplication("payments", 0); err != nil {
		return res, err
	}
	for i := 100; i < 150; i++ {
		produce(fmt.Sprint("payment-", i))
	}
	if !acksAll {
		if err := producer.Flush(ctx); err != nil { // acks=1: acknowledged from the leader's log
			return res, err
		}
	} else if _, err := c.WaitPartition(ctx, "payments", 0, func(st fake.PartitionState) bool { // acks=all: all 50 wait for the followers
		return st.LogEndOffset == 150
	}); err != nil {
		return res, err
	}

	// The leader dies before the followers copied anything.
	if _, err := c.FailLeader("payments", 0); err != nil {
		return res, err
	}
	if err := c.ResumeReplication("payments", 0); err != nil {
		return res, err
	}
	if err := producer.Flush(ctx); err != nil {
		return res, err
	}
	mu.Lock()
	if firstErr != nil {
		mu.Unlock()
		return res, firstErr
	}
	res.acknowledged = len(acked)
	mu.Unlock()

	st, err := c.Partition("payments", 0)
	if err != nil {
		return res, err
	}
	consumer, err := kgo.NewClient(kgo.SeedBrokers(c.Addrs()...), kgo.ConsumeTopics("payments"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(50*time.Millisecond))
	if err != nil {
		return res, err
	}
	defer consumer.Close()
	seen := map[string]bool{}
	for read := int64(0); read < st.HighWatermark; {
		fs := consumer.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return res, errors.New("timed out consuming")
		}
		fs.EachRecord(func(r *kgo.Record) { seen[string(r.Value)] = true; read++ })
	}
	res.consumed = len(seen)
	for v := range acked {
		if !seen[v] {
			res.lost++
		}
	}
	res.truncated = "nothing"
	for _, e := range c.Journal() {
		if e.Kind == fake.EventTruncate {
			res.truncated = fmt.Sprintf("offsets %d..%d", e.Offset, e.LastOffset)
		}
	}
	return res, nil
}
