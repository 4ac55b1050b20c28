package conformance

import (
	"context"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/seed73168108/kafkaemu/journal"
	"github.com/seed73168108/kafkaemu/netfault"
	"github.com/seed73168108/kafkaemu/proxy"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Third-party clients through the fault proxy in front of a raw kfake
// cluster (not kafkaemu: nothing of the emulator's model helps).

func proxied(t *testing.T, topics ...string) (*kfake.Cluster, *proxy.Proxy) {
	t.Helper()
	up, err := kfake.NewCluster(kfake.NumBrokers(3), kfake.SeedTopics(3, topics...), kfake.GroupMinSessionTimeout(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(up.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p, err := proxy.New(ctx, up.ListenAddrs()[:1])
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return up, p
}

// upstreamValues reads every record of topic straight from the upstream:
// value -> how many times it is stored, and the offsets stored.
func upstreamValues(t *testing.T, up *kfake.Cluster, topic string, want int) (map[string]int, map[[2]int64]bool) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(up.ListenAddrs()...), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	values, offsets := map[string]int{}, map[[2]int64]bool{}
	for n := 0; n < want; {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("reading %s from the upstream: %d of %d", topic, n, want)
		}
		fs.EachRecord(func(r *kgo.Record) {
			values[string(r.Value)]++
			offsets[[2]int64{int64(r.Partition), r.Offset}] = true
			n++
		})
	}
	return values, offsets
}

// journaledOffsets are the offsets the proxy's journal has appends at.
func journaledOffsets(p *proxy.Proxy, topic string) map[[2]int64]bool {
	out := map[[2]int64]bool{}
	for _, e := range p.Journal() {
		if e.Kind == journal.EventAppend && e.Topic == topic && e.Detail == "" {
			for o := e.Offset; o <= e.LastOffset; o++ {
				out[[2]int64{int64(e.Partition), o}] = true
			}
		}
	}
	return out
}

// TestSaramaThroughProxy: sarama produces (acks=all, idempotent), two
// consumer group members share the topic after a rebalance, a
// transaction commits and another aborts; the journal's append offsets
// are the upstream's; a dropped produce answer makes the non-idempotent
// producer store a record twice, which the upstream's log shows.
func TestSaramaThroughProxy(t *testing.T) {
	up, p := proxied(t, "orders", "txn", "dups")
	cfg := saramaConfig()
	cfg.Producer.Idempotent = true
	cfg.Net.MaxOpenRequests = 1
	prod, err := sarama.NewSyncProducer(p.Addrs()[:1], cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Close()
	const n = 60
	for i := range n {
		if _, _, err := prod.SendMessage(&sarama.ProducerMessage{Topic: "orders", Key: sarama.StringEncoder(fmt.Sprint(i % 7)), Value: sarama.StringEncoder(fmt.Sprint(i))}); err != nil {
			t.Fatal(err)
		}
	}

	// Two members: the second joins while the first consumes.
	h := &groupHandler{seen: map[string]int{}, n: make(chan struct{}, 2*n)}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	member := func() {
		g, err := sarama.NewConsumerGroup(p.Addrs(), "g", saramaConfig())
		if err != nil {
			t.Error(err)
			return
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer g.Close()
			for ctx.Err() == nil {
				if err := g.Consume(ctx, []string{"orders"}, h); err != nil && ctx.Err() == nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	member()
	<-h.n
	member()
	for got := 1; got < n; got++ {
		select {
		case <-h.n:
		case <-ctx.Done():
			t.Fatalf("consumed %d of %d through the proxy", got, n)
		}
	}
	// The second member's join rebalances the group: wait for a
	// generation both members joined, as the journal shows it.
	joinedBoth := func() bool {
		members := map[int32]map[string]bool{}
		for _, e := range p.Journal() {
			if e.Kind == journal.EventGroup && e.Group == "g" && strings.HasPrefix(e.Detail, "join:") && e.Error == "" {
				if members[e.Epoch] == nil {
					members[e.Epoch] = map[string]bool{}
				}
				members[e.Epoch][e.Conn] = true
			}
		}
		for _, m := range members {
			if len(m) >= 2 {
				return true
			}
		}
		return false
	}
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !joinedBoth() {
		select {
		case <-tick.C:
		case <-ctx.Done():
			t.Fatalf("no generation joined by both members in the journal:\n%s", p.JournalTail(20))
		}
	}
	cancel()
	wg.Wait()
	_, stored := upstreamValues(t, up, "orders", n)
	if j := journaledOffsets(p, "orders"); !mapsEqual(j, stored) {
		t.Errorf("journal appends at %d offsets, the upstream stores %d; they differ", len(j), len(stored))
	}

	// Transactions.
	tcfg := saramaConfig()
	tcfg.Producer.Idempotent = true
	tcfg.Producer.Transaction.ID = "sarama-tx"
	tcfg.Net.MaxOpenRequests = 1
	tp, err := sarama.NewAsyncProducer(p.Addrs(), tcfg)
	if err != nil {
		t.Fatal(err)
	}
	for i, commit := range []bool{true, false} {
		if err := tp.BeginTxn(); err != nil {
			t.Fatal(err)
		}
		for j := range 3 {
			tp.Input() <- &sarama.ProducerMessage{Topic: "txn", Partition: 0, Value: sarama.StringEncoder(fmt.Sprintf("t%d-%d", i, j))}
			<-tp.Successes()
		}
		if commit {
			err = tp.CommitTxn()
		} else {
			err = tp.AbortTxn()
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	tp.Close()
	var ends []bool
	for _, e := range p.Journal() {
		if e.Kind == journal.EventTxnEnd && e.Error == "" {
			ends = append(ends, e.Committed)
		}
	}
	if !slices.Equal(ends, []bool{true, false}) {
		t.Errorf("txn-end outcomes %v, want [true false]", ends)
	}

	// A dropped produce answer, without idempotence.
	dcfg := saramaConfig()
	dcfg.Producer.Idempotent = false
	dup, err := sarama.NewSyncProducer(p.Addrs(), dcfg)
	if err != nil {
		t.Fatal(err)
	}
	defer dup.Close()
	if _, err := p.AddFault(netfault.DropResponses(1), netfault.OnKeys(kmsg.Produce), netfault.Times(1)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := dup.SendMessage(&sarama.ProducerMessage{Topic: "dups", Partition: 0, Value: sarama.StringEncoder("once")}); err != nil {
		t.Fatal(err)
	}
	values, _ := upstreamValues(t, up, "dups", 2)
	if values["once"] != 2 {
		t.Errorf("the upstream stores %q %d times after a dropped answer; want 2 (the retry)", "once", values["once"])
	}
}

func mapsEqual(a, b map[[2]int64]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if !b[k] {
			return false
		}
	}
	return true
}

// TestKcatThroughProxy: librdkafka (kcat) sees only the proxy's brokers,
// produces and consumes through it, and the journal has the appends at
// the upstream's offsets.
func TestKcatThroughProxy(t *testing.T) {
	if _, err := exec.LookPath("kcat"); err != nil {
		missingClient(t, "kcat", err)
	}
	up, p := proxied(t, "orders")
	brokers := strings.Join(p.Addrs()[:1], ",")
	out, err := exec.CommandContext(t.Context(), "kcat", "-b", brokers, "-L").CombinedOutput()
	if err != nil {
		t.Fatalf("kcat -L: %v\n%s", err, out)
	}
	for _, a := range up.ListenAddrs() {
		if strings.Contains(string(out), a) {
			t.Errorf("kcat -L through the proxy shows the upstream's address %s:\n%s", a, out)
		}
	}
	for _, b := range p.Brokers() {
		if !strings.Contains(string(out), fmt.Sprintf("broker %d at %s", b.ID, b.Addr)) {
			t.Errorf("kcat -L does not show broker %d at %s:\n%s", b.ID, b.Addr, out)
		}
	}
	cmd := exec.CommandContext(t.Context(), "kcat", "-b", brokers, "-P", "-t", "orders", "-p", "0", "-X", "acks=all")
	cmd.Stdin = strings.NewReader("a\nb\nc\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("kcat -P: %v\n%s", err, out)
	}
	out, err = exec.CommandContext(t.Context(), "kcat", "-b", brokers, "-C", "-t", "orders", "-p", "0", "-o", "beginning", "-e", "-q").CombinedOutput()
	if err != nil || string(out) != "a\nb\nc\n" {
		t.Errorf("kcat -C: %v %q", err, out)
	}
	_, stored := upstreamValues(t, up, "orders", 3)
	if j := journaledOffsets(p, "orders"); !mapsEqual(j, stored) {
		t.Errorf("the journal's appends %v differ from the upstream's offsets %v", j, stored)
	}
	fetched := 0
	for _, e := range p.Journal() {
		if e.Kind == journal.EventFetch && e.Topic == "orders" {
			fetched += int(e.LastOffset - e.Offset + 1)
		}
	}
	if fetched < 3 {
		t.Errorf("the journal shows %d records fetched by kcat, want 3", fetched)
	}
}
