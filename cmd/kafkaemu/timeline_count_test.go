package main

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Through serve, answers dropped and a leader killed while an idempotent
// producer writes 2500 records: its retries are deduplicated, and the
// timeline counts the 2500 records the log holds.
func TestServeTimelineCountsAfterKillBroker(t *testing.T) {
	c, api := startServer(t, "-topic", "orders:1:3")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p, err := kgo.NewClient(kgo.SeedBrokers(c.Addrs()...), kgo.DefaultProduceTopic("orders"),
		kgo.MetadataMinAge(10*time.Millisecond), kgo.RetryBackoffFn(func(int) time.Duration { return 10 * time.Millisecond }))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if code, body := call(t, "POST", api+"/drop-responses?requests=produce&count=3"); code != 200 {
		t.Fatalf("drop-responses: %d %s", code, body)
	}
	const n = 2500
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	acked := make(chan struct{}, n)
	for i := range n {
		wg.Add(1)
		p.Produce(ctx, kgo.StringRecord(fmt.Sprint("v", i)), func(_ *kgo.Record, err error) {
			defer wg.Done()
			if err != nil {
				mu.Lock()
				firstErr = err
				mu.Unlock()
			}
			acked <- struct{}{}
		})
		if i == n/5 {
			for range n / 10 {
				<-acked // some acknowledged, more in flight
			}
			st, err := c.Partition("orders", 0)
			if err != nil {
				t.Fatal(err)
			}
			if code, body := call(t, "POST", fmt.Sprintf("%s/kill-broker?broker=%d", api, st.Leader)); code != 200 {
				t.Fatalf("kill-broker: %d %s", code, body)
			}
		}
	}
	wg.Wait()
	if firstErr != nil {
		t.Fatal(firstErr)
	}
	st, err := c.Partition("orders", 0)
	if err != nil || st.HighWatermark != n {
		t.Fatalf("high watermark %d (%v), want %d", st.HighWatermark, err, n)
	}
	_, body := call(t, "GET", api+"/timeline")
	summary, _, _ := strings.Cut(body, "\n")
	if !strings.Contains(summary, fmt.Sprintf(" %d records appended, 0 dropped by failovers", n)) || !strings.Contains(summary, "1 brokers down") ||
		!strings.Contains(summary, "3 hits") {
		t.Errorf("timeline summary: %s", summary)
	}
}
